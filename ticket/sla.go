package ticket

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/templates"
)

// SLAs. With Options.Agreements set, every new ticket is looked up by its
// sender: the agreement and plan that cover it, its priority, the fields
// it still lacks, and a Clock per promise of the plan. The clocks run on
// the plan's business-hour calendar, stop while the ticket is pending
// (waiting for the customer) and resume with the business time they had
// left. The ticket's next SLA event — a warning, a breach, an escalation
// step, or an escalation mail waiting for office hours — is kept in the
// store's deadline index, from which the Scheduler fires it.

// SLAState is a ticket's service level. (The agreement's name is
// Ticket.Agreement, the first-response promise as the customer read it
// Ticket.ResponseBy.)
type SLAState struct {
	// Plan names the plan the clocks run on; "" means no promises (not
	// covered, or an agreement that is not in force).
	Plan string `json:"plan,omitempty"`
	// Coverage is sla.Coverage's String: "covered", "expired" or
	// "not covered".
	Coverage string `json:"coverage"`
	// PrioritySource says what set the priority: "rule", "header" or
	// "default".
	PrioritySource string `json:"priority_source,omitempty"`
	// MissingFields are required intake fields the customer has not sent
	// yet; the acknowledgement asks for them.
	MissingFields []string `json:"missing_fields,omitempty"`
	Clocks        []*Clock `json:"clocks,omitempty"`
	// Mails are escalation mails held until their recipients' office
	// hours.
	Mails []*HeldMail `json:"held_mails,omitempty"`
}

// Clock is one promise of a plan for one ticket. While it runs (Since
// set), the promise is due at Due; stopped, it keeps the business time it
// has used. The flags record what has been fired, so that each warning,
// breach and escalation step goes out once.
type Clock struct {
	Promise sla.Promise `json:"promise"`
	// Target is the plan's promise when the clock started, e.g. "4h", "3bd".
	Target string `json:"target"`
	// Start is when the promise began: the ticket's creation for first
	// response and resolution, the latest engineer reply for update.
	Start time.Time `json:"start"`
	// Budget is the business time the promise allows from Start.
	Budget time.Duration `json:"budget"`
	// Used is the business time used before Since (earlier running
	// stretches, before the ticket went pending).
	Used time.Duration `json:"used,omitempty"`
	// Since is when the clock last started running; zero while stopped.
	Since  time.Time `json:"since,omitzero"`
	Due    time.Time `json:"due,omitzero"`
	WarnAt time.Time `json:"warn_at,omitzero"`
	// Warned, Breached and Met are when that happened.
	Warned   time.Time `json:"warned,omitzero"`
	Breached time.Time `json:"breached,omitzero"`
	Met      time.Time `json:"met,omitzero"`
	// Steps counts the escalation steps after the breach that were fired.
	Steps int `json:"steps,omitempty"`
}

// Running reports whether the clock counts: started and not met.
func (c *Clock) Running() bool { return !c.Since.IsZero() && c.Met.IsZero() }

// HeldMail is an escalation mail waiting for its recipients' office hours.
type HeldMail struct {
	At      time.Time    `json:"at"`
	Kind    DeadlineKind `json:"kind"` // DeadlineWarn, DeadlineBreach or DeadlineEscalate
	Promise sla.Promise  `json:"promise"`
	Step    int          `json:"step,omitempty"` // escalation step, 1-based
	To      []string     `json:"to"`             // escalation entries: group names or addresses
}

// EscalationGroup is a named list of people escalation mail goes to.
type EscalationGroup struct {
	Addresses []string
	// Calendar is when the group works: mail to it is held until the
	// calendar is open, unless the ticket is priority 1 or its plan counts
	// around the clock. Nil: the calendar of the ticket's plan.
	Calendar *sla.Calendar
}

// Not-covered flag on tickets no plan applies to.
const flagNotCovered = "not-covered"

// slaDesk is what the Desk derives from its SLA options.
type slaDesk struct {
	plans  map[string]*sla.Plan
	groups map[string]EscalationGroup // by lower-case name
}

