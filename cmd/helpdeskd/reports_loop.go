package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/helpdeskd/helpdeskd/ticket"
)

// The report loop mails agreement reports when they are due: one
// goroutine that brings the report timers in the store in line with the
// desk's agreements (at start, and when a reload swaps the desk), sends
// what is due, then sleeps until the earliest timer. Each report is
// queued with its store mark and its timer's move to the next period in
// one transaction (ticket.Desk.SendDueReports), so restarts and clock
// jumps never send one twice, a report that fails stays due, and the
// outbox sender retries delivery.

// reportRetry is the wait after a failed report; reportMaxSleep caps a
// sleep so that a wall-clock jump (timers run on the monotonic clock) is
// noticed within the hour.
const (
	reportRetry    = 5 * time.Minute
	reportMaxSleep = time.Hour
)

type reportLoop struct {
	desk  func() *ticket.Desk
	now   func() time.Time
	after func(time.Duration) <-chan time.Time
	// kick wakes the loop when a reload swapped the desk; nil: never.
	kick <-chan struct{}
	sent func() // wakes the outbox sender
	log  *slog.Logger
}

func (l *reportLoop) run(ctx context.Context) error {
	var synced *ticket.Desk // the desk whose agreements the timers follow
	for {
		now := l.now()
		desk := l.desk()
		var errs []error
		if desk != synced {
			if err := desk.SyncReports(now); err != nil {
				errs = append(errs, err)
			} else {
				synced = desk
			}
		}
		sent, err := desk.SendDueReports(now)
		if len(sent) > 0 {
			l.log.Info("agreement reports queued", "reports", sent)
			l.sent()
		}
		errs = append(errs, err)
		sleep := reportMaxSleep
		next, ok, err := desk.NextReportAt(now)
		if ok {
			sleep = min(sleep, max(next.Sub(now), time.Second))
		}
		if err := errors.Join(append(errs, err)...); err != nil {
			l.log.Error("agreement reports failed; retrying", "err", err, "in", reportRetry)
			sleep = min(sleep, reportRetry)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-l.after(sleep):
		case <-l.kick:
		}
	}
}

// runReports is the daemon's report service.
func (d *daemon) runReports(ctx context.Context) error {
	l := &reportLoop{desk: d.currentDesk, now: time.Now, after: time.After, kick: d.reportsKick,
		sent: d.kickSender, log: d.log.With("component", "reports")}
	return l.run(ctx)
}

// kickReports tells the report loop that the desk changed; reload calls
// it after swapping the desk, so that new report cadences are scheduled
// before their period ends.
func (d *daemon) kickReports() {
	select {
	case d.reportsKick <- struct{}{}:
	default: // a kick is pending already
	}
}
