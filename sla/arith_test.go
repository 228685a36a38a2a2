package sla

import (
	"strings"
	"testing"
	"time"
)

// at parses "2006-01-02 15:04" in loc.
func at(t testing.TB, loc *time.Location, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func builtin(t testing.TB, name string, loc *time.Location) *Calendar {
	t.Helper()
	c, err := Builtin(name, loc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// osloChristmas is the oslo calendar with Christmas Eve and New Year's Eve
// closed from 12:00 every year.
func osloChristmas(t testing.TB) *Calendar {
	t.Helper()
	o := builtin(t, "oslo", nil)
	spec := o.CalendarSpec
	spec.Name = "oslo-christmas"
	spec.Closures = []Closure{
		{Date: Date{0, time.December, 24}, From: 12 * time.Hour, Reason: "Christmas Eve"},
		{Date: Date{0, time.December, 31}, From: 12 * time.Hour, Reason: "New Year's Eve"},
	}
	c, err := NewCalendar(spec)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAdd(t *testing.T) {
	oslo := mustZone(t, "Europe/Oslo")
	toronto := mustZone(t, "America/Toronto")
	osloCal := builtin(t, "oslo", nil)
	tests := []struct {
		name string
		cal  *Calendar
		from string
		d    time.Duration
		want string
	}{
		{"within the day", osloCal, "2026-03-10 09:00", 2 * time.Hour, "2026-03-10 11:00"},
		{"exactly to closing stays at closing", osloCal, "2026-03-10 12:00", 4 * time.Hour, "2026-03-10 16:00"},
		{"before opening counts from opening", osloCal, "2026-03-10 06:00", time.Hour, "2026-03-10 09:00"},
		{"after closing counts from next opening", osloCal, "2026-03-10 18:00", time.Hour, "2026-03-11 09:00"},
		{"weekend arrival counts from Monday", osloCal, "2026-03-14 12:00", 30 * time.Minute, "2026-03-16 08:30"},
		{"Friday 15:30 a week before Easter", osloCal, "2027-03-19 15:30", 4 * time.Hour, "2027-03-22 11:30"},
		{"Wednesday before Easter skips Maundy Thursday to Easter Monday", osloCal, "2027-03-24 15:30", 4 * time.Hour, "2027-03-30 11:30"},
		{"Good Friday 15:30 counts from Tuesday after Easter", osloCal, "2027-03-26 15:30", 4 * time.Hour, "2027-03-30 12:00"},
		{"23 December: Christmas Eve is a working day in Norway", osloCal, "2026-12-23 15:30", 4 * time.Hour, "2026-12-24 11:30"},
		{"23 December with Christmas Eve closed from 12:00", osloChristmas(t), "2026-12-23 15:30", 5 * time.Hour, "2026-12-28 08:30"},
		{"year end skips New Year's Day", osloCal, "2026-12-31 14:00", 4 * time.Hour, "2027-01-04 10:00"},
		{"whole weeks", osloCal, "2026-09-01 10:00", 3 * 40 * time.Hour, "2026-09-22 10:00"},
		{"30 business days across Easter", osloCal, "2027-03-01 10:00", 30 * 8 * time.Hour, "2027-04-15 10:00"},
		{"24x7 spring forward: 2h across the 02:00 gap", builtin(t, "24x7", oslo), "2026-03-29 01:30", 2 * time.Hour, "2026-03-29 04:30"},
		{"24x7 fall back: 2h across the repeated hour", builtin(t, "24x7", oslo), "2026-10-25 01:30", 2 * time.Hour, "2026-10-25 02:30"},
		{"24x7 spring day is 23h", builtin(t, "24x7", oslo), "2026-03-29 00:00", 23 * time.Hour, "2026-03-30 00:00"},
		{"7-7 over the spring-forward weekend counts wall-clock hours", builtin(t, "7-7", oslo), "2026-03-27 18:00", 2 * time.Hour, "2026-03-30 08:00"},
		{"7-7 over the fall-back weekend counts wall-clock hours", builtin(t, "7-7", oslo), "2026-10-23 18:00", 2 * time.Hour, "2026-10-26 08:00"},
		{"7-7 Toronto over North American DST", builtin(t, "7-7", toronto), "2027-03-12 17:30", 4 * time.Hour, "2027-03-15 09:30"},
		{"zero duration is the instant itself", osloCal, "2026-03-14 12:00", 0, "2026-03-14 12:00"},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			loc := tt.cal.loc
			from := at(t, loc, tt.from)
			got := tt.cal.Add(from, tt.d)
			want := at(t, loc, tt.want)
			if !got.Equal(want) {
				t.Fatalf("Add(%s, %v) = %s, want %s", from, tt.d, got, want)
			}
			if got.Location() != loc {
				t.Errorf("result in %v, want the calendar's zone %v", got.Location(), loc)
			}
			if tt.d > 0 {
				if b := tt.cal.Between(from, got); b != tt.d {
					t.Errorf("Between(from, Add(from, d)) = %v, want %v", b, tt.d)
				}
			}
			deadline, steps := tt.cal.Explain(from, tt.d)
			if !deadline.Equal(got) {
				t.Errorf("Explain deadline %s, Add %s", deadline, got)
			}
			var sum time.Duration
			for _, s := range steps {
				sum += s.Counted
			}
			if sum != tt.d {
				t.Errorf("Explain steps count %v, want %v:\n%s", sum, tt.d, stepsText(steps))
			}
		})
	}
}

func stepsText(steps []Step) string {
	var b strings.Builder
	for _, s := range steps {
		b.WriteString(s.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func TestBetween(t *testing.T) {
	oslo := mustZone(t, "Europe/Oslo")
	night, err := NewCalendar(CalendarSpec{Name: "sunday-night", Location: oslo, Week: [7][]Interval{time.Sunday: {{time.Hour, 5 * time.Hour}}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		cal      *Calendar
		from, to string
		want     time.Duration
	}{
		{"oslo week", builtin(t, "oslo", nil), "2026-09-07 00:00", "2026-09-14 00:00", 40 * time.Hour},
		{"oslo Easter week 2027 has two days", builtin(t, "oslo", nil), "2027-03-22 00:00", "2027-03-29 00:00", 24 * time.Hour},
		{"oslo reversed is negative", builtin(t, "oslo", nil), "2026-09-14 00:00", "2026-09-07 00:00", -40 * time.Hour},
		{"24x7 spring-forward day is 23h", builtin(t, "24x7", oslo), "2026-03-29 00:00", "2026-03-30 00:00", 23 * time.Hour},
		{"24x7 fall-back day is 25h", builtin(t, "24x7", oslo), "2026-10-25 00:00", "2026-10-26 00:00", 25 * time.Hour},
		{"interval spanning the spring gap is real time", night, "2026-03-29 00:00", "2026-03-30 00:00", 3 * time.Hour},
		{"interval spanning the repeated hour is real time", night, "2026-10-25 00:00", "2026-10-26 00:00", 5 * time.Hour},
		{"ordinary Sunday night", night, "2026-03-22 00:00", "2026-03-23 00:00", 4 * time.Hour},
		{"7-7 weekend with DST change counts nothing", builtin(t, "7-7", oslo), "2026-03-27 19:00", "2026-03-30 07:00", 0},
		{"a year of oslo", builtin(t, "oslo", nil), "2027-01-01 00:00", "2028-01-01 00:00", 8 * time.Hour * 255}, // 261 weekdays, 6 of them holidays,
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			got := tt.cal.Between(at(t, tt.cal.loc, tt.from), at(t, tt.cal.loc, tt.to))
			if got != tt.want {
				t.Fatalf("Between = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestExplainNamesSkippedDays(t *testing.T) {
	c := osloChristmas(t)
	_, steps := c.Explain(at(t, c.loc, "2026-12-23 15:30"), 5*time.Hour)
	text := stepsText(steps)
	for _, want := range []string{
		"Wed 2026-12-23  15:30–16:00  counted 0h30m, left 4h30m  arrived 15:30",
		"Thu 2026-12-24  08:00–12:00  counted 4h00m, left 0h30m  closure: Christmas Eve from 12:00",
		"Fri 2026-12-25  holiday: Første juledag",
		"Sat 2026-12-26  Saturday",
		"Mon 2026-12-28  08:00–08:30  counted 0h30m, left 0h00m  deadline 08:30",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("explanation lacks %q:\n%s", want, text)
		}
	}
	_, steps = builtin(t, "oslo", nil).Explain(at(t, c.loc, "2027-03-26 07:00"), time.Hour)
	if got := steps[0].Note; got != "holiday: Langfredag; arrived 07:00 while closed" {
		t.Errorf("Good Friday note = %q", got)
	}
	_, steps = builtin(t, "oslo", nil).Explain(at(t, c.loc, "2027-03-23 07:00"), time.Hour)
	if got := steps[0].Note; got != "arrived 07:00, before opening (08:00); deadline 09:00" {
		t.Errorf("early arrival note = %q", got)
	}
	night, err := NewCalendar(CalendarSpec{Name: "night", Location: c.loc, Week: [7][]Interval{time.Sunday: {{time.Hour, 5 * time.Hour}}}})
	if err != nil {
		t.Fatal(err)
	}
	_, steps = night.Explain(at(t, c.loc, "2026-03-29 00:00"), 2*time.Hour)
	if got := steps[len(steps)-1].Note; !strings.Contains(got, "daylight saving change: open 3h00m instead of 4h00m") {
		t.Errorf("DST note = %q", got)
	}
}

func TestAddBusinessDays(t *testing.T) {
	osloCal := builtin(t, "oslo", nil)
	tests := []struct {
		name string
		cal  *Calendar
		from string
		n    int
		want string
	}{
		{"Friday 15:30 + 1 is Monday 15:30", osloCal, "2026-03-20 15:30", 1, "2026-03-23 15:30"},
		{"Friday at closing + 1 is Monday's close", osloCal, "2026-03-20 16:00", 1, "2026-03-23 16:00"},
		{"Friday evening + 1 is Monday's close", osloCal, "2026-03-20 19:00", 1, "2026-03-23 16:00"},
		{"Saturday + 1 is Monday's close", osloCal, "2026-03-21 10:00", 1, "2026-03-23 16:00"},
		{"Monday before opening + 1 is Monday's close", osloCal, "2026-03-23 07:00", 1, "2026-03-23 16:00"},
		{"Monday at opening + 3 is Wednesday's close", osloCal, "2026-03-23 08:00", 3, "2026-03-25 16:00"},
		{"across Easter 2027", osloCal, "2027-03-24 10:00", 2, "2027-03-31 10:00"},
		{"Good Friday + 3 is the Thursday after Easter", osloCal, "2027-03-26 15:30", 3, "2027-04-01 16:00"},
		{"clamped to a part-day closure", osloChristmas(t), "2026-12-23 15:30", 1, "2026-12-24 12:00"},
		{"year end skips New Year's Day", osloCal, "2026-12-30 11:00", 2, "2027-01-04 11:00"},
		{"20 business days skips whole weeks", osloCal, "2026-09-01 10:00", 20, "2026-09-29 10:00"},
		{"24x7 counts calendar days at the same wall time across DST", builtin(t, "24x7", mustZone(t, "Europe/Oslo")), "2026-03-28 10:00", 1, "2026-03-29 10:00"},
		{"a wall time the clocks skip becomes the end of the gap", builtin(t, "24x7", mustZone(t, "Europe/Oslo")), "2026-03-28 02:30", 1, "2026-03-29 03:00"},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			got := tt.cal.AddBusinessDays(at(t, tt.cal.loc, tt.from), tt.n)
			if want := at(t, tt.cal.loc, tt.want); !got.Equal(want) {
				t.Fatalf("AddBusinessDays(%s, %d) = %s, want %s", tt.from, tt.n, got, want)
			}
		})
	}
}

func TestNextBusinessDayEnd(t *testing.T) {
	osloCal := builtin(t, "oslo", nil)
	tests := []struct {
		name string
		cal  *Calendar
		from string
		want string
	}{
		{"Tuesday is due Wednesday's close", osloCal, "2026-03-24 10:00", "2026-03-25 16:00"},
		{"Friday before a Monday holiday is due Tuesday", osloCal, "2027-05-14 10:00", "2027-05-18 16:00"},
		{"Saturday is due Monday", osloCal, "2026-03-21 10:00", "2026-03-23 16:00"},
		{"Monday before opening is due Tuesday", osloCal, "2026-03-23 06:00", "2026-03-24 16:00"},
		{"Wednesday before Easter is due the Tuesday after", osloCal, "2027-03-24 12:00", "2027-03-30 16:00"},
		{"part-day closure ends the day early", osloChristmas(t), "2026-12-23 09:00", "2026-12-24 12:00"},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			got := tt.cal.NextBusinessDayEnd(at(t, tt.cal.loc, tt.from))
			if want := at(t, tt.cal.loc, tt.want); !got.Equal(want) {
				t.Fatalf("NextBusinessDayEnd(%s) = %s, want %s", tt.from, got, want)
			}
		})
	}
}

func TestIsOpenAndNextOpen(t *testing.T) {
	c := osloChristmas(t)
	tests := []struct {
		at       string
		open     bool
		nextOpen string
	}{
		{"2026-12-24 11:59", true, "2026-12-24 11:59"},
		{"2026-12-24 12:00", false, "2026-12-28 08:00"},
		{"2026-12-31 13:00", false, "2027-01-04 08:00"},
		{"2027-05-17 10:00", false, "2027-05-18 08:00"},
		{"2026-03-23 16:00", false, "2026-03-24 08:00"},
		{"2026-03-23 08:00", true, "2026-03-23 08:00"},
	}
	for _, tt := range tests {
		u := at(t, c.loc, tt.at)
		if got := c.IsOpen(u); got != tt.open {
			t.Errorf("IsOpen(%s) = %v, want %v", tt.at, got, tt.open)
		}
		if got, want := c.NextOpen(u), at(t, c.loc, tt.nextOpen); !got.Equal(want) {
			t.Errorf("NextOpen(%s) = %s, want %s", tt.at, got, want)
		}
	}
}
