package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"syscall"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// Reload (SIGHUP, or `helpdeskd reload` through the admin API) re-reads
// the configuration file. A configuration with any error is rejected as
// a whole: its problems are logged one per line and the daemon goes on
// with what it has. A valid one is applied like this:
//
//   - the Desk (support identity, acks caps, languages, engineers, SLA
//     calendars and agreements …) is rebuilt and swapped in atomically;
//     the intake handler picks up the new one with its next batch;
//   - changed imap settings restart intake: the old loop finishes its
//     current batch (commit, then flag), the new one resumes from the
//     committed checkpoint, so nothing is read twice or skipped;
//   - changed smtp settings restart the sender: a send in flight is
//     finished first, the new sender starts by draining what is due;
//   - log.level and runtime (gotuning.go) apply at once;
//   - store, metrics.listen, admin.socket, admin.listen and log.format
//     need a restart: the reload reports them and keeps the old values.
//
// Every new part is built before anything is swapped, so a part that
// fails to build (an unreachable template, a bad TLS setting) rejects
// the reload without changing the running daemon.

// Errors of reload.
var (
	errNoReloadSource = errors.New("this daemon was not started from a configuration file; nothing to reload")
	errStopping       = errors.New("the daemon is shutting down")
)

// reloadReport says what a successful reload did beyond swapping the desk.
type reloadReport struct {
	Restarted   []string `json:"restarted"`    // loops restarted: "intake", "sender"
	NeedRestart []string `json:"need_restart"` // keys whose change waits for a restart
}

// reloadOutcome is the last reload, for status.
type reloadOutcome struct {
	at  time.Time
	err string
}

// service is one restartable loop of the daemon (intake or the sender)
// with a context of its own, so that reload and shutdown stop each one
// on purpose and in order rather than all at once.
type service struct {
	name   string
	cancel context.CancelFunc
	done   chan struct{}
}

// startService runs f until stop. An error other than cancellation is
// logged and kept for Run's result.
func (d *daemon) startService(name string, f func(context.Context) error) *service {
	ctx, cancel := context.WithCancel(context.Background())
	s := &service{name: name, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := f(ctx); err != nil && !errors.Is(err, context.Canceled) {
			d.log.Error("service stopped with an error", "service", name, "err", err)
			d.errMu.Lock()
			d.errs = append(d.errs, fmt.Errorf("%s: %w", name, err))
			d.errMu.Unlock()
		}
	}()
	return s
}

// stop ends the loop and waits until it has finished its current work.
func (s *service) stop() {
	if s == nil {
		return
	}
	s.cancel()
	<-s.done
}

// watchHangup reloads on every SIGHUP until ctx is done. It is set up
// before READY=1, so systemd's ExecReload never meets SIGHUP's default
// action (exit).
func (d *daemon) watchHangup(ctx context.Context) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				d.log.Info("SIGHUP: reloading the configuration")
				d.reloadFromSource()
			}
		}
	}()
}

// reloadFromSource re-reads the configuration and applies it, telling
// systemd and the log how it went.
func (d *daemon) reloadFromSource() (reloadReport, error) {
	if d.opts.reload == nil {
		return reloadReport{}, errNoReloadSource
	}
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	d.notify.reloading()
	next, err := d.opts.reload()
	var rep reloadReport
	if err == nil {
		rep, err = d.reload(next)
	}
	d.lastReload.Store(&reloadOutcome{at: time.Now(), err: errText(err)})
	if err != nil {
		d.metrics.reloadResult(false)
		d.log.Error("configuration reload rejected; the daemon keeps running on its previous configuration")
		for _, e := range errorList(err) {
			d.log.Error("configuration problem", "problem", e.Error())
		}
		d.notify.notify("READY=1", "STATUS=running; the last reload was rejected (see the log)")
		return rep, err
	}
	d.metrics.reloadResult(true)
	d.log.Info("configuration reloaded", "restarted", rep.Restarted, "need_restart", rep.NeedRestart)
	for _, k := range rep.NeedRestart {
		d.log.Warn("configuration change not applied until a restart", "key", k)
	}
	d.notify.ready("running; configuration reloaded")
	return rep, nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// errorList unpacks joined errors (also below one level of wrapping, as
// in "path: joined…").
func errorList(err error) []error {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			return j.Unwrap()
		}
	}
	return []error{err}
}

