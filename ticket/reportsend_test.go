package ticket_test

import (
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// TestReportsFireOncePerPeriodOverAYear runs a year on an injected clock,
// waking only when NextReportAt says, with a restart in the middle and a
// clock jump back: every monthly, quarterly and yearly report goes out at
// its period's end in the agreement's zone, exactly once.
func TestReportsFireOncePerPeriodOverAYear(t *testing.T) {
	trinax := hourBankAgreement(t) // Stockholm
	trinax.Reports = []sla.Period{sla.Monthly, sla.Quarterly, sla.Yearly}
	jotron := &sla.Agreement{Name: "Jotron", Customers: []string{"jotron.com"}, Plan: trinax.Plan, Language: "nb",
		Reports: []sla.Period{sla.Yearly}, Contacts: []string{"ceo@jotron.com"}}
	path := filepath.Join(t.TempDir(), "hd.db")
	open := func() (*store.DB, *ticket.Desk) {
		db, err := store.Open(path, store.Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		ags, err := sla.NewAgreements([]*sla.Agreement{trinax, jotron}, nil)
		if err != nil {
			t.Fatal(err)
		}
		d, err := ticket.NewDesk(ticket.Options{Store: db, Support: mailer.Address{Addr: "support@example.com"},
			Agreements: ags, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return db, d
	}
	db, desk := open()
	sto := trinax.Location()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, sto).Add(time.Hour) // the 2025 reports are due at once
	end := time.Date(2027, 1, 1, 0, 0, 0, 0, sto)
	var got []string
	restarted := false
	for wakeups := 0; !now.After(end); wakeups++ {
		if wakeups > 100 {
			t.Fatal("more than 100 wake-ups in a year")
		}
		sent, err := desk.SendDueReports(now)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sent {
			got = append(got, now.In(sto).Format("2006-01-02T15:04")+" "+s)
		}
		if wakeups > 0 {
			if again, _ := desk.SendDueReports(now.Add(-48 * time.Hour)); len(again) != 0 {
				t.Errorf("%s: a clock jump back sent %v again", now, again)
			}
		}
		if !restarted && now.Month() >= time.July {
			db.Close()
			db, desk = open()
			restarted = true
		}
		now = desk.NextReportAt(now)
	}
	defer db.Close()

	var want []string
	want = append(want, "2026-01-01T01:00 Trinax Attend! 2025-12", "2026-01-01T01:00 Trinax Attend! 2025-Q4",
		"2026-01-01T01:00 Trinax Attend! 2025", "2026-01-01T01:00 Jotron 2025")
	for m := time.February; m <= time.December+1; m++ {
		at := time.Date(2026, m, 1, 0, 0, 0, 0, sto)
		prev := at.AddDate(0, -1, 0)
		want = append(want, at.Format("2006-01-02T15:04")+" Trinax Attend! "+prev.Format("2006-01"))
		if (m-1)%3 == 0 {
			want = append(want, at.Format("2006-01-02T15:04")+" Trinax Attend! "+sla.Quarterly.Label(prev))
		}
		if m == time.December+1 {
			want = append(want, at.Format("2006-01-02T15:04")+" Trinax Attend! 2026", at.Format("2006-01-02T15:04")+" Jotron 2026")
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("reports sent:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// 12+4+1 Trinax and 1 Jotron for 2026, 4 for 2025: one mail each.
	var mails int
	if err := db.Outbox(func(env mailer.Envelope, _ bool) error {
		if env.Purpose == "report" {
			mails++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if mails != len(want) {
		t.Errorf("%d report mails queued, want %d", mails, len(want))
	}
}
