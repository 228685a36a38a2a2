package ticket_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSchedulerRunSleepsUntilTheDeadlineAndWakesWhenKicked(t *testing.T) {
	f := newSLAFixture(t, nil)
	arrival := local(t, "America/Chicago", "2027-03-14 01:30")
	f.receive(arrival, slaMail("ops@tersosolutions.com", "Outage", "run1@terso", "Down.", arrival))
	// Terso P1 warns after 30 minutes. From here on the desk's clock runs
	// in real time, starting 200 ms before the warning.
	warn := arrival.Add(30 * time.Minute)
	start := time.Now()
	var jump atomic.Int64
	now := func() time.Time {
		return warn.Add(-200*time.Millisecond + time.Since(start) + time.Duration(jump.Load()))
	}
	f.mod = func(o *ticket.Options) { o.Now = now }
	f.restart()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.sched.Run(ctx) }()

	waitFor(t, 5*time.Second, "no warning", func() bool { return len(f.queued("sla-warn")) == 1 })
	if w := f.queued("sla-warn")[0]; w.env.Created.Before(warn) {
		t.Errorf("warning queued at %s, before it was due (%s)", w.env.Created, warn)
	}
	if next, ok := f.sched.Next(); !ok || !next.Equal(arrival.Add(time.Hour)) {
		t.Errorf("Next() = %s, %v; want the breach an hour after arrival", next, ok)
	}
	// The breach is 30 minutes away: only a kick makes the loop look
	// again after the clock moved.
	jump.Store(int64(30 * time.Minute))
	f.sched.Kick()
	waitFor(t, 5*time.Second, "no breach after the kick", func() bool { return len(f.queued("sla-breach")) == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
}

func TestSchedulerSurvivesStrayAndOrphanedDeadlines(t *testing.T) {
	f := newSLAFixture(t, nil)
	oslo := func(s string) time.Time { return local(t, "Europe/Oslo", s) }
	at := oslo("2026-11-24 10:00")
	f.receive(at, slaMail(customerJotron, "Radio", "o1@jotron.com", "Hei", at))
	// An index entry for a ticket that does not exist.
	if err := f.db.Update(func(tx ticket.Tx) error {
		return tx.SetDeadline(ticket.Deadline{At: at, TicketID: 999, Kind: ticket.DeadlineWarn})
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := f.sched.RunDue(at); err != nil || n != 1 {
		t.Fatalf("RunDue = %d, %v; want the stray entry handled", n, err)
	}
	// The Jotron plan is dropped from the configuration: its ticket's
	// deadline goes, with a note on the ticket, and nothing is mailed.
	var kept []*sla.Agreement
	for _, ag := range f.x.agreements.All() {
		if ag.Name != "Jotron" {
			kept = append(kept, ag)
		}
	}
	ags, err := sla.NewAgreements(kept, f.x.agreements.Default())
	if err != nil {
		t.Fatal(err)
	}
	f.mod = func(o *ticket.Options) { o.Agreements = ags }
	f.restart()
	f.runUntil(oslo("2026-12-31 00:00"))
	if d, ok := f.next(); ok {
		t.Errorf("deadline left: %+v", d)
	}
	if got := f.escalations(); len(got) != 0 {
		t.Errorf("mails: %v", got)
	}
	tk := f.ticket(1)
	if last := tk.Events[len(tk.Events)-1]; last.What != "sla" || last.Detail != "plan jotron is no longer configured; deadlines dropped" {
		t.Errorf("last event %+v", last)
	}
}

func TestFormatDeadline(t *testing.T) {
	oslo := zone(t, "Europe/Oslo")
	at := time.Date(2027, 1, 4, 10, 30, 0, 0, oslo)
	summer := time.Date(2027, 4, 1, 16, 0, 0, 0, oslo)
	tests := []struct {
		lang string
		at   time.Time
		loc  *time.Location
		want string
	}{
		{"en", at, nil, "Monday 4 January 2027 10:30 CET"},
		{"nb", at, nil, "mandag 4. januar 2027 kl. 10.30 CET"},
		{"sv", at, nil, "måndag 4 januari 2027 kl. 10.30 CET"},
		{"nb-NO", summer, nil, "torsdag 1. april 2027 kl. 16.00 CEST"},
		{"no", summer, nil, "torsdag 1. april 2027 kl. 16.00 CEST"},
		{"sv_SE", summer, nil, "torsdag 1 april 2027 kl. 16.00 CEST"},
		{"de", at, zone(t, "America/Toronto"), "Monday 4 January 2027 04:30 EST"},
		{"", summer.UTC(), oslo, "Thursday 1 April 2027 16:00 CEST"},
	}
	for _, tt := range tests {
		if got := ticket.FormatDeadline(tt.lang, tt.at, tt.loc); got != tt.want {
			t.Errorf("FormatDeadline(%q, %s) = %q, want %q", tt.lang, tt.at, got, tt.want)
		}
	}
	if got := ticket.FormatDate("nb", time.Date(2026, 12, 31, 23, 59, 0, 0, oslo), nil); got != "31. desember 2026" {
		t.Errorf("FormatDate = %q", got)
	}
}

func TestFormatTarget(t *testing.T) {
	tests := []struct {
		tg         sla.Target
		en, nb, sv string
	}{
		{sla.Hours(4 * time.Hour), "within 4 business hours", "innen 4 arbeidstimer", "inom 4 arbetstimmar"},
		{sla.Hours(time.Hour), "within 1 business hour", "innen 1 arbeidstime", "inom 1 arbetstimme"},
		{sla.Hours(90 * time.Minute), "within 1.5 business hours", "innen 1,5 arbeidstimer", "inom 1,5 arbetstimmar"},
		{sla.Hours(45 * time.Minute), "within 45 business minutes", "innen 45 arbeidsminutter", "inom 45 arbetsminuter"},
		{sla.Days(1), "within 1 business day", "innen 1 virkedag", "inom 1 arbetsdag"},
		{sla.Days(5), "within 5 business days", "innen 5 virkedager", "inom 5 arbetsdagar"},
		{sla.NBD, "at the end of the next business day", "ved slutten av neste virkedag", "vid slutet av nästa arbetsdag"},
		{sla.Target{}, "", "", ""},
	}
	for _, tt := range tests {
		for lang, want := range map[string]string{"en": tt.en, "nb": tt.nb, "sv": tt.sv} {
			if got := ticket.FormatTarget(lang, tt.tg); got != want {
				t.Errorf("FormatTarget(%s, %v) = %q, want %q", lang, tt.tg, got, want)
			}
		}
	}
}