// initSLA indexes the plans of the agreements and checks that every
// escalation entry is an address or a known group.
func (d *Desk) initSLA() error {
	d.sl.plans = map[string]*sla.Plan{}
	d.sl.groups = map[string]EscalationGroup{}
	for name, g := range d.o.EscalationGroups {
		d.sl.groups[strings.ToLower(strings.TrimSpace(name))] = g
	}
	if d.o.Agreements == nil {
		return nil
	}
	// The engineer code reports state changes and relayed answers through
	// these hooks; the clocks follow them before any hook of the caller.
	onState, onResponse := d.o.OnStateChange, d.o.OnResponse
	d.o.OnStateChange = func(tx Tx, t *Ticket, from State, at time.Time) error {
		d.slaStateChanged(t, from, t.State, at)
		if err := d.updateDeadline(tx, t); err != nil {
			return err
		}
		if onState != nil {
			return onState(tx, t, from, at)
		}
		return nil
	}
	d.o.OnResponse = func(tx Tx, t *Ticket, at time.Time) error {
		if err := d.responded(tx, t, at); err != nil {
			return err
		}
		if onResponse != nil {
			return onResponse(tx, t, at)
		}
		return nil
	}
	var errs []error
	ags := slices.Clone(d.o.Agreements.All())
	if def := d.o.Agreements.Default(); def != nil {
		ags = append(ags, def)
	}
	for _, ag := range ags {
		p := ag.Plan
		if p == nil {
			continue
		}
		if other, ok := d.sl.plans[p.Name]; ok {
			if other != p {
				errs = append(errs, fmt.Errorf("ticket: two different plans are named %q; plan names must be unique", p.Name))
			}
			continue
		}
		d.sl.plans[p.Name] = p
		entries := slices.Concat(p.Escalation.Warn, p.Escalation.Breach)
		for _, st := range p.Escalation.Then {
			entries = append(entries, st.To...)
		}
		for _, e := range entries {
			if _, ok := d.recipient(e); !ok {
				errs = append(errs, fmt.Errorf("ticket: plan %q escalates to %q, which is neither an address nor a group in Options.EscalationGroups", p.Name, e))
			}
		}
	}
	return errors.Join(errs...)
}

// recipient resolves an escalation entry: an address, or a group.
func (d *Desk) recipient(entry string) (EscalationGroup, bool) {
	e := strings.ToLower(strings.TrimSpace(entry))
	if strings.Contains(e, "@") {
		return EscalationGroup{Addresses: []string{e}}, true
	}
	g, ok := d.sl.groups[e]
	return g, ok
}

// planOf returns the plan a ticket's clocks run on, or nil.
func (d *Desk) planOf(t *Ticket) *sla.Plan {
	if t.SLA == nil || t.SLA.Plan == "" {
		return nil
	}
	return d.sl.plans[t.SLA.Plan]
}

// startSLA looks up the agreement of a new ticket's sender and starts the
// clocks of its plan. It runs before the acknowledgement is composed.
func (d *Desk) startSLA(tx Tx, t *Ticket, m *mailer.Message, now time.Time) error {
	if d.o.Agreements == nil {
		return nil
	}
	ag, cov := d.o.Agreements.For(m.From.Addr, now)
	st := &SLAState{Coverage: cov.String()}
	t.SLA = st
	if ag != nil {
		t.Agreement = ag.Name
		if ag.Language != "" {
			t.Language = ag.Language
		}
	}
	if cov == sla.Expired || ag == nil || ag.Plan == nil {
		t.addFlag(flagNotCovered)
		detail := "no agreement covers " + m.From.Addr
		if cov == sla.Expired {
			detail = "agreement " + ag.Name + " is not in force"
		}
		t.AddEvent(now, "sla", detail+": not covered")
		return nil
	}
	plan := ag.Plan
	st.Plan = plan.Name
	prio, src := ag.Priority(), "default"
	if p, ok := ag.DetectPriority(m.Subject, m.Text, m.XPriority, m.Importance); ok {
		prio, src = p, "rule"
		if !matchesRule(ag, m.Subject, m.Text) {
			src = "header"
		}
	}
	t.Priority, st.PrioritySource = prio, src
	st.MissingFields = sla.MissingFields(ag.RequiredFields, m.Text)
	for _, pr := range []sla.Promise{sla.PromiseFirstResponse, sla.PromiseResolution} {
		if c := newClock(plan, prio, pr, now, true); c != nil {
			st.Clocks = append(st.Clocks, c)
		}
	}
	detail := fmt.Sprintf("agreement %s (%s), plan %s, priority %d (%s)", ag.Name, st.Coverage, plan.Name, prio, src)
	if c := st.clock(sla.PromiseFirstResponse); c != nil {
		detail += ", first response due " + c.Due.Format(time.RFC3339)
		loc := plan.CalendarFor(prio).Location
		t.ResponseBy = FormatDeadline(t.Language, c.Due, loc) + ", " + FormatTarget(t.Language, plan.Target(prio, sla.PromiseFirstResponse))
	}
	if len(st.MissingFields) > 0 {
		detail += ", missing " + strings.Join(st.MissingFields, ", ")
	}
	t.AddEvent(now, "sla", detail)
	return d.updateDeadline(tx, t)
}

