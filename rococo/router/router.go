package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rococo-go/rococo/internal/backoff"
	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/metrics"
	"github.com/rococo-go/rococo/rococo/report"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultMaxRetries      = 5
	DefaultRetryBackoff    = time.Second
	DefaultMaxRetryBackoff = 5 * time.Minute
	DefaultShutdownTimeout = 30 * time.Second
)

// cancelGrace is how long Run waits for in-flight messages to return once
// their ctx was cancelled at the shutdown deadline.
const cancelGrace = 5 * time.Second

var (
	// ErrInvalidJSON is the cause recorded when a message body is not valid
	// JSON; such a message is dead-lettered without calling the processor.
	ErrInvalidJSON = errors.New("message body is not valid JSON")
	// ErrNotConsuming is returned by Ready before Run consumes and after it
	// stopped.
	ErrNotConsuming = errors.New("router not consuming")
	// ErrAlreadyRunning is returned by a second call to Run.
	ErrAlreadyRunning = errors.New("router already running")
	// ErrShutdownTimeout is returned by Run when the workers did not stop
	// even after the processors' ctx was cancelled at the shutdown deadline:
	// a processor ignores its ctx, or the transport did not close the
	// delivery channel when intake stopped.
	ErrShutdownTimeout = errors.New("router shutdown timeout: workers still running after the shutdown deadline")
)

// Config configures a Router. Zero values take the defaults named on each
// field.
type Config struct {
	// Queue is the queue consumed. Required.
	Queue string
	// Concurrency is the number of messages processed at once (worker
	// goroutines); the transport's prefetch is set to it. Values below 1
	// mean 1.
	Concurrency int
	// MaxRetries is the number of attempts a message gets: a failure of
	// attempt MaxRetries dead-letters it. Values below 1 mean
	// DefaultMaxRetries (5).
	MaxRetries int
	// RetryBackoff is the delay before the second attempt; it doubles with
	// every further attempt up to MaxRetryBackoff, with ±10% jitter.
	// Defaults: 1s and 5m.
	RetryBackoff, MaxRetryBackoff time.Duration
	// ShutdownTimeout is how long in-flight messages may run after Run's
	// ctx is cancelled before their own ctx is cancelled. Default 30s.
	ShutdownTimeout time.Duration
	// ExitWhenFinished makes Run return nil once the queue is empty and
	// nothing is in flight (EXIT_WHEN_FINISHED).
	ExitWhenFinished bool
	// Logger receives the router's logs; nil discards them.
	Logger *slog.Logger
	// Metrics counts messages by outcome; nil counts nothing.
	Metrics *metrics.Metrics
	// Reporter receives processor errors and panics; nil reports nothing.
	Reporter report.Reporter
	// Middleware wraps the processor, the first one outermost. The router
	// itself puts report.Middleware(Reporter) outside them and Recover
	// inside them, so both they and the reporter see panics as errors.
	Middleware []rococo.Middleware
}

// Router consumes one queue and hands its messages to a processor. Create it
// with New; Run may be called once. Ready and InFlight are safe for
// concurrent use.
type Router struct {
	tr      rococo.Transport
	cfg     Config
	handler rococo.Handler
	log     *slog.Logger
	rep     report.Reporter
	qm      *metrics.Queue
	backoff backoff.Policy

	cancelGrace time.Duration

	running   atomic.Bool // Run was called
	consuming atomic.Bool
	inFlight  atomic.Int64
}

