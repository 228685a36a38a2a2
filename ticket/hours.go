package ticket

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/templates"
)

// Hour banks. An agreement may prepay engineer time per month, quarter or
// year; every #time entry on a ticket of that agreement counts in the
// period, in the agreement's time zone, that contains the entry's time.
// Work beyond the allowance is overage: counted and shown, never dropped.
//
// Carry-over (sla.HourBank.CarryOver): the unused part of a period's own
// hours moves into the next period only, is used first there, and expires
// at that period's end. For period P with base allowance B and carried-in
// C(P): the allowance is B + C(P); C is zero in the period containing the
// agreement's ValidFrom (and before it); C(P+1) = max(B − max(used(P) −
// C(P), 0), 0). Overage and the warn level are against the allowance.

// HourEntry is one #time entry counted against an hour bank.
type HourEntry struct {
	At       time.Time
	Case     string
	Subject  string
	Engineer string
	Minutes  int
}

// HourUse is an hour bank's state for one period.
type HourUse struct {
	Agreement string
	Per       sla.Period
	// Label names the period ("2026-Q4"); Start and End bound it, [Start,
	// End), in the agreement's time zone.
	Label      string
	Start, End time.Time
	// Allowance is the bank (the base hours plus CarriedIn); Used the
	// logged work; Remaining what is left (never negative) and Overage the
	// work beyond the bank.
	Allowance, Used, Remaining, Overage time.Duration
	// CarriedIn is the unused part of the previous period's base hours,
	// carried into this one: used first, gone at End. CarriedFrom labels
	// that period. Both are zero without carry-over or when nothing was
	// left.
	CarriedIn   time.Duration `json:",omitempty"`
	CarriedFrom string        `json:",omitempty"`
	// WarnPercent is the agreement's warn level.
	WarnPercent int
	// Entries are the period's entries, oldest first.
	Entries []HourEntry
}

// Percent is the share of the allowance used, rounded down.
func (u HourUse) Percent() int {
	if u.Allowance <= 0 {
		return 0
	}
	return int(u.Used * 100 / u.Allowance)
}

// Warned reports whether use has reached the warn level.
func (u HourUse) Warned() bool {
	return u.Allowance > 0 && u.Used*100 >= u.Allowance*time.Duration(u.WarnPercent)
}

// HourBankAt returns the use of ag's hour bank in the period containing at.
// An agreement without a bank has an error.
func HourBankAt(tx Tx, ag *sla.Agreement, at time.Time) (HourUse, error) {
	if ag == nil || ag.HourBank.Per == "" {
		return HourUse{}, fmt.Errorf("hour bank: agreement %q has none", agName(ag))
	}
	start, end := ag.HourBank.Per.Bounds(at.In(ag.Location()))
	return hourUse(tx, ag, start, end, nil)
}

// HourBankPeriod returns the use of ag's hour bank in the period label
// names ("2026-Q4"); the label must name a period of the bank's length.
func HourBankPeriod(tx Tx, ag *sla.Agreement, label string) (HourUse, error) {
	if ag == nil || ag.HourBank.Per == "" {
		return HourUse{}, fmt.Errorf("hour bank: agreement %q has none", agName(ag))
	}
	per, start, end, err := sla.ParsePeriod(label, ag.Location())
	if err != nil {
		return HourUse{}, fmt.Errorf("hour bank of %q: %w", ag.Name, err)
	}
	if per != ag.HourBank.Per {
		return HourUse{}, fmt.Errorf("hour bank of %q is per %s; %q is a %s", ag.Name, ag.HourBank.Per, label, per)
	}
	return hourUse(tx, ag, start, end, nil)
}

// hourUse returns the use of ag's bank in its period [start, end). cur,
// when set, is a ticket changed in this transaction but not yet stored:
// its entries are taken from it instead of the store.
func hourUse(tx Tx, ag *sla.Agreement, start, end time.Time, cur *Ticket) (HourUse, error) {
	uses, err := hourUses(tx, ag, start, end, cur)
	if err != nil {
		return HourUse{}, err
	}
	if len(uses) == 0 {
		return HourUse{}, fmt.Errorf("hour bank of %q: no period from %s to %s", ag.Name, start, end)
	}
	return uses[0], nil
}

