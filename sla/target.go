package sla

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TargetKind says how a Target is measured.
type TargetKind string

// Target kinds. The zero kind is "no promise".
const (
	TargetNone  TargetKind = ""
	TargetHours TargetKind = "hours" // business time, e.g. 4h of opening hours
	TargetDays  TargetKind = "days"  // whole business days (see AddBusinessDays)
	TargetNBD   TargetKind = "nbd"   // close of the next business day
)

// Target is one promise: within Hours of business time, within Days
// business days, or by the end of the next business day. The zero Target
// promises nothing.
type Target struct {
	Kind  TargetKind
	Hours time.Duration // for TargetHours
	Days  int           // for TargetDays
}

// Hours returns a business-time target.
func Hours(d time.Duration) Target { return Target{Kind: TargetHours, Hours: d} }

// Days returns a business-day target.
func Days(n int) Target { return Target{Kind: TargetDays, Days: n} }

// NBD is the next-business-day target.
var NBD = Target{Kind: TargetNBD}

// IsZero reports whether t promises nothing.
func (t Target) IsZero() bool { return t.Kind == TargetNone }

// String formats t the way ParseTarget reads it: "4h", "1h30m", "3bd",
// "nbd", or "" for no promise.
func (t Target) String() string {
	switch t.Kind {
	case TargetHours:
		s := t.Hours.String() // "4h0m0s", "1h30m0s", "30m0s"
		if strings.HasSuffix(s, "m0s") {
			s = s[:len(s)-2]
		}
		if strings.HasSuffix(s, "h0m") {
			s = s[:len(s)-2]
		}
		return s
	case TargetDays:
		return strconv.Itoa(t.Days) + "bd"
	case TargetNBD:
		return "nbd"
	}
	return ""
}

// Bounds on targets: beyond a year a promise means nothing, and the
// arithmetic must stay inside the range of time.Time.UnixNano.
const (
	maxTargetHours = 8760 * time.Hour
	maxTargetDays  = 1000
)

// ParseTarget parses a promise:
//
//	"4h", "30m", "1h30m", "1.5h"   business time
//	"3bd", "3d", "3 days"          business days
//	"nbd", "next business day"     close of the next business day
//	"", "none"                     no promise (the zero Target)
func ParseTarget(s string) (Target, error) {
	norm := strings.ToLower(strings.Join(strings.Fields(s), " "))
	switch norm {
	case "", "none", "-":
		return Target{}, nil
	case "nbd", "next business day", "next-business-day":
		return NBD, nil
	}
	num, unit := splitNumber(norm)
	switch strings.TrimSpace(unit) {
	case "bd", "d", "day", "days", "business day", "business days", "working day", "working days", "wd":
		n, err := strconv.Atoi(num)
		if err != nil || n <= 0 || n > maxTargetDays {
			return Target{}, fmt.Errorf("%w %q: business days must be a whole number from 1 to %d, e.g. \"3bd\"", ErrInvalidTarget, s, maxTargetDays)
		}
		return Days(n), nil
	}
	d, err := time.ParseDuration(strings.ReplaceAll(norm, " ", ""))
	if err != nil {
		return Target{}, fmt.Errorf("%w %q: want business hours like \"4h\" or \"1h30m\", business days like \"3bd\", or \"nbd\"", ErrInvalidTarget, s)
	}
	if d < time.Minute || d > maxTargetHours {
		return Target{}, fmt.Errorf("%w %q: a business-time target must be from 1m to %v", ErrInvalidTarget, s, maxTargetHours)
	}
	return Hours(d), nil
}

// splitNumber splits "3 bd" into "3" and " bd".
func splitNumber(s string) (string, string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i], s[i:]
}

// Due returns the deadline of target tg for a request at from: Add for
// business time, AddBusinessDays for business days, NextBusinessDayEnd for
// NBD. The zero Target has no deadline: Due returns the zero Time.
func (c *Calendar) Due(from time.Time, tg Target) time.Time {
	switch tg.Kind {
	case TargetHours:
		return c.Add(from, tg.Hours)
	case TargetDays:
		return c.AddBusinessDays(from, tg.Days)
	case TargetNBD:
		return c.NextBusinessDayEnd(from)
	}
	return time.Time{}
}
