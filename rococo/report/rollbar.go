package report

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/rollbar/rollbar-go"
)

const (
	// DefaultRollbarTimeout bounds each request to Rollbar (the whole
	// exchange, connection to last byte) unless WithHTTPClient is given.
	DefaultRollbarTimeout = 5 * time.Second
	// DefaultCloseTimeout bounds Close unless WithCloseTimeout is given.
	DefaultCloseTimeout = 5 * time.Second
)

// RollbarOption configures NewRollbar.
type RollbarOption func(*Rollbar)

// WithEndpoint sends items to url instead of Rollbar's API
// (https://api.rollbar.com/api/1/item/), e.g. a proxy or a test server.
func WithEndpoint(url string) RollbarOption {
	return func(r *Rollbar) { r.client.SetEndpoint(url) }
}

// WithHTTPClient sends items with hc. The default is a client whose
// requests time out after DefaultRollbarTimeout; hc should have a timeout
// too, or an endpoint that never answers holds every later item.
func WithHTTPClient(hc *http.Client) RollbarOption {
	return func(r *Rollbar) { r.client.SetHTTPClient(hc) }
}

// WithLogger logs rollbar-go's own failures (an item it could not send) to
// log, and Close's when it gives up. The default discards them.
func WithLogger(log *slog.Logger) RollbarOption {
	return func(r *Rollbar) {
		r.client.SetLogger(slogPrinter{log})
		r.log = log
	}
}

// WithCloseTimeout bounds Close to d (the service's shutdown deadline):
// items not sent by then are dropped, and logged. A d of zero or less keeps
// DefaultCloseTimeout.
func WithCloseTimeout(d time.Duration) RollbarOption {
	return func(r *Rollbar) {
		if d > 0 {
			r.closeTimeout = d
		}
	}
}

type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, args ...any) {
	p.log.Warn("rollbar: " + fmt.Sprintf(format, args...))
}

type discardPrinter struct{}

func (discardPrinter) Printf(string, ...any) {}

// Rollbar reports to Rollbar through a rollbar-go client of its own, sending
// in the background, each request bounded by DefaultRollbarTimeout. Close
// waits until queued items are sent, for at most its close timeout.
type Rollbar struct {
	client       *rollbar.Client
	log          *slog.Logger
	closeTimeout time.Duration
	stop         context.CancelFunc // ends the sender's retries after a Close that timed out
}

var (
	_ Reporter  = (*Rollbar)(nil)
	_ io.Closer = (*Rollbar)(nil)
)

// NewRollbar returns a Reporter that sends errors to Rollbar with the access
// token (ROLLBAR_ACCESS_TOKEN), environment (APP_ENV), service name and code
// version. An empty token returns Nop, so a service without a token reports
// nothing. The Reporter it returns is an io.Closer when the token is set:
// close it at shutdown to flush queued reports.
func NewRollbar(token, environment, service, version string, opts ...RollbarOption) Reporter {
	if token == "" {
		return Nop
	}
	host, _ := os.Hostname()
	c := rollbar.NewAsync(token, environment, version, host, "")
	c.SetLogger(discardPrinter{})
	c.SetCustom(map[string]any{"service": service})
	c.SetHTTPClient(&http.Client{Timeout: DefaultRollbarTimeout})
	ctx, stop := context.WithCancel(context.Background())
	c.SetContext(ctx)
	r := &Rollbar{client: c, log: slog.New(slog.DiscardHandler), closeTimeout: DefaultCloseTimeout, stop: stop}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Report queues err with attrs as the item's extras. A *PanicError is sent
// with the stack of its panic, any other error with the caller's stack.
func (r *Rollbar) Report(ctx context.Context, err error, attrs ...slog.Attr) {
	if err == nil {
		return
	}
	// Skip Report itself and rollbar-go's own frame so the trace starts at
	// the caller.
	r.client.ErrorWithStackSkipWithExtrasAndContext(ctx, rollbar.ERR, err, 2, attrsMap(attrs))
}

// Close waits until every queued item was sent (or failed), for at most
// the close timeout (WithCloseTimeout): then it returns an error saying
// so, stops retrying, and the items still queued are dropped when the
// process exits.
func (r *Rollbar) Close() error {
	// Wait, not rollbar-go's Close: Close closes the queue while its sender
	// may still put a failed item back for a retry (a send on a closed
	// channel, which rollbar-go recovers from, racing with the close).
	done := make(chan struct{})
	go func() {
		r.client.Wait()
		close(done)
	}()
	t := time.NewTimer(r.closeTimeout)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
		r.stop()
		r.log.Warn("rollbar: reports still queued at the close timeout were dropped", slog.Duration("close_timeout", r.closeTimeout))
		return fmt.Errorf("rollbar: reports not sent within %v: dropped", r.closeTimeout)
	}
}
