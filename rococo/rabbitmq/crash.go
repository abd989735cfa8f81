package rabbitmq

import (
	"context"
	"fmt"
	"log/slog"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rococo-go/rococo/rococo"
)

// headerRedelivered marks the copy bump makes of a message its consumer
// died holding, so the copy reads Redelivered although the broker delivers
// it afresh.
const headerRedelivered = "x-rococo-redelivered"

// bump settles a delivery that the broker redelivered, which (since the
// transport gives messages back by publishing copies, never by a requeue)
// means its consumer died or lost its connection while holding it: a
// crash. A copy with HeaderAttempt one higher and headerRedelivered set
// goes to the tail of the queue and the original is acked, so the count of
// crashes survives the next one; past Config.MaxDeliveries the copy goes to
// the dead-letter queue instead, so a message that kills its consumer every
// time ends there. bump reports false when the copy could not be published
// (for example while the broker blocks publishing): the delivery is then
// handed out as it is, with Attempt one higher.
func (c *consumer) bump(ch *amqp.Channel, d *amqp.Delivery) bool {
	del := c.newDelivery(ch, d)
	headers := del.copyHeaders()
	spec := sharedQueue(c.queue)
	if limit := c.t.cfg.MaxDeliveries; limit > 0 && del.msg.Attempt > limit {
		spec = deadLetterQueue(c.queue)
		headers[rococo.HeaderAttempt] = int32(del.msg.Attempt - 1)
		headers[rococo.HeaderError] = fmt.Sprintf("delivered %d times without being settled: its consumer died (crash, kill) or lost its connection while holding it each time (MAX_RETRIES=%d)", del.msg.Attempt-1, limit)
		headers[rococo.HeaderOriginalQueue] = c.queue
	} else {
		headers[rococo.HeaderAttempt] = int32(del.msg.Attempt)
		headers[headerRedelivered] = "true"
	}
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	if err := c.t.publish(ctx, spec, []amqp.Publishing{del.republish(headers)}, failWhileBlocked); err != nil {
		c.log.Warn("rabbitmq redelivered message: copy with the crash counted not published, handing it out as it is",
			slog.String("message_id", d.MessageId), slog.Any("error", err))
		return false
	}
	if err := ch.Ack(d.DeliveryTag, false); err != nil {
		c.log.Debug("rabbitmq ack redelivered message after copying it", slog.Any("error", err))
	}
	if !spec.shared {
		c.log.Error("rabbitmq message dead-lettered: its consumer died holding it on every delivery",
			slog.String("message_id", d.MessageId), slog.Int("deliveries", del.msg.Attempt-1), slog.String("dlq", spec.name))
	}
	return true
}
