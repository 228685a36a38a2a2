package sla

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rickar/cal/v2"
)

// Interval is a stretch of opening hours as wall-clock offsets from local
// midnight, e.g. {8h, 16h} for 08:00–16:00. End may be 24h (midnight at the
// end of the day); Start is included, End is not.
type Interval struct{ Start, End time.Duration }

func (iv Interval) String() string { return clock(iv.Start) + "–" + clock(iv.End) }

// Closure closes a calendar on one date: the whole day when From and To are
// both zero, otherwise from From to To in local wall-clock time. To zero
// with From set means "until the end of the day" (24 December from 12:00).
// A Date with Year 0 recurs every year.
type Closure struct {
	Date     Date
	From, To time.Duration
	Reason   string
}

// FullDay reports whether c closes the whole day.
func (c Closure) FullDay() bool {
	return c.From == 0 && (c.To == 0 || c.To >= 24*time.Hour)
}

// until is the effective end of the closure.
func (c Closure) until() time.Duration {
	if c.To == 0 {
		return 24 * time.Hour
	}
	return c.To
}

// describe is how Explain names the closure: "Christmas Eve from 12:00".
func (c Closure) describe() string {
	r := c.Reason
	if r == "" {
		r = "closed"
	}
	switch {
	case c.FullDay():
		return r
	case c.until() >= 24*time.Hour:
		return r + " from " + clock(c.From)
	case c.From == 0:
		return r + " until " + clock(c.To)
	}
	return r + " " + clock(c.From) + "–" + clock(c.To)
}

// CalendarSpec describes a calendar; NewCalendar validates it.
type CalendarSpec struct {
	Name string
	// Location is the time zone the hours are in. Nil means UTC.
	Location *time.Location
	// Week holds the opening intervals per time.Weekday, in order and
	// without overlaps. A weekday without intervals is closed.
	Week [7][]Interval
	// Holidays names country holiday sets (see HolidaySets): "no", "se", …
	Holidays []string
	// Closures are extra closed dates and part-day closures.
	Closures []Closure
}

// Calendar answers when a support desk is open and does business-time
// arithmetic on that. It is safe for concurrent use.
//
// The embedded CalendarSpec is a copy of what the calendar was built from,
// for display; changing it does not change the calendar.
//
// Opening hours are wall-clock hours: an instant is open when its local
// wall-clock time in Location falls into one of the intervals of its local
// date (and the date is no holiday, and no closure covers that time).
// Business time is the real time that passes while open. So an 08:00–16:00
// day is 8 h, except when a DST change falls inside it: then it is the
// time that really passes (7 h when the clocks skip an hour, 9 h when they
// repeat one). A 00:00–24:00 day holds every instant of its date, so 24x7
// counts real elapsed time exactly, 23 h and 25 h days included. An
// interval that starts inside a skipped hour starts when the clocks resume.
type Calendar struct {
	CalendarSpec

	loc      *time.Location
	week     [7][]Interval // merged copy of Week
	dayLen   [7]time.Duration
	weekLen  time.Duration
	openDays int // weekdays that have hours
	holidays [][]*cal.Holiday
	closures []Closure
	years    yearCache
}

