package band_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo/band"
)

// EchoIn exercises every kind of field the binder converts.
type EchoIn struct {
	Name    string             `json:"name"`
	Count   int                `json:"count"`
	Ratio   float64            `json:"ratio"`
	Flag    bool               `json:"flag"`
	Wait    time.Duration      `json:"wait"`
	Addr    netip.Addr         `json:"addr"`
	Tags    []string           `json:"tags"`
	Limit   *uint8             `json:"limit"`
	Filter  struct{ C string } `json:"filter"`
	Skipped string             `json:"-"`
	ID      string             `json:"id"`
	Page
}

func echo(_ context.Context, in EchoIn) (EchoIn, error) { return in, nil }

// Page is embedded: its fields bind as the outer struct's.
type Page struct {
	Page int    `json:"page"`
	Name string `json:"name"` // shadowed by EchoIn.Name, as encoding/json does
}

// ParamsIn embeds band.Request (Band's **params).
type ParamsIn struct {
	band.Request
	ID string `json:"id"`
}

type paramsOut struct {
	ID     string         `json:"id"`
	Params map[string]any `json:"params"`
	Body   string         `json:"body"`
	UA     string         `json:"ua"`
}

func params(_ context.Context, in ParamsIn) (paramsOut, error) {
	return paramsOut{ID: in.ID, Params: in.Params(), Body: string(in.Body()), UA: in.HTTP().UserAgent()}, nil
}

type checkedIn struct {
	Email string `json:"email"`
}

func (c *checkedIn) Validate() error {
	if !strings.Contains(c.Email, "@") {
		return &band.Error{Status: http.StatusUnprocessableEntity, Field: "email", Message: "not an email address"}
	}
	return nil
}

func multipartBody(t *testing.T, fields map[string]string) (string, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	return w.FormDataContentType(), b.String()
}

