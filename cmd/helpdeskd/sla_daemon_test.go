package main

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// TestDaemonSLA runs the daemon with the example agreements on the
// in-process mail stack: the acknowledgement states the deadline, and the
// scheduler mails the warning and the breach to the escalation groups.
func TestDaemonSLA(t *testing.T) {
	e := newE2E(t)
	cfg := load(t, minimalYAML+slaSections(t))
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	o := e.options()
	o.Desk.Agreements, o.Desk.EscalationGroups = cfg.slaAgreements(), cfg.slaGroups()
	// The desk's clock runs in real time, plus what the test skips ahead.
	var skip atomic.Int64
	o.Desk.Now = func() time.Time { return time.Now().Add(time.Duration(skip.Load())) }
	o.Sender.Now = o.Desk.Now
	d, err := newDaemon(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	}()

	// Terso, priority 1 by its subject: answer within 1 h around the
	// clock, warning at 50 %.
	e.send(demoMail("ops@tersosolutions.com", "Ops", "Outage: portal down", "t1@tersosolutions.com", nil, "The portal is down."))
	e.waitFor("the ack", func() bool { return len(e.sent()) == 1 })
	ack := e.sent()[0]
	if ack.to != "ops@tersosolutions.com" {
		t.Fatalf("first mail to %s: %q", ack.to, ack.subject)
	}
	e.waitFor("the first deadline", func() bool { _, ok := d.sched.Next(); return ok })
	next, _ := d.sched.Next()
	if left := time.Until(next) + time.Duration(skip.Load()); left < 29*time.Minute || left > 30*time.Minute {
		t.Errorf("first deadline in %v, want the warning 30 minutes after arrival", left)
	}

	skip.Store(int64(31 * time.Minute))
	d.kickScheduler()
	e.waitFor("the warning", func() bool { return len(e.sent()) == 2 })
	warn := e.sent()[1]
	if warn.to != "terso-oncall@example.com" || !strings.HasPrefix(warn.subject, "[#HD-000001] SLA warning: first response due ") {
		t.Errorf("warning to %s: %q", warn.to, warn.subject)
	}
	skip.Store(int64(61 * time.Minute))
	d.kickScheduler()
	e.waitFor("the breach", func() bool { return len(e.sent()) == 3 })
	breach := e.sent()[2]
	// Priority 1: the Oslo lead gets it at once, whatever the hour there.
	if breach.to != "terso-oncall@example.com,lead@example.com" || !strings.HasPrefix(breach.subject, "[#HD-000001] SLA breached: first response was due ") {
		t.Errorf("breach to %s: %q", breach.to, breach.subject)
	}

	families, err := d.metrics.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*dto.MetricFamily{}
	for _, f := range families {
		got[f.GetName()] = f
	}
	for name, want := range map[string]float64{"helpdeskd_sla_warnings_total": 1, "helpdeskd_sla_breaches_total": 1} {
		if f := got[name]; f == nil || f.Metric[0].GetCounter().GetValue() != want {
			t.Errorf("%s = %v, want %v", name, f, want)
		}
	}
	if f := got["helpdeskd_scheduler_next_due_seconds"]; f == nil || f.Metric[0].GetGauge().GetValue() <= 0 {
		t.Errorf("helpdeskd_scheduler_next_due_seconds = %v, want the next escalation step in the future", f)
	}
}
