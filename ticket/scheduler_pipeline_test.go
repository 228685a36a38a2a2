package ticket_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// The scheduler prepares and writes tickets in order while their mails
// are composed on other goroutines, and prepares the next batch while a
// batch commits. None of that may change what is written. These tests
// run a backlog of warnings through the scheduler and compare the outbox
// and the tickets with what handling one ticket per transaction gives.

const pipelineTickets = 11

// pipelineStore is a store holding the benchmark's first tickets, all of
// whose warnings are due at pipelineNow.
func pipelineStore(t *testing.T, mod func(*ticket.Ticket)) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "hd.db"), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	err = db.Update(func(tx ticket.Tx) error {
		for id := uint64(1); id <= pipelineTickets; id++ {
			tk, e, d := benchTicket(id)
			if mod != nil {
				mod(tk)
			}
			for _, err := range []error{tx.PutTicket(tk), tx.AddEntry(id, e), tx.SetDeadline(d)} {
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

var pipelineNow = benchBase.Add(time.Duration(pipelineTickets) * benchStep)

// pipelineDesk has the benchmark's plan, and a plan "broken" whose
// warnings go to a group with an address no mail can be composed to.
func pipelineDesk(t *testing.T, st ticket.Store) *ticket.Desk {
	t.Helper()
	bench := benchPlan(t).All()[0]
	broken := &sla.Plan{Name: "broken", Calendar: bench.Plan.Calendar, Priorities: bench.Plan.Priorities,
		Escalation: sla.Escalation{Warn: []string{"broken"}, Breach: []string{"broken"}}}
	ags, err := sla.NewAgreements([]*sla.Agreement{bench,
		{Name: "Broken", Customers: []string{"broken.example"}, Plan: broken, Language: "en"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return pipelineNow }
	d, err := ticket.NewDesk(ticket.Options{Store: st, Support: mailer.Address{Addr: supportAddr}, Agreements: ags,
		EscalationGroups: map[string]ticket.EscalationGroup{"broken": {Addresses: []string{"not an address"}}},
		Now:              now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// outcome is what a run left: the outbox in order and every ticket, with
// the random part of Message-IDs taken out.
func outcome(t *testing.T, db *store.DB) string {
	t.Helper()
	var b strings.Builder
	var ids []string
	err := db.Outbox(func(env mailer.Envelope, failed bool) error {
		ids = append(ids, env.MessageID)
		fmt.Fprintf(&b, "mail %d to %v purpose %s case %s failed %v\n%s\n", env.ID, env.To, env.Purpose, env.Case, failed, env.Raw)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx ticket.Tx) error {
		for id := uint64(1); id <= pipelineTickets; id++ {
			tk, err := tx.Ticket(id)
			if err != nil {
				return err
			}
			j, err := json.Marshal(tk)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "ticket %d: %s\n", id, j)
		}
		dls, err := tx.DueDeadlines(benchBase.Add(1000*time.Hour), 0)
		fmt.Fprintf(&b, "deadlines %+v\n", dls)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for i, id := range ids {
		out = strings.ReplaceAll(out, id, fmt.Sprintf("<message %d>", i))
	}
	return out
}

// hidingStore gives transactions with nothing but ticket.Tx's methods:
// the scheduler then neither looks ahead nor reads history newest first.
type hidingStore struct{ db *store.DB }

type plainTx struct{ ticket.Tx }

func (s hidingStore) Update(fn func(ticket.Tx) error) error {
	return s.db.Update(func(tx ticket.Tx) error { return fn(plainTx{tx}) })
}

func (s hidingStore) View(fn func(ticket.Tx) error) error {
	return s.db.View(func(tx ticket.Tx) error { return fn(plainTx{tx}) })
}

func runPipeline(t *testing.T, st ticket.Store, batch int) int {
	t.Helper()
	sched := ticket.NewScheduler(pipelineDesk(t, st), ticket.SchedulerOptions{BatchSize: batch, Logger: slog.New(slog.DiscardHandler)})
	n, err := sched.RunDue(pipelineNow)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSchedulerBatchesWriteWhatOneByOneWrites(t *testing.T) {
	// Tickets 4 and 9 are on the broken plan: their mails cannot be
	// composed, so they are set aside for a retry with nothing written.
	broken := func(tk *ticket.Ticket) {
		if tk.ID == 4 || tk.ID == 9 {
			tk.SLA.Plan = "broken"
		}
	}
	ref := pipelineStore(t, broken)
	if n := runPipeline(t, ref, 1); n != pipelineTickets {
		t.Fatalf("one by one: handled %d, want %d", n, pipelineTickets)
	}
	want := outcome(t, ref)
	for _, must := range []string{`ticket 4: {"id":4`, "Kind:retry", "mail 1 to [oncall@example.com] purpose sla-warn case HD-000001"} {
		if !strings.Contains(want, must) {
			t.Fatalf("the reference run lacks %q:\n%s", must, want)
		}
	}
	if strings.Contains(want, "case HD-000004") || strings.Contains(want, "case HD-000009") {
		t.Fatalf("mail queued for a ticket whose mail cannot be composed:\n%s", want)
	}
	for _, c := range []struct {
		name  string
		batch int
		hide  bool
	}{
		{"batches_with_lookahead", 3, false},
		{"one_batch", 100, false},
		{"batches_without_lookahead_or_newest_first_history", 3, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := pipelineStore(t, broken)
			var st ticket.Store = db
			if c.hide {
				st = hidingStore{db}
			}
			if n := runPipeline(t, st, c.batch); n != pipelineTickets {
				t.Fatalf("handled %d, want %d", n, pipelineTickets)
			}
			if got := outcome(t, db); got != want {
				t.Errorf("outcome differs from one by one:\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// interveningStore commits another transaction before the scheduler's
// second one: while the first batch committed, the lookahead prepared
// the second from what is no longer current.
type interveningStore struct {
	*store.DB
	n       int
	between func(ticket.Tx) error
}

func (s *interveningStore) Update(fn func(ticket.Tx) error) error {
	if s.n++; s.n == 2 {
		if err := s.DB.Update(s.between); err != nil {
			return err
		}
	}
	return s.DB.Update(fn)
}

// A ticket changed between two batches is handled as it is then: the
// work the lookahead did on it is thrown away, and neither the change nor
// the mail is lost.
func TestSchedulerLookaheadYieldsToOtherWriters(t *testing.T) {
	db := pipelineStore(t, nil)
	st := &interveningStore{DB: db}
	desk := pipelineDesk(t, st)
	const renamed = "Printer 5 on floor 3 now on fire"
	st.between = func(tx ticket.Tx) error {
		tk, err := tx.Ticket(5)
		if err != nil {
			return err
		}
		tk.Subject = renamed
		return tx.PutTicket(tk)
	}
	sched := ticket.NewScheduler(desk, ticket.SchedulerOptions{BatchSize: 3, Logger: slog.New(slog.DiscardHandler)})
	if n, err := sched.RunDue(pipelineNow); err != nil || n != pipelineTickets {
		t.Fatalf("RunDue = %d, %v", n, err)
	}
	if st.n < 3 {
		t.Fatalf("%d write transactions; the test needs a second batch", st.n)
	}
	var mail5 []byte
	err := db.Outbox(func(env mailer.Envelope, _ bool) error {
		if env.Case == "HD-000005" {
			mail5 = env.Raw
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(mail5, []byte(renamed)) {
		t.Errorf("the warning of HD-000005 does not carry its new subject:\n%s", mail5)
	}
	var tk *ticket.Ticket
	_ = db.View(func(tx ticket.Tx) (err error) { tk, err = tx.Ticket(5); return err })
	if tk.Subject != renamed || tk.SLA.Clocks[0].Warned.IsZero() {
		t.Errorf("ticket 5: subject %q, warned %v; want the new subject and warned", tk.Subject, tk.SLA.Clocks[0].Warned)
	}
}
