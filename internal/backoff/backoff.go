package backoff

import (
	"math/rand/v2"
	"time"
)

// Policy is capped exponential backoff with jitter: the delay before try n
// is Base * 2^(n-1), at most Max, spread by ±Jitter of itself and never above
// Max. The zero Jitter spreads nothing. A Policy is a value: safe for
// concurrent use.
type Policy struct {
	// Base is the delay before the first retry (n = 1).
	Base time.Duration
	// Max caps every delay. A Max below Base means Base.
	Max time.Duration
	// Jitter is the fraction of the delay by which it is spread either way,
	// 0 to 1: 0.1 gives ±10 %. It keeps many retrying clients apart.
	Jitter float64
}

// Delay returns the delay before try n (n < 1 counts as 1).
func (p Policy) Delay(n int) time.Duration {
	limit := max(p.Max, p.Base)
	d := limit
	if shift := max(n-1, 0); shift < 62 && p.Base <= limit>>shift {
		d = p.Base << shift
	}
	if spread := int64(float64(d) * min(max(p.Jitter, 0), 1)); spread > 0 {
		d += time.Duration(rand.Int64N(2*spread+1) - spread)
	}
	return min(max(d, 0), limit)
}