// New returns a Router that consumes cfg.Queue from tr and hands each
// message to p.
func New(tr rococo.Transport, p rococo.MessageProcessor, cfg Config) (*Router, error) {
	switch {
	case tr == nil:
		return nil, errors.New("new router: nil transport")
	case p == nil:
		return nil, errors.New("new router: nil processor")
	case cfg.Queue == "":
		return nil, errors.New("new router: empty queue name")
	case cfg.RetryBackoff < 0 || cfg.MaxRetryBackoff < 0 || cfg.ShutdownTimeout < 0:
		return nil, fmt.Errorf("new router for queue %q: negative backoff or shutdown timeout", cfg.Queue)
	}
	cfg.Concurrency = max(cfg.Concurrency, 1)
	if cfg.MaxRetries < 1 {
		cfg.MaxRetries = DefaultMaxRetries
	}
	if cfg.RetryBackoff == 0 {
		cfg.RetryBackoff = DefaultRetryBackoff
	}
	if cfg.MaxRetryBackoff == 0 {
		cfg.MaxRetryBackoff = DefaultMaxRetryBackoff
	}
	cfg.MaxRetryBackoff = max(cfg.MaxRetryBackoff, cfg.RetryBackoff)
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rep := cfg.Reporter
	if rep == nil {
		rep = report.Nop
	}
	mws := make([]rococo.Middleware, 0, len(cfg.Middleware)+2)
	mws = append(mws, report.Middleware(rep))
	mws = append(mws, cfg.Middleware...)
	mws = append(mws, Recover)
	return &Router{
		tr:      tr,
		cfg:     cfg,
		handler: rococo.Chain(p.Process, mws...),
		log:     log.With(slog.String("queue", cfg.Queue)),
		rep:     rep,
		qm:      cfg.Metrics.Queue(cfg.Queue),
		backoff: backoff.Policy{Base: cfg.RetryBackoff, Max: cfg.MaxRetryBackoff, Jitter: 0.1},

		cancelGrace: cancelGrace,
	}, nil
}

// Ready returns nil while Run is consuming and the transport is ready, else
// an error saying why not. It does not block.
func (r *Router) Ready() error {
	if !r.consuming.Load() {
		return ErrNotConsuming
	}
	if err := r.tr.Ready(); err != nil {
		return fmt.Errorf("transport for queue %q not ready: %w", r.cfg.Queue, err)
	}
	return nil
}

// InFlight returns the number of messages being processed.
func (r *Router) InFlight() int { return int(r.inFlight.Load()) }

// Run consumes the queue until ctx is cancelled, the delivery channel closes
// with ExitWhenFinished, or the transport gives up.
//
// When ctx is cancelled, Run stops taking messages and waits up to
// ShutdownTimeout for those in flight; then it cancels their ctx and waits
// for them to return. It returns nil on such a stop and when the queue is
// finished (ExitWhenFinished), an error when Consume fails or the delivery
// channel closes on its own, and ErrShutdownTimeout when processors ignore
// the cancellation of their ctx.
func (r *Router) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	intakeCtx, stopIntake := context.WithCancel(ctx)
	defer stopIntake()
	deliveries, err := r.tr.Consume(intakeCtx, r.cfg.Queue, rococo.ConsumeOptions{
		Prefetch:         r.cfg.Concurrency,
		ExitWhenFinished: r.cfg.ExitWhenFinished,
	})
	if err != nil {
		if ctx.Err() != nil {
			// Stopped (SIGTERM) before the first connection: nothing was
			// taken from the queue, so this is a clean stop.
			r.log.LogAttrs(ctx, slog.LevelInfo, "stopped before consuming", slog.Any("error", err))
			return nil
		}
		return fmt.Errorf("consume queue %q: %w", r.cfg.Queue, err)
	}
	// Processors keep running when ctx is cancelled; procCtx ends only at the
	// shutdown deadline. Settling uses a ctx that never ends, so a message
	// finished in the drain is still acked; transports bound their own calls.
	procCtx, cancelProc := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelProc()
	settleCtx := context.WithoutCancel(ctx)

	r.consuming.Store(true)
	defer r.consuming.Store(false)
	r.log.LogAttrs(ctx, slog.LevelInfo, "consuming",
		slog.Int("concurrency", r.cfg.Concurrency),
		slog.Int("max_retries", r.cfg.MaxRetries),
		slog.Bool("exit_when_finished", r.cfg.ExitWhenFinished))

	var wg sync.WaitGroup
	for range r.cfg.Concurrency {
		wg.Go(func() { r.work(procCtx, settleCtx, deliveries) })
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()

	select {
	case <-done:
		r.consuming.Store(false)
		switch {
		case ctx.Err() != nil:
			r.log.LogAttrs(ctx, slog.LevelInfo, "stopped")
			return nil
		case r.cfg.ExitWhenFinished:
			r.log.LogAttrs(ctx, slog.LevelInfo, "queue finished, exiting (EXIT_WHEN_FINISHED)")
			return nil
		default:
			return fmt.Errorf("consume queue %q: delivery channel closed", r.cfg.Queue)
		}
	case <-ctx.Done():
	}

	r.consuming.Store(false)
	r.log.LogAttrs(ctx, slog.LevelInfo, "stopping: waiting for in-flight messages",
		slog.Int("in_flight", r.InFlight()),
		slog.Duration("shutdown_timeout", r.cfg.ShutdownTimeout))
	timer := time.NewTimer(r.cfg.ShutdownTimeout)
	defer timer.Stop()
	select {
	case <-done:
		r.log.LogAttrs(ctx, slog.LevelInfo, "stopped")
		return nil
	case <-timer.C:
	}
	r.log.LogAttrs(ctx, slog.LevelWarn, "shutdown timeout: cancelling in-flight messages",
		slog.Int("in_flight", r.InFlight()))
	cancelProc()
	grace := time.NewTimer(r.cancelGrace)
	defer grace.Stop()
	select {
	case <-done:
		r.log.LogAttrs(ctx, slog.LevelInfo, "stopped")
		return nil
	case <-grace.C:
		if n := r.InFlight(); n > 0 {
			r.log.LogAttrs(ctx, slog.LevelError, "processors ignore their cancelled ctx; leaving their messages to the broker",
				slog.Int("in_flight", n))
		} else {
			r.log.LogAttrs(ctx, slog.LevelError, "transport did not close its delivery channel after intake stopped")
		}
		return ErrShutdownTimeout
	}
}

