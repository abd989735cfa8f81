package rococo

import (
	"context"
	"log/slog"
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

// ConsumeOptions tune Transport.Consume. They hold only what every
// transport understands; a transport's own settings (SQS long polling,
// visibility timeout) are part of its configuration.
type ConsumeOptions struct {
	// Prefetch is the most deliveries unsettled at once (the AMQP prefetch
	// count; on SQS the most messages handed out and not settled). The host
	// sets it to the processor concurrency. Values below 1 mean 1.
	Prefetch int
	// ExitWhenFinished closes the delivery channel once the queue is empty
	// and nothing is in flight (EXIT_WHEN_FINISHED=1).
	ExitWhenFinished bool
}

// Delivery is a message handed out by Transport.Consume, to be settled
// exactly once by one of Ack, Retry, Release or DeadLetter. Settling is
// the transport's promise that nothing is lost: a message is removed from
// its queue only by Ack, and by DeadLetter once its copy is in the
// dead-letter queue; whenever a settlement fails, the message stays with
// the broker and comes back (at-least-once). Settlement methods are safe
// to call from any goroutine; a second settlement of the same delivery
// fails and changes nothing.
//
// Every method bounds its own network calls; ctx may end them sooner.
type Delivery interface {
	// Message returns the message. It is the same value on every call.
	Message() *Message
	// Ack acknowledges (RabbitMQ) or deletes (SQS) the message after it was
	// processed successfully.
	Ack(ctx context.Context) error
	// Retry settles a failed attempt: the message comes back to the queue
	// after delay with Attempt one higher, without blocking other
	// deliveries and whatever else waits for its own delay (a short delay
	// is not held up by a long one). cause is the failure, recorded where
	// the transport can (HeaderError).
	Retry(ctx context.Context, delay time.Duration, cause error) error
	// Release hands the message back unprocessed: it is delivered again
	// after delay (0: as soon as possible) with the same Attempt, and
	// Redelivered reports nothing about it. The runtime releases a message
	// whose processing was cancelled by shutdown, and one whose Retry or
	// DeadLetter could not move it (with a backoff, so that a broken retry
	// or dead-letter queue never makes a message loop hot).
	Release(ctx context.Context, delay time.Duration) error
	// DeadLetter moves the message to the queue's dead-letter queue with
	// HeaderError, HeaderAttempt and HeaderOriginalQueue set, then removes
	// it from its queue. It must never lose the message: when the move
	// fails, the message stays in (or returns to) its queue, and the error
	// says so.
	DeadLetter(ctx context.Context, cause error) error
}

// QueueNamer is implemented by a transport whose broker names a queue
// otherwise than the runtime does (SQS calls the dead-letter queue
// DeadLetterQueue(q) "q-dlq"): logs give the broker's name.
type QueueNamer interface {
	// BrokerQueueName returns the broker's name of the runtime's queue.
	BrokerQueueName(queue string) string
}

// TransportConfig is a transport's validated configuration, made by the
// transport package from the service's environment before anything
// connects (rabbitmq.FromEnv, sqs.FromEnv). The host logs it at start
// (LogValue must leave secrets out), runs Concurrency processors at once and
// opens the transport once the configuration of the whole service is
// known to be valid.
type TransportConfig interface {
	slog.LogValuer
	// Concurrency is the number of messages processed at once, from the
	// transport's own variable (RABBITMQ_NUM_THREADS, SQS_NUM_THREADS).
	Concurrency() int
	// Open returns the transport. It may connect lazily (on the first
	// Consume or Publish); ctx bounds what Open itself does.
	Open(ctx context.Context, log *slog.Logger) (Transport, error)
}
