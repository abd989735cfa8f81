package backoff

import (
	"testing"
	"time"
)

func TestPolicy_Delay(t *testing.T) {
	tests := []struct {
		name   string
		p      Policy
		n      int
		lo, hi time.Duration
	}{
		{"first try is Base", Policy{Base: time.Second, Max: time.Minute}, 1, time.Second, time.Second},
		{"n below 1 is the first try", Policy{Base: time.Second, Max: time.Minute}, 0, time.Second, time.Second},
		{"doubles", Policy{Base: time.Second, Max: time.Minute}, 4, 8 * time.Second, 8 * time.Second},
		{"capped at Max", Policy{Base: time.Second, Max: 5 * time.Second}, 10, 5 * time.Second, 5 * time.Second},
		{"huge n does not overflow", Policy{Base: time.Second, Max: time.Hour}, 1000, time.Hour, time.Hour},
		{"Max below Base means Base", Policy{Base: time.Second, Max: time.Millisecond}, 3, time.Second, time.Second},
		{"jitter spreads both ways", Policy{Base: time.Second, Max: time.Minute, Jitter: 0.1}, 2, 1800 * time.Millisecond, 2200 * time.Millisecond},
		{"jitter never exceeds Max", Policy{Base: time.Second, Max: 4 * time.Second, Jitter: 0.5}, 5, 2 * time.Second, 4 * time.Second},
		{"jitter above 1 is 1", Policy{Base: time.Second, Max: time.Minute, Jitter: 7}, 1, 0, 2 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 200 {
				if got := tc.p.Delay(tc.n); got < tc.lo || got > tc.hi {
					t.Fatalf("%+v.Delay(%d) = %v, want in [%v, %v]", tc.p, tc.n, got, tc.lo, tc.hi)
				}
			}
		})
	}
}

func TestPolicy_Delay_jitter_varies(t *testing.T) {
	p := Policy{Base: time.Second, Max: time.Minute, Jitter: 0.2}
	seen := map[time.Duration]bool{}
	for range 50 {
		seen[p.Delay(3)] = true
	}
	if len(seen) < 2 {
		t.Fatalf("Delay(3) gave %d distinct values in 50 calls, want jitter", len(seen))
	}
}
