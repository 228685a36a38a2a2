package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// The loop sleeps exactly until the next period ends and sends that
// period's report then; the test plays the timer.
func TestReportLoopSleepsUntilPeriodEnds(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "hd.db"), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cal, err := sla.Builtin("oslo", nil)
	if err != nil {
		t.Fatal(err)
	}
	plan := &sla.Plan{Name: "p", Calendar: cal, Priorities: map[int]sla.PriorityTargets{3: {FirstResponse: sla.Days(1)}}}
	ags, err := sla.NewAgreements([]*sla.Agreement{{Name: "Jotron", Customers: []string{"jotron.com"}, Plan: plan,
		Reports: []sla.Period{sla.Monthly}, Contacts: []string{"ceo@jotron.com"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	desk, err := ticket.NewDesk(ticket.Options{Store: db, Support: mailer.Address{Addr: "support@example.com"}, Agreements: ags,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 31, 21, 0, 0, 0, time.UTC) // 23:00 in Oslo
	sleeps := make(chan time.Duration)
	fire := make(chan time.Time)
	kicks := 0
	l := &reportLoop{
		desk: func() *ticket.Desk { return desk },
		now:  func() time.Time { return now },
		after: func(d time.Duration) <-chan time.Time {
			sleeps <- d
			return fire
		},
		sent: func() { kicks++ },
		log:  slog.New(slog.DiscardHandler),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- l.run(ctx) }()

	if d := <-sleeps; d != time.Hour {
		t.Errorf("first sleep %v, want 1h (the February report went out, March ends at midnight in Oslo)", d)
	}
	now = now.Add(time.Hour)
	fire <- now
	if d := <-sleeps; d != time.Hour {
		t.Errorf("sleep after midnight %v, want the 1h cap", d)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("run = %v, want context.Canceled", err)
	}
	var labels []string
	_ = db.Outbox(func(env mailer.Envelope, _ bool) error {
		if env.Purpose == "report" {
			labels = append(labels, env.To[0])
		}
		return nil
	})
	if len(labels) != 2 || kicks != 2 {
		t.Errorf("%d report mails (%v), %d sender kicks; want the February and March reports, each kicking the sender", len(labels), labels, kicks)
	}
}
