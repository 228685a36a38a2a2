package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/helpdeskd/helpdeskd/ticket"
)

// The report loop mails agreement reports when their periods end: one
// goroutine that sends what is due, then sleeps until the next period
// ends. Each report is queued with its store mark in one transaction
// (ticket.Desk.SendDueReports), so restarts and clock jumps never send one
// twice, and the outbox sender retries delivery.

// reportRetry is the wait after a failed report; reportMaxSleep caps a
// sleep so that a reload's new agreements and a wall-clock jump (timers
// run on the monotonic clock) are noticed within the hour.
const (
	reportRetry    = 5 * time.Minute
	reportMaxSleep = time.Hour
)

type reportLoop struct {
	desk  func() *ticket.Desk
	now   func() time.Time
	after func(time.Duration) <-chan time.Time
	sent  func() // wakes the outbox sender
	log   *slog.Logger
}

func (l *reportLoop) run(ctx context.Context) error {
	for {
		now := l.now()
		desk := l.desk()
		sent, err := desk.SendDueReports(now)
		if len(sent) > 0 {
			l.log.Info("agreement reports queued", "reports", sent)
			l.sent()
		}
		sleep := reportMaxSleep
		if next := desk.NextReportAt(now); !next.IsZero() {
			sleep = min(sleep, max(next.Sub(now), time.Second))
		}
		if err != nil {
			l.log.Error("agreement reports failed; retrying", "err", err, "in", reportRetry)
			sleep = min(sleep, reportRetry)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-l.after(sleep):
		}
	}
}

// runReports is the daemon's report service.
func (d *daemon) runReports(ctx context.Context) error {
	l := &reportLoop{desk: d.currentDesk, now: time.Now, after: time.After, sent: d.kickSender, log: d.log.With("component", "reports")}
	return l.run(ctx)
}
