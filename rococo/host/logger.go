package host

import (
	"io"
	"log/slog"

	"github.com/rococo-go/rococo/rococo/config"
)

// levelCritical is Python's CRITICAL, above slog's Error.
const levelCritical = slog.LevelError + 4

// newLogger returns the service logger: text in development, JSON in
// production or with LOG_FORMAT=json, at the level of LOGLEVEL/APP_ENV.
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{
		Level: cfg.Level(),
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.LevelKey {
				if l, ok := a.Value.Any().(slog.Level); ok && l >= levelCritical {
					a.Value = slog.StringValue("CRITICAL")
				}
			}
			return a
		},
	}
	if cfg.JSONLogs() {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