func TestHandle_binds_query_then_body_then_path(t *testing.T) {
	s := band.New()
	band.Handle(s, "/echo/{id}", echo)
	band.Handle(s, "/params/{id}/{rest...}", params)
	band.Handle(s, "POST /checked", func(_ context.Context, in checkedIn) (checkedIn, error) { return in, nil })
	h := start(t, s, "", nil)

	mpType, mpBody := multipartBody(t, map[string]string{"name": "from-multipart", "count": "7"})
	tests := []struct {
		name, method, path, ctype, body string
		want                            string // a JSON fragment of the answer
	}{
		{"query", "GET", "/echo/p1?name=q&count=3&ratio=0.5&flag&wait=1.5&addr=192.0.2.1&tags=a&tags=b&limit=9&filter=%7B%22C%22%3A%22x%22%7D&unknown=1&page=2", "", "",
			`{"name":"q","count":3,"ratio":0.5,"flag":true,"wait":1500000000,"addr":"192.0.2.1","tags":["a","b"],"limit":9,"filter":{"C":"x"},"id":"p1","page":2}`},
		{"JSON body wins over the query", "POST", "/echo/p1?name=q&count=3&tags=a", "application/json", `{"name":"json","tags":["j"],"extra":true}`,
			`{"name":"json","count":3,"ratio":0,"flag":false,"wait":0,"addr":"","tags":["j"],"limit":null,"filter":{"C":""},"id":"p1","page":0}`},
		{"path wins over the body", "POST", "/echo/from-path?id=q", "application/json", `{"id":"json"}`, `"id":"from-path"`},
		{"form body wins over the query", "POST", "/echo/p?name=q&tags=a&tags=b", "application/x-www-form-urlencoded", "name=form+value&tags=c", `"name":"form value"`},
		{"a form's list replaces the query's", "POST", "/echo/p?tags=a&tags=b", "application/x-www-form-urlencoded", "tags=c", `"tags":["c"]`},
		{"multipart form", "POST", "/echo/p?name=q", mpType, mpBody, `"name":"from-multipart","count":7`},
		{"empty values leave numbers alone", "GET", "/echo/p?count=&name=", "", "", `"name":"","count":0`},
		{"JSON content type with parameters", "POST", "/echo/p", "Application/JSON; charset=utf-8", `{"count":5}`, `"count":5`},
		{"Request gives every argument", "POST", "/params/p1/a/b?q=1&id=query", "application/json", `{"n":2}`,
			`{"id":"p1","params":{"id":"p1","n":2,"q":"1","rest":"a/b"},"body":"{\"n\":2}","ua":"Go-http-client/1.1"}`},
		{"Request takes any body", "POST", "/params/p1/x", "text/plain", "hello", `"body":"hello"`},
		{"Validate passes", "POST", "/checked", "application/json", `{"email":"a@b"}`, `{"email":"a@b"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := h.do(tc.method, tc.path, tc.ctype, tc.body)
			if got.code != http.StatusOK || !strings.Contains(got.body, tc.want) {
				t.Errorf("%s %s = %d %s, want 200 with %s", tc.method, tc.path, got.code, got.body, tc.want)
			}
			if ct := got.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
		})
	}
}

type countIn struct {
	Count int `json:"count"`
	Items []struct {
		N int `json:"n"`
	} `json:"items"`
}

// A handler that gives back its ctx's error as its Timeout passes is the
// timeout, whichever of the two the runtime sees first; repeated, since
// which one comes first is up to the scheduler.
func TestHandle_timeout_answer_when_the_handler_returns_its_ctx_error(t *testing.T) {
	s := band.New()
	band.Handle(s, "GET /prompt", func(ctx context.Context, _ struct{}) (string, error) {
		<-ctx.Done()
		return "", ctx.Err()
	}, band.Timeout(2*time.Millisecond))
	h := start(t, s, "", nil)
	want := `{"error":"prompt did not answer within its timeout of 2ms","status":504}`
	for i := range 1000 {
		if got := h.do("GET", "/prompt", "", ""); got.code != 504 || strings.TrimSpace(got.body) != want {
			t.Fatalf("request %d: %d %s, want 504 %s", i, got.code, got.body, want)
		}
	}
}

func TestHandle_answers_errors_with_honest_codes(t *testing.T) {
	s := band.New()
	band.Handle(s, "GET /count", func(_ context.Context, in countIn) (int, error) { return in.Count, nil })
	band.Handle(s, "POST /count", func(_ context.Context, in countIn) (int, error) { return in.Count, nil }, band.MaxBody(64), band.Name("count_post"))
	band.Handle(s, "GET /slow", func(ctx context.Context, _ struct{}) (string, error) {
		<-ctx.Done()
		time.Sleep(20 * time.Millisecond) // answers after its deadline
		return "late", nil
	}, band.Timeout(100*time.Millisecond))
	band.Handle(s, "GET /stubborn", func(_ context.Context, _ struct{}) (string, error) {
		time.Sleep(300 * time.Millisecond) // ignores its ctx
		return "late", nil
	}, band.Timeout(50*time.Millisecond))
	band.Handle(s, "GET /panic", func(context.Context, struct{}) (string, error) { panic("boom") })
	band.Handle(s, "GET /teapot", func(context.Context, struct{}) (string, error) {
		return "", band.Errorf(http.StatusTeapot, "short and stout")
	})
	band.Handle(s, "GET /secret-failure", func(context.Context, struct{}) (string, error) {
		return "", errors.New("db password hunter2 rejected")
	})
	band.Handle(s, "GET /deadline", func(context.Context, struct{}) (string, error) {
		return "", fmt.Errorf("upstream: %w", context.DeadlineExceeded)
	})
	band.Handle(s, "POST /checked", func(_ context.Context, in checkedIn) (checkedIn, error) { return in, nil })
	band.Handle(s, "GET /unencodable", func(context.Context, struct{}) (any, error) { return func() {}, nil })
	h := start(t, s, "", nil)

	tests := []struct {
		name, method, path, ctype, body string
		code                            int
		want                            string // the whole JSON body
		allow                           string
	}{
		{"bad query value names the field", "GET", "/count?count=abc", "", "", 400,
			`{"error":"invalid count \"abc\" in the query: want a whole number (64-bit)","status":400,"field":"count"}`, ""},
		{"bad JSON value names the field", "POST", "/count", "application/json", `{"items":[{"n":"x"}]}`, 400,
			`{"error":"invalid items.n in the JSON body: want a whole number, not a JSON string","status":400,"field":"items.n"}`, ""},
		{"invalid JSON", "POST", "/count", "application/json", `{"count":`, 400,
			`{"error":"the body is not valid JSON: unexpected end of JSON input (at byte 9)","status":400}`, ""},
		{"JSON that is not an object", "POST", "/count", "application/json", `[1]`, 400,
			`{"error":"the JSON body must be an object of the input's fields, not a JSON array","status":400}`, ""},
		{"Validate's *Error", "POST", "/checked", "application/json", `{"email":"nope"}`, 422,
			`{"error":"not an email address","status":422,"field":"email"}`, ""},
		{"unknown path", "GET", "/nope", "", "", 404,
			`{"error":"no function at GET /nope","status":404}`, ""},
		{"wrong method", "DELETE", "/count", "", "", 405,
			`{"error":"DELETE is not served for /count (allowed: GET, HEAD, POST)","status":405}`, "GET, HEAD, POST"},
		{"body over the limit", "POST", "/count", "application/json", `{"count":1,"items":[` + strings.Repeat(`{"n":1},`, 20) + `{"n":1}]}`, 413,
			`{"error":"the request body is larger than 64 bytes, the handler's limit","status":413}`, ""},
		{"unsupported body type", "POST", "/count", "text/csv", "a,b", 415,
			`{"error":"a body of type \"text/csv\" is not accepted: send application/json, or a URL-encoded or multipart form","status":415}`, ""},
		{"JSON sent as a form (curl -d)", "POST", "/count", "application/x-www-form-urlencoded", ` {"count":2}`, 415,
			`{"error":"the body is JSON but its Content-Type is application/x-www-form-urlencoded (curl -d sends that): send Content-Type: application/json","status":415}`, ""},
		{"a form that starts with a brace is a form", "POST", "/count", "application/x-www-form-urlencoded", `{x=1`, 200, "0", ""},
		{"timeout", "GET", "/slow", "", "", 504,
			`{"error":"slow did not answer within its timeout of 100ms","status":504}`, ""},
		{"timeout of a handler ignoring its ctx", "GET", "/stubborn", "", "", 504,
			`{"error":"stubborn did not answer within its timeout of 50ms","status":504}`, ""},
		{"panic", "GET", "/panic", "", "", 500, `{"error":"internal error","status":500}`, ""},
		{"an *Error's status", "GET", "/teapot", "", "", 418, `{"error":"short and stout","status":418}`, ""},
		{"other errors hide their text", "GET", "/secret-failure", "", "", 500, `{"error":"internal error","status":500}`, ""},
		{"a deadline of the handler's own", "GET", "/deadline", "", "", 504, `{"error":"a deadline passed before the answer","status":504}`, ""},
		{"a result JSON cannot encode", "GET", "/unencodable", "", "", 500, `{"error":"internal error","status":500}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := h.do(tc.method, tc.path, tc.ctype, tc.body)
			if got.code != tc.code || strings.TrimSpace(got.body) != tc.want {
				t.Errorf("%s %s =\n%d %s\nwant\n%d %s", tc.method, tc.path, got.code, got.body, tc.code, tc.want)
			}
			if ct := got.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if tc.allow != "" && got.header.Get("Allow") != tc.allow {
				t.Errorf("Allow = %q, want %q", got.header.Get("Allow"), tc.allow)
			}
		})
	}

	// The service goes on serving after a panic, and its metrics and
	// reports say what happened.
	if got := h.do("GET", "/count?count=4", "", ""); got.code != 200 || strings.TrimSpace(got.body) != "4" {
		t.Errorf("after the panic: GET /count = %d %s, want 200 4", got.code, got.body)
	}
	if n := h.counter("rococo_band_request_errors_total", "function", "panic", "status", "500"); n != 1 {
		t.Errorf("errors{panic,500} = %v, want 1", n)
	}
	if n := h.counter("rococo_band_request_errors_total", "function", "count_post", "status", "413"); n != 1 {
		t.Errorf("errors{count_post,413} = %v, want 1", n)
	}
	if n := h.counter("rococo_band_requests_total", "function", "count"); n != 2 {
		t.Errorf("requests{count} = %v, want 2 (the DELETE is no request of it)", n)
	}
	if !strings.Contains(h.logs.String(), "panic: boom") || !strings.Contains(h.logs.String(), "stack=") {
		t.Errorf("the panic is not logged with its stack:\n%s", h.logs.String())
	}
	var reported []string
	for _, err := range h.reports.all() {
		reported = append(reported, err.Error())
	}
	for _, want := range []string{"panic: boom", "db password hunter2 rejected", "handler timeout"} {
		if !strings.Contains(strings.Join(reported, "\n"), want) {
			t.Errorf("reports = %q, want one with %q", reported, want)
		}
	}
	for _, r := range reported {
		if strings.Contains(r, "short and stout") || strings.Contains(r, "abc") {
			t.Errorf("a 4xx was reported: %q", r)
		}
	}
	// The stubborn handler still counts in flight until it returns.
	waitFor(t, 2*time.Second, "the stubborn handler to return", func() bool {
		return h.counter("rococo_band_requests_in_flight") == 0
	})
}

func TestHandle_chunked_body_over_the_limit_is_413(t *testing.T) {
	s := band.New(band.Defaults(band.MaxBody(100)))
	band.Handle(s, "POST /count", func(_ context.Context, in countIn) (int, error) { return in.Count, nil })
	h := start(t, s, "", nil)
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte(`{"count":1,"pad":"` + strings.Repeat("x", 200) + `"}`))
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", h.url+"/count", pr) // no Content-Length: chunked
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked body over the limit: status %d, want 413", resp.StatusCode)
	}
}

