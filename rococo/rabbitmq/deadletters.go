package rabbitmq

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rococo-go/rococo/rococo"
)

// DeadLetter is one message of a queue's dead-letter queue (<queue>.dlq).
type DeadLetter struct {
	// ID is the message's id: the AMQP message-id property, or, when the
	// publisher set none, "body:" and the first 12 hex digits of the
	// SHA-256 of the body (identical bodies share it).
	ID string
	// Body is the message body as published.
	Body []byte
	// Error is the error that dead-lettered it (HeaderError).
	Error string
	// Attempt is the attempt that failed (HeaderAttempt).
	Attempt int
	// Queue is the queue it was dead-lettered from (HeaderOriginalQueue).
	Queue string
}

// Replayed counts what ReplayDeadLetters did.
type Replayed struct {
	// Moved were published to their queue (confirmed) and removed from the
	// dead-letter queue.
	Moved int
	// Kept stayed in the dead-letter queue (not among the ids asked for).
	Kept int
}

// DeadLetters returns up to limit messages (all for limit <= 0) of the
// dead-letter queue of queue, the broker of tc (what FromEnv returns),
// without removing them: each is read unacknowledged and given back when
// the listing ends. It reads at most the messages the queue held when it
// began (DeadLetterCount), in their order.
func DeadLetters(ctx context.Context, tc rococo.TransportConfig, queue string, limit int) ([]DeadLetter, error) {
	var out []DeadLetter
	err := walkDeadLetters(ctx, tc, queue, func(_ *amqp.Connection, d amqp.Delivery) (bool, error) {
		out = append(out, deadLetterOf(d))
		return limit <= 0 || len(out) < limit, nil
	})
	return out, err
}

// ReplayDeadLetters moves the messages of the dead-letter queue of queue
// (those whose ID is in ids; all of them when ids is empty) back to the
// queue they were dead-lettered from: each is published there with its
// body, id and headers (less the dead-letter ones, so it starts again at
// attempt 1), the broker's confirmation is awaited, and only then is it
// acknowledged in the dead-letter queue. A message whose publish fails
// stays in the dead-letter queue: none is lost.
//
// Only the messages the dead-letter queue held when the replay began are
// read, each once: a replayed message that fails again while the replay
// runs (the service is running and still refuses it) is dead-lettered
// behind them, stays there, and is not counted again.
func ReplayDeadLetters(ctx context.Context, tc rococo.TransportConfig, queue string, ids []string) (Replayed, error) {
	var r Replayed
	var pub *amqp.Channel
	defer func() {
		if pub != nil {
			_ = pub.Close()
		}
	}()
	declared := map[string]bool{}
	err := walkDeadLetters(ctx, tc, queue, func(conn *amqp.Connection, d amqp.Delivery) (bool, error) {
		if len(ids) > 0 && !slices.Contains(ids, idOf(d)) {
			r.Kept++
			return true, nil
		}
		if pub == nil {
			var err error
			if pub, err = conn.Channel(); err != nil {
				return false, fmt.Errorf("replay: open channel: %w", err)
			}
			if err := pub.Confirm(false); err != nil {
				return false, fmt.Errorf("replay: confirm mode: %w", err)
			}
		}
		target := deadLetterOf(d).Queue
		if target == "" {
			target = queue
		}
		// Declared as the consumer declares it, so the publish is routed
		// to a queue and not dropped.
		if !declared[target] {
			if _, err := pub.QueueDeclare(target, true, false, false, false, nil); err != nil {
				return false, fmt.Errorf("replay: declare queue %q: %w", target, err)
			}
			declared[target] = true
		}
		if err := publishConfirmed(ctx, pub, target, replayOf(d)); err != nil {
			return false, fmt.Errorf("replay message %q to queue %q (it stays in %s): %w", idOf(d), target, rococo.DeadLetterQueue(queue), err)
		}
		if err := d.Ack(false); err != nil {
			return false, fmt.Errorf("remove replayed message %q from %s (it was published to %q, and may now be in both): %w", idOf(d), rococo.DeadLetterQueue(queue), target, err)
		}
		r.Moved++
		return true, nil
	})
	return r, err
}

// DeadLetterCount returns how many messages the dead-letter queue of queue
// holds (ready: those another reader holds unacknowledged are not
// counted), the broker of tc (what FromEnv returns).
func DeadLetterCount(ctx context.Context, tc rococo.TransportConfig, queue string) (int, error) {
	var n int
	err := withDeadLetterQueue(ctx, tc, queue, func(_ *amqp.Connection, _ *amqp.Channel, ready int) error {
		n = ready
		return nil
	})
	return n, err
}

