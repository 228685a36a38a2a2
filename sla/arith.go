package sla

import "time"

// Business-time arithmetic. Every function here walks whole days and skips
// whole ordinary weeks at once, so the cost is O(days spanned / 7) plus a
// few days at each end and around holidays and DST changes. A day's spans
// hold only instants labelled with its local date, so walks start at the
// first instant's date and end at the last one's.
//
// Instants must lie between the years 1678 and 2261 (the range of
// time.Time.UnixNano). Results are in the calendar's Location.

func (c *Calendar) at(ns int64) time.Time { return time.Unix(0, ns).In(c.loc) }

// IsOpen reports whether t falls inside the calendar's business hours.
func (c *Calendar) IsOpen(t time.Time) bool {
	w := c.walker()
	tn := t.UnixNano()
	day := c.localDay(t)
	for _, s := range w.spans(day) {
		if s.start <= tn && tn < s.end {
			return true
		}
	}
	return false
}

// NextOpen returns t if the calendar is open at t, otherwise the next
// opening after t.
func (c *Calendar) NextOpen(t time.Time) time.Time {
	w := c.walker()
	tn := t.UnixNano()
	start := c.localDay(t)
	closed := 0
	for n := start; closed < maxClosedRun; n++ {
		sp := w.spans(n)
		for _, s := range sp {
			if s.end > tn {
				return c.at(max(s.start, tn))
			}
		}
		if len(sp) == 0 {
			closed++
		} else {
			closed = 0
		}
	}
	return t.AddDate(10, 0, 0).In(c.loc)
}

// Add returns the earliest instant at which d of business time has passed
// since t. When t is outside business hours, counting starts at the next
// opening. A deadline that uses up a day's hours exactly is that day's
// closing time, not the next opening. d <= 0 returns t.
//
// A calendar that stays closed for ten years in a row (possible only
// through closures) yields an instant about ten years on instead of
// searching forever.
func (c *Calendar) Add(t time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return t
	}
	w := c.walker()
	tn := t.UnixNano()
	start := c.localDay(t)
	rem := int64(d)
	week := int64(c.weekLen)
	closed := 0
	n := start
	for ; closed < maxClosedRun; n++ {
		if n > start && rem > week && w.plainWeek(n) {
			rem -= week
			n += 6
			closed = 0
			continue
		}
		sp := w.spans(n)
		for _, s := range sp {
			from := max(s.start, tn)
			if from >= s.end {
				continue
			}
			avail := s.end - from
			if rem <= avail {
				return c.at(from + rem)
			}
			rem -= avail
		}
		if len(sp) == 0 {
			closed++
		} else {
			closed = 0
		}
	}
	return c.at(w.instant(n, 0))
}

// Between returns the business time in [a, b); it is negative when b is
// before a.
func (c *Calendar) Between(a, b time.Time) time.Duration {
	if !a.Before(b) {
		if a.Equal(b) {
			return 0
		}
		return -c.Between(b, a)
	}
	w := c.walker()
	an, bn := a.UnixNano(), b.UnixNano()
	first, last := c.localDay(a), c.localDay(b)
	week := int64(c.weekLen)
	var sum int64
	for n := first; n <= last; n++ {
		// Seven days strictly between a's and b's dates count whole.
		if n > first && n+7 <= last && w.plainWeek(n) {
			sum += week
			n += 6
			continue
		}
		for _, s := range w.spans(n) {
			lo, hi := max(s.start, an), min(s.end, bn)
			if hi > lo {
				sum += hi - lo
			}
		}
	}
	return time.Duration(sum)
}

// nthBusinessDay returns the n-th business day after day (n >= 1). A
// business day is a date with some open time left after holidays and
// closures.
func (w *walker) nthBusinessDay(day dayNumber, k int) (dayNumber, bool) {
	closed := 0
	perWeek := w.c.openDays
	for n := day + 1; closed < maxClosedRun; n++ {
		if k > perWeek && w.plainWeek(n) {
			k -= perWeek
			n += 6
			closed = 0
			continue
		}
		if len(w.spans(n)) == 0 {
			closed++
			continue
		}
		closed = 0
		if k--; k == 0 {
			return n, true
		}
	}
	return 0, false
}

// AddBusinessDays returns the instant n whole business days after t:
//
//  1. A t outside business hours is first moved to the next opening, as
//     in Add.
//  2. The result is on the n-th business day after that instant's local
//     date, at the same wall-clock time of day (Fri 15:30 + 1 = Mon 15:30
//     when Monday is a business day).
//  3. If that wall-clock time is closed on the target day, the result is
//     the end of the day's last open interval before it (24 December
//     closed from 12:00: 15:30 becomes 12:00); if the day opens only
//     later, the end of its first open interval.
//  4. A result that is exactly an opening time is replaced by the
//     previous closing time, the earliest instant with the same business
//     time since t. So a mail on Saturday or at 07:00 Monday + 1 is due at
//     Monday's close (16:00), and Fri 16:00 + 1 = Mon 16:00.
//
// n <= 0 returns t.
func (c *Calendar) AddBusinessDays(t time.Time, n int) time.Time {
	if n <= 0 {
		return t
	}
	s := c.NextOpen(t).In(c.loc)
	h, m, sec := s.Clock()
	wall := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second + time.Duration(s.Nanosecond())
	w := c.walker()
	day, ok := w.nthBusinessDay(c.localDay(s), n)
	if !ok {
		return s.AddDate(10, 0, 0)
	}
	target := w.instant(day, wall)
	sp := w.spans(day)
	r := sp[0].end
	for _, x := range sp {
		if x.start <= target && target < x.end {
			r = target
			break
		}
		if x.end <= target {
			r = x.end
		}
	}
	return c.at(c.earliestEquivalent(r))
}

// earliestEquivalent moves an instant that is exactly an opening time back
// to the preceding closing time; both have the same business time since
// any earlier instant, and the closing time reads better as a deadline.
func (c *Calendar) earliestEquivalent(r int64) int64 {
	w := c.walker()
	day := c.localDay(c.at(r))
	opening := false
	for n, closed := day, 0; closed < maxClosedRun; n-- {
		sp := w.spans(n)
		for i := len(sp) - 1; i >= 0; i-- {
			x := sp[i]
			switch {
			case x.start > r:
				// after r
			case x.start == r:
				opening = true
			case r <= x.end:
				// r is inside this span or is its closing time.
				return r
			case opening:
				return x.end
			default:
				// r lies in closed time and opens nothing.
				return r
			}
		}
		if len(sp) == 0 {
			closed++
		} else {
			closed = 0
		}
	}
	return r
}

// NextBusinessDayEnd returns the close of business on the next business
// day after t's local date (NBD): a mail on Friday, or on Saturday, is due
// at Monday's close when Monday is a business day.
func (c *Calendar) NextBusinessDayEnd(t time.Time) time.Time {
	w := c.walker()
	day, ok := w.nthBusinessDay(c.localDay(t), 1)
	if !ok {
		return t.AddDate(10, 0, 0).In(c.loc)
	}
	sp := w.spans(day)
	return c.at(sp[len(sp)-1].end)
}