// hourUses returns the use of ag's bank in each of its periods that
// overlap [from, to), oldest first (cur as for hourUse). It reads the
// store once, whatever the number of periods: with carry-over, the carry
// into the first period asked depends on every period back to the one
// containing ag.ValidFrom, so the entries of those periods are summed per
// period in the same pass and the chain is walked in memory.
func hourUses(tx Tx, ag *sla.Agreement, from, to time.Time, cur *Ticket) ([]HourUse, error) {
	p := newBankPeriods(ag, from, to)
	if len(p.uses) == 0 {
		return nil, nil
	}
	used, err := p.scan(tx, cur, true)
	if err != nil {
		return nil, err
	}
	return p.finish(used), nil
}

// bankPeriods are the periods of ag's bank that a computation asks for
// (uses, without figures yet), and the span whose work it needs: from
// walk, the first period of the carry chain or the first asked, until
// the end of the last asked.
type bankPeriods struct {
	ag          *sla.Agreement
	uses        []HourUse
	asked       map[int64]int // period start (Unix seconds) → index in uses
	walk, until time.Time
	// chain is the first period of the carry chain; zero without
	// carry-over (Validate insists on ValidFrom with it).
	chain time.Time
}

func newBankPeriods(ag *sla.Agreement, from, to time.Time) *bankPeriods {
	bank, loc := ag.HourBank, ag.Location()
	p := &bankPeriods{ag: ag, asked: map[int64]int{}}
	for s := from.In(loc); s.Before(to); {
		start, end := bank.Per.Bounds(s)
		p.asked[start.Unix()] = len(p.uses)
		p.uses = append(p.uses, HourUse{
			Agreement: ag.Name, Per: bank.Per, Label: bank.Per.Label(start),
			Start: start, End: end, Allowance: bank.Hours, WarnPercent: ag.WarnPercent(),
		})
		s = end
	}
	if len(p.uses) == 0 {
		return p
	}
	p.walk, p.until = p.uses[0].Start, p.uses[len(p.uses)-1].End
	if bank.CarryOver && !ag.ValidFrom.IsZero() {
		p.chain, _ = bank.Per.Bounds(ag.ValidFrom.In(loc))
		if p.chain.Before(p.walk) {
			p.walk = p.chain
		}
	}
	return p
}

// each calls fn with the start of every bank period from walk to until.
func (p *bankPeriods) each(fn func(start, end time.Time) error) error {
	per := p.ag.HourBank.Per
	for s := p.walk; s.Before(p.until); {
		start, end := per.Bounds(s)
		if err := fn(start, end); err != nil {
			return err
		}
		s = end
	}
	return nil
}

