package band

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Response is a result that answers in its own way instead of JSON 200:
// Status, Redirect, Pixel and Stream make one. A handler returns it as its
// Out (Out = band.Response, or any when it answers either way).
type Response interface {
	// write answers r and returns the status sent.
	write(ctx context.Context, w http.ResponseWriter, r *http.Request) (int, error)
}

// Status answers with code and v as JSON (no body when v is nil, e.g.
// Status(http.StatusNoContent, nil) or Status(http.StatusAccepted, nil)).
// A code outside 100-599 answers 500.
func Status(code int, v any) Response { return statusResponse{code: code, v: v} }

type statusResponse struct {
	code int
	v    any
}

func (s statusResponse) write(_ context.Context, w http.ResponseWriter, _ *http.Request) (int, error) {
	if s.code < 100 || s.code > 599 {
		return 0, fmt.Errorf("band.Status: %d is not an HTTP status code", s.code)
	}
	if s.v == nil {
		w.WriteHeader(s.code)
		return s.code, nil
	}
	return s.code, writeJSON(w, s.code, s.v)
}

// Redirect answers with a redirect to location (absolute, or relative to
// the request's path) with code, one of 301, 302, 303, 307 or 308; 0 means
// 302 Found, Band's default.
func Redirect(location string, code int) Response {
	if code == 0 {
		code = http.StatusFound
	}
	return redirectResponse{location: location, code: code}
}

type redirectResponse struct {
	location string
	code     int
}

func (rr redirectResponse) write(_ context.Context, w http.ResponseWriter, r *http.Request) (int, error) {
	switch rr.code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return 0, fmt.Errorf("band.Redirect: %d is not a redirect status (want 301, 302, 303, 307 or 308)", rr.code)
	}
	if rr.location == "" {
		return 0, fmt.Errorf("band.Redirect: empty location")
	}
	http.Redirect(w, r, rr.location, rr.code)
	return rr.code, nil
}

// pixelGIF is a transparent 1x1 GIF, the 43 bytes trackers answer with.
var pixelGIF = []byte{
	'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff,
	'!', 0xf9, 4, 1, 0, 0, 0, 0, ',', 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 'D', 1, 0, ';',
}

// Pixel answers with Band's tracking pixel: a transparent 1x1 GIF that is
// never cached, for hits counted from an <img> tag.
func Pixel() Response { return pixelResponse{} }

type pixelResponse struct{}

func (pixelResponse) write(_ context.Context, w http.ResponseWriter, _ *http.Request) (int, error) {
	h := w.Header()
	h.Set("Content-Type", "image/gif")
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Expires", "0")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(pixelGIF) // an error means the client went away
	return http.StatusOK, nil
}

// Stream answers 200 with contentType (e.g. "application/x-ndjson" or
// "text/event-stream") and the bytes fn writes, each Write sent to the
// client at once. fn runs after the handler returned, without the
// handler's Timeout, until it returns or ctx is done (the client went away,
// or the shutdown deadline passed). An error from fn after the first byte
// cannot change the status: it is logged and reported, and the connection
// is aborted so that the client sees a broken stream rather than a short
// one.
func Stream(contentType string, fn func(ctx context.Context, w io.Writer) error) Response {
	return streamResponse{contentType: contentType, fn: fn}
}

type streamResponse struct {
	contentType string
	fn          func(ctx context.Context, w io.Writer) error
}

func (s streamResponse) write(ctx context.Context, w http.ResponseWriter, _ *http.Request) (int, error) {
	if s.fn == nil {
		return 0, fmt.Errorf("band.Stream: nil function")
	}
	w.Header().Set("Content-Type", s.contentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fw := &flushWriter{w: w, rc: http.NewResponseController(w)}
	if err := fw.rc.Flush(); err != nil {
		return http.StatusOK, nil // the client went away before the first byte
	}
	if err := s.fn(ctx, fw); err != nil {
		return http.StatusOK, &streamError{err}
	}
	return http.StatusOK, nil
}

// streamError is an error of a stream after its status was sent.
type streamError struct{ err error }

func (e *streamError) Error() string { return "stream: " + e.err.Error() }
func (e *streamError) Unwrap() error { return e.err }

// flushWriter sends each Write to the client at once.
type flushWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (f *flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err != nil {
		return n, err
	}
	return n, f.rc.Flush()
}

// writeJSON answers with code and v as JSON. v is encoded before anything is
// written, so an error (a value JSON cannot encode) leaves the answer
// unwritten.
func writeJSON(w http.ResponseWriter, code int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	if code == http.StatusOK {
		// The encoder marshals v whole before its one Write, which sends
		// the implicit 200.
		if err := json.NewEncoder(w).Encode(v); err != nil && !isWriteError(err) {
			return fmt.Errorf("encode the result as JSON: %w", err)
		}
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode the result as JSON: %w", err)
	}
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n')) // an error means the client went away
	return nil
}

// isWriteError reports whether an encoder's error came from writing (the
// client went away) rather than from encoding.
func isWriteError(err error) bool {
	var ue *json.UnsupportedTypeError
	var uv *json.UnsupportedValueError
	var me *json.MarshalerError
	return !errors.As(err, &ue) && !errors.As(err, &uv) && !errors.As(err, &me)
}

// writeError answers with e's status and JSON body.
func writeError(w http.ResponseWriter, e *Error) int {
	code := e.status()
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(code)
	}
	b, _ := json.Marshal(errorBody{Error: msg, Status: code, Field: e.Field})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n')) // the client went away: nothing to answer to
	return code
}
