package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// daemonOptions is everything the daemon is built from: each package's
// Options, filled from the configuration (or by the demo). The Store,
// Handler, Checkpoints, Transport and Queue fields are wired here.
type daemonOptions struct {
	StorePath     string
	Store         store.Options
	Desk          ticket.Options
	Intake        mailer.IntakeOptions
	SMTP          mailer.SMTPOptions
	Sender        mailer.SenderOptions
	MetricsListen string
	Logger        *slog.Logger
	// Admin is the admin API; a zero Socket serves none.
	Admin adminOptions
	// LogLevel and LogFormat are the log settings in effect, for reload to
	// compare; levelVar, when set, is the logger's level that reload sets.
	LogLevel  slog.Level
	LogFormat string
	levelVar  *slog.LevelVar
	// Runtime, when set, tunes the Go runtime at start and reload
	// (gotuning.go); nil leaves it alone, as in-process tests want.
	Runtime *RuntimeConfig
	// reload, when set, re-reads the configuration for SIGHUP and the
	// admin API's reload (reload.go).
	reload func() (daemonOptions, error)
	// afterCommit, when set, runs after each intake batch is committed and
	// before intake flags the mails: the crash tests kill the process here.
	afterCommit func()
}

// daemon is one running helpdeskd: the store, intake, the desk and the
// outbox sender, plus the admin API, metrics and systemd notification.
type daemon struct {
	db      *store.DB
	metrics *metrics
	log     *slog.Logger
	http    *http.Server
	httpLn  net.Listener
	admin   *adminServer // nil without Options.Admin.Socket
	notify  *notifier
	started time.Time

	// desk, intake and sender are replaced by reload: load them once per
	// unit of work (currentDesk, kickSender).
	desk   atomic.Pointer[ticket.Desk]
	intake atomic.Pointer[mailer.Intake]
	sender atomic.Pointer[mailer.Sender]

	// sched fires SLA deadlines with the current desk (slaconfig.go).
	sched    *ticket.Scheduler
	schedSvc *service
	// reportsSvc mails agreement reports (reports_loop.go); reportsKick
	// wakes it after a reload.
	reportsSvc  *service
	reportsKick chan struct{}

	intakeState atomic.Pointer[intakeStatus]
	lastReload  atomic.Pointer[reloadOutcome]

	reloadMu sync.Mutex // one reload at a time; taken before mu

	mu        sync.Mutex // guards opts, the services and the flags below
	opts      daemonOptions
	running   bool // Run has started the services
	stopping  bool // Run is shutting down: no more reloads
	intakeSvc *service
	senderSvc *service

	errMu sync.Mutex
	errs  []error // services that stopped with an error
}

// intakeStatus is what intake is doing, for `helpdeskd status`.
type intakeStatus struct {
	state string // starting, connected, reconnecting, failing
	err   string
	since time.Time
}

// newDaemon opens the store and builds every part; nothing runs yet.
func newDaemon(o daemonOptions) (*daemon, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	o.Logger = log
	o.Store.Logger = log.With("component", "store")
	if o.Runtime != nil {
		applyRuntimeFromEnv(*o.Runtime, log)
	}
	db, err := store.Open(o.StorePath, o.Store)
	if err != nil {
		return nil, err
	}
	d := &daemon{db: db, log: log, metrics: newMetrics(db), opts: o, started: time.Now(), notify: notifierFromEnv(log), reportsKick: make(chan struct{}, 1)}
	d.intakeState.Store(&intakeStatus{state: "starting", since: d.started})
	fail := func(err error) (*daemon, error) {
		d.Close()
		return nil, err
	}

	desk, err := d.newDesk(o.Desk)
	if err != nil {
		return fail(err)
	}
	d.desk.Store(desk)
	slaM := newSLAMetrics(d.metrics.reg, func() (time.Time, bool) { return d.sched.Next() })
	d.sched = ticket.NewScheduler(desk, ticket.SchedulerOptions{
		Desk:   d.currentDesk,
		Logger: log.With("component", "scheduler"),
		OnFired: func(fs []ticket.Fired) {
			slaM.fired(fs)
			d.kickSender()
		},
	})
	sender, err := d.newSender(o.SMTP, o.Sender)
	if err != nil {
		return fail(fmt.Errorf("smtp: %w", err))
	}
	d.sender.Store(sender)
	intake, err := d.newIntake(o.Intake)
	if err != nil {
		return fail(fmt.Errorf("imap: %w", err))
	}
	d.intake.Store(intake)

	if o.MetricsListen != "" {
		ln, err := net.Listen("tcp", o.MetricsListen)
		if err != nil {
			return fail(fmt.Errorf("metrics.listen: %w", err))
		}
		d.httpLn = ln
		d.http = &http.Server{Handler: d.metrics.handler(), ReadHeaderTimeout: 10 * time.Second}
	}
	if o.Admin.Socket != "" {
		if d.admin, err = listenAdmin(d, o.Admin); err != nil {
			return fail(err)
		}
	}
	return d, nil
}

// newDesk builds a desk on the daemon's store with the metrics hook.
func (d *daemon) newDesk(o ticket.Options) (*ticket.Desk, error) {
	o.Store = d.db
	o.Logger = d.log.With("component", "desk")
	if hook := o.OnDecision; hook != nil {
		o.OnDecision = func(dec ticket.Decision) { d.metrics.decision(dec); hook(dec) }
	} else {
		o.OnDecision = d.metrics.decision
	}
	o.OnDeadlines = d.kickScheduler
	return ticket.NewDesk(o)
}

