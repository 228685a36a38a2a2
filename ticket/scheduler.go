package ticket

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
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
	// commit (two fsyncs) holding the store's writer for about 50 µs per
	// ticket on two cores. Zero: 1024.
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
// transaction, and reads the next deadline (see Next) in the last one. It
// returns how many due index entries it handled. Run calls it; tests call
// it with an injected time.
//
// Composing the mails is most of the work and the store's transaction is
// single-threaded, so within a transaction the tickets are prepared and
// written one after the other, in deadline order, while their mails are
// composed on other goroutines (see firing). And while a full batch is
// committed — the disk's time — the next batch is prepared ahead from a
// read transaction; the next write transaction takes that work only if no
// other commit came in between (see lookahead), and otherwise prepares
// those tickets again itself.
func (s *Scheduler) RunDue(now time.Time) (handled int, err error) {
	d := s.desk()
	c := newComposer(s.o.BatchSize)
	defer c.close()
	var ahead *lookahead
	// A lookahead holds a read transaction and submits to c: it ends first.
	defer func() { ahead.wait() }()
	for {
		var fired []Fired
		var next *lookahead
		n, more := 0, false
		err := d.o.Store.Update(func(tx Tx) error {
			due, err := tx.DueDeadlines(now, s.o.BatchSize)
			if err != nil {
				return err
			}
			n = len(due)
			ready := ahead.take(tx)
			fired = make([]Fired, 0, len(due))
			// queue holds the prepared tickets, in order, until written.
			queue := make([]*firing, 0, len(due))
			write := func(wait bool) error {
				for len(queue) > 0 {
					f := queue[0]
					if !c.finished(f, wait) {
						return nil
					}
					// Written tickets and their mails need not stay in
					// memory until the batch ends.
					queue[0] = nil
					queue = queue[1:]
					if err := s.write(tx, f, now, &fired); err != nil {
						return err
					}
				}
				return nil
			}
			for _, dl := range due {
				f := ready[dl.TicketID]
				if f == nil || !f.due.At.Equal(dl.At) || f.due.Kind != dl.Kind {
					f, err = d.prepareDue(tx, dl, now, false)
					if err == nil && f != nil {
						c.submit(f)
					}
				}
				if f != nil {
					queue = append(queue, f)
				} else if err = s.setAside(tx, dl.TicketID, now, err); err != nil {
					return err
				}
				if err := write(false); err != nil {
					return err
				}
			}
			if err := write(true); err != nil {
				return err
			}
			if n == s.o.BatchSize {
				// Perhaps more is due: the next batch is prepared while
				// this one commits.
				rest, err := tx.DueDeadlines(now, s.o.BatchSize)
				if err != nil {
					return err
				}
				if more = len(rest) > 0; more {
					next = s.lookAhead(d, c, tx, due, rest, now)
					return nil
				}
			}
			// The last batch: Next tells the deadline after it as soon as
			// what it fired can be seen.
			return s.setNext(tx)
		})
		if err != nil {
			next.wait()
			// Whatever setNext saw was not committed.
			_ = d.o.Store.View(s.setNext)
			return handled, err
		}
		ahead = next
		handled += n
		s.report(fired)
		if !more {
			return handled, nil
		}
	}
}

// numberedTx is implemented by stores that number their transactions
// (the bbolt store does): a read transaction has the number of the last
// commit, a write transaction that number plus one.
type numberedTx interface{ ID() uint64 }

// lookahead is the next batch, prepared from a read transaction while the
// write transaction before it commits, its mails submitted for composing.
// Its tickets are not among those the committing transaction wrote (their
// next events lie after now), so it read them as that transaction leaves
// them; they are as the next write transaction finds them if no other
// transaction committed in between, which consecutive IDs prove.
type lookahead struct {
	after   uint64 // ID of the write transaction it follows
	done    chan struct{}
	firings map[uint64]*firing // by ticket ID
}

// lookAhead starts preparing next, the entries due after due, which tx
// has handled, unless the store cannot tell whether another transaction
// intervenes.
func (s *Scheduler) lookAhead(d *Desk, c *composer, tx Tx, due, next []Deadline, now time.Time) *lookahead {
	ntx, ok := tx.(numberedTx)
	if !ok {
		return nil
	}
	handled := make(map[uint64]bool, len(due))
	for _, dl := range due {
		handled[dl.TicketID] = true
	}
	la := &lookahead{after: ntx.ID(), done: make(chan struct{}), firings: make(map[uint64]*firing, len(next))}
	go func() {
		defer close(la.done)
		// Errors and tickets that need writing are left to the write
		// transaction, which prepares those tickets itself.
		_ = d.o.Store.View(func(rtx Tx) error {
			for _, dl := range next {
				if handled[dl.TicketID] {
					continue
				}
				if f, err := d.prepareDue(rtx, dl, now, true); err == nil && f != nil {
					c.submit(f)
					la.firings[dl.TicketID] = f
				}
			}
			return nil
		})
	}()
	return la
}

