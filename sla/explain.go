package sla

import (
	"fmt"
	"strings"
	"time"
)

// Step is one calendar day of a deadline calculation, for `helpdeskd sla
// explain`: what the day contributed, or why it was skipped.
type Step struct {
	Date    Date
	Weekday time.Weekday
	// From and To bound the business time counted on this day (the first
	// and last counted instants); both zero when the day counted nothing.
	From, To time.Time
	// Counted is the business time this day contributed; for business-day
	// targets it is zero and Note says which business day this was.
	Counted time.Duration
	// Left is the business time (or business days, in Note) still to count
	// after this day.
	Left time.Duration
	// Note says why: "Saturday", "holiday: Langfredag", "closure:
	// Christmas Eve from 12:00", "arrived before opening (08:00)",
	// "deadline 11:30", …
	Note string
}

// String renders a step as one line, e.g.
// "Fri 2027-03-26  15:30–16:00  counted 0h30m, left 3h30m  arrived 15:30".
func (s Step) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", s.Weekday.String()[:3], s.Date)
	if !s.From.IsZero() {
		fmt.Fprintf(&b, "  %s–%s  counted %s, left %s", s.From.Format("15:04"), s.To.Format("15:04"), hm(s.Counted), hm(s.Left))
	}
	if s.Note != "" {
		b.WriteString("  ")
		b.WriteString(s.Note)
	}
	return b.String()
}

// hm formats a duration as 3h30m.
func hm(d time.Duration) string {
	return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// maxExplainSteps bounds the listing for very long targets; the deadline
// is still exact.
const maxExplainSteps = 400

// Explain computes Add(t, d) and lists, day by day, how the deadline came
// about. Days before t's date are not listed.
func (c *Calendar) Explain(t time.Time, d time.Duration) (deadline time.Time, steps []Step) {
	deadline = c.Add(t, d)
	if d <= 0 {
		return deadline, nil
	}
	w := c.walker()
	tn, dn := t.UnixNano(), deadline.UnixNano()
	first, last := c.localDay(t), c.localDay(deadline)
	left := d
	for n := first; n <= last && len(steps) < maxExplainSteps; n++ {
		st := c.describeDay(&w, n)
		var notes []string
		if st.Note != "" {
			notes = append(notes, st.Note)
		}
		for _, s := range w.spans(n) {
			lo, hi := max(s.start, tn), min(s.end, dn)
			if hi <= lo {
				continue
			}
			if st.From.IsZero() {
				st.From = c.at(lo)
			}
			st.To = c.at(hi)
			st.Counted += time.Duration(hi - lo)
		}
		if n == first {
			notes = append(notes, c.arrivalNote(&w, n, t))
		}
		left -= st.Counted
		st.Left = left
		if st.Counted > 0 && st.To.Equal(deadline) {
			notes = append(notes, "deadline "+deadline.Format("15:04"))
		}
		st.Note = strings.Join(notes, "; ")
		steps = append(steps, st)
	}
	return deadline, steps
}

// describeDay starts a step for day n with the day's reason for being
// closed or different, if any.
func (c *Calendar) describeDay(w *walker, n dayNumber) Step {
	st := Step{Date: n.date(), Weekday: n.weekday()}
	ivs := c.week[st.Weekday]
	if len(ivs) == 0 {
		st.Note = st.Weekday.String()
		return st
	}
	k, yi, doy := w.kind(n)
	var notes []string
	if k == dayHoliday {
		notes = append(notes, "holiday: "+yi.holiday[doy])
	}
	if yi != nil {
		for _, cl := range yi.closures[doy] {
			notes = append(notes, "closure: "+cl.describe())
		}
	}
	if k != dayHoliday && k != dayClosed {
		var nominal, real time.Duration
		for _, iv := range w.intervals(n) {
			nominal += iv.End - iv.Start
		}
		for _, s := range w.spans(n) {
			real += time.Duration(s.end - s.start)
		}
		switch {
		case nominal > 0 && real == 0:
			notes = append(notes, "closed (hours fall into the daylight saving gap)")
		case real != nominal:
			notes = append(notes, fmt.Sprintf("daylight saving change: open %s instead of %s", hm(real), hm(nominal)))
		}
	}
	st.Note = strings.Join(notes, "; ")
	return st
}

// arrivalNote says where t fell relative to its day's opening hours.
func (c *Calendar) arrivalNote(w *walker, n dayNumber, t time.Time) string {
	tn := t.UnixNano()
	at := t.In(c.loc).Format("15:04")
	sp := w.spans(n)
	switch {
	case len(sp) == 0:
		return "arrived " + at + " while closed"
	case tn < sp[0].start:
		return "arrived " + at + ", before opening (" + c.at(sp[0].start).Format("15:04") + ")"
	case tn >= sp[len(sp)-1].end:
		return "arrived " + at + ", after closing (" + c.at(sp[len(sp)-1].end).Format("15:04") + ")"
	}
	for _, s := range sp {
		if s.start <= tn && tn < s.end {
			return "arrived " + at
		}
	}
	return "arrived " + at + ", during a break"
}

// ExplainDue computes Due(from, tg) and lists the days that led to it. For
// business-day and NBD targets the business days after the arrival day are
// numbered in their notes ("business day 2") and skipped days say why.
func (c *Calendar) ExplainDue(from time.Time, tg Target) (time.Time, []Step) {
	switch tg.Kind {
	case TargetHours:
		return c.Explain(from, tg.Hours)
	case TargetDays, TargetNBD:
	default:
		return time.Time{}, nil
	}
	due := c.Due(from, tg)
	w := c.walker()
	first, last := c.localDay(from), c.localDay(due)
	var steps []Step
	count := 0
	for n := first; n <= last && len(steps) < maxExplainSteps; n++ {
		st := c.describeDay(&w, n)
		var notes []string
		if st.Note != "" {
			notes = append(notes, st.Note)
		}
		switch {
		case n == first:
			notes = append(notes, c.arrivalNote(&w, n, from))
			if tg.Kind == TargetDays && !c.IsOpen(from) {
				notes = append(notes, "counting from "+c.NextOpen(from).Format("Mon 15:04"))
			}
		case len(w.spans(n)) > 0:
			count++
			notes = append(notes, fmt.Sprintf("business day %d", count))
		}
		if n == last {
			notes = append(notes, "deadline "+due.In(c.loc).Format("15:04"))
		}
		st.Note = strings.Join(notes, "; ")
		steps = append(steps, st)
	}
	return due, steps
}
