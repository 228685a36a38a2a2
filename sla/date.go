package sla

import (
	"fmt"
	"time"
)

// Date is a civil calendar date without a time or zone, as used for
// holidays and closures. Year 0 in a Closure means "every year".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the local date of t in loc (t's own location when loc is nil).
func DateOf(t time.Time, loc *time.Location) Date {
	if loc != nil {
		t = t.In(loc)
	}
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate parses "2006-01-02", or "01-02" for a date that recurs every
// year (Year 0).
func ParseDate(s string) (Date, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return Date{t.Year(), t.Month(), t.Day()}, nil
	}
	// Parse the annual form against a leap year so that 02-29 is accepted.
	if t, err := time.Parse("2006-01-02", "2000-"+s); err == nil && len(s) == 5 {
		return Date{0, t.Month(), t.Day()}, nil
	}
	return Date{}, fmt.Errorf("%w: date %q: want YYYY-MM-DD, or MM-DD for every year", ErrInvalidCalendar, s)
}

// String formats d as YYYY-MM-DD, or MM-DD when it recurs every year.
func (d Date) String() string {
	if d.Year == 0 {
		return fmt.Sprintf("%02d-%02d", int(d.Month), d.Day)
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// valid reports whether d names a real day (Year 0: in some leap year).
func (d Date) valid() bool {
	y := d.Year
	if y == 0 {
		y = 2000
	}
	if d.Month < time.January || d.Month > time.December || d.Day < 1 {
		return false
	}
	return d.Day <= daysIn(y, d.Month)
}

// dayNumber is the number of days since 1970-01-01 in the proleptic
// Gregorian calendar. Day numbers make date stepping plain integer
// arithmetic, which keeps the business-time loops free of time.Date calls
// on ordinary days.
type dayNumber int64

// civilToDays converts a date to its day number (H. Hinnant's
// days_from_civil).
func civilToDays(y int, m time.Month, d int) dayNumber {
	yy := int64(y)
	if m <= 2 {
		yy--
	}
	era := yy / 400
	if yy < 0 && yy%400 != 0 {
		era = (yy - 399) / 400
	}
	yoe := yy - era*400
	mm := int64(m)
	var mp int64
	if mm > 2 {
		mp = mm - 3
	} else {
		mp = mm + 9
	}
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return dayNumber(era*146097 + doe - 719468)
}

// civil converts a day number back to a date (H. Hinnant's civil_from_days).
func (n dayNumber) civil() (int, time.Month, int) {
	z := int64(n) + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	var m int64
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return int(y), time.Month(m), int(d)
}

func (n dayNumber) date() Date {
	y, m, d := n.civil()
	return Date{y, m, d}
}

// weekday of a day number; 1970-01-01 was a Thursday.
func (n dayNumber) weekday() time.Weekday {
	w := (int64(n) + 4) % 7
	if w < 0 {
		w += 7
	}
	return time.Weekday(w)
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y int, m time.Month) int {
	switch m {
	case time.February:
		if isLeap(y) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}