// reload applies next to the running daemon; see the comment at the top.
func (d *daemon) reload(next daemonOptions) (reloadReport, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	rep := reloadReport{Restarted: []string{}, NeedRestart: []string{}}
	if d.stopping {
		return rep, errStopping
	}
	cur := d.opts

	// Build first.
	var errs []error
	desk, err := d.newDesk(next.Desk)
	if err != nil {
		errs = append(errs, fmt.Errorf("desk: %w", err))
	}
	var intake *mailer.Intake
	restartIntake := !reflect.DeepEqual(intakeSettings(cur.Intake), intakeSettings(next.Intake))
	if restartIntake {
		if intake, err = d.newIntake(next.Intake); err != nil {
			errs = append(errs, fmt.Errorf("imap: %w", err))
		}
	}
	var sender *mailer.Sender
	restartSender := !reflect.DeepEqual(smtpSettings(cur.SMTP), smtpSettings(next.SMTP)) ||
		!reflect.DeepEqual(senderSettings(cur.Sender), senderSettings(next.Sender))
	if restartSender {
		if sender, err = d.newSender(next.SMTP, next.Sender); err != nil {
			errs = append(errs, fmt.Errorf("smtp: %w", err))
		}
	}
	if len(errs) > 0 {
		return rep, errors.Join(errs...)
	}

	// Then swap.
	d.desk.Store(desk)
	cur.Desk = next.Desk
	d.kickScheduler() // new plans or calendars may move deadlines
	d.kickReports()   // and new agreements, report timers
	if restartSender {
		d.senderSvc.stop()
		d.sender.Store(sender)
		if d.running {
			d.senderSvc = d.startService("sender", sender.Run)
		}
		cur.SMTP, cur.Sender = next.SMTP, next.Sender
		rep.Restarted = append(rep.Restarted, "sender")
	}
	if restartIntake {
		d.intakeSvc.stop()
		d.intake.Store(intake)
		if d.running {
			d.intakeSvc = d.startService("intake", intake.Run)
		}
		cur.Intake = next.Intake
		rep.Restarted = append(rep.Restarted, "intake")
	}
	if d.admin != nil {
		d.admin.setToken(next.Admin.Token)
		cur.Admin.Token = next.Admin.Token
	}
	if next.Runtime != nil && (cur.Runtime == nil || *next.Runtime != *cur.Runtime) {
		applyRuntimeFromEnv(*next.Runtime, d.log)
		cur.Runtime = next.Runtime
	}
	if cur.levelVar != nil && next.LogLevel != cur.LogLevel {
		cur.levelVar.Set(next.LogLevel)
		cur.LogLevel = next.LogLevel
	}
	for _, c := range []struct {
		key     string
		changed bool
	}{
		{"store.path", next.StorePath != cur.StorePath},
		{"store.lock_timeout", next.Store.LockTimeout != cur.Store.LockTimeout},
		{"metrics.listen", next.MetricsListen != cur.MetricsListen},
		{"admin.socket", next.Admin.Socket != cur.Admin.Socket},
		{"admin.listen", next.Admin.Listen != cur.Admin.Listen},
		{"log.format", next.LogFormat != cur.LogFormat},
	} {
		if c.changed {
			rep.NeedRestart = append(rep.NeedRestart, c.key)
		}
	}
	d.opts = cur
	return rep, nil
}

// The settings of intake, SMTP and the sender without the wiring the
// daemon adds (handlers, hooks, loggers), for telling whether a reload
// changed them.

func intakeSettings(o mailer.IntakeOptions) mailer.IntakeOptions {
	o.Handler, o.Checkpoints, o.Logger, o.OnEvent = nil, nil, nil, nil
	return o
}

func smtpSettings(o mailer.SMTPOptions) mailer.SMTPOptions { return o }

func senderSettings(o mailer.SenderOptions) mailer.SenderOptions {
	o.Transport, o.Queue, o.Logger, o.OnResult, o.Now, o.Rand = nil, nil, nil, nil, nil, nil
	return o
}

// configReloader returns the reload source of `helpdeskd run`: it reads
// and validates the file at path, and maps it like the first start did.
func configReloader(path string, log *slog.Logger, level *slog.LevelVar) func() (daemonOptions, error) {
	return func() (daemonOptions, error) {
		cfg, err := LoadConfig(path)
		if err == nil {
			err = cfg.Validate()
		}
		if err != nil {
			return daemonOptions{}, fmt.Errorf("%s: %w", path, err)
		}
		o := cfg.daemonOptions(log)
		o.withLog(cfg.Log, level)
		return o, nil
	}
}

// withLog records the log settings in o, for reload to compare.
func (o *daemonOptions) withLog(c LogConfig, level *slog.LevelVar) {
	o.LogLevel, o.LogFormat, o.levelVar = c.SlogLevel(), c.Format, level
}

// newReloadableLogger is newLogger with a level that reload can change.
func newReloadableLogger(c LogConfig, w io.Writer) (*slog.Logger, *slog.LevelVar) {
	level := new(slog.LevelVar)
	level.Set(c.SlogLevel())
	o := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, o)), level
	}
	return slog.New(slog.NewTextHandler(w, o)), level
}

// currentDesk is the desk in effect; reload may replace it at any time,
// so callers load it once per unit of work.
func (d *daemon) currentDesk() *ticket.Desk { return d.desk.Load() }

// kickSender wakes the current sender.
func (d *daemon) kickSender() {
	if s := d.sender.Load(); s != nil {
		s.Kick()
	}
}
