package ticket

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/sla"
)

// Sending agreement reports. Each agreement cadence that has recipients
// has a timer in the store, "report/AGREEMENT/CADENCE", whose payload is
// the period it will report ("2026-Q3") and whose time is when: the
// period's end, or the yearly report's day in Q1 (sla.Agreement.ReportAt).
// When it is due, one transaction queues the report in the outbox (which
// retries until the mail server takes it) with a mark
// "report/AGREEMENT/PERIOD", and moves the timer to the next period. So a
// report goes out once however often the daemon restarts or the clock
// jumps; one that cannot be queued leaves its timer due; after downtime
// each missed period goes out, oldest first. SyncReports makes the timers
// follow the configuration.

// reportTimerPrefix starts the names of the report timers.
const reportTimerPrefix = "report/"

// reportTimer names the timer of ag's reports of cadence per.
func reportTimer(ag *sla.Agreement, per sla.Period) string {
	return reportTimerPrefix + ag.Name + "/" + string(per)
}

// reportMark is the store mark of a sent report.
func reportMark(ag *sla.Agreement, label string) string { return "report/" + ag.Name + "/" + label }

// SendReport queues ag's report for the period label names to the
// agreement's report recipients (sla.Agreement.ReportRecipients). Unless
// force is set, a report already sent is not sent again; sent reports
// whether a mail was queued. An agreement without recipients has an
// error: there is nobody to send to.
func (d *Desk) SendReport(tx Tx, ag *sla.Agreement, label string, now time.Time, force bool) (sent bool, err error) {
	to := ag.ReportRecipients()
	if len(to) == 0 {
		return false, fmt.Errorf("report of %q: the agreement has no report recipients (reports.to) or contacts to send it to", ag.Name)
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
	lang := nonEmpty(ag.Language, d.o.DefaultLanguage)
	text, csv, err := RenderReport(r, lang, d.o.Support.Name)
	if err != nil {
		return false, err
	}
	body := internalBody{Rendered: text, Files: []mailer.OutAttachment{{Filename: "report-" + r.Label + ".csv", ContentType: "text/csv; charset=utf-8", Data: csv}}}
	if ag.Reports.HTML {
		if body.HTML, body.Inline, err = RenderReportHTML(r, lang, d.o.Support.Name); err != nil {
			return false, err
		}
	}
	if err := d.queueInternal(tx, nil, nil, now, "report", to, body); err != nil {
		return false, err
	}
	d.o.Logger.Info("agreement report queued", "agreement", ag.Name, "period", r.Label, "to", len(to), "resent", !fresh)
	return true, nil
}

// reportJob is one configured report cadence of an agreement.
type reportJob struct {
	ag  *sla.Agreement
	per sla.Period
}

// reportJobs returns the configured report cadences by timer name. An
// agreement without recipients has none: there is nobody to send to.
func (d *Desk) reportJobs() map[string]reportJob {
	jobs := map[string]reportJob{}
	if d.o.Agreements == nil {
		return jobs
	}
	for _, ag := range d.o.Agreements.All() {
		if len(ag.ReportRecipients()) == 0 {
			continue
		}
		for _, per := range ag.Reports.Every {
			jobs[reportTimer(ag, per)] = reportJob{ag, per}
		}
	}
	return jobs
}

// SyncReports makes the report timers follow the configuration: a
// cadence without a timer gets one for the period whose report is next
// due after now (sla.Agreement.NextReportPeriod: the current period, so
// enabling reports never mails a backlog); a timer's time follows its
// cadence's schedule (yearly_on may have changed); the timers of
// cadences and agreements no longer configured, or without recipients,
// go. Run it at start and after each reload. When nothing is to change it
// only reads.
func (d *Desk) SyncReports(now time.Time) error {
	jobs := d.reportJobs()
	d.warnUnsentReports()
	var changes int
	if err := d.o.Store.View(func(tx Tx) (err error) {
		changes, err = d.syncReports(tx, jobs, now, false)
		return err
	}); err != nil || changes == 0 {
		return err
	}
	return d.o.Store.Update(func(tx Tx) error {
		_, err := d.syncReports(tx, jobs, now, true)
		return err
	})
}

// syncReports counts (and, with apply, makes) the timer changes
// SyncReports describes.
func (d *Desk) syncReports(tx Tx, jobs map[string]reportJob, now time.Time, apply bool) (changes int, err error) {
	have, err := tx.Timers(reportTimerPrefix)
	if err != nil {
		return 0, err
	}
	set := func(tm Timer, msg string) error {
		changes++
		if !apply {
			return nil
		}
		d.o.Logger.Info(msg, "timer", tm.Name, "period", tm.Payload, "at", tm.At)
		return tx.SetTimer(tm)
	}
	timed := map[string]bool{}
	for _, tm := range have {
		job, ok := jobs[tm.Name]
		if !ok {
			changes++
			if apply {
				d.o.Logger.Info("agreement report unscheduled", "timer", tm.Name, "period", tm.Payload)
				if err := tx.ClearTimer(tm.Name); err != nil {
					return changes, err
				}
			}
			continue
		}
		per, start, _, perr := sla.ParsePeriod(tm.Payload, job.ag.Location())
		if perr != nil || per != job.per {
			continue // not ours to keep: scheduled afresh below
		}
		timed[tm.Name] = true
		if at := job.ag.ReportAt(per, start); !at.Equal(tm.At) {
			if err := set(Timer{Name: tm.Name, At: at, Payload: tm.Payload}, "agreement report rescheduled"); err != nil {
				return changes, err
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(jobs)) {
		if timed[name] {
			continue
		}
		job := jobs[name]
		start, ok, err := nextUnsentReport(tx, job, now)
		if err != nil {
			return changes, err
		}
		if !ok {
			continue // the agreement has ended
		}
		if err := set(Timer{Name: name, At: job.ag.ReportAt(job.per, start), Payload: job.per.Label(start)}, "agreement report scheduled"); err != nil {
			return changes, err
		}
	}
	return changes, nil
}

// nextUnsentReport is the period a new timer of job starts at: the one
// whose report is next due after now, or, should that one have gone out
// already (the clock was set back after the last report of an ended
// agreement), the first after it that has not. ok is false when there is
// none left in force.
func nextUnsentReport(tx Tx, job reportJob, now time.Time) (start time.Time, ok bool, err error) {
	ag := job.ag
	start, ok = ag.NextReportPeriod(job.per, now)
	for ok {
		_, sent, err := tx.Marked(reportMark(ag, job.per.Label(start)))
		if err != nil || !sent {
			return start, ok, err
		}
		_, start = job.per.Bounds(start)
		ok = ag.ValidUntil.IsZero() || start.Before(ag.ValidUntil)
	}
	return start, false, nil
}

// warnUnsentReports logs agreements that have reports configured but
// nobody to send them to.
func (d *Desk) warnUnsentReports() {
	if d.o.Agreements == nil {
		return
	}
	for _, ag := range d.o.Agreements.All() {
		if len(ag.Reports.Every) > 0 && len(ag.ReportRecipients()) == 0 {
			d.o.Logger.Warn("agreement reports not sent: no reports.to and no contacts", "agreement", ag.Name)
		}
	}
}

// SendDueReports sends every report whose timer is due at now, oldest
// first, each in its own transaction with its timer's move to the next
// period, and returns the reports sent ("Trinax Alert! 2026-Q3"). After
// downtime, every missed period is sent, once. A report that fails
// leaves its timer due: the next call tries it again; the others go on.
func (d *Desk) SendDueReports(now time.Time) (sent []string, err error) {
	jobs := d.reportJobs()
	failed := map[string]bool{}
	var errs []error
	for {
		var due []Timer
		if err := d.o.Store.View(func(tx Tx) (err error) {
			due, err = tx.DueTimers(reportTimerPrefix, now, 0)
			return err
		}); err != nil {
			return sent, errors.Join(append(errs, err)...)
		}
		i := slices.IndexFunc(due, func(tm Timer) bool { return !failed[tm.Name] })
		if i < 0 {
			return sent, errors.Join(errs...)
		}
		tm := due[i]
		var what string
		err := d.o.Store.Update(func(tx Tx) (err error) {
			what, err = d.fireReport(tx, tm, jobs[tm.Name], now)
			return err
		})
		if err != nil {
			failed[tm.Name] = true
			errs = append(errs, fmt.Errorf("report %s for %s: %w", tm.Name, tm.Payload, err))
			d.o.Logger.Error("agreement report failed; it stays due", "timer", tm.Name, "period", tm.Payload, "err", err)
			continue
		}
		if what != "" {
			sent = append(sent, what)
		}
	}
}

// fireReport handles the due timer tm of job (zero when no longer
// configured): it queues the report of the timer's period, unless the
// agreement was not in force then or it went out before, and moves the
// timer to the next period, or clears it when the agreement has ended or
// the cadence is gone. sent names the report queued, if one was.
func (d *Desk) fireReport(tx Tx, tm Timer, job reportJob, now time.Time) (sent string, err error) {
	cur, ok, err := tx.Timer(tm.Name)
	if err != nil || !ok || !cur.At.Equal(tm.At) || cur.Payload != tm.Payload {
		return "", err // moved or cleared since it was read: the next round sees it as it is
	}
	ag := job.ag
	if ag == nil {
		d.o.Logger.Info("agreement report unscheduled", "timer", tm.Name, "period", tm.Payload)
		return "", tx.ClearTimer(tm.Name)
	}
	per, start, end, err := sla.ParsePeriod(tm.Payload, ag.Location())
	if err != nil || per != job.per {
		// Not a period of this cadence (the file was edited?): start
		// over from now, as for a cadence newly configured.
		next, ok := ag.NextReportPeriod(job.per, now)
		if !ok {
			return "", tx.ClearTimer(tm.Name)
		}
		d.o.Logger.Warn("agreement report timer had a bad period; rescheduled", "timer", tm.Name, "period", tm.Payload)
		return "", tx.SetTimer(Timer{Name: tm.Name, At: ag.ReportAt(job.per, next), Payload: job.per.Label(next)})
	}
	if ag.InForceDuring(start, end) {
		ok, err := d.SendReport(tx, ag, tm.Payload, now, false)
		if err != nil {
			return "", err
		}
		if ok {
			sent = ag.Name + " " + per.Label(start)
		}
	} else {
		d.o.Logger.Info("agreement report skipped: the agreement was not in force in the period", "agreement", ag.Name, "period", tm.Payload)
	}
	if !ag.ValidUntil.IsZero() && !end.Before(ag.ValidUntil) {
		d.o.Logger.Info("agreement reports done: the agreement has ended", "agreement", ag.Name, "cadence", per)
		return sent, tx.ClearTimer(tm.Name)
	}
	next := Timer{Name: tm.Name, At: ag.ReportAt(per, end), Payload: per.Label(end)}
	if !next.At.After(tm.At) {
		return "", fmt.Errorf("the next report time %s is not after %s", next.At, tm.At)
	}
	return sent, tx.SetTimer(next)
}

// NextReportAt is when the earliest report timer due after after is:
// the time to call SendDueReports again. ok is false when there is none.
// (Timers due at or before after are ones that just failed; the caller
// retries those on its own schedule.)
func (d *Desk) NextReportAt(after time.Time) (at time.Time, ok bool, err error) {
	err = d.o.Store.View(func(tx Tx) error {
		tms, err := tx.Timers(reportTimerPrefix)
		for _, tm := range tms {
			if tm.At.After(after) && (!ok || tm.At.Before(at)) {
				at, ok = tm.At, true
			}
		}
		return err
	})
	return at, ok, err
}
