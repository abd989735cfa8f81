package band

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

// TestNewBinder_two_fields_of_one_name: go vet refuses such a struct in
// source, so it is built here with reflect.
func TestNewBinder_two_fields_of_one_name(t *testing.T) {
	typ := reflect.StructOf([]reflect.StructField{
		{Name: "A", Type: reflect.TypeFor[string](), Tag: `json:"x"`},
		{Name: "B", Type: reflect.TypeFor[int](), Tag: `json:"x"`},
	})
	_, err := newBinder(typ, nil)
	if err == nil || err.Error() != `two fields of struct { A string "json:\"x\""; B int "json:\"x\"" } bind the name "x": give one another json name` {
		t.Errorf("newBinder() error = %v", err)
	}
}

// bindErrIn has fields of types that decode themselves (UnmarshalText,
// UnmarshalJSON), as a JSON body value, alone, in a list, behind a pointer
// and in a map.
type bindErrIn struct {
	IP   netip.Addr            `json:"ip"`
	IPs  []netip.Addr          `json:"ips"`
	T    time.Time             `json:"t"`
	P    *netip.Addr           `json:"p"`
	M    map[string]netip.Addr `json:"m"`
	N    int                   `json:"n"`
	Tags []string              `json:"tags"`
	Name string                `json:"name"`
}

// bindCase is one request for a binder: the target's query, the path's
// wildcard values, a body of one kind.
type bindCase struct {
	name   string
	target string            // the path and query
	path   map[string]string // the wildcards' values
	kind   bodyKind
	body   string              // JSON or URL-encoded
	form   map[string][]string // multipart
	want   string              // the bound value as JSON, when it binds
	field  string              // else the 400's field
	err    string              // and message
}

func runBindCases(t *testing.T, b *binder, tests []bindCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", tc.target, nil)
			for k, v := range tc.path {
				r.SetPathValue(k, v)
			}
			in := &input{req: r, kind: tc.kind, body: []byte(tc.body), form: tc.form}
			v := reflect.New(b.typ)
			err := b.bind(v.Elem(), in)
			if tc.want != "" {
				got, _ := json.Marshal(v.Interface())
				if err != nil || string(got) != tc.want {
					t.Errorf("bind = %s, %v\nwant %s", got, err, tc.want)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 || e.Field != tc.field || e.Message != tc.err {
				t.Errorf("bind error = %#v\nwant 400, field %q: %s", err, tc.field, tc.err)
			}
		})
	}
}

// A JSON body's value that its type's UnmarshalText or UnmarshalJSON
// refuses answers 400 naming the field, as a query's value does.
func TestBind_JSON_value_a_type_refuses_names_the_field(t *testing.T) {
	b, err := newBinder(reflect.TypeFor[bindErrIn](), nil)
	if err != nil {
		t.Fatal(err)
	}
	const addrErr = `want a valid netip.Addr (ParseAddr("bad"): unable to parse IP)`
	const timeErr = `want a valid time.Time (parsing time "bad" as "2006-01-02T15:04:05Z07:00": cannot parse "bad" as "2006")`
	runBindCases(t, b, []bindCase{
		{name: "the query's message, for comparison", target: "/lookup?ips=192.0.2.1&ips=bad",
			field: "ips", err: `invalid ips "bad" in the query: ` + addrErr},
		{name: "an element of a list", target: "/lookup", kind: jsonBody, body: `{"ips":["192.0.2.1","bad"]}`,
			field: "ips", err: `invalid ips "bad" in the JSON body: ` + addrErr},
		{name: "a value", target: "/lookup", kind: jsonBody, body: `{"name":"a","ip":"bad"}`,
			field: "ip", err: `invalid ip "bad" in the JSON body: ` + addrErr},
		{name: "time.Time (UnmarshalJSON)", target: "/lookup", kind: jsonBody, body: `{"t":"bad"}`,
			field: "t", err: `invalid t "bad" in the JSON body: ` + timeErr},
		{name: "time.Time given a number", target: "/lookup", kind: jsonBody, body: `{"t":5}`,
			field: "t", err: `invalid t 5 in the JSON body: want a valid time.Time (Time.UnmarshalJSON: input is not a JSON string)`},
		{name: "the time of the query, for comparison", target: "/lookup?t=bad",
			field: "t", err: `invalid t "bad" in the query: ` + timeErr},
		{name: "behind a pointer, key matched without case", target: "/lookup", kind: jsonBody, body: `{"P":"bad"}`,
			field: "p", err: `invalid p "bad" in the JSON body: ` + addrErr},
		{name: "a map's value", target: "/lookup", kind: jsonBody, body: `{"m":{"a":"192.0.2.1","b":"bad"}}`,
			field: "m", err: `invalid m "bad" in the JSON body: ` + addrErr},
		{name: "after a type mismatch, the value that stopped the decoding", target: "/lookup", kind: jsonBody, body: `{"n":"x","ips":[5,"bad"]}`,
			field: "ips", err: `invalid ips "bad" in the JSON body: ` + addrErr},
		{name: "the first of two, in the body's order", target: "/lookup", kind: jsonBody, body: `{"t":"bad","ip":"bad"}`,
			field: "t", err: `invalid t "bad" in the JSON body: ` + timeErr},
		{name: "a repeated key: the value that failed", target: "/lookup", kind: jsonBody, body: `{"ip":"bad","ip":"192.0.2.1"}`,
			field: "ip", err: `invalid ip "bad" in the JSON body: ` + addrErr},
		{name: "a type mismatch still names the field", target: "/lookup", kind: jsonBody, body: `{"n":"x"}`,
			field: "n", err: `invalid n in the JSON body: want a whole number, not a JSON string`},
		{name: "a type mismatch of an UnmarshalText type wants a string", target: "/lookup", kind: jsonBody, body: `{"ips":["192.0.2.1",5]}`,
			field: "ips", err: `invalid ips in the JSON body: want a valid netip.Addr as a string, not a JSON number`},
		{name: "invalid JSON", target: "/lookup", kind: jsonBody, body: `{"ip":`,
			err: `the body is not valid JSON: unexpected end of JSON input (at byte 6)`},
		{name: "good values bind", target: "/lookup?name=q", kind: jsonBody, body: `{"ips":["192.0.2.1"],"t":"2026-01-02T03:04:05Z","p":"192.0.2.2","m":{"a":"192.0.2.3"}}`,
			want: `{"ip":"","ips":["192.0.2.1"],"t":"2026-01-02T03:04:05Z","p":"192.0.2.2","m":{"a":"192.0.2.3"},"n":0,"tags":null,"name":"q"}`},
	})
}

