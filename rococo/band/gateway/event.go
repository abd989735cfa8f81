package gateway

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rococo-go/rococo/rococo/bus"
)

// newEvent builds the event of a hit on service's name: the query's
// arguments, then the body's (a JSON object or a form), a later one
// replacing an earlier one of the same name; td from the connection and
// the headers; uid from the uid cookie.
func newEvent(req *http.Request, body []byte, service, name string, trustForwarded bool) (bus.Event, error) {
	key, err := bus.Key(service, name)
	if err != nil {
		return bus.Event{}, err
	}
	data := map[string]any{}
	addValues(data, req.URL.Query())
	if len(body) > 0 {
		mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
		switch {
		case mt == "application/json" || strings.HasSuffix(mt, "+json"):
			var obj map[string]any
			if err := json.Unmarshal(body, &obj); err != nil {
				return bus.Event{}, fmt.Errorf("the body is not a JSON object: %w", err)
			}
			for k, v := range obj {
				data[k] = v
			}
		case mt == "application/x-www-form-urlencoded":
			vs, err := url.ParseQuery(string(body))
			if err != nil {
				return bus.Event{}, fmt.Errorf("the form does not parse: %w", err)
			}
			addValues(data, vs)
		}
	}
	ev := bus.Event{
		ID:      rand.Text(),
		Key:     key,
		Time:    time.Now().UTC(),
		Service: service,
		Name:    name,
		TD: bus.TD{
			IP:   clientIP(req, trustForwarded),
			UA:   req.UserAgent(),
			Ref:  req.Referer(),
			Host: req.Host,
		},
		Data: data,
	}
	if c, err := req.Cookie("uid"); err == nil {
		ev.UID = c.Value
	}
	return ev, nil
}

// addValues sets each name's value: a string, or a list for a repeated
// name.
func addValues(data map[string]any, vs url.Values) {
	for k, v := range vs {
		if len(v) == 1 {
			data[k] = v[0]
			continue
		}
		l := make([]any, len(v))
		for i, s := range v {
			l[i] = s
		}
		data[k] = l
	}
}

func clientIP(req *http.Request, trustForwarded bool) string {
	if trustForwarded {
		if xff := req.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			if ip := strings.TrimSpace(first); net.ParseIP(ip) != nil {
				return ip
			}
		}
	}
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		return req.RemoteAddr
	}
	return host
}
