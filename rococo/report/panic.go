package report

import (
	"fmt"
	"runtime"
	"strings"
)

// PanicError is a recovered panic turned into an error, with the stack of
// the goroutine where it happened. Rollbar shows that stack (PanicError
// implements rollbar-go's Stacker interface).
type PanicError struct {
	// Value is what was passed to panic.
	Value any
	pcs   []uintptr
}

// maxPanicFrames bounds the stack kept for a panic.
const maxPanicFrames = 64

// NewPanicError captures the stack of the calling goroutine; call it in the
// deferred function that recovered v.
func NewPanicError(v any) *PanicError {
	pcs := make([]uintptr, maxPanicFrames)
	// Skip runtime.Callers and NewPanicError.
	n := runtime.Callers(2, pcs)
	return &PanicError{Value: v, pcs: pcs[:n]}
}

// Error returns "panic: " and the panic value.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// Stack returns the frames of the stack where the panic happened.
func (e *PanicError) Stack() []runtime.Frame {
	frames := runtime.CallersFrames(e.pcs)
	out := make([]runtime.Frame, 0, len(e.pcs))
	for {
		f, more := frames.Next()
		out = append(out, f)
		if !more {
			return out
		}
	}
}

// StackTrace formats the stack as runtime/debug.Stack does, one function and
// one file:line per frame, for logs.
func (e *PanicError) StackTrace() string {
	var b strings.Builder
	for _, f := range e.Stack() {
		fmt.Fprintf(&b, "%s\n\t%s:%d\n", f.Function, f.File, f.Line)
	}
	return b.String()
}

var _ error = (*PanicError)(nil)