// scan sums the work on ag's tickets per period from walk to until, in
// one pass over the store (cur as for hourUse); with entries, it also
// lists the entries of the periods asked.
func (p *bankPeriods) scan(tx Tx, cur *Ticket, entries bool) (map[int64]time.Duration, error) {
	ag, loc := p.ag, p.ag.Location()
	used := map[int64]time.Duration{} // period start (Unix seconds) → work logged
	add := func(t *Ticket) {
		if t.Agreement != ag.Name {
			return
		}
		for _, e := range t.TimeLog {
			if e.At.Before(p.walk) || !e.At.Before(p.until) {
				continue
			}
			start, _ := ag.HourBank.Per.Bounds(e.At.In(loc))
			used[start.Unix()] += time.Duration(e.Minutes) * time.Minute
			if i, ok := p.asked[start.Unix()]; ok && entries {
				p.uses[i].Entries = append(p.uses[i].Entries, HourEntry{At: e.At, Case: t.Case, Subject: t.Subject, Engineer: e.Engineer, Minutes: e.Minutes})
			}
		}
	}
	err := tx.ForEachTicket(func(t *Ticket) error {
		if cur == nil || t.ID != cur.ID {
			add(t)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hour bank of %q: %w", ag.Name, err)
	}
	if cur != nil {
		add(cur)
	}
	return used, nil
}

// finish fills in the periods asked from the work per period: carried-in
// hours, allowance, remaining and overage, walking the chain oldest first
// (carry is what flows into the next period).
func (p *bankPeriods) finish(used map[int64]time.Duration) []HourUse {
	bank := p.ag.HourBank
	var carry time.Duration
	prev := ""
	_ = p.each(func(start, _ time.Time) error {
		var in time.Duration
		if !p.chain.IsZero() && start.After(p.chain) {
			in = carry
		}
		if i, ok := p.asked[start.Unix()]; ok {
			u := &p.uses[i]
			u.Used = used[start.Unix()]
			if in > 0 {
				u.CarriedIn, u.CarriedFrom = in, prev
				u.Allowance += in
			}
			slices.SortStableFunc(u.Entries, func(a, b HourEntry) int { return a.At.Compare(b.At) })
			u.Remaining = max(u.Allowance-u.Used, 0)
			u.Overage = max(u.Used-u.Allowance, 0)
		}
		if !p.chain.IsZero() && !start.Before(p.chain) {
			carry = bank.CarryOut(in, used[start.Unix()])
		}
		prev = bank.Per.Label(start)
		return nil
	})
	return p.uses
}

func agName(ag *sla.Agreement) string {
	if ag == nil {
		return ""
	}
	return ag.Name
}

// agreementNamed finds a configured agreement (or the default) by name.
func (d *Desk) agreementNamed(name string) *sla.Agreement {
	if d.o.Agreements == nil || name == "" {
		return nil
	}
	for _, ag := range d.o.Agreements.All() {
		if ag.Name == name {
			return ag
		}
	}
	if def := d.o.Agreements.Default(); def != nil && def.Name == name {
		return def
	}
	return nil
}

// afterTimeLogged runs after #time added work to t (not yet stored): it
// returns the balance line for the engineer's confirmation, and mails the
// agreement's contacts and the engineers when the period's use first
// reaches the warn level and when it first goes beyond the bank. "First"
// is a mark in the store, written in this transaction with the mail.
func (d *Desk) afterTimeLogged(tx Tx, t *Ticket, now time.Time) (string, error) {
	ag := d.agreementNamed(t.Agreement)
	if ag == nil || ag.HourBank.Per == "" {
		return "", nil
	}
	u, err := bankBalance(tx, ag, now, t)
	if err != nil {
		return "", err
	}
	line := fmt.Sprintf("hour bank %s %s: %s of %s used", ag.Name, u.Label, formatWork(u.Used), formatWork(u.Allowance))
	if u.CarriedIn > 0 {
		line += fmt.Sprintf(" (incl. %s carried over from %s)", formatWork(u.CarriedIn), u.CarriedFrom)
	}
	line += ", " + formatWork(u.Remaining) + " left"
	if u.Overage > 0 {
		line += ", overage " + formatWork(u.Overage)
	}
	for _, n := range []struct {
		kind string
		due  bool
	}{{"over", u.Overage > 0}, {"warn", u.Warned()}} {
		if !n.due {
			continue
		}
		fresh, err := tx.Mark("hours-"+n.kind+"/"+ag.Name+"/"+u.Label, now)
		if err != nil {
			return "", err
		}
		if !fresh {
			continue
		}
		if err := d.queueHourNotice(tx, ag, u, n.kind == "over", now); err != nil {
			return "", err
		}
		if n.kind == "over" {
			// Reaching overage implies the warn level: one mail says both.
			if _, err := tx.Mark("hours-warn/"+ag.Name+"/"+u.Label, now); err != nil {
				return "", err
			}
			break
		}
	}
	return line, nil
}

// queueHourNotice mails the hour bank notice to the agreement's contacts
// (in the agreement's language) and to the engineers.
func (d *Desk) queueHourNotice(tx Tx, ag *sla.Agreement, u HourUse, over bool, now time.Time) error {
	data := templates.HourBankNotice{
		Agreement: ag.Name, Period: u.Label, Allowance: formatWork(u.Allowance), Used: formatWork(u.Used),
		Remaining: formatWork(u.Remaining), Percent: u.Percent(), Over: over, SupportName: d.o.Support.Name,
	}
	if u.Overage > 0 {
		data.Overage = formatWork(u.Overage)
	}
	if u.CarriedIn > 0 {
		data.CarriedIn, data.CarriedFrom = formatWork(u.CarriedIn), u.CarriedFrom
	}
	purpose := "hours-warn"
	if contacts := lowerAll(ag.Contacts); len(contacts) > 0 {
		r, err := templates.Render(nonEmpty(ag.Language, d.o.DefaultLanguage), "hours-warn", data)
		if err != nil {
			return err
		}
		if err := d.queueInternal(tx, nil, nil, now, purpose, contacts, internalBody{Rendered: r}); err != nil {
			return err
		}
	}
	if len(d.o.NotifyAddresses) == 0 {
		return nil
	}
	r, err := templates.Render(d.o.EngineerLanguage, "hours-warn", data)
	if err != nil {
		return err
	}
	return d.queueInternal(tx, nil, nil, now, purpose, d.o.NotifyAddresses, internalBody{Rendered: r})
}

func lowerAll(list []string) []string {
	var out []string
	for _, s := range list {
		if s = strings.ToLower(strings.TrimSpace(s)); s != "" {
			out = append(out, s)
		}
	}
	return out
}
