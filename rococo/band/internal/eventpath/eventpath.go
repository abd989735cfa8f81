// Package eventpath reads a value out of a bus.Event by a dot-path, as an
// enricher's props name them: "td.ip", "data.page", "data.utm.source",
// "key", "uid".
package eventpath

import (
	"fmt"
	"strings"

	"github.com/rococo-go/rococo/rococo/bus"
)

// roots are the first words a path may start with: the event's JSON names.
var roots = map[string]bool{
	"id": true, "key": true, "time": true, "service": true, "name": true,
	"uid": true, "projectId": true, "td": true, "data": true,
}

var tdFields = map[string]bool{"ip": true, "ua": true, "ref": true, "host": true}

// Check returns an error naming the fix when path cannot name a value of an
// event.
func Check(path string) error {
	words := strings.Split(path, ".")
	for _, w := range words {
		if w == "" {
			return fmt.Errorf("the path %q has an empty word: write words separated by '.', such as td.ip or data.page", path)
		}
	}
	switch root := words[0]; {
	case !roots[root]:
		return fmt.Errorf("the path %q starts with %q, not a field of the event: start with td, data, id, key, time, service, name, uid or projectId", path, root)
	case root == "td" && (len(words) != 2 || !tdFields[words[1]]):
		return fmt.Errorf("the path %q is not one of td.ip, td.ua, td.ref, td.host", path)
	case root != "td" && root != "data" && len(words) > 1:
		return fmt.Errorf("the path %q goes below %q, which holds a single value: write %q", path, root, root)
	}
	return nil
}

// Lookup returns the value path names in ev, and whether it is there (a
// missing or empty field is not). path has passed Check.
func Lookup(ev *bus.Event, path string) (any, bool) {
	root, rest, _ := strings.Cut(path, ".")
	var v any
	switch root {
	case "id":
		v = ev.ID
	case "key":
		v = ev.Key
	case "time":
		if ev.Time.IsZero() {
			return nil, false
		}
		return ev.Time, true
	case "service":
		v = ev.Service
	case "name":
		v = ev.Name
	case "uid":
		v = ev.UID
	case "projectId":
		if ev.ProjectID == 0 {
			return nil, false
		}
		return ev.ProjectID, true
	case "td":
		switch rest {
		case "ip":
			v = ev.TD.IP
		case "ua":
			v = ev.TD.UA
		case "ref":
			v = ev.TD.Ref
		case "host":
			v = ev.TD.Host
		}
	case "data":
		return below(ev.Data, rest)
	}
	if s, _ := v.(string); s == "" {
		return nil, false
	}
	return v, true
}

// below follows path (words separated by '.') down nested JSON objects;
// an empty path is m itself.
func below(m map[string]any, path string) (any, bool) {
	if path == "" {
		if m == nil {
			return nil, false
		}
		return m, true
	}
	var cur any = m
	for w := range strings.SplitSeq(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[w]; !ok {
			return nil, false
		}
	}
	return cur, true
}