// matchesRule reports whether one of ag's priority rules matched, as
// opposed to a trusted priority header.
func matchesRule(ag *sla.Agreement, subject, body string) bool {
	rulesOnly := *ag
	rulesOnly.TrustPriorityHeaders = false
	_, ok := rulesOnly.DetectPriority(subject, body, "", "")
	return ok
}

// newClock starts promise pr of plan for priority prio at start; nil when
// the plan promises nothing.
func newClock(plan *sla.Plan, prio int, pr sla.Promise, start time.Time, running bool) *Clock {
	tg := plan.Target(prio, pr)
	if tg.IsZero() {
		return nil
	}
	budget, _ := plan.Budget(prio, pr, start)
	c := &Clock{Promise: pr, Target: tg.String(), Start: start, Budget: budget}
	if running {
		c.Since = start
		c.Due, _ = plan.Due(prio, pr, start)
		c.WarnAt, _ = plan.Warn(prio, pr, start)
	}
	return c
}

// clock returns the clock of promise pr, or nil.
func (st *SLAState) clock(pr sla.Promise) *Clock {
	if st == nil {
		return nil
	}
	for _, c := range st.Clocks {
		if c.Promise == pr {
			return c
		}
	}
	return nil
}

// warnShare is the business time after which the plan warns.
func warnShare(plan *sla.Plan, budget time.Duration) time.Duration {
	return time.Duration(float64(budget) * plan.WarnShare()).Round(time.Second)
}

// pause stops a running clock at at, keeping the business time used.
func pause(c *Clock, cal *sla.Calendar, at time.Time) {
	if !c.Running() {
		return
	}
	c.Used += max(0, cal.Between(c.Since, at))
	c.Since = time.Time{}
}

// resume restarts a stopped clock at at with the business time it has
// left. A breached promise keeps its deadline; escalation goes on from it.
func resume(c *Clock, plan *sla.Plan, cal *sla.Calendar, at time.Time) {
	if !c.Since.IsZero() || !c.Met.IsZero() {
		return
	}
	c.Since = at
	if c.Breached.IsZero() {
		c.Due = cal.Add(at, c.Budget-c.Used)
	}
	if c.Warned.IsZero() {
		if share := warnShare(plan, c.Budget); share > c.Used {
			c.WarnAt = cal.Add(at, share-c.Used)
		} else {
			c.WarnAt = at
		}
	}
}

// stopsClock reports whether state s stops the SLA clocks.
func stopsClock(s State) bool {
	return s == StatePending || s == StateResolved || s == StateClosed
}

// slaStateChanged applies a move from was to s at at to the clocks.
func (d *Desk) slaStateChanged(t *Ticket, was, s State, at time.Time) {
	plan := d.planOf(t)
	if plan == nil || was == s {
		return
	}
	cal := plan.CalendarFor(t.Priority)
	st := t.SLA
	if !stopsClock(was) && stopsClock(s) {
		for _, c := range st.Clocks {
			pause(c, cal, at)
		}
	}
	if (s == StateResolved || s == StateClosed) && was != StateResolved && was != StateClosed {
		if c := st.clock(sla.PromiseResolution); c != nil && c.Met.IsZero() {
			c.Met = at
			t.AddEvent(at, "sla", metDetail(c, at))
		}
	}
	if s == StateClosed {
		st.Mails = nil
	}
	if stopsClock(was) && !stopsClock(s) {
		if was == StateResolved || was == StateClosed {
			// Reopened: the request was not resolved after all; the time
			// it spent resolved does not count, as for pending.
			if c := st.clock(sla.PromiseResolution); c != nil {
				c.Met = time.Time{}
			}
		}
		for _, c := range st.Clocks {
			resume(c, plan, cal, at)
		}
	}
}

