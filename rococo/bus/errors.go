package bus

import (
	"errors"
	"fmt"
)

// ErrNoRoute is returned by Call at once when no replica of the function
// consumes requests (none is running), instead of waiting for the deadline.
var ErrNoRoute = errors.New("bus: no replica of the function is running")

// ErrNoDeadline is returned by Call when ctx has no deadline: a request
// expires with its caller's deadline, so it needs one.
var ErrNoDeadline = errors.New("bus: the call's context has no deadline: set one with context.WithTimeout")

// CallError is a called function's error, sent back as an error reply: the
// function ran and failed. It is never data.
type CallError struct {
	Service  string
	Function string
	Message  string
}

func (e *CallError) Error() string {
	return fmt.Sprintf("bus: %s.%s failed: %s", e.Service, e.Function, e.Message)
}
