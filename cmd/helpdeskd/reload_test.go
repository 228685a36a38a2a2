package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer/mailtest"
)

// reloadHarness is an in-process daemon whose reload source is the test.
type reloadHarness struct {
	e       *e2e
	d       *daemon
	next    daemonOptions
	err     error
	stop    func()
	stopped chan error
}

func newReloadHarness(t *testing.T) *reloadHarness {
	t.Helper()
	h := &reloadHarness{e: newE2E(t)}
	o := h.e.options()
	o.levelVar = new(slog.LevelVar)
	o.LogLevel = slog.LevelInfo
	o.reload = func() (daemonOptions, error) { return h.next, h.err }
	h.next = o
	h.next.reload = nil
	d, err := newDaemon(o)
	if err != nil {
		t.Fatal(err)
	}
	h.d = d
	ctx, cancel := context.WithCancel(context.Background())
	h.stopped = make(chan error, 1)
	go func() { h.stopped <- d.Run(ctx) }()
	done := false
	h.stop = func() {
		if done {
			return
		}
		done = true
		cancel()
		if err := <-h.stopped; err != nil {
			t.Errorf("daemon: %v", err)
		}
	}
	t.Cleanup(h.stop)
	return h
}

// acksTo returns the subjects of support's mail an SMTP server got.
func acksTo(s *mailtest.SMTPServer) []string {
	var out []string
	for _, m := range s.Messages() {
		if m.From == demoSupport {
			h := string(m.Raw)
			if i := strings.Index(h, "\r\nSubject: "); i >= 0 {
				rest := h[i+len("\r\nSubject: "):]
				out = append(out, rest[:strings.Index(rest, "\r\n")])
			}
		}
	}
	return out
}

