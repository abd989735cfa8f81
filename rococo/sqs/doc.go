// Package sqs provides the Amazon SQS transport of the Rococo runtime
// (MESSAGING_TYPE=SqsConnection): a rococo.Transport and rococo.Publisher on
// aws-sdk-go-v2 with long polling, receives of full batches and batched
// deletes, a bounded read-ahead (ReadAhead), retries and releases that send
// the message back as a copy carrying its attempt (so only failed attempts
// and crashes count, not every receive), a visibility heartbeat for
// long-running processors and a dead-letter queue that records the error.
//
// Bodies are the JSON text itself, as Python rococo's send_message sends them
// with boto3, so Go and Python services share queues in both directions.
// See README.md for the delivery model and the benchmark.
package sqs
