package rococo

import (
	"context"
	"time"
)

// Transport is a service's connection to its message broker. The RabbitMQ
// (rococo/rabbitmq), SQS (rococo/sqs) and in-memory (rococo/rococotest)
// transports implement it, and rococo/transporttest checks any
// implementation against this contract.
//
// A Transport is safe for concurrent use.
type Transport interface {
	Publisher

	// Consume declares queue and its dead-letter queue when they are missing
	// (durable, as Python rococo declares them) and starts delivering its
	// messages. At most opts.Prefetch deliveries are unsettled at once
	// (handed out and neither acknowledged, retried nor dead-lettered).
	//
	// The channel closes when ctx is cancelled (after which no new delivery
	// is sent), when Close is called, or, with opts.ExitWhenFinished, once
	// the queue is empty and every delivery handed out has been settled.
	// Deliveries already handed out can still be settled after that.
	//
	// A transport keeps reconnecting after losing its broker connection
	// (Ready reports the error meanwhile); Consume returns an error only for
	// what reconnecting cannot fix, or when ctx ends before the first
	// connection.
	Consume(ctx context.Context, queue string, opts ConsumeOptions) (<-chan Delivery, error)

	// Ready returns nil while the transport is connected (and consuming, once
	// Consume was called), else an error that says why not. It backs the
	// /readyz endpoint and must not block.
	Ready() error

	// Close stops consuming and closes the broker connection. It is safe to
	// call more than once.
	Close() error
}

// Publisher sends messages to queues. Transports implement it; a processor
// gets one through Initializer.
type Publisher interface {
	// Publish sends msgs to queue, as Python rococo's send_message does
	// (JSON bodies, persistent, on RabbitMQ the default exchange with the
	// queue as routing key), and returns once the broker has accepted every
	// one of them. Only Body and Headers of each message are sent.
	Publish(ctx context.Context, queue string, msgs ...*Message) error
}

// ConsumeOptions tune Transport.Consume.
type ConsumeOptions struct {
	// Prefetch is the most deliveries unsettled at once (the AMQP prefetch
	// count; on SQS the receive batch size is capped by it). The host sets it
	// to the processor concurrency. Values below 1 mean 1.
	Prefetch int
	// ExitWhenFinished closes the delivery channel once the queue is empty
	// and nothing is in flight (EXIT_WHEN_FINISHED=1).
	ExitWhenFinished bool
	// WaitTime is how long one receive may wait for a message (SQS long
	// polling, LISTEN_INTERVAL). Zero means the transport's default.
	WaitTime time.Duration
	// VisibilityTimeout is the SQS visibility timeout (VISIBILITY_TIMEOUT).
	// Zero means the queue's own setting.
	VisibilityTimeout time.Duration
}

// Delivery is a message handed out by Transport.Consume, to be settled
// exactly once by one of Ack, Retry or DeadLetter.
type Delivery interface {
	// Message returns the message. It is the same value on every call.
	Message() *Message
	// Ack acknowledges (RabbitMQ) or deletes (SQS) the message after it was
	// processed successfully.
	Ack(ctx context.Context) error
	// Retry settles a failed attempt: the message comes back to the queue
	// after delay with Attempt increased, without blocking other deliveries.
	// cause is the failure, recorded where the transport can.
	Retry(ctx context.Context, delay time.Duration, cause error) error
	// DeadLetter moves the message to the queue's dead-letter queue with
	// HeaderError, HeaderAttempt and HeaderOriginalQueue set, then removes
	// it from its queue. It must never lose the message: when the move
	// fails, the message stays in (or returns to) its queue.
	DeadLetter(ctx context.Context, cause error) error
}
