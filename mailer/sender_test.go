package mailer

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/helpdeskd/helpdeskd/mailer/mailtest"
)

// fakeQueue is an in-memory outbox with the semantics of Queue, plus
// switches to make it fail.
type fakeQueue struct {
	mu             sync.Mutex
	pending        map[uint64]Envelope
	delivered      map[uint64]time.Time
	failed         map[uint64]string
	deferrals      []deferral
	nextCalls      int
	deliveredCalls int
	changed        chan struct{} // closed and replaced on every call

	nextErr      error
	deliveredErr error
}

type deferral struct {
	id       uint64
	attempts int
	next     time.Time
	reason   string
}

func newFakeQueue(envs ...Envelope) *fakeQueue {
	q := &fakeQueue{
		pending:   map[uint64]Envelope{},
		delivered: map[uint64]time.Time{},
		failed:    map[uint64]string{},
		changed:   make(chan struct{}),
	}
	for _, e := range envs {
		q.pending[e.ID] = e
	}
	return q
}

func (q *fakeQueue) signal() {
	close(q.changed)
	q.changed = make(chan struct{})
}

func (q *fakeQueue) Next() (Envelope, bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	defer q.signal()
	q.nextCalls++
	if q.nextErr != nil {
		return Envelope{}, false, q.nextErr
	}
	if len(q.pending) == 0 {
		return Envelope{}, false, nil
	}
	all := make([]Envelope, 0, len(q.pending))
	for _, e := range q.pending {
		all = append(all, e)
	}
	slices.SortFunc(all, func(a, b Envelope) int {
		return cmp.Or(a.NextAttempt.Compare(b.NextAttempt), cmp.Compare(a.ID, b.ID))
	})
	return all[0], true, nil
}

func (q *fakeQueue) Delivered(id uint64, at time.Time) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	defer q.signal()
	q.deliveredCalls++
	if q.deliveredErr != nil {
		return q.deliveredErr
	}
	if _, ok := q.pending[id]; !ok {
		return fmt.Errorf("delivered: no pending envelope %d", id)
	}
	delete(q.pending, id)
	q.delivered[id] = at
	return nil
}

func (q *fakeQueue) Deferred(id uint64, attempts int, next time.Time, reason string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	defer q.signal()
	e, ok := q.pending[id]
	if !ok {
		return fmt.Errorf("deferred: no pending envelope %d", id)
	}
	e.Attempts, e.NextAttempt, e.LastError = attempts, next, reason
	q.pending[id] = e
	q.deferrals = append(q.deferrals, deferral{id, attempts, next, reason})
	return nil
}

func (q *fakeQueue) Failed(id uint64, attempts int, reason string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	defer q.signal()
	if _, ok := q.pending[id]; !ok {
		return fmt.Errorf("failed: no pending envelope %d", id)
	}
	delete(q.pending, id)
	q.failed[id] = reason
	return nil
}

func (q *fakeQueue) calls() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.nextCalls
}

func (q *fakeQueue) set(f func(q *fakeQueue)) {
	q.mu.Lock()
	defer q.mu.Unlock()
	f(q)
}

// waitQueue blocks until cond holds for the queue (checked under its lock
// after every call) or fails the test after a generous limit.
func waitQueue(t *testing.T, q *fakeQueue, what string, cond func(q *fakeQueue) bool) {
	t.Helper()
	limit := time.NewTimer(15 * time.Second)
	defer limit.Stop()
	for {
		q.mu.Lock()
		ok, changed := cond(q), q.changed
		q.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-limit.C:
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// countingTransport counts sends and checks that never two overlap.
type countingTransport struct {
	inner Transport
	mu    sync.Mutex
	calls int
	busy  bool
	// overlap is set when a Send started while another was running.
	overlap bool
}

func (c *countingTransport) Send(ctx context.Context, env Envelope) error {
	c.mu.Lock()
	c.calls++
	if c.busy {
		c.overlap = true
	}
	c.busy = true
	c.mu.Unlock()
	defer func() { c.mu.Lock(); c.busy = false; c.mu.Unlock() }()
	return c.inner.Send(ctx, env)
}

func (c *countingTransport) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

var t0 = time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)

type senderRig struct {
	q         *fakeQueue
	clock     *fakeClock
	transport *countingTransport
	sender    *Sender
	results   chan error
	stop      func()
}

// startSender runs a Sender over q and transport with a fake clock at t0
// and jitter fixed at its lowest value, and stops it at the end of the test.
func startSender(t *testing.T, q *fakeQueue, transport Transport, tweak func(o *SenderOptions)) *senderRig {
	t.Helper()
	r := &senderRig{q: q, clock: &fakeClock{now: t0}, transport: &countingTransport{inner: transport}, results: make(chan error, 100)}
	o := SenderOptions{
		Transport: r.transport,
		Queue:     q,
		Now:       r.clock.Now,
		Rand:      func() float64 { return 0 },
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnResult:  func(_ Envelope, err error) { r.results <- err },
	}
	if tweak != nil {
		tweak(&o)
	}
	r.sender = NewSender(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.sender.Run(ctx) }()
	r.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v", err)
		}
	}
	t.Cleanup(func() {
		if ctx.Err() == nil {
			r.stop()
		}
		if r.transport.overlap {
			t.Error("two sends overlapped")
		}
	})
	r.sender.Kick()
	return r
}

