package band

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/rococo-go/rococo/rococo/report"
)

// errAbort is a handler that panicked with http.ErrAbortHandler in its own
// goroutine: the serving goroutine aborts the response in its stead.
var errAbort = errors.New("handler aborted the response")

// statusClientGone counts requests whose client went away before the answer
// (nginx's 499).
const statusClientGone = 499

// route returns the http.Handler serving h on the service's port.
func (r *Runner) route(h *handler) http.Handler { return r.routeWith(h, r.track) }

// routeWith returns the http.Handler serving h with its work counted in t:
// r.track for the port's requests, r.calls for the bus's calls.
func (r *Runner) routeWith(h *handler, t *tracker) http.Handler {
	name := h.name
	m := r.metrics.handler(name)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		code := 0
		defer func() { m.done(code, time.Since(start)) }()
		if !t.enter() {
			w.Header().Set("Connection", "close")
			code = writeError(w, &Error{Status: http.StatusServiceUnavailable, Message: "the service is shutting down"})
			return
		}
		r.metrics.inFlight.Inc()
		r.serving.Add(1)
		defer func() {
			r.serving.Add(-1)
			r.metrics.inFlight.Dec()
			t.leave()
		}()
		code = r.serve(w, req, h, name, t)
	})
}

// serve answers one request, counted in t, and returns its status.
func (r *Runner) serve(w http.ResponseWriter, req *http.Request, h *handler, name string, t *tracker) int {
	in, e := readInput(w, req, h)
	if e != nil {
		return writeError(w, e)
	}
	var out any
	var err error
	if h.timeout > 0 {
		out, err = callTimeout(req.Context(), h, in, t)
	} else {
		out, err = call(req.Context(), h, in)
	}
	if t.draining.Load() {
		w.Header().Set("Connection", "close")
	}
	if err != nil {
		return r.failed(w, req, h, name, err)
	}
	return r.respond(w, req, h, name, out)
}

// call binds the input and calls the handler, turning a panic into a
// *report.PanicError.
func call(ctx context.Context, h *handler, in *input) (out any, err error) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				err = errAbort
				return
			}
			err = report.NewPanicError(v)
		}
	}()
	return h.call(ctx, in)
}

// callTimeout calls the handler in a goroutine of its own and waits for it
// until its Timeout; a handler past it keeps running (its ctx cancelled)
// and is counted in t until it returns.
func callTimeout(parent context.Context, h *handler, in *input, t *tracker) (any, error) {
	ctx, cancel := context.WithTimeout(parent, h.timeout)
	type result struct {
		out any
		err error
	}
	done := make(chan result, 1)
	t.add()
	go func() {
		defer t.leave()
		defer cancel()
		out, err := call(ctx, h, in)
		done <- result{out, err}
	}()
	select {
	case res := <-done:
		return res.out, timedOut(parent, ctx, res.err)
	case <-ctx.Done():
		if err := parent.Err(); err != nil {
			return nil, err // the client went away, or the shutdown deadline passed
		}
		select {
		case res := <-done: // it answered at the deadline
			return res.out, timedOut(parent, ctx, res.err)
		default:
		}
		return nil, errTimeout
	}
}

// timedOut turns a handler's error into errTimeout when the handler gave
// back the deadline of its own Timeout (its ctx ran out, its caller's did
// not): the answer is then the same whether the handler returned just
// before the wait ended or just after.
func timedOut(parent, ctx context.Context, err error) error {
	if err != nil && parent.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && errors.Is(err, context.DeadlineExceeded) {
		return errTimeout
	}
	return err
}

// readInput reads what the binder needs from the request, in the serving
// goroutine: the body (at most MaxBody bytes, within the handler's
// Timeout) or a multipart form's values.
func readInput(w http.ResponseWriter, req *http.Request, h *handler) (*input, *Error) {
	in := &input{req: req}
	if req.Body == nil || req.Body == http.NoBody || req.ContentLength == 0 {
		return in, nil
	}
	if req.ContentLength > h.maxBody {
		return nil, tooLarge(h.maxBody)
	}
	switch mt := mediaType(req.Header.Get("Content-Type")); {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		in.kind = jsonBody
	case mt == "application/x-www-form-urlencoded":
		in.kind = formBody
	case mt == "multipart/form-data":
		in.kind = multipartBody
	case h.binder.request != nil:
		in.kind = otherBody
	default:
		return nil, &Error{Status: http.StatusUnsupportedMediaType, Message: fmt.Sprintf("a body of type %q is not accepted: send application/json, or a URL-encoded or multipart form", mt)}
	}
	if h.timeout > 0 {
		rc := http.NewResponseController(w)
		if rc.SetReadDeadline(time.Now().Add(h.timeout)) == nil {
			defer func() { _ = rc.SetReadDeadline(time.Time{}) }()
		}
	}
	body := http.MaxBytesReader(w, req.Body, h.maxBody)
	if in.kind == multipartBody {
		req.Body = body
		if err := req.ParseMultipartForm(h.maxBody); err != nil {
			return nil, readError(err, h.maxBody, "the multipart form")
		}
		in.form = req.MultipartForm.Value
		return in, nil
	}
	b, err := readAll(body, req.ContentLength)
	if err != nil {
		return nil, readError(err, h.maxBody, "the body")
	}
	if len(b) == 0 {
		in.kind = noBody
	}
	if in.kind == formBody && looksLikeJSON(b) {
		return nil, &Error{Status: http.StatusUnsupportedMediaType, Message: "the body is JSON but its Content-Type is application/x-www-form-urlencoded (curl -d sends that): send Content-Type: application/json"}
	}
	in.body = b
	return in, nil
}

