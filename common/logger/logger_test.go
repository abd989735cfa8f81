package logger_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/rococo-go/rococo/common/logger"
)

func TestFrom_returns_the_context_logger(t *testing.T) {
	var b bytes.Buffer
	l := slog.New(slog.NewTextHandler(&b, nil))
	ctx := logger.NewContext(context.Background(), l)
	logger.From(ctx).Info("hello", "k", "v")
	if !strings.Contains(b.String(), "msg=hello k=v") {
		t.Errorf("From(ctx) logged %q, want msg=hello k=v", b.String())
	}
}

func TestFrom_defaults_to_slog_default(t *testing.T) {
	if got := logger.From(context.Background()); got != slog.Default() {
		t.Errorf("From(empty ctx) = %p, want slog.Default() %p", got, slog.Default())
	}
	if got := logger.From(logger.NewContext(context.Background(), nil)); got != slog.Default() {
		t.Errorf("From(ctx with nil logger) = %p, want slog.Default()", got)
	}
}

func TestFor_adds_the_component(t *testing.T) {
	var b bytes.Buffer
	old := slog.Default()
	t.Cleanup(func() { slog.SetDefault(old) })
	slog.SetDefault(slog.New(slog.NewTextHandler(&b, nil)))
	logger.For("cleanup").Info("done")
	if !strings.Contains(b.String(), "component=cleanup") {
		t.Errorf("For(cleanup) logged %q, want component=cleanup", b.String())
	}
}
