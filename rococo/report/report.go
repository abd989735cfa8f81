package report

import (
	"context"
	"errors"
	"log/slog"
	"strconv"

	"github.com/rococo-go/rococo/rococo"
)

// Reporter sends an error to an error tracker. Report must be safe for
// concurrent use, must not block on the network (queue and send in the
// background) and must not panic.
type Reporter interface {
	Report(ctx context.Context, err error, attrs ...slog.Attr)
}

type nop struct{}

func (nop) Report(context.Context, error, ...slog.Attr) {}

// Nop is a Reporter that reports nothing.
var Nop Reporter = nop{}

// Middleware reports every error the wrapped handler returns (recovered
// panics included, when a recovering middleware runs inside it) to r, with
// the queue, message_id and attempt of the message. An error caused by the
// cancellation of the handler's own ctx (the shutdown deadline) is not
// reported. A nil r reports nothing.
func Middleware(r Reporter) rococo.Middleware {
	if r == nil {
		r = Nop
	}
	return func(next rococo.Handler) rococo.Handler {
		return func(ctx context.Context, msg *rococo.Message) error {
			err := next(ctx, msg)
			if err == nil || (ctx.Err() != nil && errors.Is(err, ctx.Err())) {
				return err
			}
			r.Report(ctx, err,
				slog.String("queue", msg.Queue),
				slog.String("message_id", msg.ID),
				slog.Int("attempt", msg.Attempt))
			return err
		}
	}
}

// attrsMap flattens attrs into the extras map of an error report; groups
// become dotted keys.
func attrsMap(attrs []slog.Attr) map[string]any {
	m := make(map[string]any, len(attrs))
	var add func(prefix string, as []slog.Attr)
	add = func(prefix string, as []slog.Attr) {
		for _, a := range as {
			v := a.Value.Resolve()
			key := prefix + a.Key
			switch v.Kind() {
			case slog.KindGroup:
				add(key+".", v.Group())
			case slog.KindString:
				m[key] = v.String()
			case slog.KindInt64:
				m[key] = v.Int64()
			case slog.KindUint64:
				m[key] = v.Uint64()
			case slog.KindFloat64:
				m[key] = v.Float64()
			case slog.KindBool:
				m[key] = strconv.FormatBool(v.Bool())
			default:
				m[key] = v.String()
			}
		}
	}
	add("", attrs)
	return m
}
