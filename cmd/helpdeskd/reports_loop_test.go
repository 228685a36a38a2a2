package main

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// loopRig runs a reportLoop on a real store with a clock and timer the
// test plays: each sleep the loop asks for arrives on sleeps, and the
// loop wakes when the test sends on fire (or kicks it).
type loopRig struct {
	t      *testing.T
	db     *store.DB
	now    atomic.Pointer[time.Time]
	desk   atomic.Pointer[ticket.Desk]
	sleeps chan time.Duration
	fire   chan time.Time
	kick   chan struct{}
	kicks  atomic.Int32 // of the outbox sender
	cancel context.CancelFunc
	done   chan error
}

func newLoopRig(t *testing.T, now time.Time) *loopRig {
	db, err := store.Open(filepath.Join(t.TempDir(), "hd.db"), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	r := &loopRig{t: t, db: db, sleeps: make(chan time.Duration, 16), fire: make(chan time.Time), kick: make(chan struct{}, 1), done: make(chan error)}
	r.now.Store(&now)
	t.Cleanup(func() {
		if r.cancel != nil {
			r.cancel()
			<-r.done
		}
		db.Close()
	})
	return r
}

// setDesk builds a desk on the rig's store (through st, if not nil) with
// the agreement, as a start or a reload does.
func (r *loopRig) setDesk(st ticket.Store, ag *sla.Agreement) {
	r.t.Helper()
	if st == nil {
		st = r.db
	}
	ags, err := sla.NewAgreements([]*sla.Agreement{ag}, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	desk, err := ticket.NewDesk(ticket.Options{Store: st, Support: mailer.Address{Addr: "support@example.com"}, Agreements: ags,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		r.t.Fatal(err)
	}
	r.desk.Store(desk)
}

func (r *loopRig) start() {
	l := &reportLoop{
		desk: func() *ticket.Desk { return r.desk.Load() },
		now:  func() time.Time { return *r.now.Load() },
		after: func(d time.Duration) <-chan time.Time {
			r.sleeps <- d
			return r.fire
		},
		kick: r.kick,
		sent: func() { r.kicks.Add(1) },
		log:  slog.New(slog.DiscardHandler),
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- l.run(ctx) }()
}

// advance sets the clock and wakes the loop by its timer.
func (r *loopRig) advance(to time.Time) {
	r.now.Store(&to)
	r.fire <- to
}

func (r *loopRig) expectSleep(want time.Duration, why string) {
	r.t.Helper()
	if d := <-r.sleeps; d != want {
		r.t.Errorf("sleep %v, want %v (%s)", d, want, why)
	}
}

// reports counts the report mails queued.
func (r *loopRig) reports() int {
	r.t.Helper()
	n := 0
	if err := r.db.Outbox(func(env mailer.Envelope, _ bool) error {
		if env.Purpose == "report" {
			n++
		}
		return nil
	}); err != nil {
		r.t.Fatal(err)
	}
	return n
}

func jotronMonthly(t *testing.T) *sla.Agreement {
	cal, err := sla.Builtin("oslo", nil)
	if err != nil {
		t.Fatal(err)
	}
	plan := &sla.Plan{Name: "p", Calendar: cal, Priorities: map[int]sla.PriorityTargets{3: {FirstResponse: sla.Days(1)}}}
	return &sla.Agreement{Name: "Jotron", Customers: []string{"jotron.com"}, Plan: plan,
		Reports: sla.ReportSchedule{Every: []sla.Period{sla.Monthly}}, Contacts: []string{"ceo@jotron.com"}}
}

// The loop schedules the current month on start (February, which ended
// before, is not mailed), sleeps exactly until March ends in Oslo, sends
// that report then and kicks the sender.
func TestReportLoopSleepsUntilTheReportIsDue(t *testing.T) {
	r := newLoopRig(t, time.Date(2026, 3, 31, 21, 0, 0, 0, time.UTC)) // 23:00 in Oslo
	r.setDesk(nil, jotronMonthly(t))
	r.start()
	r.expectSleep(time.Hour, "the March report is due at midnight in Oslo")
	if n := r.reports(); n != 0 {
		t.Errorf("%d report mails on start, want none: no backlog", n)
	}
	r.advance(time.Date(2026, 3, 31, 22, 0, 0, 0, time.UTC))
	r.expectSleep(reportMaxSleep, "April's report is a month away: the cap")
	if n, k := r.reports(), r.kicks.Load(); n != 1 || k != 1 {
		t.Errorf("%d report mails, %d sender kicks; want the March report, kicking the sender", n, k)
	}
}

// A reload that swaps the desk kicks the loop, which schedules the new
// agreement's reports at once, before its period ends.
func TestReportLoopSchedulesAfterReload(t *testing.T) {
	r := newLoopRig(t, time.Date(2026, 3, 31, 21, 30, 0, 0, time.UTC))
	none := jotronMonthly(t)
	none.Reports = sla.ReportSchedule{}
	r.setDesk(nil, none)
	r.start()
	r.expectSleep(reportMaxSleep, "no reports configured")
	r.setDesk(nil, jotronMonthly(t))
	r.kick <- struct{}{}
	r.expectSleep(30*time.Minute, "the reloaded agreement's March report is due at midnight in Oslo")
	r.advance(time.Date(2026, 3, 31, 22, 0, 0, 0, time.UTC))
	r.expectSleep(reportMaxSleep, "April's report is a month away")
	if n := r.reports(); n != 1 {
		t.Errorf("%d report mails, want March's", n)
	}
}

// failStore fails every outbox Enqueue while fail is set.
type failStore struct {
	*store.DB
	fail atomic.Bool
}

func (s *failStore) Update(fn func(ticket.Tx) error) error {
	return s.DB.Update(func(tx ticket.Tx) error { return fn(failTx{tx, s}) })
}

type failTx struct {
	ticket.Tx
	s *failStore
}

func (tx failTx) Enqueue(env *mailer.Envelope) error {
	if tx.s.fail.Load() {
		return errors.New("disk full")
	}
	return tx.Tx.Enqueue(env)
}

// A report that cannot be queued is retried after reportRetry, not in a
// tight loop, and goes out once the queue takes it.
func TestReportLoopRetriesAFailedReport(t *testing.T) {
	r := newLoopRig(t, time.Date(2026, 3, 31, 21, 0, 0, 0, time.UTC))
	fs := &failStore{DB: r.db}
	fs.fail.Store(true)
	r.setDesk(fs, jotronMonthly(t))
	r.start()
	r.expectSleep(time.Hour, "the March report is due at midnight in Oslo")
	r.advance(time.Date(2026, 3, 31, 22, 0, 0, 0, time.UTC))
	r.expectSleep(reportRetry, "the report failed")
	fs.fail.Store(false)
	r.advance(time.Date(2026, 3, 31, 22, 5, 0, 0, time.UTC))
	r.expectSleep(reportMaxSleep, "sent; April's report is a month away")
	if n := r.reports(); n != 1 {
		t.Errorf("%d report mails, want March's once", n)
	}
}
