package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rococo-go/rococo/rococo"
)

// batchSize is the most messages published on one channel before waiting for
// their confirms. It is also the capacity of the channel's return buffer, so
// the library's reader never blocks on a returned message.
const batchSize = 256

// publishAttempts bounds how often Publish sends a batch again after the
// connection dropped under it (waiting for the reconnect in between).
const publishAttempts = 3

// ContentType is the content type of every message the transport publishes.
const ContentType = "application/json"

// ErrBlocked is returned by the moves of Retry, Release and DeadLetter
// while the broker blocks the publishing connection (a memory or disk
// alarm): they fail at once instead of holding a worker until the alarm
// ends.
var ErrBlocked = errors.New("rabbitmq: the broker blocks publishing (resource alarm)")

// errChannelClosed reports a publishing channel that died before the broker
// confirmed a message.
var errChannelClosed = errors.New("rabbitmq: channel closed before the broker confirmed the message")

// pubChannel is a channel in confirm mode, used by one publish at a time.
type pubChannel struct {
	ch      *amqp.Channel
	gen     uint64
	returns chan amqp.Return
}

// Publish sends msgs to queue as Python rococo's send_message does: the
// queue is declared durable when missing, each body is sent as is (it must
// be JSON) with content type application/json, persistent delivery mode, on
// the default exchange with routing key queue, and Headers as AMQP string
// headers. Publish returns once the broker confirmed every message (publisher
// confirms); a nack or an unroutable (returned) message is an error. When the
// connection drops meanwhile, Publish waits for the reconnect (bounded by
// ctx) and sends the unconfirmed batch again, so a message may arrive twice
// but is never lost silently.
//
// Publish is safe for concurrent use.
func (t *Transport) Publish(ctx context.Context, queue string, msgs ...*rococo.Message) error {
	if queue == "" {
		return errors.New("rabbitmq: publish: empty queue name")
	}
	pubs := make([]amqp.Publishing, len(msgs))
	for i, m := range msgs {
		if err := rococo.CheckJSON(m.Body); err != nil {
			return fmt.Errorf("rabbitmq: publish to queue %q: message %d (nothing sent): %w", queue, i, err)
		}
		pubs[i] = amqp.Publishing{
			ContentType:  ContentType,
			DeliveryMode: amqp.Persistent,
			Headers:      stringTable(m.Headers),
			Body:         m.Body,
		}
	}
	for start := 0; start < len(pubs); start += batchSize {
		batch := pubs[start:min(start+batchSize, len(pubs))]
		var err error
		for range publishAttempts {
			if err = t.publish(ctx, sharedQueue(queue), batch, waitWhileBlocked); err == nil || !connectionLost(err) || ctx.Err() != nil {
				break
			}
			t.log.Debug("rabbitmq publish interrupted, sending again after reconnect", slog.String("queue", queue), slog.Any("error", err))
		}
		if err != nil {
			return fmt.Errorf("publish to queue %q: %w", queue, err)
		}
	}
	return nil
}

// whenBlocked says what publish does while the broker blocks publishing.
type whenBlocked bool

const (
	waitWhileBlocked whenBlocked = false // Publish: wait (bounded by ctx)
	failWhileBlocked whenBlocked = true  // moves: fail with ErrBlocked at once
)

// publish sends one batch to spec's queue on a pooled channel and waits for
// its confirms. It declares the queue first when this connection has not
// yet. While the broker blocks publishing it waits or fails (see
// whenBlocked); a move whose confirm is still outstanding when the block
// starts fails too.
func (t *Transport) publish(ctx context.Context, spec queueSpec, batch []amqp.Publishing, wb whenBlocked) error {
	reason, unblocked, blocked := t.publishLink.blockedState()
	if reason != "" {
		if wb == failWhileBlocked {
			return fmt.Errorf("%w: %s", ErrBlocked, reason)
		}
		select {
		case <-unblocked:
		case <-ctx.Done():
			return fmt.Errorf("%w (%s): %w", ErrBlocked, reason, ctx.Err())
		}
	}
	if wb == waitWhileBlocked {
		return t.publishBatch(ctx, spec, batch)
	}
	bctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-blocked:
			cancel(ErrBlocked)
		case <-bctx.Done():
		}
	}()
	err := t.publishBatch(bctx, spec, batch)
	if err != nil && errors.Is(context.Cause(bctx), ErrBlocked) {
		return fmt.Errorf("%w (the block started before the broker confirmed the copy): %w", ErrBlocked, err)
	}
	return err
}

