package sla

import (
	"testing"
	"time"
)

// refCalendar is the brute-force reference the arithmetic is checked
// against. It knows nothing of spans, day numbers, zone segments or week
// skipping: an instant is open when its local wall-clock time falls into
// one of its local weekday's intervals and its date is neither a holiday
// nor closed at that time. Add and Between are then computed by stepping
// minute by minute.
type refCalendar struct {
	loc *time.Location
	// off applies from lo to hi (unix seconds): the local wall clock is
	// derived from UTC plus the zone offset, refreshed at each transition.
	off, lo, hi int64

	week     [7][]Interval
	holidays map[Date]bool
	closures []Closure
}

func newRefCalendar(t *testing.T, spec CalendarSpec, years ...int) *refCalendar {
	t.Helper()
	r := &refCalendar{loc: spec.Location, week: spec.Week, holidays: map[Date]bool{}, closures: spec.Closures, lo: 1, hi: 0}
	if r.loc == nil {
		r.loc = time.UTC
	}
	for _, name := range spec.Holidays {
		set := holidaySets[name]
		if set == nil {
			t.Fatalf("reference: unknown holiday set %q", name)
		}
		for _, y := range years {
			for _, h := range set {
				actual, observed := h.Calc(y)
				if actual.IsZero() {
					continue
				}
				r.holidays[DateOf(actual, nil)] = true
				r.holidays[DateOf(observed, nil)] = true
			}
		}
	}
	return r
}

// local returns u's wall clock in the reference's zone, as a UTC time.
func (r *refCalendar) local(u time.Time) time.Time {
	sec := u.Unix()
	if sec < r.lo || sec >= r.hi {
		lt := u.In(r.loc)
		_, off := lt.Zone()
		start, end := lt.ZoneBounds()
		r.off, r.lo, r.hi = int64(off), -1<<62, 1<<62
		if !start.IsZero() {
			r.lo = start.Unix()
		}
		if !end.IsZero() {
			r.hi = end.Unix()
		}
	}
	return time.Unix(sec+r.off, int64(u.Nanosecond())).UTC()
}

func (r *refCalendar) open(u time.Time) bool {
	lt := r.local(u)
	y, m, d := lt.Date()
	date := Date{y, m, d}
	if r.holidays[date] {
		return false
	}
	h, mi, s := lt.Clock()
	wall := time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(s)*time.Second
	for _, cl := range r.closures {
		if cl.Date != date && (cl.Date.Year != 0 || cl.Date.Month != m || cl.Date.Day != d) {
			continue
		}
		to := cl.To
		if to == 0 {
			to = 24 * time.Hour
		}
		if wall >= cl.From && wall < to {
			return false
		}
	}
	for _, iv := range r.week[lt.Weekday()] {
		if wall >= iv.Start && wall < iv.End {
			return true
		}
	}
	return false
}

// add steps minute by minute from a minute-aligned t until d of open
// minutes have passed.
func (r *refCalendar) add(t time.Time, d time.Duration) time.Time {
	u := t
	for d > 0 {
		if r.open(u) {
			d -= time.Minute
		}
		u = u.Add(time.Minute)
	}
	return u
}

// between counts open minutes in [a, b) for minute-aligned a <= b.
func (r *refCalendar) between(a, b time.Time) time.Duration {
	var sum time.Duration
	for u := a; u.Before(b); u = u.Add(time.Minute) {
		if r.open(u) {
			sum += time.Minute
		}
	}
	return sum
}
