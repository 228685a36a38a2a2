package ticket

import (
	"fmt"
	"time"

	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/templates"
)

// Hour bank counters. Summing a bank's use reads every ticket in the
// store: right for a report or `helpdeskd hours`, which list the entries,
// but not for every #time command and every notification to the
// engineers with a million tickets in the store. So the store keeps, per
// agreement and bank period, the minutes logged ("hours/AGREEMENT/
// PERIOD"), changed in the transaction that logs the work.
//
// Work logged before counters existed is counted once: the first time an
// agreement's counters are needed, one pass over the store fills those of
// the periods asked (and of the carry chain before them), and a mark
// "hours-counted/AGREEMENT" records the end of the last period filled.
// A period that starts at or after that and has no counter has had no
// work: every #time since went through countTime.

func hourCounter(ag *sla.Agreement, start time.Time) string {
	return "hours/" + ag.Name + "/" + ag.HourBank.Per.Label(start)
}

func hoursCountedMark(ag *sla.Agreement) string { return "hours-counted/" + ag.Name }

// counted reads the counter of ag's bank period starting at start: its
// minutes, and whether they are known (a counter, or a period after the
// mark that has none).
func counted(tx Tx, ag *sla.Agreement, start time.Time) (minutes int64, ok bool, err error) {
	n, ok, err := tx.Counter(hourCounter(ag, start))
	if err != nil || ok {
		return n, ok, err
	}
	until, marked, err := tx.Marked(hoursCountedMark(ag))
	return 0, marked && !start.Before(until), err
}

// countTime adds e, just appended to cur.TimeLog (cur not yet stored), to
// the counter of its period of ag's bank.
func countTime(tx Tx, ag *sla.Agreement, cur *Ticket, e TimeEntry) error {
	start, _ := ag.HourBank.Per.Bounds(e.At.In(ag.Location()))
	n, ok, err := counted(tx, ag, start)
	if err != nil {
		return err
	}
	if !ok {
		// The pass that fills the counter counts e already, through cur.
		_, err := bankUsed(tx, newBankPeriods(ag, start, start.Add(time.Nanosecond)), cur)
		return err
	}
	return tx.SetCounter(hourCounter(ag, start), n+int64(e.Minutes))
}

// bankBalance is ag's bank in the period containing at, without entries,
// from the counters (cur as for hourUse; its work must be counted
// already, see countTime). It needs a write transaction when a counter is
// still to be filled.
func bankBalance(tx Tx, ag *sla.Agreement, at time.Time, cur *Ticket) (HourUse, error) {
	start, end := ag.HourBank.Per.Bounds(at.In(ag.Location()))
	p := newBankPeriods(ag, start, end)
	used, err := bankUsed(tx, p, cur)
	if err != nil {
		return HourUse{}, err
	}
	return p.finish(used)[0], nil
}

// bankUsed reads the work per period of p from the counters, filling
// them all in one pass over the store when any is unknown.
func bankUsed(tx Tx, p *bankPeriods, cur *Ticket) (map[int64]time.Duration, error) {
	used := map[int64]time.Duration{}
	missing := false
	err := p.each(func(start, _ time.Time) error {
		n, ok, err := counted(tx, p.ag, start)
		used[start.Unix()] = time.Duration(n) * time.Minute
		missing = missing || !ok
		return err
	})
	if err != nil || !missing {
		return used, err
	}
	if used, err = p.scan(tx, cur, false); err != nil {
		return nil, err
	}
	err = p.each(func(start, _ time.Time) error {
		return tx.SetCounter(hourCounter(p.ag, start), int64(used[start.Unix()]/time.Minute))
	})
	if err == nil {
		_, err = tx.Mark(hoursCountedMark(p.ag), p.until)
	}
	if err != nil {
		return nil, fmt.Errorf("hour bank of %q: %w", p.ag.Name, err)
	}
	return used, nil
}

// hourBalance is the hour bank of t's agreement at now, for the
// engineers' notification; nil when the agreement has none. t may be
// changed in this transaction and not stored yet.
func (d *Desk) hourBalance(tx Tx, t *Ticket, now time.Time) (*templates.HourBalance, error) {
	ag := d.agreementNamed(t.Agreement)
	if ag == nil || ag.HourBank.Per == "" {
		return nil, nil
	}
	u, err := bankBalance(tx, ag, now, t)
	if err != nil {
		return nil, err
	}
	b := &templates.HourBalance{Period: u.Label, Allowance: formatWork(u.Allowance), Used: formatWork(u.Used), Remaining: formatWork(u.Remaining)}
	if u.Overage > 0 {
		b.Overage = formatWork(u.Overage)
	}
	return b, nil
}
