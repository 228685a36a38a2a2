package sla

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Location is the time zone the agreement's periods (hour bank, reports)
// follow: its plan's calendar zone, else UTC.
func (ag *Agreement) Location() *time.Location {
	if ag != nil && ag.Plan != nil && ag.Plan.Calendar != nil && ag.Plan.Calendar.Location != nil {
		return ag.Plan.Calendar.Location
	}
	return time.UTC
}

// WarnPercent returns the hour bank's warn level: HourBankWarn, or 80.
func (ag *Agreement) WarnPercent() int {
	if ag.HourBankWarn == 0 {
		return 80
	}
	return ag.HourBankWarn
}

// Label names the period that starts at start: "2026-03", "2026-Q4",
// "2026".
func (p Period) Label(start time.Time) string {
	switch p {
	case Monthly:
		return start.Format("2006-01")
	case Quarterly:
		return fmt.Sprintf("%d-Q%d", start.Year(), (int(start.Month())-1)/3+1)
	case Yearly:
		return strconv.Itoa(start.Year())
	}
	return ""
}

// ParsePeriod reads a period label ("2026-03", "2026-Q4", "2026") and
// returns its bounds in loc, [start, end).
func ParsePeriod(label string, loc *time.Location) (p Period, start, end time.Time, err error) {
	s := strings.ToUpper(strings.TrimSpace(label))
	y, rest, _ := strings.Cut(s, "-")
	year, yerr := strconv.Atoi(y)
	if yerr != nil || len(y) != 4 {
		return "", time.Time{}, time.Time{}, fmt.Errorf("period %q: want 2026, 2026-Q4 or 2026-03", label)
	}
	var m int
	switch {
	case rest == "":
		p, m = Yearly, 1
	case len(rest) == 2 && rest[0] == 'Q' && rest[1] >= '1' && rest[1] <= '4':
		p, m = Quarterly, int(rest[1]-'1')*3+1
	default:
		n, err := strconv.Atoi(rest)
		if err != nil || len(rest) != 2 || n < 1 || n > 12 {
			return "", time.Time{}, time.Time{}, fmt.Errorf("period %q: want 2026, 2026-Q4 or 2026-03", label)
		}
		p, m = Monthly, n
	}
	start, end = p.Bounds(time.Date(year, time.Month(m), 1, 0, 0, 0, 0, loc))
	return p, start, end, nil
}
