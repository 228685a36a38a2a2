package ticket

import (
	"fmt"
	"slices"
	"time"

	"github.com/helpdeskd/helpdeskd/sla"
)

// Agreement reports: what a customer's agreement delivered in one period
// (a month, quarter or year in the agreement's time zone) — cases opened
// and closed by priority, first-response and resolution against the plan,
// the cases still open at the period's end, and the hour bank.

// PromiseStats totals one promise over the cases opened in a period.
type PromiseStats struct {
	// Met counts promises kept; Breached those broken (met late or not
	// at all); Open those neither met nor broken yet.
	Met, Breached, Open int
	// Median and Worst are over the promises met (start to met,
	// wall-clock); zero when none was.
	Median, Worst time.Duration
}

// OpenCase is a case open at a period's end.
type OpenCase struct {
	Case     string
	Subject  string
	Priority int
	State    State
	Created  time.Time
	// Age is from creation to the period's end.
	Age time.Duration
}

// AgreementReport is one agreement's report for one period.
type AgreementReport struct {
	Agreement  string
	Per        sla.Period
	Label      string
	Start, End time.Time
	// Opened and Closed count cases created, and resolved or closed, in
	// the period, by priority (index 1–4; 0 is unused).
	Opened, Closed [5]int
	FirstResponse  PromiseStats
	Resolution     PromiseStats
	// OpenAtEnd lists the cases open when the period ended, oldest first.
	OpenAtEnd []OpenCase
	// Hours is the hour bank's use in the bank periods that fall inside
	// the report's period (one per bank period); nil without a bank.
	Hours []HourUse
	// Months splits Opened and Closed by calendar month of the period,
	// oldest first: one for a monthly report, twelve for a yearly one.
	Months []MonthCount
}

// MonthCount is the cases opened and closed in one month of a report.
type MonthCount struct {
	// Start is the month's first instant in the agreement's zone.
	Start          time.Time
	Opened, Closed int
}

// OpenedTotal and ClosedTotal sum Opened and Closed.
func (r *AgreementReport) OpenedTotal() int { return sum(r.Opened[:]) }

// ClosedTotal sums Closed.
func (r *AgreementReport) ClosedTotal() int { return sum(r.Closed[:]) }

func sum(a []int) (n int) {
	for _, v := range a {
		n += v
	}
	return n
}

// BuildAgreementReport reports on ag for the period label names
// ("2026-Q3", "2026-03", "2026"), in ag's time zone.
func BuildAgreementReport(tx Tx, ag *sla.Agreement, label string) (*AgreementReport, error) {
	per, start, end, err := sla.ParsePeriod(label, ag.Location())
	if err != nil {
		return nil, fmt.Errorf("report of %q: %w", ag.Name, err)
	}
	return buildReport(tx, ag, per, start, end)
}

func buildReport(tx Tx, ag *sla.Agreement, per sla.Period, start, end time.Time) (*AgreementReport, error) {
	r := &AgreementReport{Agreement: ag.Name, Per: per, Label: per.Label(start), Start: start, End: end}
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(start) && t.Before(end) }
	for s := start; s.Before(end); {
		_, next := sla.Monthly.Bounds(s)
		r.Months = append(r.Months, MonthCount{Start: s})
		s = next
	}
	// month is the entry of r.Months for a time in the period, counted in
	// the agreement's zone, where the periods are.
	month := func(t time.Time) *MonthCount {
		y, m, _ := t.In(start.Location()).Date()
		return &r.Months[(y-start.Year())*12+int(m-start.Month())]
	}
	var fr, rs []time.Duration
	err := tx.ForEachTicket(func(t *Ticket) error {
		if t.Agreement != ag.Name {
			return nil
		}
		prio := min(max(t.Priority, sla.HighestPriority), sla.LowestPriority)
		done := t.State == StateResolved || t.State == StateClosed
		if in(t.Created) {
			r.Opened[prio]++
			month(t.Created).Opened++
			if t.SLA != nil {
				for _, c := range t.SLA.Clocks {
					switch c.Promise {
					case sla.PromiseFirstResponse:
						fr = tally(&r.FirstResponse, c, fr)
					case sla.PromiseResolution:
						rs = tally(&r.Resolution, c, rs)
					}
				}
			}
		}
		if done && in(t.ResolvedAt) {
			r.Closed[prio]++
			month(t.ResolvedAt).Closed++
		}
		if t.Created.Before(end) && (!done || !t.ResolvedAt.Before(end)) {
			r.OpenAtEnd = append(r.OpenAtEnd, OpenCase{Case: t.Case, Subject: t.Subject, Priority: t.Priority,
				State: t.State, Created: t.Created, Age: end.Sub(t.Created)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("report of %q: %w", ag.Name, err)
	}
	slices.SortStableFunc(r.OpenAtEnd, func(a, b OpenCase) int { return a.Created.Compare(b.Created) })
	r.FirstResponse.Median, r.FirstResponse.Worst = medianWorst(fr)
	r.Resolution.Median, r.Resolution.Worst = medianWorst(rs)
	if ag.HourBank.Per != "" {
		// The bank periods inside the report's: three for a quarterly
		// report on a monthly bank; the one containing it otherwise.
		// One pass over the store, carry-over chain included.
		if r.Hours, err = hourUses(tx, ag, start, end, nil); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func tally(ps *PromiseStats, c *Clock, took []time.Duration) []time.Duration {
	switch {
	case !c.Breached.IsZero():
		ps.Breached++
	case !c.Met.IsZero():
		ps.Met++
		took = append(took, c.Met.Sub(c.Start))
	default:
		ps.Open++
	}
	return took
}

func medianWorst(d []time.Duration) (median, worst time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	slices.Sort(d)
	return d[(len(d)-1)/2], d[len(d)-1]
}
