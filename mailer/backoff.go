package mailer

import (
	"math/rand/v2"
	"time"
)

// Backoff computes the wait before a retry: the bound doubles with every
// failed attempt, from Min up to Max, and the delay is drawn uniformly from
// [0, bound) ("full jitter"), so that many clients failing together do not
// come back together.
type Backoff struct {
	Min time.Duration // zero: 1s
	Max time.Duration // zero: 5m
	// Rand returns a number in [0, 1). Nil: math/rand/v2.Float64. Tests set
	// it to make delays predictable.
	Rand func() float64
}

// Bound is the upper limit of the delay before attempt (1 for the first
// retry): min(Max, Min·2^(attempt-1)).
func (b Backoff) Bound(attempt int) time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = time.Second
	}
	if hi <= 0 {
		hi = 5 * time.Minute
	}
	if hi < lo {
		hi = lo
	}
	bound := lo
	for i := 1; i < attempt; i++ {
		if bound >= hi/2 { // doubling would pass Max (or overflow)
			return hi
		}
		bound *= 2
	}
	return bound
}

// Delay returns how long to wait before attempt (1 for the first retry).
func (b Backoff) Delay(attempt int) time.Duration {
	r := b.Rand
	if r == nil {
		r = rand.Float64
	}
	return time.Duration(r() * float64(b.Bound(attempt)))
}
