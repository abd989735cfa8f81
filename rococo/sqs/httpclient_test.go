package sqs

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// recordingTransport records the request it was given.
type recordingTransport struct {
	got  *http.Request
	body string
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.got = req
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		r.body = string(b)
	}
	return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
}

// closeTracker is a request body that records Close.
type closeTracker struct {
	io.Reader
	closed bool
}

func (c *closeTracker) Close() error { c.closed = true; return nil }

func TestBufferingTransport(t *testing.T) {
	tests := []struct {
		name     string
		url      string
		body     string
		buffered bool
	}{
		{"plain http with body", "http://127.0.0.1:4566/", `{"QueueUrl":"x"}`, true},
		{"https passes through", "https://sqs.eu-west-1.amazonaws.com/", `{"QueueUrl":"x"}`, false},
		{"plain http without body", "http://127.0.0.1:4566/", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recordingTransport{}
			var body *closeTracker
			req, err := http.NewRequest(http.MethodPost, tc.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.body != "" {
				body = &closeTracker{Reader: strings.NewReader(tc.body)}
				req.Body = body
			}
			resp, err := bufferingTransport{base: rec}.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if rec.body != tc.body {
				t.Errorf("base got body %q, want %q", rec.body, tc.body)
			}
			if buffered := rec.got != req; buffered != tc.buffered {
				t.Fatalf("request replaced = %v, want %v", buffered, tc.buffered)
			}
			if !tc.buffered {
				return
			}
			if !body.closed {
				t.Error("original body not closed")
			}
			if rec.got.ContentLength != int64(len(tc.body)) {
				t.Errorf("ContentLength = %d, want %d", rec.got.ContentLength, len(tc.body))
			}
			again, err := rec.got.GetBody()
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := io.ReadAll(again); string(b) != tc.body {
				t.Errorf("GetBody gave %q, want %q", b, tc.body)
			}
		})
	}
}
