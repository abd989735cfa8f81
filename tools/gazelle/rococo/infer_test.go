package rococo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bazelbuild/bazel-gazelle/rule"
)

func TestInferService(t *testing.T) {
	tests := []struct {
		name, src string
		want      service
		wantErr   string
	}{
		{
			name: "message processor on a pointer",
			src: `package main
import ("context"; "github.com/rococo-go/rococo/rococo")
type Helper struct{}
func (Helper) Process(ctx context.Context, n int) error { return nil }
type OrderProcessor struct{}
func (p *OrderProcessor) Process(ctx context.Context, msg *rococo.Message) error { return nil }`,
			want: service{executionType: messaging, processorType: "OrderProcessor"},
		},
		{
			name: "cron processor on a value",
			src: `package main
import "context"
type Nightly struct{}
func (Nightly) Process(context.Context) error { return nil }`,
			want: service{executionType: cron, processorType: "Nightly"},
		},
		{
			name: "renamed imports",
			src: `package main
import (stdctx "context"; r "github.com/rococo-go/rococo/rococo")
type P struct{}
func (*P) Process(ctx stdctx.Context, m *r.Message) error { return nil }`,
			want: service{executionType: messaging, processorType: "P"},
		},
		{
			name: "band functions",
			src: `package main
import "github.com/rococo-go/rococo/rococo/band"
func main() { _ = band.New }`,
			want: service{executionType: band},
		},
		{
			name: "a Message of another package is no processor",
			src: `package main
import ("context"; "example.com/other/rococo")
type P struct{}
func (*P) Process(ctx context.Context, m *rococo.Message) error { return nil }`,
			want: service{},
		},
		{
			name: "Process without an error result is no processor",
			src: `package main
import "context"
type P struct{}
func (*P) Process(ctx context.Context) {}`,
			want: service{},
		},
		{
			name:    "syntax error",
			src:     "package main\nfunc (",
			wantErr: "processor.go",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "processor.go"), []byte(tt.src), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := inferService(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("inferService: error %v, want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("inferService: %v", err)
			}
			if got != tt.want {
				t.Errorf("inferService = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestComplete_queue_name: a new messaging service's queue is its name with
// _ as -, as rococo new writes it (docs/cli.md).
func TestComplete_queue_name(t *testing.T) {
	for name, want := range map[string]string{"late_fees": "late-fees", "orders": "orders", "a_b_c": "a-b-c"} {
		f := rule.EmptyFile("BUILD.bazel", "")
		r := rule.NewRule("go_binary", name)
		complete(r, service{executionType: messaging, processorType: "P"}, settings{messagingType: "RabbitMqConnection"})
		r.Insert(f)
		if got := string(f.Format()); !strings.Contains(got, `"P_QUEUE_NAME": "`+want+`",`) {
			t.Errorf("%s: want the queue %q:\n%s", name, want, got)
		}
	}
}
