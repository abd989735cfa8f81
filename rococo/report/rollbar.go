package report

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"

	"github.com/rollbar/rollbar-go"
)

// RollbarOption configures NewRollbar.
type RollbarOption func(*rollbar.Client)

// WithEndpoint sends items to url instead of Rollbar's API
// (https://api.rollbar.com/api/1/item/), e.g. a proxy or a test server.
func WithEndpoint(url string) RollbarOption {
	return func(c *rollbar.Client) { c.SetEndpoint(url) }
}

// WithHTTPClient sends items with hc. The default is rollbar-go's client.
func WithHTTPClient(hc *http.Client) RollbarOption {
	return func(c *rollbar.Client) { c.SetHTTPClient(hc) }
}

// WithLogger logs rollbar-go's own failures (an item it could not send) to
// log. The default discards them.
func WithLogger(log *slog.Logger) RollbarOption {
	return func(c *rollbar.Client) { c.SetLogger(slogPrinter{log}) }
}

type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, args ...any) {
	p.log.Warn("rollbar: " + fmt.Sprintf(format, args...))
}

type discardPrinter struct{}

func (discardPrinter) Printf(string, ...any) {}

// Rollbar reports to Rollbar through a rollbar-go client of its own, sending
// in the background. Close waits until queued items are sent.
type Rollbar struct {
	client *rollbar.Client
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
	for _, o := range opts {
		o(c)
	}
	return &Rollbar{client: c}
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

// Close waits until every queued item was sent (or failed).
func (r *Rollbar) Close() error {
	return r.client.Close()
}
