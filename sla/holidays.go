package sla

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/aa"
	austria "github.com/rickar/cal/v2/at"
	"github.com/rickar/cal/v2/be"
	"github.com/rickar/cal/v2/ch"
	"github.com/rickar/cal/v2/de"
	"github.com/rickar/cal/v2/dk"
	"github.com/rickar/cal/v2/es"
	"github.com/rickar/cal/v2/fr"
	"github.com/rickar/cal/v2/gb"
	"github.com/rickar/cal/v2/ie"
	"github.com/rickar/cal/v2/it"
	"github.com/rickar/cal/v2/nl"
	"github.com/rickar/cal/v2/no"
	"github.com/rickar/cal/v2/pl"
	"github.com/rickar/cal/v2/se"
	"github.com/rickar/cal/v2/us"
)

// holidaySets maps a holiday set name (ISO 3166 country code, lower case)
// to its national holidays. Only dates are taken from rickar/cal; whatever
// business-hour arithmetic it offers is not used.
//
// Each set is the country package's own "Holidays" list, so for Sweden it
// includes the de facto closed eves (Midsommarafton, Julafton, Nyårsafton).
// Norway and Denmark get their Sunday holidays (Easter, Whit Sunday) added,
// which matter only for calendars open on Sundays. rickar/cal has no
// Finland, so its holidays are defined here.
var holidaySets = map[string][]*cal.Holiday{
	"no": append(slices.Clone(no.Holidays),
		aa.Easter.Clone(&cal.Holiday{Name: "Første påskedag", Type: cal.ObservancePublic}),
		aa.Pentecost.Clone(&cal.Holiday{Name: "Første pinsedag", Type: cal.ObservancePublic})),
	"se": se.Holidays,
	"dk": append(slices.Clone(dk.Holidays),
		aa.Easter.Clone(&cal.Holiday{Name: "Påskedag", Type: cal.ObservancePublic}),
		aa.Pentecost.Clone(&cal.Holiday{Name: "Pinsedag", Type: cal.ObservancePublic})),
	"fi": finland,
	"gb": gb.Holidays,
	"us": us.Holidays,
	"de": de.Holidays,
	"nl": nl.Holidays,
	"fr": fr.Holidays,
	"at": austria.Holidays,
	"be": be.Holidays,
	"ch": ch.Holidays,
	"ie": ie.Holidays,
	"es": es.Holidays,
	"it": it.Holidays,
	"pl": pl.Holidays,
}

// finland: public holidays plus the de facto closed Midsummer Eve and
// Christmas Eve.
var finland = []*cal.Holiday{
	aa.NewYear.Clone(&cal.Holiday{Name: "Uudenvuodenpäivä", Type: cal.ObservancePublic}),
	aa.Epiphany.Clone(&cal.Holiday{Name: "Loppiainen", Type: cal.ObservancePublic}),
	aa.GoodFriday.Clone(&cal.Holiday{Name: "Pitkäperjantai", Type: cal.ObservancePublic}),
	aa.Easter.Clone(&cal.Holiday{Name: "Pääsiäispäivä", Type: cal.ObservancePublic}),
	aa.EasterMonday.Clone(&cal.Holiday{Name: "Toinen pääsiäispäivä", Type: cal.ObservancePublic}),
	aa.WorkersDay.Clone(&cal.Holiday{Name: "Vappu", Type: cal.ObservancePublic}),
	aa.AscensionDay.Clone(&cal.Holiday{Name: "Helatorstai", Type: cal.ObservancePublic}),
	aa.Pentecost.Clone(&cal.Holiday{Name: "Helluntaipäivä", Type: cal.ObservancePublic}),
	{Name: "Juhannusaatto", Type: cal.ObservanceOther, Month: time.June, Day: 19, Weekday: time.Friday, Offset: 1, Func: cal.CalcWeekdayFrom},
	{Name: "Juhannuspäivä", Type: cal.ObservancePublic, Month: time.June, Day: 20, Weekday: time.Saturday, Offset: 1, Func: cal.CalcWeekdayFrom},
	{Name: "Pyhäinpäivä", Type: cal.ObservancePublic, Month: time.October, Day: 31, Weekday: time.Saturday, Offset: 1, Func: cal.CalcWeekdayFrom},
	{Name: "Itsenäisyyspäivä", Type: cal.ObservancePublic, Month: time.December, Day: 6, Func: cal.CalcDayOfMonth},
	{Name: "Jouluaatto", Type: cal.ObservanceOther, Month: time.December, Day: 24, Func: cal.CalcDayOfMonth},
	aa.ChristmasDay.Clone(&cal.Holiday{Name: "Joulupäivä", Type: cal.ObservancePublic}),
	aa.ChristmasDay2.Clone(&cal.Holiday{Name: "Tapaninpäivä", Type: cal.ObservancePublic}),
}

// holidayCountries names each holiday set's country, for display.
var holidayCountries = map[string]string{
	"no": "Norway", "se": "Sweden", "dk": "Denmark", "fi": "Finland", "gb": "United Kingdom",
	"us": "United States", "de": "Germany", "nl": "Netherlands", "fr": "France", "at": "Austria",
	"be": "Belgium", "ch": "Switzerland", "ie": "Ireland", "es": "Spain", "it": "Italy", "pl": "Poland",
}

