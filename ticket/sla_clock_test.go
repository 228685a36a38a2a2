package ticket_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// update runs fn on ticket id in one Desk transaction.
func (f *slaFixture) update(id uint64, fn func(tx ticket.Tx, t *ticket.Ticket) error) {
	f.t.Helper()
	err := f.desk.Update(func(tx ticket.Tx) error {
		t, err := tx.Ticket(id)
		if err != nil {
			return err
		}
		return fn(tx, t)
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func TestSLAPendingStopsTheClockAndACustomerReplyRestartsIt(t *testing.T) {
	f := newSLAFixture(t, nil)
	oslo := func(s string) time.Time { return local(t, "Europe/Oslo", s) }
	// Jotron P3, 3 business days = 24 business hours: due Friday 10:00,
	// warning after 18 h on Thursday 12:00.
	dec := f.receive(oslo("2026-11-24 10:00"), slaMail(customerJotron, "Radio", "p1@jotron.com", "Hei", oslo("2026-11-24 10:00")))
	if c := f.ticket(dec.TicketID).SLA.Clocks[0]; !c.Due.Equal(oslo("2026-11-27 10:00")) || !c.WarnAt.Equal(oslo("2026-11-26 12:00")) {
		t.Fatalf("due %s, warn %s", c.Due, c.WarnAt)
	}
	// Wednesday 12:00 we wait for the customer: 10 business hours used.
	kicks := f.kicks
	f.setClock(oslo("2026-11-25 12:00"))
	f.update(dec.TicketID, func(tx ticket.Tx, tk *ticket.Ticket) error {
		return f.desk.SetState(tx, tk, ticket.StatePending, oslo("2026-11-25 12:00"))
	})
	if f.kicks != kicks+1 {
		t.Errorf("Desk.Update kicked the scheduler %d times, want once", f.kicks-kicks)
	}
	if d, ok := f.next(); ok {
		t.Fatalf("a pending ticket has a deadline: %+v", d)
	}
	c := f.ticket(dec.TicketID).SLA.Clocks[0]
	if c.Running() || c.Used != 10*time.Hour {
		t.Fatalf("pending clock: running %v, used %v; want stopped with 10h used", c.Running(), c.Used)
	}
	// Nothing fires while pending, however long it takes.
	f.runUntil(oslo("2026-11-30 09:00"))
	if got := f.escalations(); len(got) != 0 {
		t.Fatalf("mails while pending: %v", got)
	}
	// The customer answers on Monday 09:00: 14 business hours are left,
	// so the promise is due Tuesday 15:00 and the warning (at 18 h) comes
	// Tuesday 09:00.
	kicks = f.kicks
	reply := f.receive(oslo("2026-11-30 09:00"), slaMail(customerJotron, "Re: [#HD-000001] Radio", "p2@jotron.com", "Her er loggen.", oslo("2026-11-30 09:00")))
	if reply.Action != ticket.ActionFollowUp || reply.Reason != "customer-replied" {
		t.Fatalf("reply decision %+v", reply)
	}
	if f.kicks != kicks+1 {
		t.Errorf("Receive kicked the scheduler %d times, want once", f.kicks-kicks)
	}
	tk := f.ticket(dec.TicketID)
	if c := tk.SLA.Clocks[0]; tk.State != ticket.StateOpen || !c.Due.Equal(oslo("2026-12-01 15:00")) || !c.WarnAt.Equal(oslo("2026-12-01 09:00")) {
		t.Fatalf("after the reply: state %s, due %s, warn %s", tk.State, c.Due, c.WarnAt)
	}
	f.runUntil(oslo("2026-12-05 00:00"))
	want := []sent{{oslo("2026-12-01 09:00"), "sla-warn", leadAddr}, {oslo("2026-12-01 15:00"), "sla-breach", managerAddr}}
	if got := f.escalations(); !sameSent(got, want) {
		t.Errorf("mails:\n%s\nwant:\n%s", joinSent(got), joinSent(want))
	}
}

func TestSLAFirstResponseStartsTheUpdateClock(t *testing.T) {
	f := newSLAFixture(t, nil)
	chicago := func(s string) time.Time { return local(t, "America/Chicago", s) }
	// Terso P1: first response within 1 h, then an update every 4 h, both
	// around the clock; warnings at 50 %.
	dec := f.receive(chicago("2027-03-14 01:30"), slaMail("ops@tersosolutions.com", "Outage: portal down", "o1@terso", "Down.", chicago("2027-03-14 01:30")))
	f.runUntil(chicago("2027-03-14 03:10"))
	f.update(dec.TicketID, func(tx ticket.Tx, tk *ticket.Ticket) error {
		return f.desk.Responded(tx, tk, chicago("2027-03-14 03:10"))
	})
	tk := f.ticket(dec.TicketID)
	if tk.State != ticket.StateOpen {
		t.Errorf("state %s after the first response, want open", tk.State)
	}
	fr := tk.SLA.Clocks[0]
	if fr.Promise != sla.PromiseFirstResponse || !fr.Met.Equal(chicago("2027-03-14 03:10")) {
		t.Errorf("first response clock %+v, want met at 03:10", fr)
	}
	f.runUntil(chicago("2027-03-14 12:00"))
	want := []sent{
		{chicago("2027-03-14 03:00"), "sla-warn", tersoOncall},
		{chicago("2027-03-14 05:10"), "sla-warn", tersoOncall},
		{chicago("2027-03-14 07:10"), "sla-breach", tersoOncall + "," + leadAddr},
		{chicago("2027-03-14 08:10"), "sla-escalate", managerAddr},
		{chicago("2027-03-14 11:10"), "sla-escalate", ctoAddr},
	}
	got := f.escalations()
	if !sameSent(got, want) {
		t.Fatalf("mails:\n%s\nwant:\n%s", joinSent(got), joinSent(want))
	}
	m := f.queued("sla-breach")[0]
	for _, s := range []string{"update promise for case HD-000001 has been broken", "Due:        Sunday 14 March 2027 07:10 CDT", "Overdue:    by 0m of business time", "> Down."} {
		if !strings.Contains(m.body, s) {
			t.Errorf("breach mail lacks %q:\n%s", s, m.body)
		}
	}
	if h := m.header.Get("X-Helpdeskd-SLA"); h != "breach update" {
		t.Errorf("X-Helpdeskd-SLA: %q", h)
	}
	if m.header.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("Auto-Submitted: %q", m.header.Get("Auto-Submitted"))
	}
	// Another answer restarts the update promise from then.
	f.update(dec.TicketID, func(tx ticket.Tx, tk *ticket.Ticket) error {
		return f.desk.Responded(tx, tk, chicago("2027-03-14 12:00"))
	})
	if d, ok := f.next(); !ok || !d.At.Equal(chicago("2027-03-14 14:00")) || d.Kind != ticket.DeadlineWarn {
		t.Errorf("next deadline %+v, want the update warning at 14:00", d)
	}
}

func TestSLAHeldMailIsDroppedWhenThePromiseIsMet(t *testing.T) {
	f := newSLAFixture(t, nil)
	chicago := func(s string) time.Time { return local(t, "America/Chicago", s) }
	dec := f.receive(chicago("2027-03-19 15:30"), slaMail("jim@tersosolutions.com", "Invoices", "i1@terso", "?", chicago("2027-03-19 15:30")))
	f.runUntil(chicago("2027-03-22 16:00")) // breached at 15:30; the lead's copy waits for Oslo's morning
	if tk := f.ticket(dec.TicketID); len(tk.SLA.Mails) != 1 || tk.SLA.Mails[0].To[0] != "support-lead" {
		t.Fatalf("held mails %+v, want the lead's", tk.SLA.Mails)
	}
	f.update(dec.TicketID, func(tx ticket.Tx, tk *ticket.Ticket) error {
		return f.desk.Responded(tx, tk, chicago("2027-03-22 16:00"))
	})
	f.runUntil(chicago("2027-03-30 00:00"))
	want := []sent{{chicago("2027-03-22 11:00"), "sla-warn", tersoOncall}, {chicago("2027-03-22 15:30"), "sla-breach", tersoOncall}}
	if got := f.escalations(); !sameSent(got, want) {
		t.Errorf("mails:\n%s\nwant:\n%s", joinSent(got), joinSent(want))
	}
}

func TestSLAEventsFireExactlyOnceAcrossRestarts(t *testing.T) {
	f := newSLAFixture(t, nil) // the scheduler handles 2 tickets per transaction
	oslo := func(s string) time.Time { return local(t, "Europe/Oslo", s) }
	for i := range 5 {
		at := oslo("2027-03-26 15:30").Add(time.Duration(i) * time.Minute)
		f.receive(at, slaMail(customerJotron, fmt.Sprintf("Sak %d", i), fmt.Sprintf("r%d@jotron.com", i), "Hei", at))
	}
	// Down from before the warnings until after them.
	f.setClock(oslo("2027-04-01 12:00"))
	if n, err := f.sched.RunDue(oslo("2027-04-01 12:00")); err != nil || n != 5 {
		t.Fatalf("RunDue = %d, %v; want 5 tickets handled", n, err)
	}
	if got := len(f.queued("sla-warn")); got != 5 {
		t.Fatalf("%d warnings, want 5", got)
	}
	for range 2 {
		f.restart()
		if n, err := f.sched.RunDue(oslo("2027-04-01 12:00")); err != nil || n != 0 {
			t.Fatalf("after restart RunDue = %d, %v; want nothing due", n, err)
		}
	}
	f.setClock(oslo("2027-04-02 09:00"))
	if n, err := f.sched.RunDue(oslo("2027-04-02 09:00")); err != nil || n != 5 {
		t.Fatalf("RunDue = %d, %v", n, err)
	}
	f.restart()
	f.runUntil(oslo("2027-05-01 00:00"))
	if w, b := len(f.queued("sla-warn")), len(f.queued("sla-breach")); w != 5 || b != 5 {
		t.Errorf("%d warnings and %d breaches, want 5 of each", w, b)
	}
	var kinds []ticket.DeadlineKind
	for _, x := range f.fired {
		kinds = append(kinds, x.Kind)
	}
	if want := slices.Repeat([]ticket.DeadlineKind{ticket.DeadlineWarn}, 5); !slices.Equal(kinds[:5], want) {
		t.Errorf("OnFired saw %v", kinds)
	}
}

func TestSLAResolvedAndReopened(t *testing.T) {
	f := newSLAFixture(t, nil)
	oslo := func(s string) time.Time { return local(t, "Europe/Oslo", s) }
	dec := f.receive(oslo("2026-11-24 10:00"), slaMail(customerJotron, "Radio", "q1@jotron.com", "Hei", oslo("2026-11-24 10:00")))
	f.update(dec.TicketID, func(tx ticket.Tx, tk *ticket.Ticket) error {
		return f.desk.SetState(tx, tk, ticket.StateResolved, oslo("2026-11-24 12:00"))
	})
	if d, ok := f.next(); ok {
		t.Fatalf("a resolved ticket has a deadline: %+v", d)
	}
	f.update(dec.TicketID, func(tx ticket.Tx, tk *ticket.Ticket) error {
		return f.desk.SetState(tx, tk, ticket.StateOpen, oslo("2026-11-30 08:00"))
	})
	// 2 business hours used before it was resolved: 22 left from Monday 08:00.
	if d, ok := f.next(); !ok || d.Kind != ticket.DeadlineWarn || !d.At.Equal(oslo("2026-12-01 16:00")) {
		t.Errorf("after reopening: %+v, want the warning at Tuesday 16:00 (18h - 2h used)", d)
	}
	f.update(dec.TicketID, func(tx ticket.Tx, tk *ticket.Ticket) error {
		return f.desk.SetState(tx, tk, ticket.StateClosed, oslo("2026-11-30 09:00"))
	})
	if d, ok := f.next(); ok {
		t.Errorf("a closed ticket has a deadline: %+v", d)
	}
	if err := f.desk.Update(func(tx ticket.Tx) error {
		tk, _ := tx.Ticket(dec.TicketID)
		return f.desk.SetState(tx, tk, "sleeping", oslo("2026-11-30 09:00"))
	}); err == nil {
		t.Error("SetState accepted an unknown state")
	}
}

func TestSLASetPriorityRetargets(t *testing.T) {
	f := newSLAFixture(t, nil)
	chicago := func(s string) time.Time { return local(t, "America/Chicago", s) }
	dec := f.receive(chicago("2027-03-19 15:30"), slaMail("jim@tersosolutions.com", "Invoices", "s1@terso", "?", chicago("2027-03-19 15:30")))
	// Raised to P1 at 16:00: 1 h on the 24x7 calendar from 15:30, with
	// 30 minutes used, is due 16:30; its 50 % warning is past and fires
	// at once.
	f.setClock(chicago("2027-03-19 16:00"))
	f.update(dec.TicketID, func(tx ticket.Tx, tk *ticket.Ticket) error {
		return f.desk.SetPriority(tx, tk, 1, chicago("2027-03-19 16:00"))
	})
	tk := f.ticket(dec.TicketID)
	if c := tk.SLA.Clocks[0]; tk.Priority != 1 || !c.Due.Equal(chicago("2027-03-19 16:30")) || c.Target != "1h" {
		t.Fatalf("after raising: priority %d, clock %+v", tk.Priority, c)
	}
	f.runUntil(chicago("2027-03-19 16:45"))
	want := []sent{{chicago("2027-03-19 16:00"), "sla-warn", tersoOncall}, {chicago("2027-03-19 16:30"), "sla-breach", tersoOncall + "," + leadAddr}}
	if got := f.escalations(); !sameSent(got, want) {
		t.Errorf("mails:\n%s\nwant:\n%s", joinSent(got), joinSent(want))
	}
	if err := f.desk.Update(func(tx ticket.Tx) error { return f.desk.SetPriority(tx, tk, 9, chicago("2027-03-19 16:45")) }); err == nil {
		t.Error("SetPriority accepted priority 9")
	}
}

func TestSLANotCovered(t *testing.T) {
	noDefault := func(x *slaExamples) *sla.Agreements {
		ags, err := sla.NewAgreements(x.agreements.All(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return ags
	}
	at := local(t, "Europe/Oslo", "2026-11-23 09:00")
	for _, tt := range []struct {
		name    string
		reply   bool
		purpose string
	}{
		{"unknown_sender_without_default_gets_an_ack_without_a_promise", false, "ack"},
		{"unknown_sender_gets_the_not-covered_reply_when_configured", true, "not-covered"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newSLAFixture(t, nil)
			f.mod = func(o *ticket.Options) { o.Agreements, o.NotCoveredReply = noDefault(f.x), tt.reply }
			f.restart()
			dec := f.receive(at, slaMail("someone@unknown.example", "Hello", "n1@x", "Hi", at))
			ms := f.queued("ack", "not-covered")
			if len(ms) != 1 || ms[0].env.Purpose != tt.purpose {
				t.Fatalf("answers %v, want %s", purposes(ms), tt.purpose)
			}
			if strings.Contains(ms[0].body, "You will hear from us") || strings.Contains(ms[0].body, "has expired") {
				t.Errorf("answer promises or misstates:\n%s", ms[0].body)
			}
			tk := f.ticket(dec.TicketID)
			if tk.SLA == nil || tk.SLA.Coverage != "not covered" || !slices.Contains(tk.Flags, "not-covered") {
				t.Errorf("ticket SLA %+v, flags %v", tk.SLA, tk.Flags)
			}
			if _, ok := f.next(); ok {
				t.Error("a ticket without plan has a deadline")
			}
		})
	}
}

func TestSLAUnknownEscalationGroupIsAnError(t *testing.T) {
	x := exampleSLA(t)
	delete(x.groups, "cto")
	f := newSLAFixture(t, nil)
	_, err := ticket.NewDesk(ticket.Options{Store: f.db, Support: supportAddress(), Agreements: x.agreements, EscalationGroups: x.groups})
	if err == nil || !strings.Contains(err.Error(), `plan "terso" escalates to "cto"`) {
		t.Fatalf("NewDesk = %v, want an error naming the plan and the entry", err)
	}
}

func TestSLARequiredFieldsSentLaterAreStruckOff(t *testing.T) {
	f := newSLAFixture(t, nil)
	tor := func(s string) time.Time { return local(t, "America/Toronto", s) }
	dec := f.receive(tor("2026-11-23 10:00"), slaMail("pbx@contoso.example", "Voicemail", "v1@contoso", "Host ID: 1", tor("2026-11-23 10:00")))
	if got := f.ticket(dec.TicketID).SLA.MissingFields; len(got) != 4 {
		t.Fatalf("missing %v", got)
	}
	f.receive(tor("2026-11-23 11:00"), slaMail("pbx@contoso.example", "Re: [#HD-000001] Voicemail", "v2@contoso", emtFieldsFilled, tor("2026-11-23 11:00")))
	if got := f.ticket(dec.TicketID).SLA.MissingFields; len(got) != 0 {
		t.Errorf("still missing %v after the customer sent them", got)
	}
}

// TestSLAFollowsEngineerMail drives the clocks through the engineer code's
// hooks (Options.OnResponse, OnStateChange): an engineer's relayed answer
// meets the first response, "#status pending" stops the clocks, and the
// customer's reply restarts them.
func TestSLAFollowsEngineerMail(t *testing.T) {
	f := newSLAFixture(t, func(o *ticket.Options) {
		o.Engineers = []ticket.Engineer{{Name: "Eva", Addr: engineerAddr}}
	})
	chicago := func(s string) time.Time { return local(t, "America/Chicago", s) }
	dec := f.receive(chicago("2027-03-15 10:00"), slaMail("ops@tersosolutions.com", "Outage: portal down", "e1@terso", "Down.", chicago("2027-03-15 10:00")))
	f.receive(chicago("2027-03-15 10:10"), slaMail(engineerAddr, "Re: [#HD-000001] Outage: portal down", "e2@example.com",
		"#status pending\nWe restarted the portal. Does it work for you now?", chicago("2027-03-15 10:10")))
	tk := f.ticket(dec.TicketID)
	if r := f.queued("reply"); len(r) != 1 || !strings.Contains(r[0].body, "We restarted the portal") {
		t.Fatalf("the engineer's answer was not relayed: %v", purposes(f.queued()))
	}
	fr, upd := tk.SLA.Clocks[0], tk.SLA.Clocks[len(tk.SLA.Clocks)-1]
	if tk.State != ticket.StatePending || !fr.Met.Equal(chicago("2027-03-15 10:10")) || upd.Promise != sla.PromiseUpdate || upd.Running() {
		t.Fatalf("after the engineer's answer: state %s, first response %+v, last clock %+v", tk.State, fr, upd)
	}
	if d, ok := f.next(); ok {
		t.Fatalf("a pending ticket has a deadline: %+v", d)
	}
	// Two hours later the customer answers: the update promise (4 h,
	// around the clock, warning at 50 %) runs from then.
	f.receive(chicago("2027-03-15 12:10"), slaMail("ops@tersosolutions.com", "Re: [#HD-000001] Outage: portal down", "e3@terso", "Still down.", chicago("2027-03-15 12:10")))
	tk = f.ticket(dec.TicketID)
	upd = tk.SLA.Clocks[len(tk.SLA.Clocks)-1]
	if tk.State != ticket.StateOpen || !upd.Due.Equal(chicago("2027-03-15 16:10")) {
		t.Fatalf("after the customer's reply: state %s, update clock %+v", tk.State, upd)
	}
	if d, ok := f.next(); !ok || d.Kind != ticket.DeadlineWarn || !d.At.Equal(chicago("2027-03-15 14:10")) {
		t.Errorf("next deadline %+v, want the update warning at 14:10", d)
	}
}
