package band

import (
	"context"
	"net/http"
)

// Reply is a handler's whole answer as it travels over the bus, from the
// service that ran the handler to the gateway that received the hit: the
// status, the headers that shape it and the body. It is also a Response,
// so the gateway answers the hit with exactly what the handler answered
// (JSON, an error, a redirect, a pixel).
type Reply struct {
	Status int               `json:"status"`
	Header map[string]string `json:"header,omitempty"`
	Body   []byte            `json:"body,omitempty"`
}

// replyHeaders are the headers a Reply carries.
var replyHeaders = []string{"Content-Type", "Cache-Control", "Location", "Allow", "Expires", "Pragma", "Content-Disposition"}

func (rp Reply) write(_ context.Context, w http.ResponseWriter, _ *http.Request) (int, error) {
	for k, v := range rp.Header {
		w.Header().Set(k, v)
	}
	code := rp.Status
	if code < 100 || code > 599 {
		code = http.StatusBadGateway
	}
	w.WriteHeader(code)
	if len(rp.Body) > 0 {
		if _, err := w.Write(rp.Body); err != nil {
			return code, err
		}
	}
	return code, nil
}

// replyRecorder is the http.ResponseWriter a handler called over the bus
// writes to: it keeps the answer for a Reply.
type replyRecorder struct {
	header http.Header
	status int
	body   []byte
}

func newReplyRecorder() *replyRecorder { return &replyRecorder{header: http.Header{}} }

func (rr *replyRecorder) Header() http.Header { return rr.header }

func (rr *replyRecorder) WriteHeader(code int) {
	if rr.status == 0 {
		rr.status = code
	}
}

func (rr *replyRecorder) Write(b []byte) (int, error) {
	if rr.status == 0 {
		rr.status = http.StatusOK
	}
	rr.body = append(rr.body, b...)
	return len(b), nil
}

// Flush lets a Stream write through the recorder (the whole stream is
// sent as one reply).
func (rr *replyRecorder) Flush() {}

// reply returns what was recorded.
func (rr *replyRecorder) reply() Reply {
	rp := Reply{Status: rr.status, Body: rr.body}
	if rp.Status == 0 {
		rp.Status = http.StatusOK
	}
	for _, k := range replyHeaders {
		if v := rr.header.Get(k); v != "" {
			if rp.Header == nil {
				rp.Header = map[string]string{}
			}
			rp.Header[k] = v
		}
	}
	return rp
}