func queuedEnvelope(t testing.TB, id uint64) Envelope {
	env := testEnvelope(t)
	env.ID = id
	env.Created = t0
	env.NextAttempt = t0
	env.Purpose = "ack"
	env.Case = fmt.Sprintf("HD-%06d", id)
	return env
}

func TestSenderDeliversQueuedMail(t *testing.T) {
	srv := newSMTPServer(t, mailtest.SMTPServerOptions{})
	q := newFakeQueue(queuedEnvelope(t, 1), queuedEnvelope(t, 2), queuedEnvelope(t, 3))
	r := startSender(t, q, plainSMTP(t, srv.Addr()), nil)
	for range 5 {
		r.sender.Kick() // extra kicks must not start parallel sends
	}
	waitQueue(t, q, "all three are delivered", func(q *fakeQueue) bool { return len(q.delivered) == 3 })
	msgs := srv.Messages()
	if len(msgs) != 3 {
		t.Fatalf("%d mails arrived, want 3", len(msgs))
	}
	want := queuedEnvelope(t, 1).Raw
	for _, m := range msgs {
		if !bytes.Equal(m.Raw, want) {
			t.Fatal("a delivered mail differs from the queued bytes")
		}
	}
	for range 3 {
		if err := <-r.results; err != nil {
			t.Fatalf("OnResult got %v", err)
		}
	}
	if at := q.delivered[1]; !at.Equal(t0) {
		t.Errorf("delivered at %v, want the injected clock's %v", at, t0)
	}
}

func TestSenderRetriesTemporaryFailureWithBackoff(t *testing.T) {
	srv := newSMTPServer(t, mailtest.SMTPServerOptions{})
	srv.SetFailure(451, "greylisted, try later")
	q := newFakeQueue(queuedEnvelope(t, 1))
	r := startSender(t, q, plainSMTP(t, srv.Addr()), nil)

	waitQueue(t, q, "the first deferral", func(q *fakeQueue) bool { return len(q.deferrals) == 1 })
	d := q.deferrals[0]
	if d.attempts != 1 || !d.next.Equal(t0.Add(time.Minute)) || !strings.Contains(d.reason, "451") {
		t.Fatalf("first deferral %+v; want attempt 1, next at t0+1m (RetryMin, jitter 0), reason with 451", d)
	}
	// Not due yet: a kick must not cause another attempt.
	before := q.calls()
	r.sender.Kick()
	waitQueue(t, q, "the kick is handled", func(q *fakeQueue) bool { return q.nextCalls > before })
	if n := r.transport.count(); n != 1 {
		t.Fatalf("%d attempts before the retry was due, want 1", n)
	}

	r.clock.Set(d.next)
	r.sender.Kick()
	waitQueue(t, q, "the second deferral", func(q *fakeQueue) bool { return len(q.deferrals) == 2 })
	if d2 := q.deferrals[1]; d2.attempts != 2 || !d2.next.Equal(d.next.Add(2*time.Minute)) {
		t.Fatalf("second deferral %+v; want attempt 2 and a doubled wait of 2m", d2)
	}

	srv.SetFailure(0, "")
	r.clock.Set(q.deferrals[1].next)
	r.sender.Kick()
	waitQueue(t, q, "delivery after the server recovered", func(q *fakeQueue) bool { return len(q.delivered) == 1 })
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("%d mails arrived, want 1", n)
	}
	if n := r.transport.count(); n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
}

func TestSenderPermanentFailureIsRecordedAsFailed(t *testing.T) {
	srv := newSMTPServer(t, mailtest.SMTPServerOptions{})
	srv.SetFailure(550, "no such user")
	q := newFakeQueue(queuedEnvelope(t, 1))
	r := startSender(t, q, plainSMTP(t, srv.Addr()), nil)
	waitQueue(t, q, "the mail fails", func(q *fakeQueue) bool { return len(q.failed) == 1 })
	if reason := q.failed[1]; !strings.Contains(reason, "550") || !strings.Contains(reason, "no such user") {
		t.Fatalf("failure reason %q", reason)
	}
	if len(q.deferrals) != 0 {
		t.Fatalf("a permanent failure was deferred: %+v", q.deferrals)
	}
	if err := <-r.results; IsTemporary(err) {
		t.Fatalf("OnResult got %v", err)
	}
}

func TestSenderServerDownThenUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	q := newFakeQueue(queuedEnvelope(t, 1))
	r := startSender(t, q, plainSMTP(t, addr), nil)
	waitQueue(t, q, "the refused connection is deferred", func(q *fakeQueue) bool { return len(q.deferrals) == 1 })

	srv := newSMTPServer(t, mailtest.SMTPServerOptions{Addr: addr})
	r.clock.Set(q.deferrals[0].next)
	r.sender.Kick()
	waitQueue(t, q, "delivery once the server is up", func(q *fakeQueue) bool { return len(q.delivered) == 1 })
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("%d mails arrived, want 1", n)
	}
}

func TestSenderGivesUpAfterGiveUpAfter(t *testing.T) {
	srv := newSMTPServer(t, mailtest.SMTPServerOptions{})
	srv.SetFailure(451, "still greylisted")

	env := queuedEnvelope(t, 1)
	env.Created = t0.Add(-5*24*time.Hour + 30*time.Second) // 30s left
	old := queuedEnvelope(t, 2)
	old.Created = t0.Add(-30 * 24 * time.Hour) // queued long ago, never tried
	q := newFakeQueue(env, old)
	r := startSender(t, q, plainSMTP(t, srv.Addr()), nil)

	waitQueue(t, q, "the old mail fails after one attempt and the new one is deferred", func(q *fakeQueue) bool {
		return len(q.failed) == 1 && len(q.deferrals) == 1
	})
	if !strings.Contains(q.failed[2], "gave up after 1 attempts") {
		t.Errorf("reason %q", q.failed[2])
	}
	if d := q.deferrals[0]; d.id != 1 || !d.next.Equal(env.Created.Add(5*24*time.Hour)) {
		t.Fatalf("deferral %+v; want the last retry exactly when the time is up", d)
	}
	r.clock.Set(q.deferrals[0].next)
	r.sender.Kick()
	waitQueue(t, q, "the mail fails", func(q *fakeQueue) bool { return len(q.failed) == 2 })
	if reason := q.failed[1]; !strings.Contains(reason, "gave up after 2 attempts") || !strings.Contains(reason, "451") {
		t.Fatalf("reason %q", reason)
	}
}

func TestSenderDeliversOldMailWhenServerIsFine(t *testing.T) {
	srv := newSMTPServer(t, mailtest.SMTPServerOptions{})
	env := queuedEnvelope(t, 1)
	env.Created = t0.Add(-30 * 24 * time.Hour) // e.g. the daemon was down for a month
	q := newFakeQueue(env)
	startSender(t, q, plainSMTP(t, srv.Addr()), nil)
	waitQueue(t, q, "delivery", func(q *fakeQueue) bool { return len(q.delivered)+len(q.failed) == 1 })
	if len(q.delivered) != 1 {
		t.Fatalf("old mail was failed without a try: %v", q.failed)
	}
}

func TestSenderPartialDeliveryCountsAsDelivered(t *testing.T) {
	srv := newSMTPServer(t, mailtest.SMTPServerOptions{})
	srv.RejectRecipient("gone@customer.example", 550, "no such user")
	env := queuedEnvelope(t, 1)
	env.To = []string{"kari@customer.example", "gone@customer.example"}
	q := newFakeQueue(env)
	r := startSender(t, q, plainSMTP(t, srv.Addr()), nil)
	waitQueue(t, q, "delivery", func(q *fakeQueue) bool { return len(q.delivered) == 1 })
	var se *SendError
	if err := <-r.results; !errors.As(err, &se) || !se.Partial {
		t.Fatalf("OnResult got %v, want a partial SendError", err)
	}
	if len(q.deferrals)+len(q.failed) != 0 || len(srv.Messages()) != 1 {
		t.Fatal("partial delivery was retried or failed")
	}
}

func TestSenderSurvivesQueueErrors(t *testing.T) {
	srv := newSMTPServer(t, mailtest.SMTPServerOptions{})
	q := newFakeQueue(queuedEnvelope(t, 1))
	q.nextErr = errors.New("disk on fire")
	r := startSender(t, q, plainSMTP(t, srv.Addr()), nil)
	waitQueue(t, q, "a failing Next", func(q *fakeQueue) bool { return q.nextCalls >= 1 })
	r.sender.Kick()
	waitQueue(t, q, "another failing Next after a kick", func(q *fakeQueue) bool { return q.nextCalls >= 2 })
	q.set(func(q *fakeQueue) { q.nextErr = nil })
	r.sender.Kick()
	waitQueue(t, q, "delivery after the queue recovered", func(q *fakeQueue) bool { return len(q.delivered) == 1 })
}