// HolidaySetCountry returns the country of a holiday set ("no" →
// "Norway"), or "" for an unknown set.
func HolidaySetCountry(name string) string {
	return holidayCountries[strings.ToLower(strings.TrimSpace(name))]
}

// HolidaySets lists the holiday set names a CalendarSpec may use.
func HolidaySets() []string {
	names := make([]string, 0, len(holidaySets))
	for n := range holidaySets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func lookupHolidaySet(name string) ([]*cal.Holiday, error) {
	hs, ok := holidaySets[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return nil, fmt.Errorf("%w %q: use one of %s", ErrUnknownHolidaySet, name, strings.Join(HolidaySets(), ", "))
	}
	return hs, nil
}

// dayKind says why a date is not an ordinary day of its weekday.
type dayKind uint8

const (
	dayPlain   dayKind = iota
	dayPartial         // one or more part-day closures
	dayClosed          // full-day closure
	dayHoliday         // public holiday (wins over closures)
)

// yearInfo is the immutable per-year view of a calendar's special days.
// It is built once per year and shared by all goroutines.
type yearInfo struct {
	year     int
	first    dayNumber         // day number of 1 January
	kind     []dayKind         // by day of year (0-based)
	next     []uint16          // next[i]: first special day of year >= i, or len(kind)
	holiday  map[int]string    // day of year -> holiday name(s)
	closures map[int][]Closure // day of year -> closures that apply
}

func (yi *yearInfo) contains(n dayNumber) bool {
	return n >= yi.first && int(n-yi.first) < len(yi.kind)
}

// yearCache holds yearInfo per year. Readers load an immutable map without
// locking; a miss builds the year and publishes a copied map under mu.
// It is bounded so that a stray far-future instant cannot grow it forever.
type yearCache struct {
	mu sync.Mutex
	m  atomic.Pointer[map[int]*yearInfo]
}

const maxCachedYears = 64

func (c *Calendar) yearInfo(y int) *yearInfo {
	if m := c.years.m.Load(); m != nil {
		if yi := (*m)[y]; yi != nil {
			return yi
		}
	}
	yi := c.buildYear(y)
	c.years.mu.Lock()
	defer c.years.mu.Unlock()
	old := c.years.m.Load()
	if old != nil {
		if have := (*old)[y]; have != nil {
			return have
		}
		if len(*old) >= maxCachedYears {
			return yi
		}
	}
	m := make(map[int]*yearInfo, 8)
	if old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	m[y] = yi
	c.years.m.Store(&m)
	return yi
}

func (c *Calendar) buildYear(y int) *yearInfo {
	first := civilToDays(y, time.January, 1)
	n := 365
	if isLeap(y) {
		n = 366
	}
	yi := &yearInfo{year: y, first: first, kind: make([]dayKind, n), next: make([]uint16, n+1)}
	doy := func(yy int, m time.Month, d int) (int, bool) {
		if yy != y {
			return 0, false
		}
		return int(civilToDays(yy, m, d) - first), true
	}
	for _, set := range c.holidays {
		// Observed dates may cross a year end (a Saturday 1 January
		// observed on Friday 31 December), so look one year either side.
		for yy := y - 1; yy <= y+1; yy++ {
			for _, h := range set {
				actual, observed := h.Calc(yy)
				if actual.IsZero() {
					continue
				}
				for _, t := range []time.Time{actual, observed} {
					// rickar/cal returns local midnight in time.Local; where
					// that midnight is skipped by DST, time.Date may move it
					// to 23:00 the day before, so read the date at noon.
					if i, ok := doy(t.Add(12 * time.Hour).Date()); ok {
						if yi.holiday == nil {
							yi.holiday = make(map[int]string)
						}
						if old := yi.holiday[i]; old == "" {
							yi.holiday[i] = h.Name
						} else if !strings.Contains(old, h.Name) {
							yi.holiday[i] = old + ", " + h.Name
						}
						yi.kind[i] = dayHoliday
					}
				}
			}
		}
	}
	for _, cl := range c.closures {
		if cl.Date.Year != 0 && cl.Date.Year != y {
			continue
		}
		if cl.Date.Month == time.February && cl.Date.Day == 29 && !isLeap(y) {
			continue
		}
		i, _ := doy(y, cl.Date.Month, cl.Date.Day)
		if yi.closures == nil {
			yi.closures = make(map[int][]Closure)
		}
		yi.closures[i] = append(yi.closures[i], cl)
		k := dayPartial
		if cl.FullDay() {
			k = dayClosed
		}
		if k > yi.kind[i] {
			yi.kind[i] = k
		}
	}
	yi.next[n] = uint16(n)
	for i := n - 1; i >= 0; i-- {
		if yi.kind[i] != dayPlain {
			yi.next[i] = uint16(i)
		} else {
			yi.next[i] = yi.next[i+1]
		}
	}
	return yi
}