func metDetail(c *Clock, at time.Time) string {
	if at.After(c.Due) && !c.Due.IsZero() {
		return fmt.Sprintf("%s met late (due %s)", c.Promise, c.Due.Format(time.RFC3339))
	}
	return fmt.Sprintf("%s met (due %s)", c.Promise, c.Due.Format(time.RFC3339))
}

// slaCustomerReplied restarts the clocks when a customer's mail moved t
// out of pending or resolved (followUp), and strikes required fields the
// reply fills in.
func (d *Desk) slaCustomerReplied(tx Tx, t *Ticket, was State, m *mailer.Message, now time.Time) error {
	st := t.SLA
	if st == nil {
		return nil
	}
	if len(st.MissingFields) > 0 {
		if left := sla.MissingFields(st.MissingFields, m.Text); len(left) < len(st.MissingFields) {
			st.MissingFields = left
			t.AddEvent(now, "sla", fmt.Sprintf("required fields received; %d missing", len(left)))
		}
	}
	if was == t.State || d.planOf(t) == nil {
		return nil
	}
	d.slaStateChanged(t, was, t.State, now)
	return d.updateDeadline(tx, t)
}

// Responded records that an engineer's answer went to the customer at at:
// the first response is met, and the update promise starts again. A new
// ticket becomes open. It updates the deadline index and stores t; call it
// in the transaction that queues the answer (Desk.Update kicks the
// scheduler after it commits; Receive does so itself).
func (d *Desk) Responded(tx Tx, t *Ticket, at time.Time) error {
	if t.State == StateNew {
		t.AddEvent(at, string(StateOpen), "was new: engineer responded")
		t.State = StateOpen
	}
	if err := d.responded(tx, t, at); err != nil {
		return err
	}
	return tx.PutTicket(t)
}

// responded applies an engineer's answer at at to the clocks and the
// deadline index, without storing t.
func (d *Desk) responded(tx Tx, t *Ticket, at time.Time) error {
	if plan := d.planOf(t); plan != nil {
		st := t.SLA
		if c := st.clock(sla.PromiseFirstResponse); c != nil && c.Met.IsZero() {
			c.Met = at
			t.AddEvent(at, "sla", metDetail(c, at))
		}
		// The update promise counts the silence since our latest answer.
		st.Clocks = slices.DeleteFunc(st.Clocks, func(c *Clock) bool { return c.Promise == sla.PromiseUpdate })
		if c := newClock(plan, t.Priority, sla.PromiseUpdate, at, !stopsClock(t.State)); c != nil {
			st.Clocks = append(st.Clocks, c)
		}
	}
	return d.updateDeadline(tx, t)
}

// SetState moves t to s at at and applies it to the SLA clocks: pending,
// resolved and closed stop them (resolved and closed meet the resolution
// promise), and leaving those states restarts them with the business time
// they had left. It records an event, updates the deadline index and
// stores t.
func (d *Desk) SetState(tx Tx, t *Ticket, s State, at time.Time) error {
	if !s.Valid() {
		return fmt.Errorf("ticket %s: unknown state %q", t.Case, s)
	}
	if s == t.State {
		return nil
	}
	was := t.State
	t.State = s
	t.AddEvent(at, string(s), "was "+string(was))
	d.slaStateChanged(t, was, s, at)
	if err := d.updateDeadline(tx, t); err != nil {
		return err
	}
	return tx.PutTicket(t)
}