// NewCalendar validates spec and builds a Calendar. All problems are
// reported at once (errors.Join), each wrapping ErrInvalidCalendar or
// ErrUnknownHolidaySet.
func NewCalendar(spec CalendarSpec) (*Calendar, error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w %q: %s", ErrInvalidCalendar, spec.Name, fmt.Sprintf(format, args...)))
	}
	c := &Calendar{loc: spec.Location}
	if c.loc == nil {
		c.loc = time.UTC
	}
	for wd := range spec.Week {
		var prev *Interval
		for i, iv := range spec.Week[wd] {
			switch {
			case iv.Start < 0 || iv.End > 24*time.Hour:
				bad("%s interval %d (%s) is outside 00:00–24:00", time.Weekday(wd), i+1, iv)
				continue
			case iv.Start >= iv.End:
				bad("%s interval %d (%s) must start before it ends", time.Weekday(wd), i+1, iv)
				continue
			case prev != nil && iv.Start < prev.End:
				bad("%s interval %d (%s) overlaps or precedes interval %s; list intervals in order without overlaps", time.Weekday(wd), i+1, iv, *prev)
				continue
			}
			if prev != nil && iv.Start == prev.End {
				// Adjacent intervals are one stretch of open time.
				last := &c.week[wd][len(c.week[wd])-1]
				last.End = iv.End
			} else {
				c.week[wd] = append(c.week[wd], iv)
			}
			prev = &spec.Week[wd][i]
			c.dayLen[wd] += iv.End - iv.Start
		}
		c.weekLen += c.dayLen[wd]
		if len(c.week[wd]) > 0 {
			c.openDays++
		}
	}
	if c.weekLen == 0 && len(errs) == 0 {
		bad("no opening hours on any weekday")
	}
	seen := map[string]bool{}
	for _, name := range spec.Holidays {
		hs, err := lookupHolidaySet(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("calendar %q: %w", spec.Name, err))
			continue
		}
		if key := strings.ToLower(strings.TrimSpace(name)); !seen[key] {
			seen[key] = true
			c.holidays = append(c.holidays, hs)
		}
	}
	for i, cl := range spec.Closures {
		switch {
		case !cl.Date.valid() || cl.Date.Year < 0 || cl.Date.Year > 9999:
			bad("closure %d: %v is not a date", i+1, cl.Date)
		case cl.From < 0 || cl.To < 0 || cl.From > 24*time.Hour || cl.To > 24*time.Hour:
			bad("closure %d on %v: %s–%s is outside 00:00–24:00", i+1, cl.Date, clock(cl.From), clock(cl.To))
		case !cl.FullDay() && cl.From >= cl.until():
			bad("closure %d on %v: from %s must be before to %s", i+1, cl.Date, clock(cl.From), clock(cl.To))
		default:
			c.closures = append(c.closures, cl)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c.CalendarSpec = spec
	c.CalendarSpec.Location = c.loc
	for wd := range spec.Week {
		c.CalendarSpec.Week[wd] = slices.Clone(spec.Week[wd])
	}
	c.CalendarSpec.Holidays = slices.Clone(spec.Holidays)
	c.CalendarSpec.Closures = slices.Clone(spec.Closures)
	return c, nil
}

// Built-in calendar names.
const (
	CalendarOslo = "oslo" // Mon–Fri 08:00–16:00 Europe/Oslo, Norwegian public holidays
	Calendar9to5 = "9-5"  // Mon–Fri 09:00–17:00, no holidays
	Calendar7to7 = "7-7"  // Mon–Fri 07:00–19:00, no holidays
	Calendar24x7 = "24x7" // always open
)

var osloZone = sync.OnceValues(func() (*time.Location, error) { return time.LoadLocation("Europe/Oslo") })

// Builtin returns a built-in calendar: "oslo" (Mon–Fri 08:00–16:00
// Europe/Oslo with Norwegian public holidays; loc is ignored), "9-5" and
// "7-7" (weekdays, in loc), "24x7" (also "24/7"; always open, in loc, which
// matters for business days). A nil loc means UTC. "oslo" loads
// Europe/Oslo from the system's zone database once.
func Builtin(name string, loc *time.Location) (*Calendar, error) {
	weekdays := func(iv Interval) (w [7][]Interval) {
		for d := time.Monday; d <= time.Friday; d++ {
			w[d] = []Interval{iv}
		}
		return w
	}
	spec := CalendarSpec{Name: name, Location: loc}
	switch strings.ToLower(strings.TrimSpace(name)) {
	case CalendarOslo:
		z, err := osloZone()
		if err != nil {
			return nil, fmt.Errorf("sla: built-in calendar %q needs the Europe/Oslo zone: %w", name, err)
		}
		spec.Location = z
		spec.Week = weekdays(Interval{8 * time.Hour, 16 * time.Hour})
		spec.Holidays = []string{"no"}
	case Calendar9to5:
		spec.Week = weekdays(Interval{9 * time.Hour, 17 * time.Hour})
	case Calendar7to7:
		spec.Week = weekdays(Interval{7 * time.Hour, 19 * time.Hour})
	case Calendar24x7, "24/7":
		for d := range spec.Week {
			spec.Week[d] = []Interval{{0, 24 * time.Hour}}
		}
	default:
		return nil, fmt.Errorf("%w %q: use oslo, 9-5, 7-7 or 24x7, or define the calendar's hours", ErrUnknownCalendar, name)
	}
	return NewCalendar(spec)
}

// ParseClock parses a wall-clock time of day "HH:MM" or "H:MM"
// (00:00–24:00).
func ParseClock(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	h, m, ok := strings.Cut(s, ":")
	hh, okh := digits(h)
	mm, okm := digits(m)
	if !ok || !okh || !okm || len(h) > 2 || len(m) != 2 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%w: time of day %q: want HH:MM between 00:00 and 24:00", ErrInvalidCalendar, s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

// digits parses a short unsigned decimal number.
func digits(s string) (int, bool) {
	if s == "" || len(s) > 4 {
		return 0, false
	}
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
		n = n*10 + int(r-'0')
	}
	return n, true
}

// ParseInterval parses "08:00-16:00" (a hyphen or en dash between).
func ParseInterval(s string) (Interval, error) {
	a, b, ok := strings.Cut(strings.ReplaceAll(s, "–", "-"), "-")
	if !ok {
		return Interval{}, fmt.Errorf("%w: interval %q: want HH:MM-HH:MM", ErrInvalidCalendar, s)
	}
	start, err := ParseClock(a)
	if err != nil {
		return Interval{}, err
	}
	end, err := ParseClock(b)
	if err != nil {
		return Interval{}, err
	}
	if start >= end {
		return Interval{}, fmt.Errorf("%w: interval %q must start before it ends", ErrInvalidCalendar, s)
	}
	return Interval{start, end}, nil
}

var weekdayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

func parseWeekday(s string) (time.Weekday, bool) {
	s = strings.ToLower(s)
	if len(s) < 3 {
		return 0, false
	}
	d, ok := weekdayNames[s[:3]]
	if ok && !strings.HasPrefix(strings.ToLower(d.String()), s) {
		return 0, false
	}
	return d, ok
}

// ParseWeek parses weekly hours such as
//
//	mon-fri 08:00-16:00
//	mon-fri 08:00-12:00,13:00-16:00; sat 10:00-14:00
//	daily 00:00-24:00
//
// Groups are separated by ';' or newlines; a group is days ("mon-fri",
// "mon,wed,fri", "daily", "weekdays") followed by intervals.
func ParseWeek(s string) ([7][]Interval, error) {
	var week [7][]Interval
	groups := strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' })
	if len(groups) == 0 {
		return week, fmt.Errorf("%w: weekly hours %q: want e.g. \"mon-fri 08:00-16:00\"", ErrInvalidCalendar, s)
	}
	for _, g := range groups {
		fields := strings.Fields(strings.ReplaceAll(g, ",", " "))
		if len(fields) == 0 {
			continue
		}
		// Days may be written "mon, wed" as well as "mon,wed"; collect
		// leading fields until the first interval.
		var days []time.Weekday
		i := 0
		for ; i < len(fields) && !strings.Contains(fields[i], ":"); i++ {
			ds, err := parseDays(fields[i])
			if err != nil {
				return week, fmt.Errorf("%w: weekly hours %q: %v", ErrInvalidCalendar, g, err)
			}
			days = append(days, ds...)
		}
		if len(days) == 0 || i == len(fields) {
			return week, fmt.Errorf("%w: weekly hours %q: want days then intervals, e.g. \"mon-fri 08:00-16:00\"", ErrInvalidCalendar, g)
		}
		for _, f := range fields[i:] {
			iv, err := ParseInterval(f)
			if err != nil {
				return week, err
			}
			for _, d := range days {
				week[d] = append(week[d], iv)
			}
		}
	}
	for d := range week {
		slices.SortFunc(week[d], func(a, b Interval) int { return int(a.Start - b.Start) })
	}
	return week, nil
}

func parseDays(s string) ([]time.Weekday, error) {
	switch strings.ToLower(s) {
	case "daily", "every", "all":
		return []time.Weekday{0, 1, 2, 3, 4, 5, 6}, nil
	case "weekdays":
		return []time.Weekday{1, 2, 3, 4, 5}, nil
	case "weekends":
		return []time.Weekday{0, 6}, nil
	}
	a, b, isRange := strings.Cut(strings.ReplaceAll(s, "–", "-"), "-")
	from, ok := parseWeekday(a)
	if !ok {
		return nil, fmt.Errorf("unknown day %q (want mon, tue, …, sun)", a)
	}
	if !isRange {
		return []time.Weekday{from}, nil
	}
	to, ok := parseWeekday(b)
	if !ok {
		return nil, fmt.Errorf("unknown day %q (want mon, tue, …, sun)", b)
	}
	var days []time.Weekday
	for d := from; ; d = (d + 1) % 7 {
		days = append(days, d)
		if d == to {
			return days, nil
		}
	}
}

// clock formats an offset from midnight as HH:MM.
func clock(d time.Duration) string {
	neg := ""
	if d < 0 {
		neg, d = "-", -d
	}
	return fmt.Sprintf("%s%02d:%02d", neg, int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// AlwaysOpen reports whether the calendar is open around the clock with no
// holidays or closures (24x7): escalations need not wait for office hours.
func (c *Calendar) AlwaysOpen() bool {
	return c.weekLen == 7*24*time.Hour && c.plain()
}
