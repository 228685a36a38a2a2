package ticket

import (
	"fmt"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/sla"
)

// Sending agreement reports. A report is queued in the outbox (which
// retries until the mail server takes it) together with a mark
// "report/AGREEMENT/PERIOD" in the same transaction: it goes out once,
// however often the daemon restarts or the clock jumps.

// reportMark is the store mark of a sent report.
func reportMark(ag *sla.Agreement, label string) string { return "report/" + ag.Name + "/" + label }

// SendReport queues ag's report for the period label names to the
// agreement's contacts. Unless force is set, a report already sent is not
// sent again; sent reports whether a mail was queued. An agreement without
// contacts has an error: there is nobody to send to.
func (d *Desk) SendReport(tx Tx, ag *sla.Agreement, label string, now time.Time, force bool) (sent bool, err error) {
	to := lowerAll(ag.Contacts)
	if len(to) == 0 {
		return false, fmt.Errorf("report of %q: the agreement has no contacts to send it to", ag.Name)
	}
	r, err := BuildAgreementReport(tx, ag, label)
	if err != nil {
		return false, err
	}
	fresh, err := tx.Mark(reportMark(ag, r.Label), now)
	if err != nil {
		return false, err
	}
	if !fresh && !force {
		return false, nil
	}
	text, csv, err := RenderReport(r, nonEmpty(ag.Language, d.o.DefaultLanguage), d.o.Support.Name)
	if err != nil {
		return false, err
	}
	files := []mailer.OutAttachment{{Filename: "report-" + r.Label + ".csv", ContentType: "text/csv; charset=utf-8", Data: csv}}
	if err := d.queueInternal(tx, nil, nil, now, "report", to, text, files); err != nil {
		return false, err
	}
	d.o.Logger.Info("agreement report queued", "agreement", ag.Name, "period", r.Label, "to", len(to), "resent", !fresh)
	return true, nil
}

// DueReport is a report whose period has ended.
type DueReport struct {
	Agreement *sla.Agreement
	Label     string
}

// DueReports lists, for each configured agreement with contacts and each
// of its report cadences, the latest period that ended at or before now
// (in the agreement's zone) and that the agreement was in force for.
// Reports already sent are listed too; SendReport skips them. Only the
// latest period counts: enabling reports does not mail years of backlog.
func (d *Desk) DueReports(now time.Time) []DueReport {
	if d.o.Agreements == nil {
		return nil
	}
	var due []DueReport
	for _, ag := range d.o.Agreements.All() {
		if len(ag.Contacts) == 0 {
			continue
		}
		for _, per := range ag.Reports {
			cur, _ := per.Bounds(now.In(ag.Location()))
			prev, _ := per.Bounds(cur.Add(-time.Nanosecond))
			if !ag.ValidFrom.IsZero() && !cur.After(ag.ValidFrom) || !ag.ValidUntil.IsZero() && !prev.Before(ag.ValidUntil) {
				continue // not in force during that period
			}
			due = append(due, DueReport{Agreement: ag, Label: per.Label(prev)})
		}
	}
	return due
}

// SendDueReports sends every due report not yet sent, each in its own
// transaction, and returns the labels sent ("Trinax Alert! 2026-Q3").
// A report that fails stays unsent and is tried on the next call.
func (d *Desk) SendDueReports(now time.Time) (sent []string, err error) {
	for _, r := range d.DueReports(now) {
		var ok bool
		e := d.o.Store.Update(func(tx Tx) (err error) {
			ok, err = d.SendReport(tx, r.Agreement, r.Label, now, false)
			return err
		})
		if e != nil {
			err = fmt.Errorf("report of %q for %s: %w", r.Agreement.Name, r.Label, e)
			d.o.Logger.Error("agreement report failed", "agreement", r.Agreement.Name, "period", r.Label, "err", e)
			continue
		}
		if ok {
			sent = append(sent, r.Agreement.Name+" "+r.Label)
		}
	}
	return sent, err
}

// NextReportAt is when the next report period ends after now: the time
// to call SendDueReports again. Zero when no agreement has reports.
func (d *Desk) NextReportAt(now time.Time) time.Time {
	var next time.Time
	if d.o.Agreements == nil {
		return next
	}
	for _, ag := range d.o.Agreements.All() {
		if len(ag.Contacts) == 0 {
			continue
		}
		for _, per := range ag.Reports {
			_, end := per.Bounds(now.In(ag.Location()))
			if next.IsZero() || end.Before(next) {
				next = end
			}
		}
	}
	return next
}
