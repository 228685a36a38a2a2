package ticket_test

import (
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// passCountingStore counts the desk's passes over every ticket.
type passCountingStore struct {
	*store.DB
	passes int
}

func (s *passCountingStore) Update(fn func(ticket.Tx) error) error {
	return s.DB.Update(func(tx ticket.Tx) error { return fn(passCountingTx{tx, s}) })
}

type passCountingTx struct {
	ticket.Tx
	s *passCountingStore
}

func (tx passCountingTx) ForEachTicket(fn func(*ticket.Ticket) error) error {
	tx.s.passes++
	return tx.Tx.ForEachTicket(fn)
}

// Notifications to the engineers show the hour bank's balance, and
// neither they nor #time read every ticket in the store each time: the
// store keeps the minutes per period, filled by one pass when missing and
// kept in step with each #time after that.
func TestHourBankBalanceInNotificationsFromCounters(t *testing.T) {
	ag := hourBankAgreement(t) // 6h per quarter
	cs := &passCountingStore{}
	f := newTicketWithEngineers(t, withHourBank(ag), func(o *ticket.Options) {
		cs.DB = o.Store.(*store.DB)
		o.Store = cs
	})
	text := func(o *outMail) string { return strings.ReplaceAll(o.body, "\r\n", "\n") }
	first := byPurpose(f.outbox(t), "notify")
	if len(first) != 1 || !strings.Contains(text(first[0]), "Hour bank 2026-Q4: 6h of 6h left, 0m used\n") {
		t.Fatalf("the first notification lacks the untouched bank:\n%s", text(first[0]))
	}
	if cs.passes != 1 {
		t.Errorf("%d passes over the store for the first balance, want 1 (filling the counter)", cs.passes)
	}

	f.logTime(t, 1, "2h30m")
	f.logTime(t, 2, "4h")
	f.receive(t, msg("Kari <kari@customer.example>", "Re: [#HD-000001] Printer offline", "m2@customer.example"))
	notes := byPurpose(f.outbox(t), "notify")
	last := text(notes[len(notes)-1])
	if !strings.Contains(last, "Hour bank 2026-Q4: 0m of 6h left, 6h30m used, overage 30m\n") {
		t.Errorf("the follow-up's notification lacks the balance after 6h30m of work:\n%s", last)
	}
	if cs.passes != 1 {
		t.Errorf("%d passes over the store after two #time commands and a follow-up, want still 1", cs.passes)
	}
	// A new quarter (Stockholm time) starts from nothing, still without
	// a pass over the store: the periods after the first count have
	// counters from their first #time, or no work.
	f.clock.Add(40 * 24 * time.Hour) // 2027-01-02
	f.receive(t, msg("Kari <kari@customer.example>", "Re: [#HD-000001] Printer offline", "m3@customer.example"))
	f.logTime(t, 3, "1h")
	f.receive(t, msg("Kari <kari@customer.example>", "Re: [#HD-000001] Printer offline", "m4@customer.example"))
	notes = byPurpose(f.outbox(t), "notify")
	if got := text(notes[len(notes)-2]); !strings.Contains(got, "Hour bank 2027-Q1: 6h of 6h left, 0m used\n") {
		t.Errorf("the first notification of 2027-Q1 lacks the fresh bank:\n%s", got)
	}
	if got := text(notes[len(notes)-1]); !strings.Contains(got, "Hour bank 2027-Q1: 5h of 6h left, 1h used\n") {
		t.Errorf("the notification after 1h in 2027-Q1 lacks it:\n%s", got)
	}
	if cs.passes != 1 {
		t.Errorf("%d passes over the store after the new quarter, want still 1", cs.passes)
	}
	if u := f.hourUse(t, ag, "2027-Q1"); u.Used != time.Hour {
		t.Errorf("hours of 2027-Q1 by a full count: used %v, want 1h", u.Used)
	}
	// The counter agrees with the full count that reports make.
	if u := f.hourUse(t, ag, "2026-Q4"); u.Used.String() != "6h30m0s" || u.Overage.String() != "30m0s" {
		t.Errorf("hours of 2026-Q4 by a full count: used %v, overage %v; want 6h30m and 30m", u.Used, u.Overage)
	}
}

// Work logged before the store kept counters (a file of an earlier
// version) is counted by the first balance asked for.
func TestHourBankCountersFillFromEarlierWork(t *testing.T) {
	ag := hourBankAgreement(t)
	f := newFixture(t, func(o *ticket.Options) { withEngineers(o); withHourBank(ag)(o) })
	at := f.clock.Now().Add(-24 * time.Hour)
	if err := f.db.Update(func(tx ticket.Tx) error {
		return tx.PutTicket(&ticket.Ticket{ID: 900, Case: "HD-000900", Subject: "Old work", Customer: "kari@customer.example",
			State: ticket.StateOpen, Priority: 3, Created: at, Updated: at, Agreement: ag.Name,
			TimeLog: []ticket.TimeEntry{{At: at, Engineer: "Ola", Minutes: 200}}})
	}); err != nil {
		t.Fatal(err)
	}
	f.receive(t, msg("Kari <kari@customer.example>", "Printer offline", "m1@customer.example"))
	n := byPurpose(f.outbox(t), "notify")
	if len(n) != 1 || !strings.Contains(strings.ReplaceAll(n[0].body, "\r\n", "\n"), "Hour bank 2026-Q4: 2h40m of 6h left, 3h20m used\n") {
		t.Fatalf("notification lacks the earlier 3h20m:\n%s", n[0].body)
	}
}
