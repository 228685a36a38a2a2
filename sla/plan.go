package sla

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Promise names one of the targets a plan sets per priority.
type Promise string

// The promises of a plan.
const (
	PromiseFirstResponse Promise = "first-response" // first answer from an engineer
	PromiseUpdate        Promise = "update"         // longest silence while the ticket is open
	PromiseResolution    Promise = "resolution"     // ticket resolved
)

// Promises lists every promise in the order a ticket meets them.
var Promises = []Promise{PromiseFirstResponse, PromiseUpdate, PromiseResolution}

// PriorityTargets are a plan's promises for one priority; a zero Target
// promises nothing.
type PriorityTargets struct {
	FirstResponse, Update, Resolution Target
	// Calendar, when set, replaces the plan's calendar for this priority:
	// Terso's priority 1 is counted on a 24x7 calendar while the other
	// priorities keep office hours.
	Calendar *Calendar
}

// Get returns the target for promise p.
func (pt PriorityTargets) Get(p Promise) Target {
	switch p {
	case PromiseFirstResponse:
		return pt.FirstResponse
	case PromiseUpdate:
		return pt.Update
	case PromiseResolution:
		return pt.Resolution
	}
	return Target{}
}

// EscalationStep tells To once After has passed since a breach, counted on
// the priority's calendar.
type EscalationStep struct {
	After time.Duration
	To    []string
}

// Escalation says who hears about a ticket as its deadline nears and
// passes. Entries are addresses or names the caller resolves.
type Escalation struct {
	Warn   []string         // when WarnAt of a target's time has passed
	Breach []string         // when a target is missed
	Then   []EscalationStep // further steps after the breach, in order
}

// DefaultWarnAt is the warn threshold of a plan whose WarnAt is zero.
const DefaultWarnAt = 0.75

// Priorities run from 1 (most urgent) to 4.
const (
	HighestPriority = 1
	LowestPriority  = 4
)

// Plan is a level of service: a calendar and, per priority 1–4, what is
// promised, when to warn and whom to escalate to.
//
// The SLA clock stops while a ticket waits for the customer. To pause,
// keep used := cal.Between(start, pausedAt); on resume the deadline is
// cal.Add(resumedAt, Budget(...) - used), the Budget taken at the start.
type Plan struct {
	Name       string
	Calendar   *Calendar
	Priorities map[int]PriorityTargets
	// WarnAt is the share of a target's business time after which the
	// Warn list hears about it, 0 < WarnAt < 1; zero means DefaultWarnAt.
	WarnAt     float64
	Escalation Escalation
}

// Validate reports every problem with p at once, each wrapping
// ErrInvalidPlan.
func (p *Plan) Validate() error {
	if p == nil {
		return fmt.Errorf("%w: no plan", ErrInvalidPlan)
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w %q: %s", ErrInvalidPlan, p.Name, fmt.Sprintf(format, args...)))
	}
	if p.Name == "" {
		bad("name is empty; give the plan a name")
	}
	if p.Calendar == nil {
		bad("no calendar; set one, e.g. the built-in \"oslo\"")
	}
	if p.WarnAt < 0 || p.WarnAt >= 1 {
		bad("warn_at %v must be a fraction between 0 and 1, e.g. 0.75", p.WarnAt)
	}
	prios := make([]int, 0, len(p.Priorities))
	for prio := range p.Priorities {
		prios = append(prios, prio)
	}
	slices.Sort(prios)
	for _, prio := range prios {
		if prio < HighestPriority || prio > LowestPriority {
			bad("priority %d: priorities are 1 (most urgent) to 4", prio)
			continue
		}
		pt := p.Priorities[prio]
		for _, pr := range Promises {
			if err := validTarget(pt.Get(pr)); err != nil {
				bad("priority %d %s: %v", prio, pr, err)
			}
		}
	}
	var last time.Duration
	for i, st := range p.Escalation.Then {
		if st.After < last {
			bad("escalation step %d (after %v) comes before step %d; list steps in order", i+1, st.After, i)
		}
		if len(st.To) == 0 {
			bad("escalation step %d (after %v) tells nobody; add recipients", i+1, st.After)
		}
		last = st.After
	}
	return errors.Join(errs...)
}

func validTarget(t Target) error {
	switch t.Kind {
	case TargetNone, TargetNBD:
		return nil
	case TargetHours:
		if t.Hours <= 0 || t.Hours > maxTargetHours {
			return fmt.Errorf("business time %v must be positive and at most %v", t.Hours, maxTargetHours)
		}
	case TargetDays:
		if t.Days <= 0 || t.Days > maxTargetDays {
			return fmt.Errorf("%d business days must be from 1 to %d", t.Days, maxTargetDays)
		}
	default:
		return fmt.Errorf("unknown target kind %q", t.Kind)
	}
	return nil
}

// CalendarFor returns the calendar priority prio is counted on.
func (p *Plan) CalendarFor(prio int) *Calendar {
	if pt, ok := p.Priorities[prio]; ok && pt.Calendar != nil {
		return pt.Calendar
	}
	return p.Calendar
}

// Target returns the plan's promise pr for priority prio (zero: none).
func (p *Plan) Target(prio int, pr Promise) Target {
	return p.Priorities[prio].Get(pr)
}

// Due returns when promise pr for a ticket of priority prio started at
// from is due; ok is false when the plan promises nothing.
func (p *Plan) Due(prio int, pr Promise, from time.Time) (due time.Time, ok bool) {
	tg := p.Target(prio, pr)
	if tg.IsZero() {
		return time.Time{}, false
	}
	return p.CalendarFor(prio).Due(from, tg), true
}

// Budget returns the business time promise pr allows from from: the
// target itself for hour targets, the business time until the deadline
// for day and NBD targets. It is what a paused clock counts down.
func (p *Plan) Budget(prio int, pr Promise, from time.Time) (time.Duration, bool) {
	tg := p.Target(prio, pr)
	switch tg.Kind {
	case TargetNone:
		return 0, false
	case TargetHours:
		return tg.Hours, true
	}
	c := p.CalendarFor(prio)
	return c.Between(from, c.Due(from, tg)), true
}

// WarnShare returns WarnAt or its default.
func (p *Plan) WarnShare() float64 {
	if p.WarnAt == 0 {
		return DefaultWarnAt
	}
	return p.WarnAt
}

// Warn returns when the Warn list should hear about promise pr: once
// WarnShare of its business time has passed.
func (p *Plan) Warn(prio int, pr Promise, from time.Time) (time.Time, bool) {
	budget, ok := p.Budget(prio, pr, from)
	if !ok {
		return time.Time{}, false
	}
	share := time.Duration(float64(budget) * p.WarnShare()).Round(time.Second)
	return p.CalendarFor(prio).Add(from, share), true
}

// EscalationAt returns when step should go out after a breach at breach,
// counting After on the priority's calendar.
func (p *Plan) EscalationAt(prio int, breach time.Time, step EscalationStep) time.Time {
	return p.CalendarFor(prio).Add(breach, step.After)
}
