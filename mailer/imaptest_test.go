package mailer

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/helpdeskd/helpdeskd/mailer/mailtest"
)

// Test helpers for intake: an in-memory IMAP server (mailtest), a
// recording Handler with an in-memory checkpoint store, and fake servers
// that misbehave on purpose.

const (
	testUser = "support@example.com"
	testPass = "s3cret"
	// waitLimit bounds every condition wait; generous because the race
	// detector on two shared cores is slow, never reached when all is well.
	waitLimit = 15 * time.Second
)

// startTestIMAP starts an in-memory IMAP server with testUser.
func startTestIMAP(t testing.TB, o mailtest.IMAPOptions) *mailtest.IMAPServer {
	t.Helper()
	if o.Users == nil {
		o.Users = map[string]string{testUser: testPass}
	}
	return mailtest.StartIMAPWith(t, o)
}

// testMail returns a small RFC 5322 mail, distinct per n.
func testMail(n int) []byte {
	return []byte(fmt.Sprintf("From: Customer %d <c%d@example.org>\r\n"+
		"To: support@example.com\r\n"+
		"Subject: Printer %d is on fire\r\n"+
		"Message-ID: <m%d@example.org>\r\n"+
		"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n"+
		"\r\n"+
		"Please help, case %d.\r\n", n, n, n, n, n))
}

func appendMail(t testing.TB, srv *mailtest.IMAPServer, raw []byte) uint32 {
	t.Helper()
	uid, err := srv.AppendUID(testUser, "INBOX", raw)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return uid
}

// markSeen flags uids of a mailbox \Seen from a session of its own, as a
// person reading them in a mail client would. srv must be plain-text.
func markSeen(t testing.TB, srv *mailtest.IMAPServer, mailbox string, uids ...uint32) {
	t.Helper()
	c, err := imapclient.DialInsecure(srv.Addr(), nil)
	if err != nil {
		t.Fatalf("mark seen: dial: %v", err)
	}
	defer func() { _ = c.Close() }()
	set := imap.UIDSetNum(uidsOf(uids)...)
	err = c.Login(testUser, testPass).Wait()
	if err == nil {
		_, err = c.Select(mailbox, nil).Wait()
	}
	if err == nil {
		err = c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close()
	}
	if err == nil {
		err = c.Logout().Wait()
	}
	if err != nil {
		t.Fatalf("mark %v seen: %v", uids, err)
	}
}

// seenUIDs returns the UIDs of a mailbox that are flagged \Seen and those
// that are not.
func seenUIDs(t testing.TB, srv *mailtest.IMAPServer, mailbox string) (seen, unseen []uint32) {
	t.Helper()
	msgs, err := srv.Messages(testUser, mailbox)
	if err != nil {
		t.Fatalf("messages: %v", err)
	}
	for _, m := range msgs {
		if m.HasFlag(`\Seen`) {
			seen = append(seen, m.UID)
		} else {
			unseen = append(unseen, m.UID)
		}
	}
	return seen, unseen
}

// waitFor polls cond until it holds or waitLimit passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// memCheckpoints plays the store: checkpoints committed by the recorder.
type memCheckpoints struct {
	mu sync.Mutex
	m  map[string]Checkpoint
}

func newMemCheckpoints() *memCheckpoints { return &memCheckpoints{m: make(map[string]Checkpoint)} }

func (c *memCheckpoints) Checkpoint(mailbox string) (Checkpoint, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[mailbox], nil
}

func (c *memCheckpoints) set(mailbox string, cp Checkpoint) {
	c.mu.Lock()
	c.m[mailbox] = cp
	c.mu.Unlock()
}

// recorder is a Handler that commits batches to its checkpoints and keeps
// them for assertions; fail, when set, decides per call whether to fail.
type recorder struct {
	cps  *memCheckpoints
	fail func(call int, b Batch) error

	mu      sync.Mutex
	calls   int
	batches []Batch // committed ones only
	moves   int     // committed batches without mails (checkpoint moves)
}

func (r *recorder) handle(_ context.Context, b Batch) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail != nil {
		if err := r.fail(r.calls, b); err != nil {
			return err
		}
	}
	r.cps.set(b.Mailbox, b.Checkpoint())
	if len(b.Mails) == 0 {
		r.moves++
		return nil
	}
	b.Mails = slices.Clone(b.Mails)
	r.batches = append(r.batches, b)
	return nil
}

// committed returns the committed batches that hold mails.
func (r *recorder) committed() []Batch {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

func (r *recorder) moveCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.moves
}

func (r *recorder) callCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

// uids lists the UIDs of all committed mails in delivery order.
func (r *recorder) uids() []uint32 {
	var out []uint32
	for _, b := range r.committed() {
		for _, m := range b.Mails {
			out = append(out, m.UID)
		}
	}
	return out
}

// eventLog keeps the IntakeEvents.
type eventLog struct {
	mu     sync.Mutex
	events []IntakeEvent
}

func (e *eventLog) add(ev IntakeEvent) {
	e.mu.Lock()
	e.events = append(e.events, ev)
	e.mu.Unlock()
}

