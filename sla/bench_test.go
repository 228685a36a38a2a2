package sla

import (
	"testing"
	"time"
)

// BenchmarkBusinessAdd measures Add on the oslo calendar for a short span,
// 3 business days and 30 business days (which crosses Easter), from
// arrival times spread over a year so that holidays and DST are included.
func BenchmarkBusinessAdd(b *testing.B) {
	c := builtin(b, "oslo", nil)
	var starts []time.Time
	for d := 0; d < 365; d += 7 {
		starts = append(starts, time.Date(2027, 1, 1, 15, 30, 0, 0, c.loc).AddDate(0, 0, d))
	}
	for _, bc := range []struct {
		name string
		d    time.Duration
	}{
		{"2h", 2 * time.Hour},
		{"3bd", 3 * 8 * time.Hour},
		{"30bd", 30 * 8 * time.Hour},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				c.Add(starts[i%len(starts)], bc.d)
				i++
			}
		})
	}
}

// BenchmarkBetween measures Between over 30 business days.
func BenchmarkBetween(b *testing.B) {
	c := builtin(b, "oslo", nil)
	from := time.Date(2027, 3, 1, 10, 0, 0, 0, c.loc)
	to := c.Add(from, 30*8*time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		c.Between(from, to)
	}
}

// BenchmarkAddBusinessDays measures a 30-business-day target.
func BenchmarkAddBusinessDays(b *testing.B) {
	c := builtin(b, "oslo", nil)
	from := time.Date(2027, 3, 1, 10, 0, 0, 0, c.loc)
	b.ReportAllocs()
	for b.Loop() {
		c.AddBusinessDays(from, 30)
	}
}
