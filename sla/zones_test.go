package sla

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestArithmeticMatchesReferenceInUnusualZones checks zones whose clocks
// change at midnight (Havana, Santiago, Beirut), in the evening (Nuuk),
// by half an hour (Lord Howe), by two hours (Troll) or skip a whole day
// (Apia, December 2011), near their transitions, for a 24x7 calendar and
// one whose intervals touch midnight.
func TestArithmeticMatchesReferenceInUnusualZones(t *testing.T) {
	cases := 80
	if testing.Short() {
		cases = 20
	}
	h := time.Hour
	allDay := []Interval{{0, 24 * h}}
	for _, zone := range []string{"America/Havana", "America/Santiago", "Asia/Beirut", "America/Nuuk", "Australia/Lord_Howe", "Antarctica/Troll", "Pacific/Apia"} {
		t.Run(zone, func(t *testing.T) {
			t.Parallel()
			loc := mustZone(t, zone)
			var anchors []time.Time
			for u := time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC); u.Year() <= 2030; {
				_, end := u.In(loc).ZoneBounds()
				if end.IsZero() {
					break
				}
				anchors = append(anchors, end)
				u = end
			}
			if len(anchors) == 0 {
				t.Fatalf("%s has no transitions", zone)
			}
			for _, spec := range []CalendarSpec{
				{Name: "24x7", Location: loc, Week: [7][]Interval{allDay, allDay, allDay, allDay, allDay, allDay, allDay}},
				{Name: "nights", Location: loc, Week: [7][]Interval{
					{{0, 8 * h}, {20 * h, 24 * h}}, {{0, 8 * h}}, {{0, 8 * h}}, {{22 * h, 24 * h}},
					{{0, 8 * h}}, {{0, 8 * h}}, {{0, h}, {23 * h, 24 * h}},
				}},
			} {
				c, err := NewCalendar(spec)
				if err != nil {
					t.Fatal(err)
				}
				ref := newRefCalendar(t, spec)
				rng := rand.New(rand.NewPCG(7, uint64(len(zone))))
				for range cases {
					start := anchors[rng.IntN(len(anchors))].Add(time.Duration(rng.IntN(4*24*60)-2*24*60) * time.Minute).Truncate(time.Minute)
					d := time.Duration(rng.IntN(36*60)) * time.Minute
					if got, want := c.Add(start, d), ref.add(start, d); !got.Equal(want) {
						t.Errorf("%s: Add(%s, %v) = %s, reference %s", spec.Name, start.In(loc), d, got, want.In(loc))
					}
					end := start.Add(time.Duration(rng.IntN(3*24*60)) * time.Minute)
					if got, want := c.Between(start, end), ref.between(start, end); got != want {
						t.Errorf("%s: Between(%s, %s) = %v, reference %v", spec.Name, start.In(loc), end.In(loc), got, want)
					}
					if got, want := c.IsOpen(start), ref.open(start); got != want {
						t.Errorf("%s: IsOpen(%s) = %v, reference %v", spec.Name, start.In(loc), got, want)
					}
				}
			}
		})
	}
}