// publishBatch is publish without the blocked handling.
func (t *Transport) publishBatch(ctx context.Context, spec queueSpec, batch []amqp.Publishing) error {
	queue := spec.name
	pc, err := t.prepare(ctx, spec)
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if ok {
			t.putChannel(pc)
		} else {
			discard(pc)
		}
	}()
	dcs := make([]*amqp.DeferredConfirmation, len(batch))
	for i := range batch {
		dc, err := pc.ch.PublishWithDeferredConfirmWithContext(ctx, "", queue, true, false, batch[i])
		if err != nil {
			return err
		}
		dcs[i] = dc
	}
	for _, dc := range dcs {
		acked, err := dc.WaitContext(ctx)
		if err != nil {
			return err
		}
		if !acked {
			if pc.ch.IsClosed() {
				return errChannelClosed
			}
			t.publishLink.forgetDeclared(queue)
			return errors.New("rabbitmq: broker nacked the message (queue full with overflow reject-publish, or a broker error)")
		}
	}
	// The broker sends basic.return before the basic.ack of the same message
	// and the library hands it over synchronously, so every return of this
	// batch is buffered by now. The library closes pc.returns when the
	// channel shuts down: a closed channel is no returned message.
	select {
	case r, returned := <-pc.returns:
		if !returned {
			return nil // the batch was confirmed; ok stays false: drop pc
		}
		n := 1
		for len(pc.returns) > 0 {
			<-pc.returns
			n++
		}
		t.publishLink.forgetDeclared(queue)
		ok = true
		return fmt.Errorf("rabbitmq: broker returned %d message(s): %d %s", n, r.ReplyCode, r.ReplyText)
	default:
	}
	ok = true
	return nil
}

// prepare returns a publishing channel on which spec is declared. Opening
// a channel, enabling confirms and declaring are round trips without a ctx
// that a broker blocking the connection does not answer: ctx bounds the
// wait, and a channel that is ready only later goes back to the pool.
func (t *Transport) prepare(ctx context.Context, spec queueSpec) (*pubChannel, error) {
	type result struct {
		pc  *pubChannel
		err error
	}
	done := make(chan result, 1)
	go func() {
		pc, err := t.getChannel(ctx)
		if err == nil {
			if err = t.declareForPublish(pc, spec); err != nil {
				t.putChannel(pc)
				pc = nil
			}
		}
		done <- result{pc, err}
	}()
	select {
	case r := <-done:
		return r.pc, r.err
	case <-ctx.Done():
		go func() {
			if r := <-done; r.pc != nil {
				t.putChannel(r.pc)
			}
		}()
		return nil, fmt.Errorf("rabbitmq: open a publishing channel for %q: %w", spec.name, context.Cause(ctx))
	}
}

// connectionLost reports errors after which sending again on a new channel
// or connection can succeed.
func connectionLost(err error) bool {
	return errors.Is(err, amqp.ErrClosed) || errors.Is(err, errChannelClosed)
}

func (t *Transport) getChannel(ctx context.Context) (*pubChannel, error) {
	conn, gen, err := t.publishLink.connection(ctx)
	if err != nil {
		return nil, err
	}
	for len(t.pool) > 0 {
		select {
		case pc := <-t.pool:
			if pc.gen == gen && !pc.ch.IsClosed() {
				return pc, nil
			}
			discard(pc)
		default: // another publisher took it
		}
	}
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open publishing channel: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		_ = ch.Close()
		return nil, fmt.Errorf("enable publisher confirms: %w", err)
	}
	return &pubChannel{ch: ch, gen: gen, returns: ch.NotifyReturn(make(chan amqp.Return, batchSize))}, nil
}

// discard closes a channel whose publish failed, without waiting: closing
// is a round trip that a broker blocking the connection does not answer
// until the block ends (or the connection closes).
func discard(pc *pubChannel) {
	go func() { _ = pc.ch.Close() }()
}

func (t *Transport) putChannel(pc *pubChannel) {
	if pc.ch.IsClosed() {
		return
	}
	select {
	case <-t.closing:
		discard(pc)
		return
	default:
	}
	select {
	case t.pool <- pc:
	default:
		discard(pc)
	}
}

func (t *Transport) declareForPublish(pc *pubChannel, spec queueSpec) error {
	l := t.publishLink
	if l.isDeclared(spec.name, pc.gen) {
		return nil
	}
	conn, gen := l.current()
	if conn == nil || gen != pc.gen {
		return fmt.Errorf("declare queue %q: %w", spec.name, amqp.ErrClosed)
	}
	if err := t.declare(conn, spec); err != nil {
		return err
	}
	l.setDeclared(spec.name, gen)
	if spec.args != nil && spec.owner != "" {
		t.noteDelayQueue(spec)
	}
	return nil
}

// stringTable converts string headers to an AMQP table (nil when empty).
func stringTable(h map[string]string) amqp.Table {
	if len(h) == 0 {
		return nil
	}
	t := make(amqp.Table, len(h))
	for k, v := range h {
		t[k] = v
	}
	return t
}
