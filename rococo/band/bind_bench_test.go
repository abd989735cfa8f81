package band

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"testing"
)

// bindIn is a 5-field input: four from the query (or the JSON body), one
// from the path.
type bindIn struct {
	Name  string  `json:"name"`
	Count int     `json:"count"`
	Ratio float64 `json:"ratio"`
	Flag  bool    `json:"flag"`
	ID    string  `json:"id"`
}

func bindRequest(b *testing.B, body []byte) *http.Request {
	b.Helper()
	mux := http.NewServeMux()
	var req *http.Request
	mux.HandleFunc("/items/{id}", func(_ http.ResponseWriter, r *http.Request) { req = r })
	r, _ := http.NewRequest("POST", "/items/x1?name=ann&count=3&ratio=0.5&flag=true", bytes.NewReader(body))
	mux.ServeHTTP(nil, r) // sets the path value
	return req
}

// BenchmarkBind binds a 5-field input with the binder (built once, as at
// registration) and by hand (the code a net/http handler would write for
// the same fields):
//
//	go test -run '^$' -bench Bind -benchmem ./rococo/band/
func BenchmarkBind(b *testing.B) {
	bd, err := newBinder(reflect.TypeFor[bindIn](), []string{"id"})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("query+path/band", func(b *testing.B) {
		in := &input{req: bindRequest(b, nil)}
		b.ReportAllocs()
		for b.Loop() {
			var v bindIn
			if err := bd.bind(reflect.ValueOf(&v).Elem(), in); err != nil || v.Count != 3 || v.ID != "x1" {
				b.Fatal(err, v)
			}
		}
	})
	b.Run("query+path/by-hand", func(b *testing.B) {
		r := bindRequest(b, nil)
		b.ReportAllocs()
		for b.Loop() {
			var v bindIn
			q := r.URL.Query()
			v.Name = q.Get("name")
			n, err1 := strconv.Atoi(q.Get("count"))
			f, err2 := strconv.ParseFloat(q.Get("ratio"), 64)
			fl, err3 := strconv.ParseBool(q.Get("flag"))
			if err1 != nil || err2 != nil || err3 != nil {
				b.Fatal(err1, err2, err3)
			}
			v.Count, v.Ratio, v.Flag, v.ID = n, f, fl, r.PathValue("id")
			if v.Count != 3 || v.ID != "x1" {
				b.Fatal(v)
			}
		}
	})
	body := []byte(`{"name":"ann","count":3,"ratio":0.5,"flag":true}`)
	b.Run("json+path/band", func(b *testing.B) {
		in := &input{req: bindRequest(b, nil), kind: jsonBody, body: body}
		in.req.URL.RawQuery = ""
		b.ReportAllocs()
		for b.Loop() {
			var v bindIn
			if err := bd.bind(reflect.ValueOf(&v).Elem(), in); err != nil || v.Count != 3 || v.ID != "x1" {
				b.Fatal(err, v)
			}
		}
	})
	b.Run("json+path/by-hand", func(b *testing.B) {
		r := bindRequest(b, nil)
		b.ReportAllocs()
		for b.Loop() {
			var v bindIn
			if err := json.Unmarshal(body, &v); err != nil {
				b.Fatal(err)
			}
			v.ID = r.PathValue("id")
			if v.Count != 3 || v.ID != "x1" {
				b.Fatal(v)
			}
		}
	})
}
