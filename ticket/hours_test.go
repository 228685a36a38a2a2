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