// A value from the query or the body for a field that a path wildcard
// sets is never an error: the path's value replaces it.
func TestBind_path_value_replaces_a_bad_query_or_body_value(t *testing.T) {
	b, err := newBinder(reflect.TypeFor[bindErrIn](), []string{"ip", "n"})
	if err != nil {
		t.Fatal(err)
	}
	path := map[string]string{"ip": "192.0.2.1", "n": "3"}
	const bound = `{"ip":"192.0.2.1","ips":null,"t":"0001-01-01T00:00:00Z","p":null,"m":null,"n":3,"tags":["city"],"name":"q"}`
	runBindCases(t, b, []bindCase{
		{name: "JSON: a value its type refuses", target: "/lookup/192.0.2.1/3?name=q", path: path, kind: jsonBody, body: `{"tags":["city"],"ip":"x"}`,
			want: bound},
		{name: "JSON: a type mismatch", target: "/lookup/192.0.2.1/3?name=q", path: path, kind: jsonBody, body: `{"ip":5,"n":"x","tags":["city"]}`,
			want: bound},
		{name: "JSON: a key matched without case", target: "/lookup/192.0.2.1/3?name=q", path: path, kind: jsonBody, body: `{"IP":"x","tags":["city"]}`,
			want: bound},
		{name: "JSON: members after the failed one still bind, the query's stay", target: "/lookup/192.0.2.1/3?name=q&tags=q", path: path, kind: jsonBody,
			body: `{"m":{"a":"192.0.2.3"},"ip":"x","tags":["a","b"],"ips":["192.0.2.4"]}`,
			want: `{"ip":"192.0.2.1","ips":["192.0.2.4"],"t":"0001-01-01T00:00:00Z","p":null,"m":{"a":"192.0.2.3"},"n":3,"tags":["a","b"],"name":"q"}`},
		{name: "JSON: another field's error stands", target: "/lookup/192.0.2.1/3", path: path, kind: jsonBody, body: `{"ip":"x","t":"bad"}`,
			field: "t", err: `invalid t "bad" in the JSON body: want a valid time.Time (parsing time "bad" as "2006-01-02T15:04:05Z07:00": cannot parse "bad" as "2006")`},
		{name: "JSON: another field's type mismatch stands", target: "/lookup/192.0.2.1/3", path: path, kind: jsonBody, body: `{"ip":"x","tags":"city"}`,
			field: "tags", err: `invalid tags in the JSON body: want a list, not a JSON string`},
		{name: "query", target: "/lookup/192.0.2.1/3?ip=x&n=x&name=q&tags=city", path: path,
			want: bound},
		{name: "query: a value that is not URL encoding", target: "/lookup/192.0.2.1/3?ip=%zz&name=q&tags=city", path: path,
			want: bound},
		{name: "query: another field's error stands", target: "/lookup/192.0.2.1/3?ip=x&ips=bad", path: path,
			field: "ips", err: `invalid ips "bad" in the query: want a valid netip.Addr (ParseAddr("bad"): unable to parse IP)`},
		{name: "URL-encoded form", target: "/lookup/192.0.2.1/3?name=q", path: path, kind: formBody, body: "ip=x&n=x&tags=city",
			want: bound},
		{name: "multipart form", target: "/lookup/192.0.2.1/3?name=q", path: path, kind: multipartBody,
			form: map[string][]string{"ip": {"x"}, "n": {"x"}, "tags": {"city"}}, want: bound},
		{name: "the path's own bad value is the error", target: "/lookup/bad/3?ip=x", path: map[string]string{"ip": "bad", "n": "3"},
			field: "ip", err: `invalid ip "bad" in the path: want a valid netip.Addr (ParseAddr("bad"): unable to parse IP)`},
		{name: "an empty path value sets nothing: the query's value counts", target: "/lookup/192.0.2.1/?n=x", path: map[string]string{"ip": "192.0.2.1", "n": ""},
			field: "n", err: `invalid n "x" in the query: want a whole number (64-bit)`},
	})
}
