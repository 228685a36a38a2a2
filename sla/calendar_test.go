package sla

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNewCalendarRejects(t *testing.T) {
	h := time.Hour
	tests := []struct {
		name string
		spec CalendarSpec
		want []string
	}{
		{"reversed interval", CalendarSpec{Name: "x", Week: [7][]Interval{time.Monday: {{16 * h, 8 * h}}}},
			[]string{`"x": Monday interval 1 (16:00–08:00) must start before it ends`}},
		{"overlap", CalendarSpec{Name: "x", Week: [7][]Interval{time.Tuesday: {{8 * h, 12 * h}, {11 * h, 16 * h}}}},
			[]string{"Tuesday interval 2 (11:00–16:00) overlaps or precedes interval 08:00–12:00"}},
		{"out of order", CalendarSpec{Name: "x", Week: [7][]Interval{time.Friday: {{13 * h, 16 * h}, {8 * h, 12 * h}}}},
			[]string{"Friday interval 2 (08:00–12:00) overlaps or precedes"}},
		{"beyond midnight", CalendarSpec{Name: "x", Week: [7][]Interval{time.Sunday: {{20 * h, 25 * h}}}},
			[]string{"Sunday interval 1 (20:00–25:00) is outside 00:00–24:00"}},
		{"never open", CalendarSpec{Name: "x"}, []string{"no opening hours on any weekday"}},
		{"unknown holiday set", CalendarSpec{Name: "x", Week: [7][]Interval{1: {{8 * h, 16 * h}}}, Holidays: []string{"no", "xx"}},
			[]string{`unknown holiday set "xx": use one of`, "fi", "se"}},
		{"bad closures", CalendarSpec{Name: "x", Week: [7][]Interval{1: {{8 * h, 16 * h}}}, Closures: []Closure{
			{Date: Date{2026, time.February, 29}},
			{Date: Date{2026, time.December, 24}, From: 14 * h, To: 12 * h},
			{Date: Date{2026, time.December, 31}, From: 25 * h},
		}}, []string{"closure 1: 2026-02-29 is not a date", "closure 2 on 2026-12-24: from 14:00 must be before to 12:00", "closure 3 on 2026-12-31: 25:00–00:00 is outside"}},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			_, err := NewCalendar(tt.spec)
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrInvalidCalendar) && !errors.Is(err, ErrUnknownHolidaySet) {
				t.Errorf("error %v wraps no sentinel", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestNewCalendarMergesAdjacentIntervalsAndCopiesSpec(t *testing.T) {
	week := [7][]Interval{time.Monday: {{8 * time.Hour, 12 * time.Hour}, {12 * time.Hour, 16 * time.Hour}}}
	c, err := NewCalendar(CalendarSpec{Name: "m", Week: week})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.week[time.Monday]) != 1 || c.weekLen != 8*time.Hour {
		t.Errorf("week = %v, length %v; want one 8h interval", c.week[time.Monday], c.weekLen)
	}
	week[time.Monday][0].End = 9 * time.Hour
	c.Week[time.Monday] = nil
	if got := c.Between(time.Date(2026, 3, 23, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 24, 0, 0, 0, 0, time.UTC)); got != 8*time.Hour {
		t.Errorf("changing the spec changed the calendar: Monday has %v", got)
	}
	if c.Location != time.UTC {
		t.Errorf("nil location became %v, want UTC", c.Location)
	}
}

func TestBuiltin(t *testing.T) {
	oslo := mustZone(t, "Europe/Oslo")
	for _, tt := range []struct {
		name   string
		loc    *time.Location
		zone   string
		week   time.Duration
		always bool
	}{
		{"oslo", time.UTC, "Europe/Oslo", 40 * time.Hour, false},
		{"9-5", nil, "UTC", 40 * time.Hour, false},
		{"7-7", oslo, "Europe/Oslo", 60 * time.Hour, false},
		{"24x7", nil, "UTC", 168 * time.Hour, true},
		{"24/7", oslo, "Europe/Oslo", 168 * time.Hour, true},
	} {
		c, err := Builtin(tt.name, tt.loc)
		if err != nil {
			t.Fatal(err)
		}
		if c.Location.String() != tt.zone || c.weekLen != tt.week || c.AlwaysOpen() != tt.always || c.Name != tt.name {
			t.Errorf("%s: zone %v, week %v, always open %v", tt.name, c.Location, c.weekLen, c.AlwaysOpen())
		}
	}
	if _, err := Builtin("8-4", nil); !errors.Is(err, ErrUnknownCalendar) || !strings.Contains(err.Error(), "oslo, 9-5, 7-7 or 24x7") {
		t.Errorf("unknown built-in: %v", err)
	}
}

func TestParseWeek(t *testing.T) {
	h := time.Hour
	week, err := ParseWeek("mon-fri 08:00-12:00, 13:00-16:00; sat 10:00–14:00\nsun 00:00-24:00")
	if err != nil {
		t.Fatal(err)
	}
	want := [7][]Interval{
		time.Sunday:    {{0, 24 * h}},
		time.Monday:    {{8 * h, 12 * h}, {13 * h, 16 * h}},
		time.Tuesday:   {{8 * h, 12 * h}, {13 * h, 16 * h}},
		time.Wednesday: {{8 * h, 12 * h}, {13 * h, 16 * h}},
		time.Thursday:  {{8 * h, 12 * h}, {13 * h, 16 * h}},
		time.Friday:    {{8 * h, 12 * h}, {13 * h, 16 * h}},
		time.Saturday:  {{10 * h, 14 * h}},
	}
	for d := range want {
		if len(week[d]) != len(want[d]) {
			t.Fatalf("%v: %v, want %v", time.Weekday(d), week[d], want[d])
		}
		for i := range want[d] {
			if week[d][i] != want[d][i] {
				t.Errorf("%v: %v, want %v", time.Weekday(d), week[d], want[d])
			}
		}
	}
	if w, err := ParseWeek("fri-mon 09:00-10:00"); err != nil || len(w[time.Saturday]) != 1 || len(w[time.Tuesday]) != 0 {
		t.Errorf("wrapping range: %v, %v", w, err)
	}
	if w, err := ParseWeek("daily 07:00-19:00"); err != nil || len(w[time.Sunday]) != 1 {
		t.Errorf("daily: %v, %v", w, err)
	}
	for _, bad := range []string{"", "mon-fri", "08:00-16:00", "mun 08:00-16:00", "mon 8-16", "mon 16:00-08:00", "mon 08:00-24:30", "mon 08:60-09:00"} {
		if _, err := ParseWeek(bad); !errors.Is(err, ErrInvalidCalendar) {
			t.Errorf("ParseWeek(%q) error = %v", bad, err)
		}
	}
}

func TestParseDateAndClock(t *testing.T) {
	if d, err := ParseDate("2026-12-24"); err != nil || d != (Date{2026, time.December, 24}) {
		t.Errorf("ParseDate = %v, %v", d, err)
	}
	if d, err := ParseDate("02-29"); err != nil || d != (Date{0, time.February, 29}) || d.String() != "02-29" {
		t.Errorf("annual ParseDate = %v, %v", d, err)
	}
	for _, bad := range []string{"2026-02-30", "12/24", "2-29", ""} {
		if _, err := ParseDate(bad); !errors.Is(err, ErrInvalidCalendar) {
			t.Errorf("ParseDate(%q) error = %v", bad, err)
		}
	}
	if d, err := ParseClock("7:05"); err != nil || d != 7*time.Hour+5*time.Minute {
		t.Errorf("ParseClock = %v, %v", d, err)
	}
}

// TestHolidaySets checks a few dates per set against official calendars.
func TestHolidaySets(t *testing.T) {
	for _, tt := range []struct {
		set    string
		date   Date
		reason string // "" when the date must be an ordinary day
	}{
		{"no", Date{2027, time.March, 25}, "Skjærtorsdag"},
		{"no", Date{2027, time.May, 17}, "Grunnlovsdag, Andre pinsedag"},
		{"no", Date{2026, time.December, 24}, ""},
		{"se", Date{2026, time.June, 19}, "Midsommarafton"},
		{"se", Date{2027, time.March, 25}, ""},
		{"dk", Date{2024, time.April, 26}, ""}, // Store bededag abolished from 2024
		{"dk", Date{2026, time.June, 5}, "Grundlovsdag"},
		{"fi", Date{2026, time.June, 19}, "Juhannusaatto"},
		{"fi", Date{2026, time.December, 6}, "Itsenäisyyspäivä"},
		{"fi", Date{2027, time.January, 6}, "Loppiainen"},
		{"gb", Date{2026, time.December, 28}, "Boxing Day"}, // 26 Dec is a Saturday
		{"us", Date{2027, time.December, 31}, "New Year's Day"},
		{"de", Date{2026, time.October, 3}, "Tag der Deutschen Einheit"},
	} {
		c, err := NewCalendar(CalendarSpec{Name: tt.set, Week: [7][]Interval{1: {{9 * time.Hour, 17 * time.Hour}}}, Holidays: []string{tt.set}})
		if err != nil {
			t.Fatal(err)
		}
		yi := c.yearInfo(tt.date.Year)
		doy := int(civilToDays(tt.date.Year, tt.date.Month, tt.date.Day) - yi.first)
		if got := yi.holiday[doy]; !strings.Contains(got, tt.reason) || (tt.reason == "") != (got == "") {
			t.Errorf("%s %v: holiday %q, want %q", tt.set, tt.date, got, tt.reason)
		}
	}
}

func TestAnnualClosureRecursAndLeapDay(t *testing.T) {
	c, err := NewCalendar(CalendarSpec{Name: "x", Week: [7][]Interval{0: {{0, 24 * time.Hour}}, 1: {{0, 24 * time.Hour}}, 2: {{0, 24 * time.Hour}}, 3: {{0, 24 * time.Hour}}, 4: {{0, 24 * time.Hour}}, 5: {{0, 24 * time.Hour}}, 6: {{0, 24 * time.Hour}}},
		Closures: []Closure{{Date: Date{0, time.February, 29}, Reason: "leap"}}})
	if err != nil {
		t.Fatal(err)
	}
	if c.IsOpen(time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC)) {
		t.Error("open on 29 February 2028")
	}
	if !c.IsOpen(time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)) {
		t.Error("closed on 1 March 2027")
	}
}

