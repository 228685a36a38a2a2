package ticket

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/helpdeskd/helpdeskd/sla"
)

// DeadlineKind says what happens when a deadline comes.
type DeadlineKind string

// Deadline kinds.
const (
	DeadlineWarn     DeadlineKind = "warn"     // WarnAt of a promise's business time has passed
	DeadlineBreach   DeadlineKind = "breach"   // a promise is missed
	DeadlineEscalate DeadlineKind = "escalate" // an escalation step after a breach
	DeadlineMail     DeadlineKind = "mail"     // a held escalation mail: the recipients' office opens
	DeadlineRetry    DeadlineKind = "retry"    // handling the ticket failed; try again
)

// Deadline is an entry of the deadline index: ticket TicketID has an SLA
// event of Kind at At. Each ticket has at most one entry, its earliest
// event; handling it fires every event then due and files the next.
type Deadline struct {
	At       time.Time
	TicketID uint64
	Kind     DeadlineKind
}

// slaEvent is one thing a ticket's SLA state has coming.
type slaEvent struct {
	at    time.Time
	kind  DeadlineKind
	clock *Clock
	mail  *HeldMail // for DeadlineMail
}

// nextEvent returns t's earliest SLA event. Stopped and met clocks have
// none; a held mail waits while its promise's clock is stopped.
func (d *Desk) nextEvent(t *Ticket, plan *sla.Plan) (slaEvent, bool) {
	var best slaEvent
	found := false
	consider := func(e slaEvent) {
		if !found || e.at.Before(best.at) {
			best, found = e, true
		}
	}
	for _, c := range t.SLA.Clocks {
		if !c.Running() {
			continue
		}
		switch {
		case c.Breached.IsZero():
			if c.Warned.IsZero() && !c.WarnAt.IsZero() {
				consider(slaEvent{at: c.WarnAt, kind: DeadlineWarn, clock: c})
			}
			consider(slaEvent{at: c.Due, kind: DeadlineBreach, clock: c})
		case c.Steps < len(plan.Escalation.Then):
			consider(slaEvent{at: plan.EscalationAt(t.Priority, c.Due, plan.Escalation.Then[c.Steps]), kind: DeadlineEscalate, clock: c})
		}
	}
	for _, m := range t.SLA.Mails {
		if c := t.SLA.clock(m.Promise); c != nil && c.Running() {
			consider(slaEvent{at: m.At, kind: DeadlineMail, clock: c, mail: m})
		}
	}
	return best, found
}

// updateDeadline files t's next SLA event in the deadline index, first
// dropping held mails whose promise was met or has gone.
func (d *Desk) updateDeadline(tx Tx, t *Ticket) error {
	plan := d.planOf(t)
	if plan == nil {
		if t.SLA == nil || d.o.Agreements == nil {
			return nil
		}
		return tx.ClearDeadline(t.ID)
	}
	st := t.SLA
	kept := st.Mails[:0]
	for _, m := range st.Mails {
		if c := st.clock(m.Promise); c != nil && c.Met.IsZero() {
			kept = append(kept, m)
		}
	}
	clear(st.Mails[len(kept):])
	st.Mails = kept
	if len(st.Mails) == 0 {
		st.Mails = nil
	}
	e, ok := d.nextEvent(t, plan)
	if !ok {
		return tx.ClearDeadline(t.ID)
	}
	return tx.SetDeadline(Deadline{At: e.at, TicketID: t.ID, Kind: e.kind})
}

// SchedulerOptions configure a Scheduler. The zero value is ready to use.
type SchedulerOptions struct {
	// BatchSize is how many due tickets one transaction handles; a
	// backlog (after downtime) is worked off in such batches, each one
	// commit (two fsyncs) holding the store's writer for about 0.1 ms per
	// ticket. Zero: 1024.
	BatchSize int
	// RetryAfter is how long to wait after a failed run, and before a
	// ticket whose events could not be handled is tried again. Zero: 1m.
	RetryAfter time.Duration
	// OnFired, when set, is called after each committed batch with the
	// SLA events it fired (metrics; kicking the outbox sender).
	OnFired func([]Fired)
	// Desk, when set, returns the desk to work with, looked up once per
	// run: a daemon that reloads its configuration replaces its desk.
	// Zero: the desk given to NewScheduler.
	Desk func() *Desk
	// Logger: zero means the Desk's.
	Logger *slog.Logger
}

// Fired is one SLA event the scheduler handled.
type Fired struct {
	TicketID uint64
	Case     string
	Promise  sla.Promise
	// Kind is DeadlineWarn, DeadlineBreach, DeadlineEscalate or
	// DeadlineMail (a held mail went out).
	Kind DeadlineKind
	Step int // escalation step, 1-based, for DeadlineEscalate
	// Mailed lists the addresses an escalation mail was queued to now;
	// HeldUntil is when the rest of the recipients get it.
	Mailed    []string
	HeldUntil time.Time
}

