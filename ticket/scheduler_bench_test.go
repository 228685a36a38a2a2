package ticket_test

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// The scheduler benchmark runs on a real bbolt file of benchTickets open
// tickets, each with its customer's mail and its next SLA deadline in the
// index. Building that file takes a while, so it is kept in os.TempDir
// under a name with benchFileVersion (bump it when the layout changes) and
// copied for each run, which then changes only its copy.
const (
	benchTickets     = 1_000_000
	benchFileVersion = 1
	// benchStep spaces the tickets' warnings: ticket i warns at
	// benchBase + i*benchStep. Their breaches all come later (the target
	// is 8 days), so handling warnings never meets a breach.
	benchStep = 100 * time.Millisecond
)

var benchBase = time.Date(2027, 1, 4, 8, 0, 0, 0, time.UTC)

// benchPlan: 24x7, first response within 8 days, warnings at 75 % to one
// address.
func benchPlan(b testing.TB) *sla.Agreements {
	plan := &sla.Plan{Name: "bench", Calendar: builtinCal(b, "24x7", time.UTC),
		Priorities: every(first(sla.Hours(192 * time.Hour))),
		Escalation: sla.Escalation{Warn: []string{"oncall@example.com"}, Breach: []string{"oncall@example.com"}}}
	ags, err := sla.NewAgreements([]*sla.Agreement{{Name: "Bench", Customers: []string{"customer.example"}, Plan: plan, Language: "en"}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return ags
}

// benchTicket is ticket id as intake would have left it.
func benchTicket(id uint64) (*ticket.Ticket, *ticket.Entry, ticket.Deadline) {
	warn := benchBase.Add(time.Duration(id-1) * benchStep)
	created := warn.Add(-144 * time.Hour) // 75 % of 192 h
	cust := fmt.Sprintf("user%d@customer.example", id%5000)
	c := ticket.FormatCase("HD", id)
	t := &ticket.Ticket{
		ID: id, Case: c, Subject: fmt.Sprintf("Printer %d on floor 3 prints blank pages", id),
		Customer: cust, Participants: []string{cust}, State: ticket.StateOpen, Priority: 3, Language: "en",
		Created: created, Updated: created, LastInbound: fmt.Sprintf("req%d@customer.example", id), MessageCount: 2,
		Agreement: "Bench", ResponseBy: "Tuesday 12 January 2027 08:00 UTC, within 192 business hours",
		Events: []ticket.Event{
			{At: created, What: "created", Detail: "from " + cust},
			{At: created, What: "sla", Detail: "agreement Bench (covered), plan bench, priority 3 (default)"},
			{At: created, What: "ack-queued", Detail: "to " + cust + ", " + c + ".1@example.com"},
		},
		SLA: &ticket.SLAState{Plan: "bench", Coverage: "covered", PrioritySource: "default", Clocks: []*ticket.Clock{{
			Promise: sla.PromiseFirstResponse, Target: "192h", Start: created, Budget: 192 * time.Hour,
			Since: created, Due: created.Add(192 * time.Hour), WarnAt: warn,
		}}},
	}
	e := &ticket.Entry{Direction: ticket.Inbound, MessageID: t.LastInbound, From: cust, To: []string{supportAddr},
		Subject: t.Subject, Date: created, Received: created, Kind: "normal",
		Text: "Hello,\n\nthe printer on the third floor prints blank pages since this morning.\nWe tried another toner.\n\nRegards\n"}
	return t, e, ticket.Deadline{At: warn, TicketID: id, Kind: ticket.DeadlineWarn}
}

// benchFile returns the cached database, building it when missing.
func benchFile(b *testing.B) string {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("helpdeskd-bench-scheduler-v%d-%d.db", benchFileVersion, benchTickets))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	start := time.Now()
	tmp := path + ".building"
	os.Remove(tmp)
	db, err := store.Open(tmp, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	const batch = 50_000
	for lo := uint64(1); lo <= benchTickets; lo += batch {
		err := db.Update(func(tx ticket.Tx) error {
			for id := lo; id < lo+batch && id <= benchTickets; id++ {
				t, e, d := benchTicket(id)
				if err := tx.PutTicket(t); err != nil {
					return err
				}
				if err := tx.AddEntry(id, e); err != nil {
					return err
				}
				if err := tx.SetDeadline(d); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %s in %v", path, time.Since(start).Round(time.Second))
	return path
}

func copyFile(b *testing.B, from, to string) {
	src, err := os.Open(from)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		b.Fatal(err)
	}
	// Flushed now, or the benchmark's first commits would pay for writing
	// the whole copy.
	if err := dst.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkScheduler reports, for 1,000,000 open tickets in a real bbolt
// file: startup-ms, the time to open the store and find the first due
// deadline (what a restart costs before the scheduler sleeps), split into
// open-ms (store.Open with its quick structural check; the full page
// check runs in the background) and first-due-ms (building desk and
// scheduler, a first run, Next); heap-MB, the live heap after that (the
// scheduler never loads all tickets); and ns/deadline, the cost of
// handling one due deadline — load the ticket and its last message, fire
// the warning, compose and queue its mail, file the next deadline — with
// the store's fsync, excluding SMTP, once the background check is done
// (checking-ns/deadline is the same while it runs, the first seconds
// after a restart). Each iteration handles one transaction's batch.
func BenchmarkScheduler(b *testing.B) {
	cached := benchFile(b)
	work := filepath.Join(b.TempDir(), "hd.db")
	copyFile(b, cached, work)
	ags := benchPlan(b)
	quiet := slog.New(slog.DiscardHandler)
	// The daemon runs the collector at runtime.gc_percent 400 with a
	// runtime.memory_limit of 64 MiB by default (cmd/helpdeskd/gotuning.go);
	// so does the benchmark, unless GOGC or GOMEMLIMIT is set to compare
	// (GOGC=100: about 25 % more CPU per deadline).
	gogc := 400
	if v, err := strconv.Atoi(os.Getenv("GOGC")); err == nil {
		gogc = v
	} else {
		defer debug.SetGCPercent(debug.SetGCPercent(gogc))
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(64 << 20))
	}
	runtime.GC()

	start := time.Now()
	checked := make(chan error, 1)
	db, err := store.Open(work, store.Options{Logger: quiet, OnVerified: func(err error) { checked <- err }})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	opened := time.Since(start)
	now := benchBase.Add(-time.Second) // nothing due yet
	desk, err := ticket.NewDesk(ticket.Options{Store: db, Support: mailer.Address{Addr: supportAddr}, Agreements: ags,
		Now: func() time.Time { return now }, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	opts := ticket.SchedulerOptions{Logger: quiet}
	sched := ticket.NewScheduler(desk, opts)
	if n, err := sched.RunDue(now); err != nil || n != 0 {
		b.Fatalf("RunDue before the first deadline = %d, %v", n, err)
	}
	first, ok := sched.Next()
	startup := time.Since(start)
	if !ok || !first.Equal(benchBase) {
		b.Fatalf("first deadline %s, %v; want %s", first, ok, benchBase)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)

	const batch = 1024 // SchedulerOptions' default
	handled := 0
	runBatch := func() {
		// The next batch of warnings falls due.
		now = benchBase.Add(time.Duration(handled+batch-1) * benchStep)
		n, err := sched.RunDue(now)
		if err != nil || n != batch {
			b.Fatalf("RunDue = %d, %v; want %d", n, err, batch)
		}
		handled += n
	}
	// For its first seconds a restarted daemon shares the machine with the
	// store's background check of every page, which also holds a read
	// transaction, so that commits cannot reuse freed pages. That cost is
	// reported apart, as checking-ns/deadline; ns/deadline is the steady
	// state after the check.
	const checkingBatches = 8
	checking := time.Now()
	for range checkingBatches {
		runBatch()
	}
	checkingNs := float64(time.Since(checking).Nanoseconds()) / (checkingBatches * batch)
	if err := <-checked; err != nil {
		b.Fatal(err)
	}
	early := handled
	for b.Loop() {
		runBatch()
	}
	// b.Loop drops metrics reported before it.
	b.ReportMetric(checkingNs, "checking-ns/deadline")
	b.ReportMetric(float64(startup.Microseconds())/1000, "startup-ms")
	b.ReportMetric(float64(opened.Microseconds())/1000, "open-ms")
	b.ReportMetric(float64((startup-opened).Microseconds())/1000, "first-due-ms")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
	// What the heap took from the system at its largest while handling
	// (released memory included).
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapSys)/(1<<20), "heap-sys-MB")
	b.ReportMetric(float64(gogc), "gogc")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(handled-early), "ns/deadline")
	n, _, err := db.OutboxStats()
	if err != nil || n != handled {
		b.Fatalf("outbox holds %d mails, %v; want %d", n, err, handled)
	}
}