func TestReloadSwapsDeskAndRestartsChangedLoops(t *testing.T) {
	h := newReloadHarness(t)
	e := h.e
	e.send(customerMail(1))
	e.waitFor("the first ack", func() bool { return len(e.sent()) == 1 })

	// A second SMTP server: after the reload acks must go there.
	smtp2, err := mailtest.NewSMTPServer("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer smtp2.Close()
	h.next.Desk.CasePrefix = "XY"
	h.next.SMTP.Addr = smtp2.Addr()
	h.next.Intake.PollInterval = 150 * time.Millisecond
	h.next.LogLevel = slog.LevelDebug
	h.next.MetricsListen = "127.0.0.1:1"
	h.next.StorePath = "/elsewhere/helpdeskd.db"

	rep, err := h.d.reloadFromSource()
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	if !slices.Equal(rep.Restarted, []string{"sender", "intake"}) {
		t.Errorf("restarted %v, want sender and intake", rep.Restarted)
	}
	if !slices.Equal(rep.NeedRestart, []string{"store.path", "metrics.listen"}) {
		t.Errorf("need restart %v, want store.path and metrics.listen", rep.NeedRestart)
	}
	if got := h.d.opts.levelVar.Level(); got != slog.LevelDebug {
		t.Errorf("log level after reload = %v, want DEBUG", got)
	}
	if h.d.opts.StorePath == "/elsewhere/helpdeskd.db" {
		t.Error("the store path of the running daemon changed without a restart")
	}

	e.send(customerMail(2))
	e.waitFor("the second ack, through the new server", func() bool { return len(acksTo(smtp2)) == 1 })
	if got := acksTo(smtp2)[0]; !strings.HasPrefix(got, "[#XY-000002]") {
		t.Errorf("ack after reload = %q, want the new prefix", got)
	}
	if n := len(e.sent()); n != 1 {
		t.Errorf("the old SMTP server got %d acks, want only the one from before the reload", n)
	}

	// A reload that changes nothing restarts nothing.
	rep, err = h.d.reloadFromSource()
	if err != nil || len(rep.Restarted) != 0 {
		t.Errorf("idempotent reload: %+v, %v", rep, err)
	}
	h.stop()
	if ts := e.tickets(); len(ts) != 2 {
		t.Errorf("%d tickets, want 2: the intake restart read nothing twice", len(ts))
	}
}

func TestReloadRejectedKeepsTheRunningConfiguration(t *testing.T) {
	h := newReloadHarness(t)
	e := h.e
	prev := h.d.currentDesk()

	t.Run("source_error", func(t *testing.T) {
		h.err = errors.Join(errors.New("support.case_prefix: bad"), errors.New("imap.address: required"))
		_, err := h.d.reloadFromSource()
		if err == nil || !strings.Contains(err.Error(), "support.case_prefix") {
			t.Fatalf("reload = %v", err)
		}
		h.err = nil
	})
	t.Run("a_part_that_does_not_build", func(t *testing.T) {
		h.next.Desk.CasePrefix = "XY"
		h.next.Intake.Security = "carrier-pigeon"
		_, err := h.d.reloadFromSource()
		if err == nil || !strings.Contains(err.Error(), "imap:") {
			t.Fatalf("reload = %v", err)
		}
	})
	if h.d.currentDesk() != prev {
		t.Error("a rejected reload replaced the desk")
	}
	if r := h.d.lastReload.Load(); r == nil || r.err == "" {
		t.Errorf("last reload = %+v, want the rejection recorded", r)
	}
	e.send(customerMail(1))
	e.waitFor("an ack", func() bool { return len(e.sent()) == 1 })
	if s := e.sent()[0].subject; !strings.HasPrefix(s, "[#HD-000001]") {
		t.Errorf("ack after a rejected reload = %q, want the old prefix", s)
	}
}

func TestReloadWithoutSourceOrAfterShutdown(t *testing.T) {
	e := newE2E(t)
	d, err := newDaemon(e.options())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.reloadFromSource(); !errors.Is(err, errNoReloadSource) {
		t.Errorf("reload without a source: %v", err)
	}
	h := newReloadHarness(t)
	h.stop()
	if _, err := h.d.reloadFromSource(); !errors.Is(err, errStopping) {
		t.Errorf("reload after shutdown: %v", err)
	}
}

func TestConfigReloaderReadsTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "helpdeskd.yaml")
	os.WriteFile(path, []byte(minimalYAML+"log:\n  level: debug\n  format: json\n"), 0o600)
	level := new(slog.LevelVar)
	src := configReloader(path, quietLog, level)
	o, err := src()
	if err != nil {
		t.Fatal(err)
	}
	if o.StorePath != "/tmp/helpdeskd.db" || o.LogLevel != slog.LevelDebug || o.LogFormat != "json" || o.levelVar != level {
		t.Errorf("options from the file: store %q, level %v, format %q", o.StorePath, o.LogLevel, o.LogFormat)
	}
	os.WriteFile(path, []byte(minimalYAML+"imap:\n  batch_size: 0\nsmtp:\n  retry_min: never\n"), 0o600)
	_, err = src()
	if err == nil {
		t.Fatal("an invalid file was accepted")
	}
	if list := errorList(err); len(list) < 1 || !strings.HasPrefix(err.Error(), path+": ") {
		t.Errorf("error %q: want it to name the file and list the problems (%d)", err, len(list))
	}
}

func TestShutdownFinishesTheSendInFlight(t *testing.T) {
	e := newE2E(t)
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	e.stack.SMTP.OnMessage(func(r mailtest.Received) {
		if r.From == demoSupport {
			entered <- struct{}{}
			<-release
		}
		e.stack.deliver(r)
	})
	d, err := newDaemon(e.options())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	e.send(customerMail(1))
	select {
	case <-entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the ack was never sent")
	}
	// SIGTERM while the server holds the DATA reply.
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Run returned (%v) while a send was in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	// The delivery was recorded before the store closed: nothing is sent
	// again by the next daemon.
	d2, err := newDaemon(e.options())
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	n, _, err := d2.db.OutboxStats()
	if err != nil || n != 0 {
		t.Errorf("outbox after a clean shutdown: %d pending, %v; want the in-flight ack recorded as delivered", n, err)
	}
}
