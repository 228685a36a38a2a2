package sla

import (
	"math"
	"time"
)

// span is a stretch of open time as unix nanoseconds, [start, end).
type span struct{ start, end int64 }

const (
	secondsPerDay = 86400
	// zoneMargin keeps the linear fast path a safe distance from zone
	// transitions: within it, every wall-clock time of a day has exactly
	// one instant and time.Date is not needed.
	zoneMargin = 2 * secondsPerDay
	// maxClosedRun bounds searches for the next open time, so that a
	// calendar closed for good (say, by closures) cannot hang a caller.
	maxClosedRun = 3660
)

// walker turns day numbers into open spans for one calculation. It keeps
// the current zone segment and year so that ordinary days cost a few
// integer operations, and it is not shared between goroutines.
type walker struct {
	c      *Calendar
	off    int64 // zone offset, seconds east of UTC
	lo, hi int64 // unix seconds during which off applies
	zoned  bool
	yi     *yearInfo
	buf    [8]span
	ivA    [8]Interval
	ivB    [8]Interval
}

func (c *Calendar) walker() walker { return walker{c: c} }

// localDay is the day number of t's local date in the calendar's zone.
func (c *Calendar) localDay(t time.Time) dayNumber {
	y, m, d := t.In(c.loc).Date()
	return civilToDays(y, m, d)
}

func (w *walker) loadZone(unixSec int64) {
	t := time.Unix(unixSec, 0).In(w.c.loc)
	_, off := t.Zone()
	start, end := t.ZoneBounds()
	w.off = int64(off)
	w.lo, w.hi = math.MinInt64/4, math.MaxInt64/4
	if !start.IsZero() {
		w.lo = start.Unix()
	}
	if !end.IsZero() {
		w.hi = end.Unix()
	}
	w.zoned = true
}

// linear reports whether days [n, n+k) are far enough from any zone
// transition that local midnight of day n is n*86400 - offset and wall
// times map to instants by addition. It reloads the zone segment once if
// the current one does not fit.
func (w *walker) linear(n dayNumber, k int64) bool {
	fits := func() bool {
		s := int64(n)*secondsPerDay - w.off
		return s-zoneMargin >= w.lo && s+k*secondsPerDay+zoneMargin <= w.hi
	}
	if w.zoned && fits() {
		return true
	}
	w.loadZone(int64(n)*secondsPerDay + secondsPerDay/2 - w.off)
	return fits()
}

// year returns the special days of the year containing n.
func (w *walker) year(n dayNumber) *yearInfo {
	if w.yi == nil || !w.yi.contains(n) {
		y, _, _ := n.civil()
		w.yi = w.c.yearInfo(y)
	}
	return w.yi
}

// kind reports how day n differs from an ordinary day of its weekday, and
// the year info and day of year to look details up in.
func (w *walker) kind(n dayNumber) (dayKind, *yearInfo, int) {
	if w.c.plain() {
		return dayPlain, nil, 0
	}
	yi := w.year(n)
	doy := int(n - yi.first)
	return yi.kind[doy], yi, doy
}

// plainWeek reports whether the seven days from n are ordinary days of
// their weekdays, without holidays, closures or nearby DST changes, so
// that together they hold exactly weekLen of business time and openDays
// business days.
func (w *walker) plainWeek(n dayNumber) bool {
	if !w.linear(n, 7) {
		return false
	}
	if w.c.plain() {
		return true
	}
	yi := w.year(n)
	doy := int(n - yi.first)
	end := doy + 7
	if int(yi.next[doy]) < min(end, len(yi.kind)) {
		return false
	}
	if end <= len(yi.kind) {
		return true
	}
	ny := w.c.yearInfo(yi.year + 1)
	return int(ny.next[0]) >= end-len(yi.kind)
}

