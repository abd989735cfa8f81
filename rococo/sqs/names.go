package sqs

import (
	"strings"

	"github.com/rococo-go/rococo/rococo"
)

const fifoSuffix = ".fifo"

// QueueName returns the SQS queue name used for the rococo queue name queue.
//
// SQS names allow only letters, digits, '-' and '_' (plus ".fifo" at the
// end of a FIFO queue), so the dead-letter queue that the rest of the
// runtime calls rococo.DeadLetterQueue(q) ("q.dlq") is named "q-dlq" on SQS,
// and "q-dlq.fifo" for a FIFO queue "q.fifo". Every other name is used as it
// is. Consume and Publish take rococo names and apply QueueName themselves.
func QueueName(queue string) string {
	base, ok := strings.CutSuffix(queue, rococo.DeadLetterSuffix)
	if !ok {
		return queue
	}
	if b, fifo := strings.CutSuffix(base, fifoSuffix); fifo {
		return b + "-dlq" + fifoSuffix
	}
	return base + "-dlq"
}

// BrokerQueueName is QueueName: SQS's name of the runtime's queue
// (rococo.QueueNamer).
func (t *Transport) BrokerQueueName(queue string) string { return QueueName(queue) }

// deadLetterQueue is SQS's name of queue's dead-letter queue: "q-dlq"
// ("q-dlq.fifo" for "q.fifo").
func deadLetterQueue(queue string) string { return QueueName(rococo.DeadLetterQueue(queue)) }
