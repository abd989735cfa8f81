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
			if err = t.publish(ctx, queue, batch, true); err == nil || !connectionLost(err) || ctx.Err() != nil {
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

// publish sends one batch on a pooled channel and waits for its confirms.
// declare declares queue (durable, no arguments) first when this connection
// has not yet.
func (t *Transport) publish(ctx context.Context, queue string, batch []amqp.Publishing, declare bool) error {
	pc, err := t.getChannel(ctx)
	if err != nil {
		return err
	}
	if declare {
		if err := t.declareForPublish(pc, queue); err != nil {
			t.putChannel(pc)
			return err
		}
	}
	ok := false
	defer func() {
		if ok {
			t.putChannel(pc)
		} else {
			_ = pc.ch.Close()
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
			return errors.New("rabbitmq: broker nacked the message")
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
		t.forgetDeclared(queue)
		ok = true
		return fmt.Errorf("rabbitmq: broker returned %d message(s): %d %s", n, r.ReplyCode, r.ReplyText)
	default:
	}
	ok = true
	return nil
}

// connectionLost reports errors after which sending again on a new channel
// or connection can succeed.
func connectionLost(err error) bool {
	return errors.Is(err, amqp.ErrClosed) || errors.Is(err, errChannelClosed)
}

func (t *Transport) getChannel(ctx context.Context) (*pubChannel, error) {
	conn, gen, err := t.connection(ctx)
	if err != nil {
		return nil, err
	}
	for len(t.pool) > 0 {
		select {
		case pc := <-t.pool:
			if pc.gen == gen && !pc.ch.IsClosed() {
				return pc, nil
			}
			_ = pc.ch.Close()
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

func (t *Transport) putChannel(pc *pubChannel) {
	if pc.ch.IsClosed() {
		return
	}
	select {
	case <-t.closing:
		_ = pc.ch.Close()
		return
	default:
	}
	select {
	case t.pool <- pc:
	default:
		_ = pc.ch.Close()
	}
}

func (t *Transport) declareForPublish(pc *pubChannel, queue string) error {
	t.mu.Lock()
	done := t.declared[queue] && t.gen == pc.gen
	t.mu.Unlock()
	if done {
		return nil
	}
	if err := t.declareQueue(queue, nil); err != nil {
		return err
	}
	t.mu.Lock()
	if t.gen == pc.gen {
		t.declared[queue] = true
	}
	t.mu.Unlock()
	return nil
}

func (t *Transport) forgetDeclared(queue string) {
	t.mu.Lock()
	delete(t.declared, queue)
	t.mu.Unlock()
}

// declareQueue declares queue durable with args on a short-lived channel of
// the current connection. A queue that already exists with other arguments
// (PRECONDITION_FAILED) is used as it is: a Go service must be able to share
// a queue that someone else declared.
func (t *Transport) declareQueue(queue string, args amqp.Table) error {
	t.mu.Lock()
	conn := t.conn
	t.mu.Unlock()
	if conn == nil {
		return fmt.Errorf("declare queue %q: %w", queue, amqp.ErrClosed)
	}
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("declare queue %q: %w", queue, err)
	}
	_, err = ch.QueueDeclare(queue, true, false, false, false, args)
	if err == nil {
		return ch.Close()
	}
	var ae *amqp.Error
	if !errors.As(err, &ae) || ae.Code != amqp.PreconditionFailed {
		_ = ch.Close()
		return fmt.Errorf("declare queue %q: %w", queue, err)
	}
	// The failed declare closed ch; check the queue exists on a new one.
	ch, err = conn.Channel()
	if err != nil {
		return fmt.Errorf("declare queue %q: %w", queue, err)
	}
	defer ch.Close()
	if _, perr := ch.QueueDeclarePassive(queue, true, false, false, false, nil); perr != nil {
		return fmt.Errorf("declare queue %q: %w", queue, err)
	}
	t.log.Warn("queue exists with other arguments, using it as it is", slog.String("queue", queue), slog.String("declare_error", ae.Reason))
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