// wait waits until the lookahead has prepared its batch (and ended its
// read transaction).
func (la *lookahead) wait() {
	if la != nil {
		<-la.done
	}
}

// take returns the prepared firings if tx directly follows the write
// transaction the lookahead was started in, and nil otherwise.
func (la *lookahead) take(tx Tx) map[uint64]*firing {
	if la == nil {
		return nil
	}
	la.wait()
	if ntx, ok := tx.(numberedTx); !ok || ntx.ID() != la.after+1 {
		return nil
	}
	return la.firings
}

// write stores a prepared and composed ticket; a ticket whose mails could
// not be composed is set aside instead.
func (s *Scheduler) write(tx Tx, f *firing, now time.Time, fired *[]Fired) error {
	if f.composeErr != nil {
		return s.setAside(tx, f.t.ID, now, &softError{f.composeErr})
	}
	f.tx = tx // a lookahead prepared it in a read transaction
	fs, err := f.write()
	if err != nil {
		return fmt.Errorf("ticket %d: %w", f.t.ID, err)
	}
	*fired = append(*fired, fs...)
	return nil
}

// setAside handles the failure err of ticket id. A softError leaves the
// ticket as it is and comes back to it after RetryAfter, rather than let
// one bad ticket stop every other deadline; other errors end the
// transaction.
func (s *Scheduler) setAside(tx Tx, id uint64, now time.Time, err error) error {
	var soft *softError
	if errors.As(err, &soft) {
		s.log.Error("sla: cannot handle ticket; will retry", "ticket", id, "err", soft.err, "retry_in", s.o.RetryAfter)
		err = tx.SetDeadline(Deadline{At: now.Add(s.o.RetryAfter), TicketID: id, Kind: DeadlineRetry})
	}
	if err != nil {
		return fmt.Errorf("ticket %d: %w", id, err)
	}
	return nil
}

// composer runs firing.compose on worker goroutines, one fewer than there
// are CPUs (the transaction's goroutine has its own work), and on the
// caller's goroutine when there is a single CPU or a single ticket.
type composer struct {
	jobs chan *firing // nil: compose inline
	wg   sync.WaitGroup
}

func newComposer(batch int) *composer {
	c := &composer{}
	workers := min(runtime.GOMAXPROCS(0)-1, batch-1)
	if workers < 1 {
		return c
	}
	// Room for a batch and the lookahead's next one.
	c.jobs = make(chan *firing, 2*batch)
	c.wg.Add(workers)
	for range workers {
		go func() {
			defer c.wg.Done()
			for f := range c.jobs {
				c.run(f)
			}
		}()
	}
	return c
}

func (c *composer) run(f *firing) {
	f.composeErr = f.compose()
	close(f.done)
}

// submit hands f to the workers.
func (c *composer) submit(f *firing) {
	f.done = make(chan struct{})
	if c.jobs == nil {
		c.run(f)
		return
	}
	c.jobs <- f // never blocks: the buffer holds two batches
}

// finished reports whether f is composed. With wait, it composes queued
// firings itself while f is not, and then waits for it.
func (c *composer) finished(f *firing, wait bool) bool {
	for {
		select {
		case <-f.done:
			return true
		default:
		}
		if !wait {
			return false
		}
		select {
		case <-f.done:
			return true
		case g := <-c.jobs:
			c.run(g)
		}
	}
}

// close stops the workers once they have composed what was submitted.
func (c *composer) close() {
	if c.jobs != nil {
		close(c.jobs)
		c.wg.Wait()
	}
}

// setNext reads the earliest deadline into Next.
func (s *Scheduler) setNext(tx Tx) error {
	dl, ok, err := tx.NextDeadline()
	switch {
	case err != nil:
		return err
	case ok:
		s.next.Store(max(1, dl.At.UnixNano()))
	default:
		s.next.Store(0)
	}
	return nil
}

// report logs what a committed batch fired and calls OnFired.
func (s *Scheduler) report(fired []Fired) {
	if len(fired) == 0 {
		return
	}
	for _, f := range fired {
		if !s.log.Enabled(context.Background(), slog.LevelInfo) {
			break
		}
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
