// Package logger provides library code with the service's logger: the
// log/slog default logger, which the service host configures at start (text
// or JSON, LOGLEVEL), or a logger carried in a context.
//
// Processors get the service logger in rococo.Runtime.Logger at Init; lib
// code called from them can take it through a ctx instead of a parameter:
//
//	ctx = logger.NewContext(ctx, rt.Logger.With("job", "cleanup"))
//	...
//	logger.From(ctx).Info("removed", "files", n)
package logger

import (
	"context"
	"log/slog"
)

type ctxKey struct{}

// NewContext returns a copy of ctx carrying l.
func NewContext(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// From returns the logger carried by ctx, or slog.Default() when there is
// none.
func From(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(ctxKey{}).(*slog.Logger); ok && l != nil {
		return l
	}
	return slog.Default()
}

// For returns the default logger with a "component" attribute, for a
// library's own logs.
func For(component string) *slog.Logger {
	return slog.Default().With(slog.String("component", component))
}