// intervals returns the wall-clock open intervals of day n after holidays
// and closures; nil when the day is closed.
func (w *walker) intervals(n dayNumber) []Interval {
	ivs := w.c.week[n.weekday()]
	if len(ivs) == 0 {
		return nil
	}
	k, yi, doy := w.kind(n)
	switch k {
	case dayHoliday, dayClosed:
		return nil
	case dayPartial:
		ivs = subtractClosures(ivs, yi.closures[doy], w.ivA[:0], w.ivB[:0])
	}
	return ivs
}

// subtractClosures removes the closures' [From, To) from ivs.
func subtractClosures(ivs []Interval, cls []Closure, a, b []Interval) []Interval {
	cur := append(a, ivs...)
	next := b
	for _, cl := range cls {
		from, to := cl.From, cl.until()
		next = next[:0]
		for _, iv := range cur {
			if iv.Start < from {
				next = append(next, Interval{iv.Start, min(iv.End, from)})
			}
			if iv.End > to {
				next = append(next, Interval{max(iv.Start, to), iv.End})
			}
		}
		cur, next = next, cur
	}
	return cur
}

// spans returns the open spans of day n as instants, in order. The result
// aliases the walker's buffer and is valid until the next call.
func (w *walker) spans(n dayNumber) []span {
	ivs := w.intervals(n)
	if len(ivs) == 0 {
		return nil
	}
	out := w.buf[:0]
	if w.linear(n, 1) {
		base := (int64(n)*secondsPerDay - w.off) * 1e9
		for _, iv := range ivs {
			out = append(out, span{base + int64(iv.Start), base + int64(iv.End)})
		}
		return out
	}
	return w.exactSpans(n, ivs, out)
}

// exactSpans computes day n's spans near a zone transition. An instant is
// open when its local wall-clock time lies in one of the day's intervals,
// so each stretch of constant offset contributes the instants whose local
// time falls in the interval: an interval across the spring-forward gap
// loses the missing hour, one across the repeated autumn hour gains it,
// and an interval entirely inside a gap is empty.
func (w *walker) exactSpans(n dayNumber, ivs []Interval, out []span) []span {
	day := int64(n) * secondsPerDay // local seconds of midnight
	// Offsets are within ±26 h, so the instants labelled with day n lie
	// in this window.
	u, stop := day-30*3600, day+secondsPerDay+30*3600
	for u < stop {
		t := time.Unix(u, 0).In(w.c.loc)
		_, off := t.Zone()
		_, end := t.ZoneBounds()
		segEnd := stop
		if !end.IsZero() {
			segEnd = min(end.Unix(), stop)
		}
		// The segment [u, segEnd) shows local times [u+off, segEnd+off).
		lo, hi := (u+int64(off))*1e9, (segEnd+int64(off))*1e9
		for _, iv := range ivs {
			s := max(lo, day*1e9+int64(iv.Start))
			e := min(hi, day*1e9+int64(iv.End))
			if e <= s {
				continue
			}
			sp := span{s - int64(off)*1e9, e - int64(off)*1e9}
			if k := len(out); k > 0 && out[k-1].end == sp.start {
				out[k-1].end = sp.end
			} else {
				out = append(out, sp)
			}
		}
		u = segEnd
	}
	return out
}

// instant is the instant of wall-clock offset wall on day n. A wall time
// that a spring-forward gap skips maps to the end of the gap.
func (w *walker) instant(n dayNumber, wall time.Duration) int64 {
	if w.linear(n, 1) {
		return (int64(n)*secondsPerDay-w.off)*1e9 + int64(wall)
	}
	y, m, d := n.civil()
	t := time.Date(y, m, d, 0, 0, 0, int(wall), w.c.loc)
	_, off := t.Zone()
	got := (t.Unix()+int64(off))*1e9 + int64(t.Nanosecond())
	want := int64(n)*secondsPerDay*1e9 + int64(wall)
	switch start, end := t.ZoneBounds(); {
	case got < want && !end.IsZero():
		return end.UnixNano()
	case got > want && !start.IsZero():
		return start.UnixNano()
	}
	return t.UnixNano()
}

// plain reports whether the calendar has neither holidays nor closures.
func (c *Calendar) plain() bool { return len(c.holidays) == 0 && len(c.closures) == 0 }
