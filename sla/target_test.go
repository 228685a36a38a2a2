package sla

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in   string
		want Target
		str  string
	}{
		{"4h", Hours(4 * time.Hour), "4h"},
		{"30m", Hours(30 * time.Minute), "30m"},
		{"1h30m", Hours(90 * time.Minute), "1h30m"},
		{" 1.5H ", Hours(90 * time.Minute), "1h30m"},
		{"24h", Hours(24 * time.Hour), "24h"},
		{"3bd", Days(3), "3bd"},
		{"3d", Days(3), "3bd"},
		{"5 business days", Days(5), "5bd"},
		{"1 day", Days(1), "1bd"},
		{"NBD", NBD, "nbd"},
		{"next  business day", NBD, "nbd"},
		{"", Target{}, ""},
		{"none", Target{}, ""},
	}
	for _, tt := range tests {
		got, err := ParseTarget(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			continue
		}
		if got.String() != tt.str {
			t.Errorf("ParseTarget(%q).String() = %q, want %q", tt.in, got.String(), tt.str)
		}
		if back, err := ParseTarget(got.String()); err != nil || back != got {
			t.Errorf("round trip of %q: %+v, %v", got.String(), back, err)
		}
	}
	for _, bad := range []string{"4", "0h", "-2h", "30s", "0bd", "-1bd", "1.5bd", "3 weeks", "nbd2", "h", "4hours"} {
		_, err := ParseTarget(bad)
		if !errors.Is(err, ErrInvalidTarget) {
			t.Errorf("ParseTarget(%q) error = %v, want ErrInvalidTarget", bad, err)
			continue
		}
		if !strings.Contains(err.Error(), "\""+bad+"\"") {
			t.Errorf("error %q does not quote the input", err)
		}
	}
}

func TestDueByTargetKind(t *testing.T) {
	c := builtin(t, "oslo", nil)
	from := at(t, c.loc, "2026-03-20 15:30") // Friday
	for _, tt := range []struct {
		tg   Target
		want string
	}{
		{Hours(time.Hour), "2026-03-23 08:30"},
		{Days(1), "2026-03-23 15:30"},
		{NBD, "2026-03-23 16:00"},
	} {
		if got := c.Due(from, tt.tg); !got.Equal(at(t, c.loc, tt.want)) {
			t.Errorf("Due(%s) = %s, want %s", tt.tg, got, tt.want)
		}
	}
	if got := c.Due(from, Target{}); !got.IsZero() {
		t.Errorf("Due(zero target) = %s, want the zero time", got)
	}
}

func TestExplainDueNumbersBusinessDays(t *testing.T) {
	c := builtin(t, "oslo", nil)
	due, steps := c.ExplainDue(at(t, c.loc, "2027-03-24 10:00"), Days(2))
	if want := at(t, c.loc, "2027-03-31 10:00"); !due.Equal(want) {
		t.Fatalf("due %s, want %s", due, want)
	}
	text := stepsText(steps)
	for _, want := range []string{
		"Wed 2027-03-24  arrived 10:00",
		"Thu 2027-03-25  holiday: Skjærtorsdag",
		"Sun 2027-03-28  Sunday",
		"Mon 2027-03-29  holiday: Andre påskedag",
		"Tue 2027-03-30  business day 1",
		"Wed 2027-03-31  business day 2; deadline 10:00",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("explanation lacks %q:\n%s", want, text)
		}
	}
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"4h", "1h30m", "3bd", "nbd", "5 business days", "", "-1h", "99999999999bd", "1e9h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseTarget(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidTarget) {
				t.Fatalf("error %v does not wrap ErrInvalidTarget", err)
			}
			return
		}
		if err := validTarget(tg); err != nil {
			t.Fatalf("ParseTarget(%q) = %+v, which is invalid: %v", s, tg, err)
		}
		back, err := ParseTarget(tg.String())
		if err != nil || back != tg {
			t.Fatalf("round trip %q -> %+v -> %q -> %+v, %v", s, tg, tg.String(), back, err)
		}
	})
}
