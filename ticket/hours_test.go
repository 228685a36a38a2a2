package ticket_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// hourBankAgreement is Trinax Attend!: 6 h per quarter, in Stockholm time.
func hourBankAgreement(t testing.TB) *sla.Agreement {
	t.Helper()
	plan := &sla.Plan{Name: "trinax-attend", Calendar: builtinCal(t, "24x7", zone(t, "Europe/Stockholm")),
		Priorities: every(first(sla.Hours(8 * time.Hour)))}
	return &sla.Agreement{Name: "Trinax Attend!", Customers: []string{"customer.example"}, Plan: plan, Language: "sv",
		HourBank: sla.HourBank{Hours: 6 * time.Hour, Per: sla.Quarterly}, Contacts: []string{"Boss@Customer.example"}}
}

func withHourBank(ag *sla.Agreement) func(*ticket.Options) {
	return func(o *ticket.Options) {
		ags, err := sla.NewAgreements([]*sla.Agreement{ag}, nil)
		if err != nil {
			panic(err)
		}
		o.Agreements = ags
	}
}

func (f *fixture) logTime(t *testing.T, n int, d string) {
	t.Helper()
	dec := f.receive(t, engMail("ola@example.com", "Re: [#HD-000001] Printer offline", fmt.Sprintf("time%d@example.com", n), "#time "+d+"\n"))
	if dec.Action != ticket.ActionCommands {
		t.Fatalf("#time %s: action %s (%s), want commands", d, dec.Action, dec.Reason)
	}
}

