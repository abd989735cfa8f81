package rabbitmq

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/config"
)

// queueSpec says how the transport declares a queue before using it.
type queueSpec struct {
	name string
	// shared: the queue services consume and publish to, possibly declared
	// by a Python service or by hand. An existing one is used whatever its
	// arguments; a missing one is declared durable with no arguments, as
	// Python rococo declares it.
	shared bool
	// args are the arguments of a queue the transport owns (a delay or
	// dead-letter queue); an existing queue with other arguments is
	// refused.
	args amqp.Table
	// owner is the consumed queue an owned queue belongs to.
	owner string
}

func sharedQueue(name string) queueSpec { return queueSpec{name: name, shared: true} }

func deadLetterQueue(queue string) queueSpec {
	return queueSpec{name: rococo.DeadLetterQueue(queue), owner: queue}
}

// delayQueue is queue's delay queue for delay; for delay <= 0 it is queue
// itself.
func delayQueue(queue string, delay time.Duration) queueSpec {
	step := DelayStep(delay)
	if step <= 0 {
		return sharedQueue(queue)
	}
	return queueSpec{name: DelayQueue(queue, delay), args: delayQueueArgs(queue, step), owner: queue}
}

// declare declares spec on a short-lived channel of conn.
func (t *Transport) declare(conn *amqp.Connection, spec queueSpec) error {
	if spec.shared {
		return declareShared(conn, spec.name)
	}
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("declare queue %q: %w", spec.name, err)
	}
	_, err = ch.QueueDeclare(spec.name, true, false, false, false, spec.args)
	if err == nil {
		return ch.Close()
	}
	var ae *amqp.Error
	if errors.As(err, &ae) && ae.Code == amqp.PreconditionFailed {
		return t.foreignQueue(spec, ae)
	}
	_ = ch.Close()
	return fmt.Errorf("declare queue %q: %w", spec.name, err)
}

// declareOwned declares queue's dead-letter queue and checks the delay
// queues of queue that exist (a passive declare per step of the delay
// ladder, checkers at a time): each owned queue that exists with other
// arguments than the transport's is refused with a *config.Error. Missing
// delay queues are declared when a message first goes to one.
func (t *Transport) declareOwned(conn *amqp.Connection, queue string) error {
	if err := t.declare(conn, deadLetterQueue(queue)); err != nil {
		return err
	}
	var steps []time.Duration
	for d := time.Millisecond; ; d = DelayStep(d + time.Millisecond) {
		steps = append(steps, d)
		if d >= maxDelay {
			break
		}
	}
	const checkers = 8
	errs := make([]error, len(steps))
	var wg sync.WaitGroup
	for w := range checkers {
		wg.Go(func() {
			for i := w; i < len(steps); i += checkers {
				errs[i] = t.checkDelayQueue(conn, queue, steps[i])
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// checkDelayQueue declares queue's delay queue for step when it exists, and
// notes it among those ExitWhenFinished waits for (it may hold a retry of
// an earlier run).
func (t *Transport) checkDelayQueue(conn *amqp.Connection, queue string, step time.Duration) error {
	name := DelayQueue(queue, step)
	switch _, err := queueDepth(conn, name); {
	case err == nil:
		spec := delayQueue(queue, step)
		if err := t.declare(conn, spec); err != nil {
			return err
		}
		t.noteDelayQueue(spec)
		return nil
	case !isNotFound(err):
		return fmt.Errorf("check queue %q: %w", name, err)
	}
	return nil
}

func isNotFound(err error) bool {
	var ae *amqp.Error
	return errors.As(err, &ae) && ae.Code == amqp.NotFound
}

// declareShared checks that queue exists (a passive declare) and declares
// it durable without arguments when it does not.
func declareShared(conn *amqp.Connection, queue string) error {
	for range 2 {
		ch, err := conn.Channel()
		if err != nil {
			return fmt.Errorf("declare queue %q: %w", queue, err)
		}
		if _, err = ch.QueueDeclarePassive(queue, true, false, false, false, nil); err == nil {
			return ch.Close()
		}
		var ae *amqp.Error
		if !errors.As(err, &ae) || ae.Code != amqp.NotFound {
			_ = ch.Close()
			return fmt.Errorf("check queue %q: %w", queue, err)
		}
		// The failed passive declare closed ch.
		if ch, err = conn.Channel(); err != nil {
			return fmt.Errorf("declare queue %q: %w", queue, err)
		}
		_, err = ch.QueueDeclare(queue, true, false, false, false, nil)
		if err == nil {
			return ch.Close()
		}
		if !errors.As(err, &ae) || ae.Code != amqp.PreconditionFailed {
			_ = ch.Close()
			return fmt.Errorf("declare queue %q: %w", queue, err)
		}
		// Someone declared it with arguments meanwhile: check again.
	}
	return fmt.Errorf("declare queue %q: declared and deleted concurrently", queue)
}

// foreignQueue is the error for an owned queue that exists with other
// arguments than spec's: using it could drop or keep its messages, so the
// service refuses it.
func (t *Transport) foreignQueue(spec queueSpec, ae *amqp.Error) error {
	return &config.Error{
		Var:   t.cfg.QueueVariable,
		Value: spec.owner,
		Accepted: fmt.Sprintf("its queue %q as rococo declares it (%s), but RabbitMQ has it with other arguments (%s): move its messages elsewhere, delete %q and start the service again",
			spec.name, describeArgs(spec.args), ae.Reason, spec.name),
	}
}

func describeArgs(args amqp.Table) string {
	if len(args) == 0 {
		return "durable, no arguments"
	}
	// A fixed order, so the line reads the same every time.
	s := "durable"
	for _, k := range []string{"x-dead-letter-exchange", "x-dead-letter-routing-key", "x-message-ttl"} {
		if v, ok := args[k]; ok {
			switch v := v.(type) {
			case string:
				s += " " + k + "=" + strconv.Quote(v)
			default:
				s += fmt.Sprintf(" %s=%v", k, v)
			}
		}
	}
	return s
}
