// Package rabbitmq provides the RabbitMQ transport of the Rococo runtime
// (MESSAGING_TYPE=RabbitMqConnection): a rococo.Transport and
// rococo.Publisher on github.com/rabbitmq/amqp091-go that shares queues with
// Python rococo services, retries failed messages through delay queues (one
// per delay step, so a short delay never waits behind a long one),
// dead-letters them to <queue>.dlq, and reconnects after broker restarts.
//
// See README.md in this directory for the queue layout, the retry scheme and
// the benchmark.
package rabbitmq