func (e *eventLog) count(kind IntakeEventKind) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.events {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

func (e *eventLog) all(kind IntakeEventKind) []IntakeEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []IntakeEvent
	for _, ev := range e.events {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

// logCapture is a slog.Handler that keeps records for assertions and
// echoes them to the test log with -v.
type logCapture struct {
	t     testing.TB
	mu    *sync.Mutex
	recs  *[]capturedLog
	attrs []slog.Attr
}

type capturedLog struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func newLogCapture(t testing.TB) *logCapture {
	return &logCapture{t: t, mu: new(sync.Mutex), recs: new([]capturedLog)}
}

func (l *logCapture) Enabled(context.Context, slog.Level) bool { return true }

func (l *logCapture) Handle(_ context.Context, r slog.Record) error {
	c := capturedLog{level: r.Level, msg: r.Message, attrs: make(map[string]string)}
	for _, a := range l.attrs {
		c.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		c.attrs[a.Key] = a.Value.String()
		return true
	})
	l.mu.Lock()
	*l.recs = append(*l.recs, c)
	l.mu.Unlock()
	if testing.Verbose() {
		l.t.Logf("%s %s %v", r.Level, r.Message, c.attrs)
	}
	return nil
}

func (l *logCapture) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *l
	c.attrs = append(slices.Clone(l.attrs), attrs...)
	return &c
}

func (l *logCapture) WithGroup(string) slog.Handler { return l }

// find returns the records at level whose message contains msg.
func (l *logCapture) find(level slog.Level, msg string) []capturedLog {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []capturedLog
	for _, r := range *l.recs {
		if r.level == level && strings.Contains(r.msg, msg) {
			out = append(out, r)
		}
	}
	return out
}

// testIntake is a running Intake with its recorder, events and logs.
type testIntake struct {
	in     *Intake
	rec    *recorder
	events *eventLog
	logs   *logCapture
	cancel context.CancelFunc
	done   chan error
}

// fastOptions are options for a test against srv: plain, quick polls and
// backoffs so that the tests stay fast.
func fastOptions(addr string, rec *recorder) IntakeOptions {
	return IntakeOptions{
		Addr:           addr,
		Security:       SecurityPlain,
		Username:       testUser,
		Password:       testPass,
		PollInterval:   100 * time.Millisecond,
		CommandTimeout: 5 * time.Second,
		BackoffMin:     5 * time.Millisecond,
		BackoffMax:     50 * time.Millisecond,
		Handler:        rec.handle,
		Checkpoints:    rec.cps,
	}
}

// startIntake runs an Intake against addr; tweak adjusts the options. The
// Intake is stopped when the test ends, and must stop promptly.
func startIntake(t testing.TB, addr string, cps *memCheckpoints, tweak func(*IntakeOptions)) *testIntake {
	t.Helper()
	ti := &testIntake{rec: &recorder{cps: cps}, events: &eventLog{}, logs: newLogCapture(t), done: make(chan error, 1)}
	o := fastOptions(addr, ti.rec)
	o.Logger = slog.New(ti.logs)
	o.OnEvent = ti.events.add
	if tweak != nil {
		tweak(&o)
	}
	in, err := NewIntake(o)
	if err != nil {
		t.Fatalf("NewIntake: %v", err)
	}
	ti.in = in
	ctx, cancel := context.WithCancel(context.Background())
	ti.cancel = cancel
	go func() { ti.done <- in.Run(ctx) }()
	t.Cleanup(func() { ti.stop(t) })
	return ti
}

// stop cancels Run and checks that it returns nil promptly.
func (ti *testIntake) stop(t testing.TB) {
	t.Helper()
	ti.cancel()
	select {
	case err, ok := <-ti.done:
		if ok && err != nil {
			t.Errorf("Run returned %v, want nil after cancel", err)
		}
		if ok {
			close(ti.done)
		}
	case <-time.After(waitLimit):
		t.Fatalf("Run did not return after cancel")
	}
}

// fakeIMAP is a TCP server that greets (or not) and then never answers: a
// server that hangs. It counts connections.
type fakeIMAP struct {
	ln       net.Listener
	accepted atomic.Int32
	mu       sync.Mutex
	conns    []net.Conn
}

func startFakeIMAP(t testing.TB, greeting string) *fakeIMAP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeIMAP{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.accepted.Add(1)
			f.mu.Lock()
			f.conns = append(f.conns, c)
			f.mu.Unlock()
			go func() {
				if greeting != "" {
					_, _ = io.WriteString(c, greeting)
				}
				// Read commands and never answer.
				_, _ = io.Copy(io.Discard, bufio.NewReader(c))
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		f.mu.Lock()
		for _, c := range f.conns {
			_ = c.Close()
		}
		f.mu.Unlock()
	})
	return f
}

func (f *fakeIMAP) addr() string { return f.ln.Addr().String() }

// freezeProxy forwards TCP to a real server; freeze makes every connection
// open at that moment stop forwarding, as a server that hangs mid-session.
// Connections opened later work.
type freezeProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	pairs  []*proxyPair
}

type proxyPair struct {
	gate       sync.RWMutex // write-locked while frozen
	frozen     bool
	client, up net.Conn
}

func startFreezeProxy(t testing.TB, target string) *freezeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezeProxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, pp := range p.pairs {
			if pp.frozen {
				pp.frozen = false
				pp.gate.Unlock()
			}
			_ = pp.client.Close()
			_ = pp.up.Close()
		}
	})
	return p
}

func (p *freezeProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		pp := &proxyPair{client: c, up: up}
		p.mu.Lock()
		p.pairs = append(p.pairs, pp)
		p.mu.Unlock()
		go pp.pipe(up, c)
		go pp.pipe(c, up)
	}
}

func (pp *proxyPair) pipe(dst, src net.Conn) {
	defer func() { _ = dst.Close() }()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			pp.gate.RLock()
			_, werr := dst.Write(buf[:n])
			pp.gate.RUnlock()
			if werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// freeze stops forwarding on every open connection.
func (p *freezeProxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pp := range p.pairs {
		if !pp.frozen {
			pp.gate.Lock()
			pp.frozen = true
		}
	}
}

func (p *freezeProxy) addr() string { return p.ln.Addr().String() }
