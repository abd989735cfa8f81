package bus

import (
	"fmt"
	"strings"
	"time"
)

// KeyPrefix starts every event key: "in.gen.<service>.<name>".
const KeyPrefix = "in.gen."

// Event is a hit as the gateway builds it and as listeners receive it. Its
// JSON form is front's message: the same names, so a listener written for
// Band reads it unchanged.
type Event struct {
	ID        string         `json:"id"`
	Key       string         `json:"key"` // in.gen.<service>.<name>
	Time      time.Time      `json:"time"`
	Service   string         `json:"service"`
	Name      string         `json:"name"`
	UID       string         `json:"uid,omitempty"`
	ProjectID int64          `json:"projectId,omitempty"`
	TD        TD             `json:"td"`
	Data      map[string]any `json:"data"`
	// Enrich records the enrichers that did not add their data:
	// "<service>.<function>" -> "timeout" or "error: <message>".
	Enrich map[string]string `json:"enrich,omitempty"`
}

// TD is the transport data of a hit: who sent it and from where.
type TD struct {
	IP   string `json:"ip,omitempty"`
	UA   string `json:"ua,omitempty"`   // the User-Agent header
	Ref  string `json:"ref,omitempty"`  // the Referer header
	Host string `json:"host,omitempty"` // the Host the hit was sent to
}

// Key returns the event key of the hit name on service:
// "in.gen.<service>.<name>". It fails when either is empty or holds a '.',
// '*' or '#', which would change how the key routes.
func Key(service, name string) (string, error) {
	for _, p := range [...]struct{ what, v string }{{"service", service}, {"name", name}} {
		if p.v == "" {
			return "", fmt.Errorf("bus: the event's %s is empty: an event key is in.gen.<service>.<name>", p.what)
		}
		if strings.ContainsAny(p.v, ".*#") {
			return "", fmt.Errorf("bus: the event's %s %q holds '.', '*' or '#': use a single word (letters, digits, '_' or '-')", p.what, p.v)
		}
	}
	return KeyPrefix + service + "." + name, nil
}