func TestSenderNeverResendsWhenRecordingDeliveryFails(t *testing.T) {
	srv := newSMTPServer(t, mailtest.SMTPServerOptions{})
	q := newFakeQueue(queuedEnvelope(t, 1))
	q.deliveredErr = errors.New("write failed")
	r := startSender(t, q, plainSMTP(t, srv.Addr()), nil)
	waitQueue(t, q, "the first failed Delivered", func(q *fakeQueue) bool { return q.deliveredCalls >= 1 })
	for want := 2; want <= 3; want++ {
		r.sender.Kick()
		waitQueue(t, q, "another try to record the delivery", func(q *fakeQueue) bool { return q.deliveredCalls >= want })
		if r.transport.count() != 1 {
			t.Fatal("the mail was sent again while its delivery was unrecorded")
		}
	}
	q.set(func(q *fakeQueue) { q.deliveredErr = nil })
	r.sender.Kick()
	waitQueue(t, q, "the delivery is recorded", func(q *fakeQueue) bool { return len(q.delivered) == 1 })
	if n := len(srv.Messages()); n != 1 || r.transport.count() != 1 {
		t.Fatalf("%d mails arrived in %d sends, want 1 in 1", n, r.transport.count())
	}
}

// blockingTransport holds every send until released.
type blockingTransport struct {
	started chan struct{}
	release chan struct{}
}

func (b *blockingTransport) Send(ctx context.Context, env Envelope) error {
	b.started <- struct{}{}
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return &SendError{Temporary: true, Err: ctx.Err()}
	}
}

func TestSenderFinishesInFlightSendOnShutdown(t *testing.T) {
	bt := &blockingTransport{started: make(chan struct{}, 1), release: make(chan struct{})}
	q := newFakeQueue(queuedEnvelope(t, 1), queuedEnvelope(t, 2))
	r := startSender(t, q, bt, nil)
	<-bt.started

	stopped := make(chan struct{})
	go func() { r.stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Run returned while a send was in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(bt.release)
	<-stopped
	if len(q.delivered) != 1 || len(q.pending) != 1 {
		t.Fatalf("delivered %v, pending %d: want the in-flight mail recorded and no new send started", q.delivered, len(q.pending))
	}
}

func TestSenderDrainTimeoutBoundsShutdown(t *testing.T) {
	bt := &blockingTransport{started: make(chan struct{}, 1), release: make(chan struct{})}
	q := newFakeQueue(queuedEnvelope(t, 1))
	r := startSender(t, q, bt, func(o *SenderOptions) { o.DrainTimeout = 20 * time.Millisecond })
	<-bt.started
	r.stop() // returns once the drain timeout cancels the send
	if len(q.deferrals) != 1 {
		t.Fatalf("the cut-off send was not recorded as deferred: %+v", q.deferrals)
	}
}

func TestSenderRunChecks(t *testing.T) {
	if err := NewSender(SenderOptions{}).Run(context.Background()); !errors.Is(err, ErrInvalidSenderOptions) {
		t.Fatalf("Run without Transport and Queue = %v", err)
	}
	q := newFakeQueue()
	r := startSender(t, q, &blockingTransport{}, nil)
	waitQueue(t, q, "the first Run reads the queue", func(q *fakeQueue) bool { return q.nextCalls > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.sender.Run(ctx); !errors.Is(err, ErrSenderRunning) {
		t.Fatalf("second Run = %v, want ErrSenderRunning", err)
	}
}

func TestSenderRetryDelayStaysWithinBounds(t *testing.T) {
	for _, jitter := range []float64{0, 0.5, 0.999999} {
		s := NewSender(SenderOptions{Rand: func() float64 { return jitter }})
		prevBound := time.Duration(0)
		for attempt := 1; attempt <= 40; attempt++ {
			d := s.retryDelay(attempt)
			if d < time.Minute || d > time.Hour {
				t.Fatalf("jitter %v attempt %d: delay %v outside [1m, 1h]", jitter, attempt, d)
			}
			if jitter == 0 && d < prevBound {
				t.Fatalf("attempt %d: delay %v shrank from %v", attempt, d, prevBound)
			}
			prevBound = d
		}
	}
	s := NewSender(SenderOptions{Rand: func() float64 { return 0 }})
	for attempt, want := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 3: 4 * time.Minute, 7: 30 * time.Minute, 8: 30 * time.Minute} {
		if got := s.retryDelay(attempt); got != want {
			t.Errorf("attempt %d: delay %v, want %v", attempt, got, want)
		}
	}
}

func TestTruncateReasonKeepsUTF8Valid(t *testing.T) {
	long := strings.Repeat("æ", 800) // 1600 bytes
	got := truncateReason(long)
	if len(got) > 1000+len("…") || !strings.HasSuffix(got, "…") || !utf8.ValidString(got) {
		t.Fatalf("truncated to %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
}