func TestHandle_responses(t *testing.T) {
	s := band.New()
	band.Handle(s, "POST /items", func(context.Context, struct{}) (band.Response, error) {
		return band.Status(http.StatusCreated, map[string]int{"id": 7}), nil
	})
	band.Handle(s, "DELETE /items", func(context.Context, struct{}) (band.Response, error) { return nil, nil }, band.Name("delete_items"))
	band.Handle(s, "GET /go/{code}", func(_ context.Context, in struct {
		Code string `json:"code"`
	}) (band.Response, error) {
		if in.Code == "perm" {
			return band.Redirect("https://example.com/p", http.StatusMovedPermanently), nil
		}
		return band.Redirect("/landing?from="+in.Code, 0), nil
	})
	band.Handle(s, "GET /bad-redirect", func(context.Context, struct{}) (band.Response, error) {
		return band.Redirect("/x", http.StatusOK), nil
	})
	band.Handle(s, "track", func(context.Context, struct{}) (band.Response, error) { return band.Pixel(), nil })
	band.Handle(s, "GET /either", func(_ context.Context, in struct {
		Pixel bool `json:"pixel"`
	}) (any, error) {
		if in.Pixel {
			return band.Pixel(), nil
		}
		return []int{1, 2}, nil
	})
	h := start(t, s, "", nil)

	tests := []struct {
		name, method, path string
		code               int
		header             map[string]string
		body               string
	}{
		{"status", "POST", "/items", 201, map[string]string{"Content-Type": "application/json"}, `{"id":7}` + "\n"},
		{"nil response", "DELETE", "/items", 204, nil, ""},
		{"redirect", "GET", "/go/abc", 302, map[string]string{"Location": "/landing?from=abc"}, ""},
		{"permanent redirect", "GET", "/go/perm", 301, map[string]string{"Location": "https://example.com/p"}, ""},
		{"redirect with a bad code", "GET", "/bad-redirect", 500, nil, `{"error":"internal error","status":500}` + "\n"},
		{"pixel", "GET", "/track", 200, map[string]string{"Content-Type": "image/gif", "Cache-Control": "no-cache, no-store, must-revalidate"}, ""},
		{"pixel by POST", "POST", "/track", 200, map[string]string{"Content-Type": "image/gif"}, ""},
		{"any: JSON", "GET", "/either", 200, map[string]string{"Content-Type": "application/json"}, "[1,2]\n"},
		{"any: a Response", "GET", "/either?pixel=1", 200, map[string]string{"Content-Type": "image/gif"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := h.do(tc.method, tc.path, "", "")
			if got.code != tc.code {
				t.Errorf("%s %s = %d %s, want %d", tc.method, tc.path, got.code, got.body, tc.code)
			}
			for k, v := range tc.header {
				if got.header.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, got.header.Get(k), v)
				}
			}
			if tc.body != "" && got.body != tc.body {
				t.Errorf("body = %q, want %q", got.body, tc.body)
			}
			if strings.HasPrefix(tc.header["Content-Type"], "image/gif") && (len(got.body) != 43 || !strings.HasPrefix(got.body, "GIF89a")) {
				t.Errorf("pixel body = %d bytes %q, want the 43-byte GIF", len(got.body), got.body)
			}
		})
	}
}