// SetPriority changes t's priority at at and retargets its unmet promises
// to the new priority's targets, counted from when each promise began.
// Warnings and breaches that the new deadlines put back in the future
// fire again. It updates the deadline index and stores t.
func (d *Desk) SetPriority(tx Tx, t *Ticket, prio int, at time.Time) error {
	if prio < sla.HighestPriority || prio > sla.LowestPriority {
		return fmt.Errorf("ticket %s: priority %d is not 1–4", t.Case, prio)
	}
	if prio == t.Priority {
		return nil
	}
	t.AddEvent(at, "priority", fmt.Sprintf("%d → %d", t.Priority, prio))
	plan := d.planOf(t)
	if plan != nil {
		oldCal := plan.CalendarFor(t.Priority)
		for _, c := range t.SLA.Clocks {
			pause(c, oldCal, at) // account used time on the old calendar
		}
	}
	t.Priority = prio
	if plan != nil {
		st := t.SLA
		cal := plan.CalendarFor(prio)
		running := !stopsClock(t.State)
		kept := st.Clocks[:0]
		for _, c := range st.Clocks {
			if !c.Met.IsZero() {
				kept = append(kept, c)
				continue
			}
			tg := plan.Target(prio, c.Promise)
			if tg.IsZero() {
				continue
			}
			c.Target = tg.String()
			c.Budget, _ = plan.Budget(prio, c.Promise, c.Start)
			if running {
				// Fire again what the new deadlines put back in the
				// future; keep what has already fired and is still past.
				warned, breached, steps := c.Warned, c.Breached, c.Steps
				c.Warned, c.Breached, c.Steps = time.Time{}, time.Time{}, 0
				resume(c, plan, cal, at)
				if !breached.IsZero() && !c.Due.After(at) {
					c.Breached, c.Steps = breached, steps
				}
				if !warned.IsZero() && !c.WarnAt.After(at) {
					c.Warned = warned
				}
			}
			kept = append(kept, c)
		}
		st.Clocks = kept
	}
	if err := d.updateDeadline(tx, t); err != nil {
		return err
	}
	return tx.PutTicket(t)
}

// Update runs fn in one store transaction and, after it committed, tells
// the scheduler that deadlines may have changed (Options.OnDeadlines). Use
// it for transactions that call Responded, SetState or SetPriority outside
// of Receive.
func (d *Desk) Update(fn func(Tx) error) error {
	if err := d.o.Store.Update(fn); err != nil {
		return err
	}
	d.deadlinesChanged()
	return nil
}

// deadlinesChanged kicks the scheduler. It is called after every commit
// that may have touched the deadline index: the kick must come after the
// commit, or the scheduler could read the index before the change.
func (d *Desk) deadlinesChanged() {
	if d.o.Agreements != nil && d.o.OnDeadlines != nil {
		d.o.OnDeadlines()
	}
}

// ackSLA gives the acknowledgement its deadline and missing fields.
func (d *Desk) ackSLA(t *Ticket) (responseBy string, missing []string) {
	if t.SLA == nil {
		return "", nil
	}
	return t.ResponseBy, t.SLA.MissingFields
}

// queueNotCovered answers a new request that no agreement in force
// covers, instead of the acknowledgement.
func (d *Desk) queueNotCovered(tx Tx, t *Ticket, m *mailer.Message, now time.Time, to mailer.Address) error {
	data := templates.NotCovered{
		Case:         t.Case,
		Tag:          Tag(t.Case),
		Subject:      t.Subject,
		CustomerName: to.Name,
		SupportName:  d.o.Support.Name,
		Expired:      t.SLA.Coverage == sla.Expired.String(),
	}
	if data.Expired {
		if ag, _ := d.o.Agreements.For(t.Customer, now); ag != nil && !ag.ValidUntil.IsZero() && !ag.ValidUntil.After(now) {
			// ValidUntil is exclusive; the customer knows the last day.
			data.Until = FormatDate(t.Language, ag.ValidUntil.Add(-time.Nanosecond), ag.ValidUntil.Location())
		}
	}
	r, err := templates.Render(t.Language, "not-covered", data)
	if err != nil {
		return err
	}
	return d.queueMail(tx, t, m, now, "not-covered", to, r, mailer.AutoReplied)
}

// notCoveredReply reports whether a new ticket gets the not-covered reply
// instead of the acknowledgement: its agreement is not in force, or no
// agreement names the sender, there is no default and
// Options.NotCoveredReply is set.
func (d *Desk) notCoveredReply(t *Ticket) bool {
	st := t.SLA
	if st == nil || st.Plan != "" {
		return false
	}
	return st.Coverage == sla.Expired.String() || d.o.NotCoveredReply
}
