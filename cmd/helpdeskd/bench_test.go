package main

import (
	"context"
	"slices"
	"testing"
	"time"
)

// BenchmarkAckLatency measures what a customer waits for: from the moment
// a mail is appended to the support mailbox of an in-process IMAP server
// until the acknowledgement is accepted by the SMTP server. Intake wakes by
// IDLE; the poll fallback is set to 5 s so that a missed wake-up shows in
// the p99 instead of hiding.
func BenchmarkAckLatency(b *testing.B) {
	t := &testing.T{}
	e := &e2e{t: t, dir: b.TempDir()}
	s, err := startMailStack("127.0.0.1:0", "127.0.0.1:0", demoUsers, quietLog)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	e.stack = s
	o := e.options()
	o.Intake.PollInterval = 5 * time.Second
	d, err := newDaemon(o)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		before := len(s.SMTP.Messages())
		changed := s.SMTP.Changed()
		start := time.Now()
		if err := s.IMAP.Append(demoSupport, "INBOX", customerMail(i+1)); err != nil {
			b.Fatal(err)
		}
		deadline := time.After(30 * time.Second)
		for len(s.SMTP.Messages()) == before {
			select {
			case <-changed:
				changed = s.SMTP.Changed()
			case <-deadline:
				b.Fatalf("no acknowledgement for mail %d within 30s", i+1)
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")

}