// Scheduler fires SLA events when they come due. One goroutine (Run)
// sleeps until the earliest deadline in the store's index, or until
// kicked because deadlines changed; it never polls at a fixed interval,
// never runs a goroutine per ticket and never loads tickets that are not
// due. Each event is fired in the same transaction that removes it from
// the index and queues its mail, so it fires once, across restarts too.
type Scheduler struct {
	desk func() *Desk
	o    SchedulerOptions
	log  *slog.Logger
	kick chan struct{}
	next atomic.Int64 // unix nanoseconds of the earliest deadline; 0: none
}

// NewScheduler returns a scheduler for d's tickets.
func NewScheduler(d *Desk, o SchedulerOptions) *Scheduler {
	if o.BatchSize <= 0 {
		o.BatchSize = 1024
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = time.Minute
	}
	if o.Logger == nil {
		o.Logger = d.log
	}
	desk := o.Desk
	if desk == nil {
		desk = func() *Desk { return d }
	}
	return &Scheduler{desk: desk, o: o, log: o.Logger, kick: make(chan struct{}, 1)}
}

// Kick tells the scheduler that the deadline index changed. It never
// blocks; wire it to Options.OnDeadlines.
func (s *Scheduler) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Next returns the earliest deadline as of the last run; ok is false when
// there was none.
func (s *Scheduler) Next() (at time.Time, ok bool) {
	n := s.next.Load()
	if n == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, n), true
}

// Run fires due events until ctx is cancelled. It returns ctx's error.
func (s *Scheduler) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.kick:
		case <-timer.C:
		}
		wait := s.o.RetryAfter
		now := s.desk().o.Now
		if _, err := s.RunDue(now()); err != nil {
			s.log.Error("sla scheduler run failed; retrying", "err", err, "retry_in", wait)
		} else if next, ok := s.Next(); ok {
			wait = max(0, next.Sub(now()))
		} else {
			wait = -1
		}
		timer.Stop()
		if wait >= 0 {
			timer.Reset(wait)
		}
	}
}

// RunDue fires every event due at now, BatchSize tickets per
// transaction, and then reads the next deadline (see Next). It returns
// how many due index entries it handled. Run calls it; tests call it with
// an injected time.
func (s *Scheduler) RunDue(now time.Time) (handled int, err error) {
	d := s.desk()
	for {
		var fired []Fired
		n := 0
		err := d.o.Store.Update(func(tx Tx) error {
			fired = fired[:0]
			due, err := tx.DueDeadlines(now, s.o.BatchSize)
			if err != nil {
				return err
			}
			n = len(due)
			for _, dl := range due {
				f, err := d.fireDue(tx, dl.TicketID, now)
				var soft *softError
				if errors.As(err, &soft) {
					// Nothing of this ticket was written: leave it as it
					// is and come back to it, rather than let one bad
					// ticket stop every other deadline.
					s.log.Error("sla: cannot handle ticket; will retry", "ticket", dl.TicketID, "err", soft.err, "retry_in", s.o.RetryAfter)
					err = tx.SetDeadline(Deadline{At: now.Add(s.o.RetryAfter), TicketID: dl.TicketID, Kind: DeadlineRetry})
				}
				if err != nil {
					return fmt.Errorf("ticket %d: %w", dl.TicketID, err)
				}
				fired = append(fired, f...)
			}
			return nil
		})
		if err != nil {
			return handled, err
		}
		handled += n
		s.report(fired)
		if n < s.o.BatchSize {
			break
		}
	}
	return handled, s.refreshNext(d)
}

// refreshNext reads the earliest deadline into Next.
func (s *Scheduler) refreshNext(d *Desk) error {
	return d.o.Store.View(func(tx Tx) error {
		dl, ok, err := tx.NextDeadline()
		if err != nil {
			return err
		}
		if ok {
			s.next.Store(max(1, dl.At.UnixNano()))
		} else {
			s.next.Store(0)
		}
		return nil
	})
}

// report logs what a committed batch fired and calls OnFired.
func (s *Scheduler) report(fired []Fired) {
	if len(fired) == 0 {
		return
	}
	for _, f := range fired {
		attrs := []any{"case", f.Case, "promise", f.Promise, "kind", f.Kind}
		if f.Step > 0 {
			attrs = append(attrs, "step", f.Step)
		}
		if len(f.Mailed) > 0 {
			attrs = append(attrs, "to", f.Mailed)
		}
		if !f.HeldUntil.IsZero() {
			attrs = append(attrs, "held_until", f.HeldUntil)
		}
		s.log.Info("sla event", attrs...)
	}
	if s.o.OnFired != nil {
		s.o.OnFired(fired)
	}
}
