package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rococo-go/rococo/rococo"
)

// ErrSettled is returned when a delivery is settled a second time.
var ErrSettled = errors.New("rabbitmq: delivery already settled")

// maxErrorHeader bounds the length of HeaderError.
const maxErrorHeader = 4096

// settleTimeout bounds the publish of a Retry or DeadLetter copy: the
// runtime settles with a ctx that never ends.
const settleTimeout = 30 * time.Second

// delivery is one AMQP delivery handed to the runtime. It remembers the
// channel it came on: after that channel died, settling it fails and the
// broker redelivers the message (at-least-once).
type delivery struct {
	c       *consumer
	ch      *amqp.Channel
	raw     amqp.Delivery
	msg     rococo.Message
	settled atomic.Bool
}

var _ rococo.Delivery = (*delivery)(nil)

func (c *consumer) newDelivery(ch *amqp.Channel, d *amqp.Delivery) *delivery {
	attempt := attemptOf(d.Headers)
	if d.Redelivered {
		// The transport gives messages back by publishing copies, never by
		// a requeue: a message the broker redelivers was held by a consumer
		// that died or lost its connection (a crash), which counts.
		attempt++
	}
	return &delivery{
		c:   c,
		ch:  ch,
		raw: *d,
		msg: rococo.Message{
			ID:          d.MessageId,
			Body:        d.Body,
			Headers:     stringHeaders(d.Headers),
			Attempt:     attempt,
			Redelivered: d.Redelivered || d.Headers[headerRedelivered] != nil,
			Queue:       c.queue,
		},
	}
}

// Message returns the message.
func (d *delivery) Message() *rococo.Message { return &d.msg }

// claim marks d settled; false when it already was. The caller calls
// d.c.done() once the settlement reached the channel, so the consumer does
// not close the channel under it.
func (d *delivery) claim() bool {
	return d.settled.CompareAndSwap(false, true)
}

// Ack acknowledges the message. It fails when the channel the message came
// on is gone; the broker then delivers the message again.
func (d *delivery) Ack(context.Context) error {
	if !d.claim() {
		return ErrSettled
	}
	defer d.c.done()
	if err := d.ch.Ack(d.raw.DeliveryTag, false); err != nil {
		return fmt.Errorf("ack message from queue %q (the broker will redeliver it): %w", d.msg.Queue, err)
	}
	return nil
}

// Retry publishes a copy of the message, with its headers, properties and
// HeaderAttempt increased, to the delay queue of delay (DelayQueue; the
// queue itself for 0); when the delay queue's TTL expires the broker
// dead-letters it back to the queue. Once the broker confirmed the copy, the
// original is acked. When the copy cannot be published, the delivery stays
// unsettled (settle it again, e.g. with Release).
func (d *delivery) Retry(ctx context.Context, delay time.Duration, cause error) error {
	if d.settled.Load() {
		return ErrSettled
	}
	headers := d.copyHeaders()
	delete(headers, headerRedelivered)
	headers[rococo.HeaderAttempt] = int32(d.msg.Attempt + 1)
	if cause != nil {
		headers[rococo.HeaderError] = truncate(cause.Error())
	}
	return d.moveTo(ctx, delayQueue(d.msg.Queue, delay), d.republish(headers))
}

// Release gives the message back unprocessed: a copy with the same
// HeaderAttempt is published to the delay queue of delay (the queue itself
// for 0) and the original acked, so the message comes back after delay
// with the same Attempt and not marked Redelivered. When the copy cannot be
// published (the broker blocks publishing, a queue is missing), the
// original is held without taking a prefetch slot and moved again after
// delay, once the broker no longer blocks publishing (see consumer.hold).
func (d *delivery) Release(ctx context.Context, delay time.Duration) error {
	if d.settled.Load() {
		return ErrSettled
	}
	spec, pub := delayQueue(d.msg.Queue, delay), d.republish(d.giveBackHeaders())
	err := d.moveTo(ctx, spec, pub)
	if err == nil || !d.claim() {
		return err // released, or the channel is gone and the broker has it
	}
	d.c.log.Warn("rabbitmq release: copy not published, holding the message to move it again after the delay",
		slog.String("message_id", d.msg.ID), slog.Duration("delay", delay), slog.Any("error", err))
	d.c.hold(d, spec, pub, delay)
	return nil
}

// DeadLetter publishes a copy of the message to <queue>.dlq with
// HeaderError, HeaderAttempt and HeaderOriginalQueue set, then acks the
// original once the broker confirmed the copy. When the copy cannot be
// published, the delivery stays unsettled (settle it again, e.g. with
// Release).
func (d *delivery) DeadLetter(ctx context.Context, cause error) error {
	if d.settled.Load() {
		return ErrSettled
	}
	headers := d.copyHeaders()
	errText := "unknown error"
	if cause != nil {
		errText = cause.Error()
	}
	headers[rococo.HeaderError] = truncate(errText)
	headers[rococo.HeaderAttempt] = int32(d.msg.Attempt)
	headers[rococo.HeaderOriginalQueue] = d.msg.Queue
	return d.moveTo(ctx, deadLetterQueue(d.msg.Queue), d.republish(headers))
}

// moveTo publishes pub to spec's queue (confirmed), then acks the original.
// A failed publish leaves the original unsettled.
func (d *delivery) moveTo(ctx context.Context, spec queueSpec, pub amqp.Publishing) error {
	queue := spec.name
	if d.ch.IsClosed() {
		// The broker already took the message back and will redeliver it.
		if d.claim() {
			d.c.done()
		}
		return fmt.Errorf("move message from queue %q to %q: %w (the broker will redeliver it)", d.msg.Queue, queue, amqp.ErrClosed)
	}
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	if err := d.c.t.publish(ctx, spec, []amqp.Publishing{pub}, failWhileBlocked); err != nil {
		return fmt.Errorf("publish message from queue %q to %q: %w", d.msg.Queue, queue, err)
	}
	if !d.claim() {
		return ErrSettled
	}
	defer d.c.done()
	if err := d.ch.Ack(d.raw.DeliveryTag, false); err != nil {
		return fmt.Errorf("ack message from queue %q after moving it to %q (the broker will redeliver it): %w", d.msg.Queue, queue, err)
	}
	return nil
}

// giveBackHeaders are the headers of a copy that gives the message back
// unprocessed: the original ones with HeaderAttempt set to this delivery's
// attempt.
func (d *delivery) giveBackHeaders() amqp.Table {
	h := d.copyHeaders()
	delete(h, headerRedelivered)
	h[rococo.HeaderAttempt] = int32(d.msg.Attempt)
	return h
}

func (d *delivery) copyHeaders() amqp.Table {
	h := make(amqp.Table, len(d.raw.Headers)+3)
	maps.Copy(h, d.raw.Headers)
	return h
}

// republish copies the original message's body and properties. UserId is
// left out: the broker rejects one that differs from the connection's user.
func (d *delivery) republish(headers amqp.Table) amqp.Publishing {
	r := &d.raw
	return amqp.Publishing{
		Headers:         headers,
		ContentType:     r.ContentType,
		ContentEncoding: r.ContentEncoding,
		DeliveryMode:    amqp.Persistent,
		Priority:        r.Priority,
		CorrelationId:   r.CorrelationId,
		ReplyTo:         r.ReplyTo,
		MessageId:       r.MessageId,
		Timestamp:       r.Timestamp,
		Type:            r.Type,
		AppId:           r.AppId,
		Body:            r.Body,
	}
}

func truncate(s string) string {
	if len(s) <= maxErrorHeader {
		return s
	}
	return s[:maxErrorHeader]
}
