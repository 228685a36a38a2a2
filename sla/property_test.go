package sla

import (
	"math/rand/v2"
	"testing"
	"time"
)

// testCalendars are every built-in calendar plus a custom one with two
// intervals a day, Saturday hours, part-day and full-day closures and the
// Swedish holidays, each with the spec the reference is built from.
func testCalendars(t *testing.T) map[string]*Calendar {
	t.Helper()
	out := map[string]*Calendar{}
	for _, b := range []struct {
		name string
		loc  *time.Location
	}{
		{"oslo", nil},
		{"9-5", mustZone(t, "America/Toronto")},
		{"7-7", mustZone(t, "Europe/Oslo")},
		{"24x7", mustZone(t, "Europe/Oslo")},
	} {
		c, err := Builtin(b.name, b.loc)
		if err != nil {
			t.Fatal(err)
		}
		out[b.name] = c
	}
	out["custom-se"] = customSE(t)
	return out
}

func customSE(t testing.TB) *Calendar {
	t.Helper()
	week, err := ParseWeek("mon-fri 08:00-12:00,13:00-17:00; sat 10:00-14:00")
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCalendar(CalendarSpec{
		Name:     "custom-se",
		Location: mustZone(t, "Europe/Stockholm"),
		Week:     week,
		Holidays: []string{"se"},
		Closures: []Closure{
			{Date: Date{0, time.April, 30}, From: 13 * time.Hour, Reason: "Valborg"},
			{Date: Date{2027, time.June, 10}, From: 10 * time.Hour, To: 11*time.Hour + 30*time.Minute, Reason: "staff meeting"},
			{Date: Date{2028, time.January, 5}, Reason: "inventory"},
			{Date: Date{2026, time.November, 3}, From: 7 * time.Hour, To: 9 * time.Hour, Reason: "late start"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("zone %s: %v", name, err)
	}
	return loc
}

// interestingDays are anchors where calendars go wrong: Easter, Christmas
// and New Year, DST weekends, Midsummer, closure dates.
func interestingDays(loc *time.Location) []time.Time {
	var out []time.Time
	for y := 2025; y <= 2030; y++ {
		out = append(out,
			time.Date(y, time.March, 31, 0, 0, 0, 0, loc).AddDate(0, 0, -int(time.Date(y, time.March, 31, 0, 0, 0, 0, loc).Weekday())), // last Sunday of March
			time.Date(y, time.October, 31, 0, 0, 0, 0, loc).AddDate(0, 0, -int(time.Date(y, time.October, 31, 0, 0, 0, 0, loc).Weekday())),
			time.Date(y, time.March, 14, 0, 0, 0, 0, loc), // North American DST is early March
			time.Date(y, time.November, 3, 0, 0, 0, 0, loc),
			time.Date(y, time.December, 22, 0, 0, 0, 0, loc),
			time.Date(y, time.December, 29, 0, 0, 0, 0, loc),
			time.Date(y, time.June, 18, 0, 0, 0, 0, loc),
			time.Date(y, time.April, 28, 0, 0, 0, 0, loc),
			time.Date(y, time.May, 14, 0, 0, 0, 0, loc),
		)
		e := easter(y)
		out = append(out, time.Date(y, e.Month, e.Day-4, 0, 0, 0, 0, loc))
	}
	return out
}

// easter is the Gregorian Easter Sunday (anonymous Gregorian algorithm),
// computed independently of rickar/cal for the tests.
func easter(y int) Date {
	a, b, c := y%19, y/100, y%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	return Date{y, time.Month((h + l - 7*m + 114) / 31), (h+l-7*m+114)%31 + 1}
}

func TestArithmeticMatchesMinuteReference(t *testing.T) {
	cases := 200
	if testing.Short() {
		cases = 40
	}
	for name, c := range testCalendars(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ref := newRefCalendar(t, c.CalendarSpec, 2024, 2025, 2026, 2027, 2028, 2029, 2030, 2031)
			rng := rand.New(rand.NewPCG(2025, uint64(len(name))))
			anchors := interestingDays(c.loc)
			lo := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Unix() / 60
			hi := time.Date(2030, 12, 20, 0, 0, 0, 0, time.UTC).Unix() / 60
			day := c.weekLen / time.Duration(c.openDays)
			pick := func() time.Time {
				if rng.IntN(2) == 0 {
					a := anchors[rng.IntN(len(anchors))]
					return a.Add(time.Duration(rng.IntN(4*24*60)) * time.Minute)
				}
				return time.Unix((lo+rng.Int64N(hi-lo))*60, 0)
			}
			for i := range cases {
				start := pick()
				d := time.Duration(rng.Int64N(int64(10*day/time.Minute)+1)) * time.Minute
				if i%10 == 0 {
					d = time.Duration(rng.IntN(180)) * time.Minute // short spans within a day
				}
				if got, want := c.Add(start, d), ref.add(start, d); !got.Equal(want) {
					t.Errorf("Add(%s, %v) = %s, reference %s", start.In(c.loc), d, got, want.In(c.loc))
				}
				end := start.Add(time.Duration(rng.IntN(10*24*60)) * time.Minute)
				if got, want := c.Between(start, end), ref.between(start, end); got != want {
					t.Errorf("Between(%s, %s) = %v, reference %v", start.In(c.loc), end.In(c.loc), got, want)
				}
				if got, want := c.Between(end, start), -ref.between(start, end); got != want {
					t.Errorf("Between(%s, %s) = %v, want %v", end.In(c.loc), start.In(c.loc), got, want)
				}
				if got, want := c.IsOpen(start), ref.open(start); got != want {
					t.Errorf("IsOpen(%s) = %v, reference %v", start.In(c.loc), got, want)
				}
			}
		})
	}
}
