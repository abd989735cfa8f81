package rabbitmq

import (
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// RetrySuffix starts the suffix of a queue's delay queues:
// <queue>.retry.<milliseconds>.
const RetrySuffix = ".retry."

// maxDelay is the longest delay a delay queue holds: x-message-ttl is an
// unsigned 32-bit count of milliseconds.
const maxDelay = (1<<32 - 1) * time.Millisecond

// delaySteps are the mantissas of the delay ladder, in tenths: each decade
// of milliseconds has the steps 1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6 and 8, so a
// delay is rounded up by at most a third and never down.
var delaySteps = [...]int64{100, 125, 150, 200, 250, 300, 400, 500, 600, 800}

// DelayStep returns the delay a message asked to wait delay actually waits:
// delay rounded up to the next step of the delay ladder (see delaySteps), at
// least 1ms and at most about 49 days. It returns 0 for delay <= 0.
func DelayStep(delay time.Duration) time.Duration {
	if delay <= 0 {
		return 0
	}
	if delay >= maxDelay {
		return maxDelay
	}
	ms := (delay + time.Millisecond - 1).Milliseconds() // round up to whole ms
	if ms <= 10 {
		return time.Duration(ms) * time.Millisecond // 1-10ms: every millisecond
	}
	for scale := int64(1); ; scale *= 10 {
		for _, s := range delaySteps {
			if step := s * scale / 10; step >= ms {
				return min(time.Duration(step)*time.Millisecond, maxDelay)
			}
		}
	}
}

// DelayQueue returns the name of the delay queue of queue that holds
// messages for delay, rounded by DelayStep: "<queue>.retry.<ms>". Messages
// wait there for the queue's x-message-ttl, then the broker dead-letters
// them back to queue. Every message of one delay queue waits the same time,
// so no message waits behind a longer one.
func DelayQueue(queue string, delay time.Duration) string {
	return queue + RetrySuffix + strconv.FormatInt(DelayStep(delay).Milliseconds(), 10)
}

// delayQueueArgs are the arguments of queue's delay queue for step (a
// DelayStep).
func delayQueueArgs(queue string, step time.Duration) amqp.Table {
	return amqp.Table{
		"x-dead-letter-exchange":    "",
		"x-dead-letter-routing-key": queue,
		"x-message-ttl":             step.Milliseconds(),
	}
}
