package band

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Error is an error with the HTTP status it answers with. Return one from a
// handler (or its input's Validate) to answer with that status and a JSON
// body; any other error answers 500 without its message, which is logged
// and reported instead:
//
//	return Geo{}, band.Errorf(http.StatusNotFound, "no location known for %s", in.IP)
//
// answers 404 with {"error": "no location known for 192.0.2.1", "status": 404}.
type Error struct {
	// Status is the HTTP status, 400-599; anything else answers 500.
	Status int
	// Message is the text of the body's "error".
	Message string
	// Field names the input field at fault (the body's "field"), for a 400.
	Field string
	// Err is the cause, for errors.Is and errors.As; it is not sent.
	Err error
}

// Errorf returns an *Error with status and a formatted message.
func Errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%d %s: %s", e.Status, e.Field, e.Message)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// status returns the status e answers with.
func (e *Error) status() int {
	if e.Status < 400 || e.Status > 599 {
		return http.StatusInternalServerError
	}
	return e.Status
}

// badInput returns a 400 naming field.
func badInput(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Field: field, Message: fmt.Sprintf(format, args...)}
}

// errTimeout is a handler that did not answer within its Timeout.
var errTimeout = errors.New("handler timeout")

// errorBody is the JSON body of every error answer.
type errorBody struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
	Field  string `json:"field,omitempty"`
}

// RegistrationError is a mistake in a service's registrations (a duplicate
// route, a bad pattern, an input type that cannot be bound), found by
// Configure before anything starts: the host exits with status 2 and its
// one-line message, which names the function and the fix.
type RegistrationError struct {
	Function string // the function's name (or its pattern when unnamed)
	Problem  string
	Fix      string
}

func (e *RegistrationError) Error() string {
	return strings.Join(strings.Fields(fmt.Sprintf("band: %s: %s. Fix: %s.", e.Function, strings.TrimSuffix(e.Problem, "."), strings.TrimSuffix(e.Fix, "."))), " ")
}
