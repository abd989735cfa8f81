package rabbitmq

import (
	"context"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Announce publishes doc to the registry exchange, for every watcher, and
// waits for the broker's confirmation. An announcement is transient: the
// next one replaces it.
func (b *Bus) Announce(ctx context.Context, doc []byte) error {
	return b.publishConfirmed(ctx, b.opts.RegistryExchange, "", amqp.Publishing{
		ContentType:  "application/json",
		DeliveryMode: amqp.Transient,
		Body:         doc,
	})
}

// Watch calls f with every announcement from now on until ctx ends, on an
// exclusive queue of its own bound to the registry exchange; it declares a
// new one after a lost connection. Announcements sent while it reconnects
// are missed: the next period's arrive, which a TTL of several periods
// allows for.
func (b *Bus) Watch(ctx context.Context, f func(doc []byte)) error {
	return b.retry(ctx, "watch the registry", func(ctx context.Context, ch *amqp.Channel) error {
		if err := b.declareExchanges(ch); err != nil {
			return err
		}
		q, err := ch.QueueDeclare("", false, true, true, false, nil)
		if err != nil {
			return fmt.Errorf("declare a registry queue: %w", err)
		}
		if err := ch.QueueBind(q.Name, "", b.opts.RegistryExchange, false, nil); err != nil {
			return fmt.Errorf("bind %q to %q: %w", q.Name, b.opts.RegistryExchange, err)
		}
		dels, err := ch.Consume(q.Name, "", true, true, false, false, nil)
		if err != nil {
			return fmt.Errorf("consume %q: %w", q.Name, err)
		}
		for {
			select {
			case d, ok := <-dels:
				if !ok {
					return fmt.Errorf("the registry queue's channel closed")
				}
				f(d.Body)
			case <-ctx.Done():
				return nil
			}
		}
	})
}
