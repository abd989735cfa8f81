package rabbitmq

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo/bus"
)

// TestPatternMatchesBroker is the property test of bus.Pattern.Match: random
// patterns are bound on the real broker's topic exchange, random keys are
// published, and each queue must hold exactly the keys Match accepts.
func TestPatternMatchesBroker(t *testing.T) {
	e := newBusEnv(t, BusOptions{})
	ctx := testCtx(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	words := func(n int, from []string) string {
		w := make([]string, n)
		for i := range w {
			w[i] = from[rng.IntN(len(from))]
		}
		return strings.Join(w, ".")
	}

	const rounds, patterns, keys = 3, 40, 60
	for round := range rounds {
		ps := make([]bus.Pattern, patterns)
		queues := make([]string, patterns)
		for i := range ps {
			ps[i] = mustPattern(t, words(1+rng.IntN(5), []string{"a", "b", "c", "*", "#", "*", "#"}))
			queues[i] = e.queue(fmt.Sprintf("r%d.p%d", round, i))
			if err := e.bus.Bind(ctx, queues[i], ps[i:i+1]); err != nil {
				t.Fatal(err)
			}
		}
		ks := make([]string, keys)
		for i := range ks {
			ks[i] = words(1+rng.IntN(6), []string{"a", "b", "c"})
			if err := e.bus.Publish(ctx, bus.Event{ID: fmt.Sprint(i), Key: ks[i]}); err != nil {
				t.Fatal(err)
			}
		}
		for i, p := range ps {
			var want []string
			for _, k := range ks {
				if p.Match(k) {
					want = append(want, k)
				}
			}
			var got []string
			for _, body := range e.take(queues[i]) {
				got = append(got, eventKey(t, body))
			}
			if !slices.Equal(got, want) {
				t.Errorf("pattern %q: the broker routed %q, Match accepts %q", p, got, want)
			}
		}
	}
}

func eventKey(t *testing.T, body string) string {
	t.Helper()
	const marker = `"key":"`
	i := strings.Index(body, marker)
	if i < 0 {
		t.Fatalf("not an event: %s", body)
	}
	rest := body[i+len(marker):]
	return rest[:strings.IndexByte(rest, '"')]
}
