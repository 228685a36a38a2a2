package sla

import (
	"net/mail"
	"slices"
	"strings"
	"time"
)

// ReportSchedule says which periodic case reports an agreement's customer
// gets, when, and to whom. The zero value sends none.
type ReportSchedule struct {
	// Every lists the cadences: a report per month, quarter and/or year
	// (Trinax: all three; Jotron: the year).
	Every []Period
	// YearlyOn is the day on which the yearly report for year Y is sent:
	// at 00:00 of that day of Y+1 in the agreement's zone. Year must be 0
	// and the day within Q1 (Jotron's contract asks for "an annual case
	// report in Q1", which leaves January for closing the books). The zero
	// Date sends it when the year ends, at 00:00 on 1 January.
	YearlyOn Date
	// To are the recipients, "name@example.com" or "Name
	// <name@example.com>"; none: the agreement's Contacts.
	To []string
	// HTML adds an HTML part with a chart to the report mail.
	HTML bool
}

// Has reports whether per is one of the schedule's cadences.
func (rs ReportSchedule) Has(per Period) bool { return slices.Contains(rs.Every, per) }

// ReportRecipients returns the addresses reports go to, bare and in lower
// case: Reports.To, else Contacts. Entries that are not addresses are
// left out (Validate reports them).
func (ag *Agreement) ReportRecipients() []string {
	list := ag.Reports.To
	if len(list) == 0 {
		list = ag.Contacts
	}
	var out []string
	for _, s := range list {
		a, err := mail.ParseAddress(s)
		if err != nil {
			continue
		}
		if addr := strings.ToLower(a.Address); !slices.Contains(out, addr) {
			out = append(out, addr)
		}
	}
	return out
}

// ReportAt returns when the report of cadence per on the period that
// starts at start (or contains it) is sent: when the period ends in the
// agreement's zone, or, for a yearly report with Reports.YearlyOn set, at
// 00:00 on that day of the following year.
func (ag *Agreement) ReportAt(per Period, start time.Time) time.Time {
	loc := ag.Location()
	s, end := per.Bounds(start.In(loc))
	if per == Yearly && ag.Reports.YearlyOn != (Date{}) {
		on := ag.Reports.YearlyOn
		return time.Date(s.Year()+1, on.Month, on.Day, 0, 0, 0, 0, loc)
	}
	return end
}

// InForceDuring reports whether the agreement was in force at some time
// in [start, end).
func (ag *Agreement) InForceDuring(start, end time.Time) bool {
	return (ag.ValidFrom.IsZero() || end.After(ag.ValidFrom)) && (ag.ValidUntil.IsZero() || start.Before(ag.ValidUntil))
}

// NextReportPeriod returns the start of the period (of cadence per, in
// the agreement's zone) whose report is the first one sent after now and
// that the agreement is in force for: the period containing now, or, while
// a yearly report waits for its day in Q1, the year before. Periods that
// end before ValidFrom are passed over. ok is false when that period
// starts at or after ValidUntil: there is nothing left to report.
func (ag *Agreement) NextReportPeriod(per Period, now time.Time) (start time.Time, ok bool) {
	if !per.valid() {
		return time.Time{}, false
	}
	loc := ag.Location()
	start, _ = per.Bounds(now.In(loc))
	if prev, _ := per.Bounds(start.Add(-time.Nanosecond)); ag.ReportAt(per, prev).After(now) {
		start = prev
	}
	if _, end := per.Bounds(start); !ag.ValidFrom.IsZero() && !end.After(ag.ValidFrom) {
		start, _ = per.Bounds(ag.ValidFrom.In(loc))
	}
	if !ag.ValidUntil.IsZero() && !start.Before(ag.ValidUntil) {
		return time.Time{}, false
	}
	return start, true
}

// validateReports adds the problems of ag.Reports through bad.
func (ag *Agreement) validateReports(bad func(format string, args ...any)) {
	rs := ag.Reports
	for _, p := range rs.Every {
		if !p.valid() {
			bad("report period %q: want month, quarter or year", p)
		}
	}
	if on := rs.YearlyOn; on != (Date{}) {
		switch {
		case on.Year != 0 || !on.valid():
			bad("reports yearly_on %s is not a day of the year; write MM-DD, e.g. 02-01", on)
		case on.Month > time.March:
			bad("reports yearly_on %s is not in Q1: the yearly report goes out between 01-01 and 03-31 of the next year", on)
		case on.Month == time.February && on.Day == 29:
			bad("reports yearly_on 02-29 is not in every year; use 02-28 or 03-01")
		}
		if !rs.Has(Yearly) {
			bad("reports yearly_on %s without a yearly report; add year to every, or drop yearly_on", on)
		}
	}
	for i, s := range rs.To {
		if _, err := mail.ParseAddress(s); err != nil {
			bad("reports to[%d] %q is not a mail address; write name@example.com or \"Name <name@example.com>\"", i, s)
		}
	}
}
