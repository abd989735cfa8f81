package rabbitmq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rococo-go/rococo/rococo/bus"
)

// confirmChannel is the channel in confirm mode that events and
// announcements are published on. Concurrent publishes share it: each
// waits for its own confirmation.
type confirmChannel struct {
	ch *amqp.Channel
}

// publisher returns the confirm channel, opening it (and declaring the
// exchanges) when there is none or it was lost.
func (b *Bus) publisher(ctx context.Context) (*confirmChannel, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pub != nil && !b.pub.ch.IsClosed() {
		return b.pub, nil
	}
	ch, err := b.openChannel(ctx)
	if err != nil {
		return nil, err
	}
	if err := b.declareExchanges(ch); err != nil {
		_ = ch.Close()
		return nil, err
	}
	if err := ch.Confirm(false); err != nil {
		_ = ch.Close()
		return nil, fmt.Errorf("enable publisher confirms: %w", err)
	}
	b.pub = &confirmChannel{ch: ch}
	return b.pub, nil
}

// Publish sends ev as a persistent JSON message to the events exchange with
// routing key ev.Key and returns once the broker confirmed it: it is then
// in every listener queue bound to a matching pattern.
func (b *Bus) Publish(ctx context.Context, ev bus.Event) error {
	if ev.Key == "" {
		return fmt.Errorf("rabbitmq bus: publish event %q: the key is empty: build it with bus.Key(service, name)", ev.ID)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("rabbitmq bus: publish %s: encode: %w", ev.Key, err)
	}
	return b.publishConfirmed(ctx, b.opts.EventsExchange, ev.Key, amqp.Publishing{
		ContentType:  "application/json",
		DeliveryMode: amqp.Persistent,
		MessageId:    ev.ID,
		Timestamp:    ev.Time,
		Body:         body,
	})
}

func (b *Bus) publishConfirmed(ctx context.Context, exchange, key string, msg amqp.Publishing) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.cfg.DialTimeout)
		defer cancel()
	}
	pc, err := b.publisher(ctx)
	if err != nil {
		return fmt.Errorf("rabbitmq bus: publish %s: %w", key, err)
	}
	dc, err := pc.ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, false, false, msg)
	if err != nil {
		return fmt.Errorf("rabbitmq bus: publish %s: %w", key, err)
	}
	ok, err := dc.WaitContext(ctx)
	if err != nil {
		return fmt.Errorf("rabbitmq bus: publish %s: waiting for the broker's confirmation: %w", key, err)
	}
	if !ok {
		return fmt.Errorf("rabbitmq bus: publish %s: the broker did not confirm it (nack or channel lost)", key)
	}
	return nil
}

// Bind declares the durable queue of a listener and binds it to the events
// exchange with each pattern, so that events matching any of them wait in
// it while no replica consumes. A queue that exists with other arguments is
// used as it is. Bindings are only added: a pattern removed from the code
// stays bound until the queue is unbound or deleted by hand.
func (b *Bus) Bind(ctx context.Context, queue string, patterns []bus.Pattern) error {
	if !ValidQueueName(queue) {
		return fmt.Errorf("rabbitmq bus: bind %q: not a valid queue name (1-200 bytes of UTF-8, no control characters, not starting with amq.)", queue)
	}
	ch, err := b.channel(ctx)
	if err != nil {
		return fmt.Errorf("rabbitmq bus: bind %q: %w", queue, err)
	}
	defer func() { _ = ch.Close() }()
	if err := b.declareExchanges(ch); err != nil {
		return fmt.Errorf("rabbitmq bus: bind %q: %w", queue, err)
	}
	if _, err := ch.QueueDeclare(queue, true, false, false, false, nil); err != nil {
		var ae *amqp.Error
		if !errors.As(err, &ae) || ae.Code != amqp.PreconditionFailed {
			return fmt.Errorf("rabbitmq bus: declare queue %q: %w", queue, err)
		}
		b.log.Warn("queue exists with other arguments, using it as it is", slog.String("queue", queue), slog.String("declare_error", ae.Reason))
		if ch, err = b.channel(ctx); err != nil {
			return fmt.Errorf("rabbitmq bus: bind %q: %w", queue, err)
		}
		defer func() { _ = ch.Close() }()
	}
	for _, p := range patterns {
		if err := ch.QueueBind(queue, p.String(), b.opts.EventsExchange, false, nil); err != nil {
			return fmt.Errorf("rabbitmq bus: bind queue %q to %q with %q: %w", queue, b.opts.EventsExchange, p, err)
		}
	}
	return nil
}