// work processes deliveries until the channel closes (the transport closes
// it once intake stops). A delivery received after procCtx ended at the
// shutdown deadline is released unprocessed. A plain range (no select)
// keeps the hot path cheap.
func (r *Router) work(procCtx, settleCtx context.Context, deliveries <-chan rococo.Delivery) {
	for d := range deliveries {
		if procCtx.Err() != nil {
			r.release(settleCtx, d, d.Message(), 0, "shutdown deadline passed before processing", nil)
			continue
		}
		r.handle(procCtx, settleCtx, d)
	}
}

// handle processes one delivery and settles it. The decision table is in
// the package README; each outcome is counted once its settlement
// succeeded.
func (r *Router) handle(ctx, settleCtx context.Context, d rococo.Delivery) {
	r.inFlight.Add(1)
	defer r.inFlight.Add(-1)
	msg := d.Message()
	start := time.Now()
	if !rococo.ValidJSON(msg.Body) {
		err := rococo.Permanent(ErrInvalidJSON)
		r.rep.Report(ctx, err, slog.String("queue", r.cfg.Queue), slog.String("message_id", msg.ID), slog.Int("attempt", msg.Attempt))
		r.deadLetter(settleCtx, d, msg, err, start)
		return
	}
	err := r.call(ctx, msg)
	switch {
	case err == nil:
		if aerr := d.Ack(settleCtx); aerr != nil {
			r.settleFailed(settleCtx, "ack", msg, aerr)
			return
		}
		r.qm.Message(metrics.Processed, time.Since(start))
		if r.log.Enabled(settleCtx, slog.LevelDebug) {
			r.log.LogAttrs(settleCtx, slog.LevelDebug, "message processed",
				slog.String("message_id", msg.ID), slog.Int("attempt", msg.Attempt), slog.Duration("took", time.Since(start)))
		}
		return
	case ctx.Err() != nil:
		// The shutdown deadline cancelled the processor: whatever it
		// returned, this attempt did not fail on its own, so it does not
		// count. The message goes back as it came.
		r.qm.Observe(time.Since(start))
		r.release(settleCtx, d, msg, 0, "processing cancelled at the shutdown deadline", err)
		return
	}
	var pe *report.PanicError
	if errors.As(err, &pe) {
		r.log.LogAttrs(settleCtx, slog.LevelError, "processor panicked",
			slog.String("message_id", msg.ID), slog.Int("attempt", msg.Attempt),
			slog.Any("error", err), slog.String("stack", pe.StackTrace()))
	}
	attempt := max(msg.Attempt, 1)
	if rococo.IsPermanent(err) || attempt >= r.cfg.MaxRetries {
		r.deadLetter(settleCtx, d, msg, err, start)
		return
	}
	delay := r.backoff.Delay(attempt)
	if rerr := d.Retry(settleCtx, delay, err); rerr != nil {
		r.qm.Observe(time.Since(start))
		r.settleFailed(settleCtx, "retry", msg, rerr)
		r.release(settleCtx, d, msg, delay, "retry failed: released to come back after the backoff", err)
		return
	}
	r.qm.Message(metrics.Retried, time.Since(start))
	r.log.LogAttrs(settleCtx, slog.LevelWarn, "message failed, will retry",
		slog.String("message_id", msg.ID), slog.Int("attempt", attempt),
		slog.Any("error", err), slog.Duration("delay", delay))
}

