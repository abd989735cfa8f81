package rococo

import (
	"fmt"
)

// Message is one message as a processor sees it, or as a publisher sends it.
//
// Bodies are JSON, as Python rococo sends them, in Python's dialect (see
// ValidJSON). A Message handed to a
// processor must not be kept after Process returns.
type Message struct {
	// ID identifies the message at the broker: the SQS MessageId, or the
	// AMQP message-id property (empty when the publisher set none).
	ID string
	// Body is the raw message body.
	Body []byte
	// Headers are the AMQP headers or SQS message attributes with string
	// values. Keys starting with "x-rococo-" are set by the runtime.
	Headers map[string]string
	// Attempt is the processing attempt, starting at 1, the same on every
	// transport: it is one higher after each failed attempt (Retry), and
	// after a delivery that was never settled because its consumer died
	// while processing it (a crash), where the transport can tell; it does
	// not change when the runtime hands a message back unprocessed
	// (Release: shutdown, a retry or dead-letter queue that could not be
	// reached). A message whose Attempt reaches MAX_RETRIES and fails is
	// dead-lettered.
	Attempt int
	// Redelivered reports that this message may have been processed before,
	// in part or in full, without being settled: a previous consumer died
	// or lost its connection while it held the message (or, on SQS, its
	// visibility timeout ran out). It is false for a message that comes
	// back after Retry or Release. Processors that are not idempotent can
	// check it.
	Redelivered bool
	// Queue is the queue the message was consumed from.
	Queue string
}

// Decode unmarshals the JSON body into v, as encoding/json does, except
// that NaN, Infinity and -Infinity (Python's json.dumps writes them for such
// floats) decode as Python decodes them: into float fields and any as
// math.NaN(), math.Inf(1) and math.Inf(-1) (a type with its own
// UnmarshalJSON sees a finite stand-in number instead). A body that does not decode into v
// yields a permanent error (see Permanent): retrying cannot fix it, so the
// runtime dead-letters the message at once when Process returns it.
func (m *Message) Decode(v any) error {
	if err := unmarshalPython(m.Body, v); err != nil {
		return Permanent(fmt.Errorf("decode message %q from queue %q: %w", m.ID, m.Queue, err))
	}
	return nil
}

// Header returns the value of header key, or "" when it is absent.
func (m *Message) Header(key string) string {
	return m.Headers[key]
}

// Headers and names the runtime uses on every transport, so a message
// dead-lettered by the RabbitMQ transport reads the same as one
// dead-lettered by the SQS transport.
const (
	// HeaderAttempt carries the delivery attempt of a message sent back to
	// its queue for a retry.
	HeaderAttempt = "x-rococo-attempt"
	// HeaderError carries the error of the last failed attempt of a
	// dead-lettered message.
	HeaderError = "x-rococo-error"
	// HeaderOriginalQueue carries the queue a dead-lettered message came
	// from.
	HeaderOriginalQueue = "x-rococo-original-queue"
	// DeadLetterSuffix is appended to a queue name to name its dead-letter
	// queue.
	DeadLetterSuffix = ".dlq"
)

// DeadLetterQueue returns the name of queue's dead-letter queue.
func DeadLetterQueue(queue string) string {
	return queue + DeadLetterSuffix
}