// looksLikeJSON reports whether a form body is a JSON object or array
// instead, which as a form would bind nothing.
func looksLikeJSON(b []byte) bool {
	t := bytes.TrimSpace(b)
	return len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid(t)
}

// readAll reads a body of length n (-1 when unknown).
func readAll(r io.Reader, n int64) ([]byte, error) {
	if n > 0 {
		b := make([]byte, n)
		_, err := io.ReadFull(r, b)
		return b, err
	}
	return io.ReadAll(r)
}

func readError(err error, limit int64, what string) *Error {
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &mb):
		return tooLarge(limit)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return &Error{Status: http.StatusRequestTimeout, Message: "the request body did not arrive within the handler's timeout", Err: err}
	}
	return &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("cannot read %s: %v", what, err), Err: err}
}

func tooLarge(limit int64) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("the request body is larger than %d bytes, the handler's limit", limit)}
}

// mediaType returns a Content-Type's media type in lower case.
func mediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// respond answers with the handler's result.
func (r *Runner) respond(w http.ResponseWriter, req *http.Request, h *handler, name string, out any) int {
	if resp, ok := out.(Response); ok {
		code, err := resp.write(req.Context(), w, req)
		if err == nil {
			return code
		}
		var se *streamError
		if errors.As(err, &se) {
			if req.Context().Err() == nil {
				r.report(req, name, http.StatusInternalServerError, err)
			}
			panic(http.ErrAbortHandler) // the status is sent: break the stream so the client sees it
		}
		r.report(req, name, http.StatusInternalServerError, err)
		return writeError(w, &Error{Status: http.StatusInternalServerError, Message: "internal error"})
	}
	if out == nil && h.response {
		w.WriteHeader(http.StatusNoContent)
		return http.StatusNoContent
	}
	if err := writeJSON(w, http.StatusOK, out); err != nil {
		r.report(req, name, http.StatusInternalServerError, err)
		return writeError(w, &Error{Status: http.StatusInternalServerError, Message: "internal error"})
	}
	return http.StatusOK
}

// failed answers a handler's error with its honest status.
func (r *Runner) failed(w http.ResponseWriter, req *http.Request, h *handler, name string, err error) int {
	var e *Error
	var p *report.PanicError
	switch {
	case errors.Is(err, errAbort):
		panic(http.ErrAbortHandler)
	case errors.Is(err, errTimeout):
		e = &Error{Status: http.StatusGatewayTimeout, Message: fmt.Sprintf("%s did not answer within its timeout of %v", name, h.timeout)}
		r.report(req, name, e.Status, err)
		return writeError(w, e)
	case errors.As(err, &p):
		r.report(req, name, http.StatusInternalServerError, err)
		return writeError(w, &Error{Status: http.StatusInternalServerError, Message: "internal error"})
	case errors.As(err, &e):
		if e.status() >= 500 {
			r.report(req, name, e.status(), err)
		} else {
			r.log.Debug("request refused", "function", name, "status", e.status(), "error", err)
		}
		return writeError(w, e)
	case req.Context().Err() != nil:
		if r.base.Err() != nil {
			return writeError(w, &Error{Status: http.StatusServiceUnavailable, Message: "the service is shutting down: the request was cancelled at the shutdown deadline"})
		}
		r.log.Debug("client went away", "function", name, "error", err)
		return statusClientGone
	case errors.Is(err, context.DeadlineExceeded):
		e = &Error{Status: http.StatusGatewayTimeout, Message: "a deadline passed before the answer", Err: err}
		r.report(req, name, e.Status, err)
		return writeError(w, e)
	}
	r.report(req, name, http.StatusInternalServerError, err)
	return writeError(w, &Error{Status: http.StatusInternalServerError, Message: "internal error"})
}

// report logs and reports a server-side failure of a request.
func (r *Runner) report(req *http.Request, name string, status int, err error) {
	logFailure(r.log, "request failed", err, "function", name, "method", req.Method, "path", req.URL.Path, "status", status)
	r.rep.Report(context.WithoutCancel(req.Context()), err,
		slog.String("function", name), slog.String("role", RoleHandler),
		slog.String("method", req.Method), slog.String("path", req.URL.Path), slog.Int("status", status))
}

// unrouted answers requests no pattern matches: 405 with Allow when the path
// is known with other methods, else 404, both with a JSON body. strict is
// the router without its catch-all, which tells the two apart.
func unrouted(strict *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h, _ := strict.Handler(req)
		rec := &headerRecorder{header: http.Header{}}
		h.ServeHTTP(rec, req)
		if rec.code == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", rec.header.Get("Allow"))
			writeError(w, &Error{Status: http.StatusMethodNotAllowed, Message: fmt.Sprintf("%s is not served for %s (allowed: %s)", req.Method, req.URL.Path, rec.header.Get("Allow"))})
			return
		}
		writeError(w, &Error{Status: http.StatusNotFound, Message: fmt.Sprintf("no function at %s %s", req.Method, req.URL.Path)})
	})
}

// headerRecorder keeps the status and headers ServeMux's own 404 and 405
// handlers write, and drops their text bodies.
type headerRecorder struct {
	header http.Header
	code   int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(code int)        { h.code = code }
