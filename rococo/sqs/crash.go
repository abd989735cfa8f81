package sqs

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// A message's Attempt counts the receives of its copy that were never
// settled (see receivedAttempt): its consumer died holding it (crash, kill,
// out of memory) or let its visibility timeout run out. The router
// dead-letters a message whose attempt MaxRetries fails, so a message
// received again (Redelivered) at an Attempt above Config.MaxDeliveries has
// used up its attempts without ever being settled on the last one: a crash
// loop. It goes to the dead-letter queue, as on RabbitMQ (rococo/rabbitmq's
// bump), instead of to a processor that it would kill again.

// crashLooped reports whether d is such a message.
func (c *consumer) crashLooped(d *delivery) bool {
	limit := c.t.cfg.MaxDeliveries
	return limit > 0 && d.msg.Redelivered && d.msg.Attempt > limit
}

// crashLoopError is the x-rococo-error of a crash-looped message.
func crashLoopError(d *delivery, limit int) error {
	return fmt.Errorf("crash loop: %d attempts (MAX_RETRIES=%d) and the last was never settled: received %d times without being settled, "+
		"its consumer died (crash, kill, out of memory) or let its visibility timeout run out while holding it",
		d.msg.Attempt-1, limit, d.unsettled)
}

// deadLetterCrashed sends crash-looped messages (not handed out) to the
// dead-letter queue with their attempts so far and an error naming the
// crash loop, then deletes them. A message whose copy cannot be sent is
// returned, to be handed out as it is (its processor then dead-letters it
// should it fail at that attempt).
func (c *consumer) deadLetterCrashed(ds []*delivery) []*delivery {
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	limit := c.t.cfg.MaxDeliveries
	dlq := deadLetterQueue(c.queue)
	var rest []*delivery
	for _, d := range ds {
		d.mu.Lock()
		d.settled = true
		d.mu.Unlock()
		c.forget(d)
		if err := d.copyToDeadLetters(ctx, crashLoopError(d, limit), d.msg.Attempt-1); err != nil {
			c.log.Warn("crash-looped message not copied to the dead-letter queue; handing it out as it is",
				slog.String("message_id", d.msg.ID), slog.Int("attempt", d.msg.Attempt), slog.Any("error", err))
			d.reopen()
			rest = append(rest, d)
			continue
		}
		if err := c.del.enqueue(ctx, d.receipt, d.msg.ID); err != nil {
			c.log.Warn("crash-looped message copied to the dead-letter queue but not deleted; it will be delivered again",
				slog.String("message_id", d.msg.ID), slog.Any("error", err))
		}
		c.log.Error("message dead-lettered: its consumer died holding it on every attempt (crash loop)",
			slog.String("message_id", d.msg.ID), slog.Int("attempts", d.msg.Attempt-1), slog.Int("unsettled_receives", d.unsettled),
			slog.Int("max_retries", limit), slog.String("dead_letter_queue", dlq))
		c.unhold(1)
	}
	return rest
}

// unsettledReceives returns how many receives of m came before this one:
// each was never settled (see receivedAttempt).
func unsettledReceives(m types.Message) int {
	attempt, _ := receivedAttempt(m)
	base, _ := receivedAttempt(types.Message{MessageAttributes: m.MessageAttributes})
	return attempt - base
}
