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
	// Allowance is the bank; Used the logged work; Remaining what is left
	// (never negative) and Overage the work beyond the bank.
	Allowance, Used, Remaining, Overage time.Duration
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

// hourUse sums the entries of ag's tickets in [start, end). cur, when set,
// is a ticket changed in this transaction but not yet stored: its entries
// are taken from it instead of the store.
func hourUse(tx Tx, ag *sla.Agreement, start, end time.Time, cur *Ticket) (HourUse, error) {
	u := HourUse{
		Agreement: ag.Name, Per: ag.HourBank.Per, Label: ag.HourBank.Per.Label(start),
		Start: start, End: end, Allowance: ag.HourBank.Hours, WarnPercent: ag.WarnPercent(),
	}
	add := func(t *Ticket) {
		if t.Agreement != ag.Name {
			return
		}
		for _, e := range t.TimeLog {
			if !e.At.Before(start) && e.At.Before(end) {
				u.Entries = append(u.Entries, HourEntry{At: e.At, Case: t.Case, Subject: t.Subject, Engineer: e.Engineer, Minutes: e.Minutes})
				u.Used += time.Duration(e.Minutes) * time.Minute
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
		return HourUse{}, fmt.Errorf("hour bank of %q: %w", ag.Name, err)
	}
	if cur != nil {
		add(cur)
	}
	slices.SortStableFunc(u.Entries, func(a, b HourEntry) int { return a.At.Compare(b.At) })
	u.Remaining = max(u.Allowance-u.Used, 0)
	u.Overage = max(u.Used-u.Allowance, 0)
	return u, nil
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
	start, end := ag.HourBank.Per.Bounds(now.In(ag.Location()))
	u, err := hourUse(tx, ag, start, end, t)
	if err != nil {
		return "", err
	}
	line := fmt.Sprintf("hour bank %s %s: %s of %s used, %s left", ag.Name, u.Label, formatWork(u.Used), formatWork(u.Allowance), formatWork(u.Remaining))
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
	purpose := "hours-warn"
	if contacts := lowerAll(ag.Contacts); len(contacts) > 0 {
		r, err := templates.Render(nonEmpty(ag.Language, d.o.DefaultLanguage), "hours-warn", data)
		if err != nil {
			return err
		}
		if err := d.queueInternal(tx, nil, nil, now, purpose, contacts, r, nil); err != nil {
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
	return d.queueInternal(tx, nil, nil, now, purpose, d.o.NotifyAddresses, r, nil)
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