// TestConcurrentUse runs the arithmetic from many goroutines over many
// years so that the race detector sees the year cache being filled.
func TestConcurrentUse(t *testing.T) {
	c := customSE(t)
	want := make([]time.Time, 12)
	for i := range want {
		want[i] = customSE(t).Add(time.Date(2025+i, 12, 20, 10, 0, 0, 0, time.UTC), 40*time.Hour)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range want {
				j := (i + g*3) % len(want)
				if got := c.Add(time.Date(2025+j, 12, 20, 10, 0, 0, 0, time.UTC), 40*time.Hour); !got.Equal(want[j]) {
					t.Errorf("goroutine %d: %s, want %s", g, got, want[j])
				}
			}
		}()
	}
	wg.Wait()
}

func TestYearCacheIsBounded(t *testing.T) {
	c := builtin(t, "oslo", nil)
	for y := 2000; y < 2000+2*maxCachedYears; y++ {
		c.yearInfo(y)
	}
	if n := len(*c.years.m.Load()); n > maxCachedYears {
		t.Errorf("cache holds %d years, bound %d", n, maxCachedYears)
	}
	if yi := c.yearInfo(2190); yi.year != 2190 {
		t.Errorf("uncached year %d", yi.year)
	}
}

// Every holiday set has a country name to show, so that "holidays: no"
// never reads as "no holidays".
func TestHolidaySetsHaveCountries(t *testing.T) {
	for _, set := range HolidaySets() {
		if HolidaySetCountry(set) == "" {
			t.Errorf("holiday set %q has no country name", set)
		}
	}
	if got := HolidaySetCountry(" NO "); got != "Norway" {
		t.Errorf("HolidaySetCountry(NO) = %q, want Norway", got)
	}
}
