package band

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// States of a worker, as /status shows them.
const (
	workerStarting int32 = iota
	workerRunning
	workerRestarting // failed, waiting for its restart delay
	workerDone       // returned nil
	workerStopped    // returned after its ctx was cancelled
)

var workerStateNames = [...]string{"starting", "running", "restarting", "done", "stopped"}

// workerRun is one worker of a runner.
type workerRun struct {
	r            *Runner
	name         string
	w            *worker
	restarts     prometheus.Counter
	restartCount atomic.Int64
	state        atomic.Int32
	readyOnce    sync.Once
}

// markReady records the worker's first successful round.
func (w *workerRun) markReady() {
	w.readyOnce.Do(func() {
		if !w.w.gates {
			return
		}
		w.r.log.Info("worker ready", "function", w.name)
		w.r.pending.Add(-1)
		w.r.readyIfLoaded()
	})
}

// supervise runs the worker until it returns nil or ctx is cancelled,
// restarting it after an error or a panic: the delay doubles with each
// recent failure (capped), and failures decay, halving every decay period,
// so that a worker that runs well for a while restarts quickly again (as
// thejerf/suture's supervisors do).
func (w *workerRun) supervise(ctx context.Context) {
	defer w.r.workersDone.Done()
	log := w.r.log.With("function", w.name)
	wctx := context.WithValue(ctx, readyKey{}, w)
	var failures float64
	var lastFailure time.Time
	for {
		w.state.Store(workerRunning)
		log.Debug("worker started")
		err := safeCall(wctx, w.w.fn)
		if ctx.Err() != nil {
			w.state.Store(workerStopped)
			if err != nil && !errors.Is(err, context.Canceled) {
				logFailure(log, "worker failed while stopping", err)
			} else {
				log.Info("worker stopped")
			}
			return
		}
		if err == nil {
			w.markReady()
			w.state.Store(workerDone)
			log.Info("worker done")
			return
		}
		now := time.Now()
		if !lastFailure.IsZero() {
			failures *= math.Pow(0.5, float64(now.Sub(lastFailure))/float64(w.w.decay))
		}
		failures++
		lastFailure = now
		delay := w.w.retry.Delay(int(math.Ceil(failures)))
		w.state.Store(workerRestarting)
		logFailure(log, "worker failed: restarting it", err, "restart_in", delay, "recent_failures", math.Round(failures*100)/100)
		w.r.rep.Report(context.WithoutCancel(ctx), err, slog.String("function", w.name), slog.String("role", RoleWorker))
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			w.state.Store(workerStopped)
			log.Info("worker stopped")
			return
		case <-t.C:
		}
		w.restarts.Inc()
		w.restartCount.Add(1)
	}
}
