package rococo

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestIsPermanent(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", base, false},
		{"permanent", Permanent(base), true},
		{"wrapped permanent", fmt.Errorf("step: %w", Permanent(base)), true},
		{"decode error", (&Message{Body: []byte("{")}).Decode(&struct{}{}), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsPermanent(tc.err); got != tc.want {
				t.Errorf("IsPermanent(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	if !errors.Is(Permanent(base), base) {
		t.Error("errors.Is(Permanent(base), base) = false")
	}
}

func TestChainOrder(t *testing.T) {
	var order []string
	mw := func(name string) Middleware {
		return func(next Handler) Handler {
			return func(ctx context.Context, m *Message) error {
				order = append(order, name)
				return next(ctx, m)
			}
		}
	}
	h := Chain(func(context.Context, *Message) error { order = append(order, "h"); return nil }, mw("a"), mw("b"))
	if err := h(context.Background(), &Message{}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(order); got != "[a b h]" {
		t.Errorf("Chain order = %s, want [a b h]", got)
	}
}