func (f *fixture) hourUse(t *testing.T, ag *sla.Agreement, label string) ticket.HourUse {
	t.Helper()
	var u ticket.HourUse
	if err := f.db.View(func(tx ticket.Tx) (err error) {
		u, err = ticket.HourBankPeriod(tx, ag, label)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestHourBankWarnsOnceAndRecordsOverage(t *testing.T) {
	ag := hourBankAgreement(t)
	f := newTicketWithEngineers(t, withHourBank(ag))

	steps := []struct {
		log         string
		wantBalance string
		wantNotices int // hours-warn mails queued so far (contacts + engineers)
	}{
		{"4h", "4h of 6h used, 2h left", 0},
		{"1h", "5h of 6h used, 1h left", 2}, // 83 % ≥ 80 %: the warn level
		{"30m", "5h30m of 6h used, 30m left", 2},
		{"1h", "6h30m of 6h used, 0m left, overage 30m", 4}, // beyond the bank
		{"1h", "7h30m of 6h used, 0m left, overage 1h30m", 4},
	}
	for i, s := range steps {
		f.clock.Add(time.Hour)
		f.logTime(t, i, s.log)
		out := f.outbox(t)
		confirms := byPurpose(out, "confirm")
		if len(confirms) == 0 || !strings.Contains(confirms[len(confirms)-1].body, "hour bank Trinax Attend! 2026-Q4: "+s.wantBalance) {
			t.Errorf("step %d (#time %s): confirmation lacks the balance %q", i, s.log, s.wantBalance)
		}
		if got := len(byPurpose(out, "hours-warn")); got != s.wantNotices {
			t.Errorf("step %d (#time %s): %d hour bank notices, want %d", i, s.log, got, s.wantNotices)
		}
	}
	notices := byPurpose(f.outbox(t), "hours-warn")
	if len(notices) == 4 {
		if to := notices[0].env.To; len(to) != 1 || to[0] != "boss@customer.example" {
			t.Errorf("warn mail to the customer went to %v", to)
		}
		if s := notices[0].subject(t); !strings.Contains(s, "83 % av timbanken") {
			t.Errorf("customer's warn mail is not in the agreement's language: %q", s)
		}
		if !strings.Contains(notices[3].body, "Overage:    30m") || strings.Join(notices[3].env.To, ",") != "ola@example.com,siri@example.com" {
			t.Errorf("engineers' overage mail: to %v\n%s", notices[3].env.To, notices[3].body)
		}
	}
	u := f.hourUse(t, ag, "2026-Q4")
	if u.Used != 450*time.Minute || u.Overage != 90*time.Minute || u.Remaining != 0 || len(u.Entries) != 5 || u.Percent() != 125 {
		t.Errorf("HourBankPeriod = used %v overage %v remaining %v entries %d percent %d; want 7h30m, 1h30m, 0, 5, 125",
			u.Used, u.Overage, u.Remaining, len(u.Entries), u.Percent())
	}
}

func TestHourBankPeriodRollsOverAtLocalMidnight(t *testing.T) {
	ag := hourBankAgreement(t)
	f := newTicketWithEngineers(t, withHourBank(ag))
	// 22:59 UTC on 31 December is 23:59 in Stockholm: still Q4.
	f.clock.Add(time.Date(2026, 12, 31, 22, 59, 0, 0, time.UTC).Sub(f.clock.Now()))
	f.logTime(t, 1, "15m")
	f.clock.Add(time.Minute) // 00:00 on 1 January in Stockholm
	f.logTime(t, 2, "45m")

	if q4 := f.hourUse(t, ag, "2026-Q4"); q4.Used != 15*time.Minute || len(q4.Entries) != 1 {
		t.Errorf("2026-Q4 used %v in %d entries, want 15m in 1", q4.Used, len(q4.Entries))
	}
	q1 := f.hourUse(t, ag, "2027-Q1")
	if q1.Used != 45*time.Minute || q1.Remaining != 5*time.Hour+15*time.Minute || q1.Start.Format(time.RFC3339) != "2027-01-01T00:00:00+01:00" {
		t.Errorf("2027-Q1 = used %v remaining %v from %s; want 45m, 5h15m, 2027-01-01T00:00:00+01:00", q1.Used, q1.Remaining, q1.Start.Format(time.RFC3339))
	}
	var err error
	_ = f.db.View(func(tx ticket.Tx) error { _, err = ticket.HourBankPeriod(tx, ag, "2027-01"); return nil })
	if err == nil {
		t.Error("a monthly label for a quarterly bank was accepted")
	}
}

// carryOverAgreement is hourBankAgreement (6 h per quarter, Stockholm)
// with carry-over, in force from 1 October 2026: 2026-Q4 is the first
// period and has nothing carried in.
func carryOverAgreement(t testing.TB) *sla.Agreement {
	t.Helper()
	ag := hourBankAgreement(t)
	ag.HourBank.CarryOver = true
	ag.ValidFrom = time.Date(2026, 10, 1, 0, 0, 0, 0, ag.Location())
	return ag
}

func (f *fixture) setClock(at time.Time) { f.clock.Add(at.Sub(f.clock.Now())) }

// lastBalance is the hour bank line of the engineer's latest confirmation.
func (f *fixture) lastBalance(t *testing.T) string {
	t.Helper()
	confirms := byPurpose(f.outbox(t), "confirm")
	if len(confirms) == 0 {
		t.Fatal("no confirmation queued")
	}
	for line := range strings.Lines(confirms[len(confirms)-1].body) {
		if i := strings.Index(line, "hour bank "); i >= 0 {
			return strings.TrimSpace(line[i:])
		}
	}
	t.Fatalf("confirmation has no hour bank line:\n%s", confirms[len(confirms)-1].body)
	return ""
}

func TestHourBankCarryOver(t *testing.T) {
	ag := carryOverAgreement(t)
	f := newTicketWithEngineers(t, withHourBank(ag))
	h := time.Hour
	stockholm := ag.Location()
	at := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 10, 0, 0, 0, stockholm) }

	steps := []struct {
		at          time.Time
		log         string
		wantBalance string
		wantNotices int    // hours-warn mails so far (contacts + engineers)
		wantSubject string // of the customer's latest notice, when one is new
	}{
		// The first period: nothing carried in; 2h of the 6h left over.
		{at(2026, 11, 24), "4h", "2026-Q4: 4h of 6h used, 2h left", 0, ""},
		// The 2h carry into 2027-Q1 and are used first.
		{at(2027, 1, 15), "1h", "2027-Q1: 1h of 8h used (incl. 2h carried over from 2026-Q4), 7h left", 0, ""},
		// 7h of 8h is 87 %: a warning, not overage, although 7h is more
		// than the base 6h.
		{at(2027, 2, 1), "6h", "2027-Q1: 7h of 8h used (incl. 2h carried over from 2026-Q4), 1h left", 2, "87 % av timbanken"},
		// 2027-Q2 gets the 1h of Q1's own 6h that was left, nothing of
		// Q1's carried-in 2h; no work in Q2, so its 1h expires and Q3 gets
		// Q2's base 6h, not 7h.
		{at(2027, 7, 10), "13h", "2027-Q3: 13h of 12h used (incl. 6h carried over from 2027-Q2), 0m left, overage 1h", 4, "Timbanken är förbrukad"},
		{at(2027, 8, 1), "30m", "2027-Q3: 13h30m of 12h used (incl. 6h carried over from 2027-Q2), 0m left, overage 1h30m", 4, ""},
		// Q3 used all of its base: nothing carries into Q4, whose warn
		// level is mailed again (once per period).
		{at(2027, 10, 5), "5h", "2027-Q4: 5h of 6h used, 1h left", 6, "83 % av timbanken"},
	}
	for i, s := range steps {
		f.setClock(s.at)
		f.logTime(t, i, s.log)
		if got := f.lastBalance(t); got != "hour bank Trinax Attend! "+s.wantBalance {
			t.Errorf("step %d (#time %s on %s): balance\n  %s\nwant\n  hour bank Trinax Attend! %s", i, s.log, s.at.Format(time.DateOnly), got, s.wantBalance)
		}
		notices := byPurpose(f.outbox(t), "hours-warn")
		if len(notices) != s.wantNotices {
			t.Errorf("step %d (#time %s on %s): %d hour bank notices, want %d", i, s.log, s.at.Format(time.DateOnly), len(notices), s.wantNotices)
			continue
		}
		if s.wantSubject != "" {
			// The customer's mail comes first, then the engineers'.
			if subj := notices[len(notices)-2].subject(t); !strings.Contains(subj, s.wantSubject) {
				t.Errorf("step %d: customer's notice %q, want it to say %q", i, subj, s.wantSubject)
			}
		}
	}
	if notices := byPurpose(f.outbox(t), "hours-warn"); len(notices) == 6 {
		if body := notices[2].body; !strings.Contains(body, "Ram:            12h, inkl. 6h överförda från 2027-Q2") || !strings.Contains(body, "Övertid:        1h") {
			t.Errorf("customer's overage mail does not show the carried-over hours:\n%s", body)
		}
		if body := notices[3].body; !strings.Contains(body, "Allowance:  12h, incl. 6h carried over from 2027-Q2") {
			t.Errorf("engineers' overage mail does not show the carried-over hours:\n%s", body)
		}
		if body := notices[4].body; strings.Contains(body, "inkl.") {
			t.Errorf("2027-Q4 had nothing carried in, yet its notice says so:\n%s", body)
		}
	}

	periods := []struct {
		label                                   string
		carried, allowance, used, left, overage time.Duration
		from                                    string
	}{
		{"2026-Q3", 0, 6 * h, 0, 6 * h, 0, ""}, // before valid_from: no chain
		{"2026-Q4", 0, 6 * h, 4 * h, 2 * h, 0, ""},
		{"2027-Q1", 2 * h, 8 * h, 7 * h, 1 * h, 0, "2026-Q4"},
		{"2027-Q2", 1 * h, 7 * h, 0, 7 * h, 0, "2027-Q1"},
		{"2027-Q3", 6 * h, 12 * h, 13*h + 30*time.Minute, 0, 90 * time.Minute, "2027-Q2"},
		{"2027-Q4", 0, 6 * h, 5 * h, 1 * h, 0, ""},
		{"2028-Q1", 1 * h, 7 * h, 0, 7 * h, 0, "2027-Q4"},
	}
	for _, p := range periods {
		u := f.hourUse(t, ag, p.label)
		if u.CarriedIn != p.carried || u.Allowance != p.allowance || u.Used != p.used || u.Remaining != p.left || u.Overage != p.overage || u.CarriedFrom != p.from {
			t.Errorf("%s: carried in %v from %q, allowance %v, used %v, remaining %v, overage %v;\nwant %v from %q, %v, %v, %v, %v",
				p.label, u.CarriedIn, u.CarriedFrom, u.Allowance, u.Used, u.Remaining, u.Overage, p.carried, p.from, p.allowance, p.used, p.left, p.overage)
		}
	}
}

func TestHourBankCarryOverRollsOverAtLocalMidnight(t *testing.T) {
	ag := carryOverAgreement(t)
	f := newTicketWithEngineers(t, withHourBank(ag))
	// 22:59 UTC on 31 December is 23:59 in Stockholm: still 2026-Q4, so
	// 5h45m carry into 2027-Q1.
	f.setClock(time.Date(2026, 12, 31, 22, 59, 0, 0, time.UTC))
	f.logTime(t, 1, "15m")
	if got, want := f.lastBalance(t), "hour bank Trinax Attend! 2026-Q4: 15m of 6h used, 5h45m left"; got != want {
		t.Errorf("at 23:59: %q, want %q", got, want)
	}
	f.clock.Add(time.Minute) // 00:00 on 1 January in Stockholm
	f.logTime(t, 2, "45m")
	if got, want := f.lastBalance(t), "hour bank Trinax Attend! 2027-Q1: 45m of 11h45m used (incl. 5h45m carried over from 2026-Q4), 11h left"; got != want {
		t.Errorf("at 00:00: %q, want %q", got, want)
	}
}

// countingTx counts the passes over the store.
type countingTx struct {
	ticket.Tx
	passes int
}

func (c *countingTx) ForEachTicket(fn func(*ticket.Ticket) error) error {
	c.passes++
	return c.Tx.ForEachTicket(fn)
}

func TestHourBankCarryOverReadsTheStoreOnce(t *testing.T) {
	ag := carryOverAgreement(t)
	ag.HourBank.Per = sla.Monthly
	ag.ValidFrom = time.Date(2020, 1, 1, 0, 0, 0, 0, ag.Location()) // 9 years of months before the one asked
	f := newTicketWithEngineers(t, withHourBank(ag))
	// 8h in 2026-11: first the 6h carried in from October, then 2h of
	// November's own 6h; the other 4h carry into December.
	f.logTime(t, 1, "8h")

	err := f.db.View(func(tx ticket.Tx) error {
		ctx := &countingTx{Tx: tx}
		u, err := ticket.HourBankPeriod(ctx, ag, "2028-12")
		if err != nil {
			return err
		}
		if ctx.passes != 1 || u.CarriedIn != 6*time.Hour {
			t.Errorf("2028-12: %d passes over the store, carried in %v; want 1 pass and 6h", ctx.passes, u.CarriedIn)
		}
		// The report's passes for its cases are not the bank's business:
		// count those of the same report without a bank.
		noBank := *ag
		noBank.HourBank = sla.HourBank{}
		ctx.passes = 0
		if _, err := ticket.BuildAgreementReport(ctx, &noBank, "2026"); err != nil {
			return err
		}
		casePasses := ctx.passes
		ctx.passes = 0
		r, err := ticket.BuildAgreementReport(ctx, ag, "2026")
		if err != nil {
			return err
		}
		if ctx.passes-casePasses != 1 || len(r.Hours) != 12 {
			t.Errorf("yearly report on a monthly bank: %d passes over the store for the bank's %d months; want 1", ctx.passes-casePasses, len(r.Hours))
		}
		if len(r.Hours) == 12 && (r.Hours[10].CarriedIn != 6*time.Hour || r.Hours[10].Used != 8*time.Hour || r.Hours[11].CarriedIn != 4*time.Hour || r.Hours[11].Allowance != 10*time.Hour) {
			t.Errorf("report: November carried %v used %v, December carried %v allowance %v; want 6h, 8h, 4h, 10h",
				r.Hours[10].CarriedIn, r.Hours[10].Used, r.Hours[11].CarriedIn, r.Hours[11].Allowance)
		}
		text, csv, err := ticket.RenderReport(r, "sv", "Example Support")
		if err != nil {
			return err
		}
		if !strings.Contains(text.Body, "2026-12: 0m av 10h förbrukat (inkl. 4h överförda från 2026-11), 10h kvar") {
			t.Errorf("report text lacks December's carry-over:\n%s", text.Body)
		}
		if !strings.Contains(string(csv), "hour bank 2026-12,carried in minutes,240\n") || !strings.Contains(string(csv), "hour bank 2026-12,allowance minutes,600\n") {
			t.Errorf("report CSV lacks December's carry-over:\n%s", csv)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