// newSender builds an SMTP transport and a sender draining the store.
func (d *daemon) newSender(so mailer.SMTPOptions, o mailer.SenderOptions) (*mailer.Sender, error) {
	smtp, err := mailer.NewSMTP(so)
	if err != nil {
		return nil, err
	}
	o.Transport = smtp
	o.Queue = d.db
	o.Logger = d.log.With("component", "sender")
	o.OnResult = d.metrics.sendResult
	return mailer.NewSender(o), nil
}

// newIntake builds an intake whose handler commits through the current
// desk and then wakes the current sender.
func (d *daemon) newIntake(o mailer.IntakeOptions) (*mailer.Intake, error) {
	afterCommit := d.opts.afterCommit
	o.Checkpoints = d.db
	o.Logger = d.log.With("component", "intake")
	o.OnEvent = d.intakeEvent
	o.Handler = func(ctx context.Context, b mailer.Batch) error {
		if err := d.currentDesk().ReceiveBatch(ctx, b); err != nil {
			return err
		}
		if afterCommit != nil {
			afterCommit()
		}
		d.kickSender()
		return nil
	}
	return mailer.NewIntake(o)
}

// intakeEvent feeds metrics and the status the admin API reports.
func (d *daemon) intakeEvent(e mailer.IntakeEvent) {
	d.metrics.intakeEvent(e)
	var next intakeStatus
	switch e.Kind {
	case mailer.IntakeChecked:
		next.state = "connected"
	case mailer.IntakeConnected:
		if cur := d.intakeState.Load(); cur.state == "failing" {
			return // until a check commits again
		}
		next.state = "connected"
	case mailer.IntakeHandlerError:
		next.state, next.err = "failing", "committing mail to the store failed (mail stays in IMAP): "+errText(e.Err)
	case mailer.IntakeReconnect:
		if cur := d.intakeState.Load(); cur.state == "failing" {
			return // keep the cause; reconnecting is its consequence
		}
		next.state, next.err = "reconnecting", errText(e.Err)
	default:
		return
	}
	if cur := d.intakeState.Load(); cur.state != next.state || cur.err != next.err {
		next.since = time.Now()
		d.intakeState.Store(&next)
	}
}

// Run runs intake and the sender until ctx is cancelled. Then it stops
// intake (which finishes the batch it is committing), lets the sender
// finish its in-flight delivery (bounded by its DrainTimeout), stops the
// admin API and metrics, and closes the store.
func (d *daemon) Run(ctx context.Context) error {
	defer d.notify.Close()
	if d.opts.reload != nil {
		d.watchHangup(ctx)
	}
	if d.http != nil {
		go func() {
			if err := d.http.Serve(d.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.log.Error("metrics server stopped", "err", err)
			}
		}()
		d.log.Info("metrics listening", "addr", d.httpLn.Addr().String())
	}
	if d.admin != nil {
		d.admin.serve()
	}
	d.mu.Lock()
	d.running = true
	d.intakeSvc = d.startService("intake", d.intake.Load().Run)
	d.senderSvc = d.startService("sender", d.sender.Load().Run)
	d.schedSvc = d.startService("scheduler", d.sched.Run)
	d.reportsSvc = d.startService("reports", d.runReports)
	d.mu.Unlock()

	wdCtx, stopWatchdog := context.WithCancel(ctx)
	defer stopWatchdog()
	if iv, err := watchdogInterval(); err != nil {
		d.log.Warn("systemd watchdog not kept alive", "err", err)
	} else if iv > 0 {
		go d.notify.watchdog(wdCtx, iv, d.probe)
	}
	d.log.Info("helpdeskd running", "store", d.db.Path(), "version", version)
	d.notify.ready("running")

	<-ctx.Done()
	stopWatchdog()
	d.log.Info("shutting down")
	d.notify.stopping()
	d.mu.Lock()
	d.stopping = true
	d.intakeSvc.stop()
	d.schedSvc.stop()
	d.reportsSvc.stop()
	d.senderSvc.stop()
	d.running = false
	d.mu.Unlock()
	if d.admin != nil {
		d.admin.shutdown(5 * time.Second)
	}
	if d.http != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		d.http.Shutdown(sctx)
		cancel()
	}
	d.errMu.Lock()
	all := d.errs
	d.errMu.Unlock()
	if err := d.db.Close(); err != nil {
		all = append(all, fmt.Errorf("close store: %w", err))
	}
	d.log.Info("helpdeskd stopped")
	return errors.Join(all...)
}

// kickScheduler tells the SLA scheduler that deadlines changed; the desk
// calls it after each commit.
func (d *daemon) kickScheduler() {
	if d.sched != nil {
		d.sched.Kick()
	}
}

// probe is the watchdog's health check: the store answers a read
// transaction in time (a wedged mmap or lock would not).
func (d *daemon) probe(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- d.db.View(func(ticket.Tx) error { return nil }) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%w: the store did not answer a read in time", errUnhealthy)
	}
}

// Close releases the store and listeners of a daemon that was built but
// never Run.
func (d *daemon) Close() error {
	if d.admin != nil {
		d.admin.close()
	}
	if d.httpLn != nil {
		d.httpLn.Close()
	}
	d.notify.Close()
	return d.db.Close()
}
