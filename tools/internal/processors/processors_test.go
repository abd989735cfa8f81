package processors

import (
	"go/parser"
	"go/token"
	"reflect"
	"testing"
)

func TestInFile(t *testing.T) {
	tests := []struct {
		name, src string
		want      []Processor
	}{
		{"message and cron", `package main
import ("context"; "github.com/rococo-go/rococo/rococo")
type A struct{}
func (a *A) Process(ctx context.Context, m *rococo.Message) error { return nil }
type B struct{}
func (B) Process(context.Context) error { return nil }`, []Processor{{"A", Message}, {"B", Cron}}},
		{"renamed imports", `package main
import (stdctx "context"; r "github.com/rococo-go/rococo/rococo")
type A struct{}
func (a A) Process(ctx stdctx.Context, m *r.Message) error { return nil }`, []Processor{{"A", Message}}},
		{"not processors", `package main
import ("context"; "github.com/rococo-go/rococo/rococo")
type A struct{}
func (a A) Process(ctx context.Context, m rococo.Message) error { return nil }
func (a A) Run(ctx context.Context) error { return nil }
func Process(ctx context.Context) error { return nil }
type B struct{}
func (B) Process(context.Context) (int, error) { return 0, nil }`, nil},
		{"no context import", `package main
type A struct{}
func (A) Process(ctx Context) error { return nil }`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parser.ParseFile(token.NewFileSet(), "processor.go", tc.src, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			if got := InFile(f); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("InFile() = %+v, want %+v", got, tc.want)
			}
		})
	}
}