// walkDeadLetters reads the dead-letter queue of queue message by message,
// unacknowledged, calling fn until it returns false, the queue has no more
// messages, or it read as many as the queue held at the start. The queue
// is FIFO and the runtime gives it no consumer, so those are the messages
// that were there at the start: one dead-lettered meanwhile (a replayed
// message refused again) is behind them and not read. The messages fn did
// not acknowledge go back to the queue, in their place, when the channel
// closes.
func walkDeadLetters(ctx context.Context, tc rococo.TransportConfig, queue string, fn func(*amqp.Connection, amqp.Delivery) (bool, error)) error {
	return withDeadLetterQueue(ctx, tc, queue, func(conn *amqp.Connection, ch *amqp.Channel, ready int) error {
		dlq := rococo.DeadLetterQueue(queue)
		for range ready {
			d, ok, err := ch.Get(dlq, false)
			if err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("dead letters of %s: %w", dlq, ctx.Err())
				}
				return fmt.Errorf("dead letters of %s: get: %w", dlq, err)
			}
			if !ok {
				return nil
			}
			more, err := fn(conn, d)
			if err != nil || !more {
				return err
			}
		}
		return nil
	})
}

// withDeadLetterQueue calls fn with a connection to the broker of tc, a
// channel on it, and the number of messages ready in the dead-letter queue
// of queue, which it declares first (as the consumer declares it: a
// service that never ran has an empty one, not an error). Both close when
// fn returns, or when ctx ends.
func withDeadLetterQueue(ctx context.Context, tc rococo.TransportConfig, queue string, fn func(conn *amqp.Connection, ch *amqp.Channel, ready int) error) error {
	e, ok := tc.(envConfig)
	if !ok {
		return fmt.Errorf("dead letters of queue %q: the transport is not RabbitMQ's (%T)", queue, tc)
	}
	dlq := rococo.DeadLetterQueue(queue)
	conn, err := e.cfg.withDefaults().dial()
	if err != nil {
		return fmt.Errorf("dead letters of %s: %w", dlq, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("dead letters of %s: open channel: %w", dlq, err)
	}
	defer ch.Close()
	q, err := ch.QueueDeclare(dlq, true, false, false, false, nil)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("dead letters of %s: %w", dlq, ctx.Err())
		}
		return fmt.Errorf("dead letters of %s: declare: %w", dlq, err)
	}
	return fn(conn, ch, q.Messages)
}

func deadLetterOf(d amqp.Delivery) DeadLetter {
	h := stringHeaders(d.Headers)
	return DeadLetter{ID: idOf(d), Body: d.Body, Error: h[rococo.HeaderError], Attempt: attemptOf(d.Headers), Queue: h[rococo.HeaderOriginalQueue]}
}

// idOf is the message-id, else one derived from the body.
func idOf(d amqp.Delivery) string {
	if d.MessageId != "" {
		return d.MessageId
	}
	sum := sha256.Sum256(d.Body)
	return "body:" + hex.EncodeToString(sum[:6])
}

// replayOf is the message to publish back: the dead-letter headers and the
// broker's x-death history dropped.
func replayOf(d amqp.Delivery) amqp.Publishing {
	headers := amqp.Table{}
	for k, v := range d.Headers {
		if !strings.HasPrefix(k, "x-rococo-") && k != "x-death" && !strings.HasPrefix(k, "x-first-death") && !strings.HasPrefix(k, "x-last-death") {
			headers[k] = v
		}
	}
	return amqp.Publishing{
		Headers:         headers,
		ContentType:     d.ContentType,
		ContentEncoding: d.ContentEncoding,
		DeliveryMode:    amqp.Persistent,
		MessageId:       d.MessageId,
		Timestamp:       d.Timestamp,
		Type:            d.Type,
		AppId:           d.AppId,
		Body:            d.Body,
	}
}

// publishConfirmed publishes pub to queue on ch (in confirm mode) and waits
// for the broker's ack.
func publishConfirmed(ctx context.Context, ch *amqp.Channel, queue string, pub amqp.Publishing) error {
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", queue, false, false, pub)
	if err != nil {
		return err
	}
	acked, err := dc.WaitContext(ctx)
	if err != nil {
		return err
	}
	if !acked {
		return errors.New("the broker refused the message (nack)")
	}
	return nil
}