func TestHandle_stream_sends_each_write_at_once(t *testing.T) {
	next := make(chan struct{})
	s := band.New()
	band.Handle(s, "GET /export", func(context.Context, struct{}) (band.Response, error) {
		return band.Stream("application/x-ndjson", func(ctx context.Context, w io.Writer) error {
			io.WriteString(w, `{"n":1}`+"\n")
			select {
			case <-next: // the client has read the first line
			case <-ctx.Done():
				return ctx.Err()
			}
			io.WriteString(w, `{"n":2}`+"\n")
			return nil
		}), nil
	}, band.Timeout(time.Second))
	band.Handle(s, "GET /broken", func(context.Context, struct{}) (band.Response, error) {
		return band.Stream("text/plain", func(_ context.Context, w io.Writer) error {
			io.WriteString(w, "partial\n")
			return errors.New("source failed")
		}), nil
	})
	h := start(t, s, "", nil)

	resp, err := client.Get(h.url + "/export")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("GET /export = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	buf := make([]byte, 64)
	n, err := resp.Body.Read(buf) // arrives while the stream is still open
	if err != nil || string(buf[:n]) != `{"n":1}`+"\n" {
		t.Fatalf("first read = %q, %v", buf[:n], err)
	}
	close(next)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != `{"n":2}`+"\n" {
		t.Fatalf("rest = %q, %v", rest, err)
	}

	// A stream that fails after its first byte is cut, not ended cleanly.
	resp, err = client.Get(h.url + "/broken")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Errorf("broken stream read %q without an error, want an unexpected EOF", b)
	}
	waitFor(t, time.Second, "the stream error to be reported", func() bool {
		for _, e := range h.reports.all() {
			if strings.Contains(e.Error(), "source failed") {
				return true
			}
		}
		return false
	})
}

func TestHandle_reserved_paths_go_to_the_runtime(t *testing.T) {
	s := band.New()
	band.Handle(s, "lookup", func(context.Context, struct{}) (string, error) { return "ok", nil })
	h := start(t, s, "", nil)
	for _, p := range band.ReservedPaths {
		if got := h.do("GET", p, "", ""); got.body != "reserved "+p {
			t.Errorf("GET %s = %d %q, want the reserved handler", p, got.code, got.body)
		}
	}
	for _, m := range []string{"GET", "POST", "HEAD"} {
		if got := h.do(m, "/lookup", "", ""); got.code != 200 {
			t.Errorf("%s /lookup = %d, want 200 (a bare name serves GET and POST)", m, got.code)
		}
	}
}
