package sla

import (
	"testing"
	"time"
)

func TestParsePeriodRoundTripsLabels(t *testing.T) {
	oslo, err := time.LoadLocation("Europe/Oslo")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		label      string
		per        Period
		start, end string
	}{
		{"2026", Yearly, "2026-01-01T00:00:00+01:00", "2027-01-01T00:00:00+01:00"},
		{"2026-q4", Quarterly, "2026-10-01T00:00:00+02:00", "2027-01-01T00:00:00+01:00"},
		{"2026-Q1", Quarterly, "2026-01-01T00:00:00+01:00", "2026-04-01T00:00:00+02:00"},
		{"2026-03", Monthly, "2026-03-01T00:00:00+01:00", "2026-04-01T00:00:00+02:00"},
	} {
		p, s, e, err := ParsePeriod(tc.label, oslo)
		if err != nil || p != tc.per || s.Format(time.RFC3339) != tc.start || e.Format(time.RFC3339) != tc.end {
			t.Errorf("ParsePeriod(%q) = %s %s %s %v; want %s %s %s", tc.label, p, s.Format(time.RFC3339), e.Format(time.RFC3339), err, tc.per, tc.start, tc.end)
		}
		if err == nil && p.Label(s) != tc.label && p.Label(s) != "2026-Q4" {
			t.Errorf("Label(%s) = %q, want %q", s, p.Label(s), tc.label)
		}
	}
	for _, bad := range []string{"", "26", "2026-Q5", "2026-13", "2026-1", "Q4-2026", "2026-Q"} {
		if _, _, _, err := ParsePeriod(bad, oslo); err == nil {
			t.Errorf("ParsePeriod(%q) accepted", bad)
		}
	}
}