// call runs the handler chain, turning a panic that escapes it (from a
// middleware outside Recover) into an error.
func (r *Router) call(ctx context.Context, msg *rococo.Message) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = report.NewPanicError(v)
		}
	}()
	return r.handler(ctx, msg)
}

// deadLetter moves msg to the dead-letter queue. When the move fails, the
// message is released to come back after the backoff of its attempt, so a
// missing or refusing dead-letter queue never makes it loop hot.
func (r *Router) deadLetter(ctx context.Context, d rococo.Delivery, msg *rococo.Message, cause error, start time.Time) {
	dlq := rococo.DeadLetterQueue(r.cfg.Queue)
	if n, ok := r.tr.(rococo.QueueNamer); ok {
		dlq = n.BrokerQueueName(dlq)
	}
	if err := d.DeadLetter(ctx, cause); err != nil {
		r.qm.Observe(time.Since(start))
		r.settleFailed(ctx, "dead-letter", msg, err)
		r.release(ctx, d, msg, r.backoff.Delay(max(msg.Attempt, 1)), "dead-letter failed: released to come back after the backoff", cause)
		return
	}
	r.qm.Message(metrics.DeadLettered, time.Since(start))
	r.log.LogAttrs(ctx, slog.LevelError, "message dead-lettered",
		slog.String("message_id", msg.ID), slog.Int("attempt", msg.Attempt),
		slog.Any("error", cause), slog.String("dlq", dlq))
}

// release hands msg back unprocessed, to come back after delay with the same
// attempt (why says why, cause is the processor's error if any). When even
// that fails, the message stays with the broker, which delivers it again.
func (r *Router) release(ctx context.Context, d rococo.Delivery, msg *rococo.Message, delay time.Duration, why string, cause error) {
	if err := d.Release(ctx, delay); err != nil {
		r.settleFailed(ctx, "release", msg, err)
		return
	}
	r.qm.Released()
	r.log.LogAttrs(ctx, slog.LevelWarn, "message released: "+why,
		slog.String("message_id", msg.ID), slog.Int("attempt", msg.Attempt),
		slog.Duration("delay", delay), slog.Any("error", cause))
}

// settleFailed logs and counts a failed Ack, Retry, Release or DeadLetter.
func (r *Router) settleFailed(ctx context.Context, op string, msg *rococo.Message, err error) {
	r.qm.SettleFailed(op)
	r.log.LogAttrs(ctx, slog.LevelError, op+" failed",
		slog.String("message_id", msg.ID), slog.Int("attempt", msg.Attempt), slog.Any("error", err))
}

// Recover is a middleware that turns a panic in the handler it wraps into a
// *report.PanicError carrying the panic's stack. The router puts it
// innermost, around the processor.
func Recover(next rococo.Handler) rococo.Handler {
	return func(ctx context.Context, msg *rococo.Message) (err error) {
		defer func() {
			if v := recover(); v != nil {
				err = report.NewPanicError(v)
			}
		}()
		return next(ctx, msg)
	}
}
