//go:build e2e

package main

// End-to-end tests on a real Dovecot + Postfix (`make e2e`, `make
// e2e-load`): the built bin/helpdeskd runs as a process with a real
// configuration, customer mail goes in through Postfix, and what the
// customer sees is read back with an IMAP client from Dovecot. The stack
// is started by .ci/mailstack.sh, which sets MAILSTACK_DIR and
// MAILSTACK_SCRIPT; see ../../shared/recipes/mailstack.md.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/helpdeskd/helpdeskd/mailer"
)

const (
	stackSMTP     = "127.0.0.1:10025"
	stackIMAP     = "127.0.0.1:10143"
	stackPassword = "secret"
	e2eSupport    = "support@example.test"
	e2eCustomer   = "customer@customer.test"
)

// e2eEnv is the stack and the binary under test.
type e2eEnv struct {
	// top is the top-level test: daemons started in a subtest are
	// cleaned up (killed, their log printed on failure) when it ends.
	top    *testing.T
	bin    string
	script string
	dir    string // the stack's directory
}

func newE2EEnv(t *testing.T) *e2eEnv {
	t.Helper()
	env := &e2eEnv{top: t, script: os.Getenv("MAILSTACK_SCRIPT"), dir: os.Getenv("MAILSTACK_DIR")}
	if env.script == "" || env.dir == "" {
		t.Fatal("MAILSTACK_DIR and MAILSTACK_SCRIPT are not set: run `make e2e` (as root), which starts the mail stack")
	}
	env.bin = os.Getenv("HELPDESKD_BIN")
	if env.bin == "" {
		env.bin = "../../bin/helpdeskd"
	}
	abs, err := filepath.Abs(env.bin)
	if err != nil {
		t.Fatal(err)
	}
	env.bin = abs
	if _, err := os.Stat(env.bin); err != nil {
		t.Fatalf("no binary to test: %v (make e2e builds it)", err)
	}
	return env
}

// stack runs a mailstack.sh action (postfix-stop, dovecot-start, …).
// Output goes to a file, never a pipe: the daemons it starts keep their
// stdout (recipe pitfall 5).
func (env *e2eEnv) stack(t *testing.T, action string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), action+".out")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(env.script, action, env.dir)
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Run()
	f.Close()
	if err != nil {
		b, _ := os.ReadFile(out)
		t.Fatalf("mailstack.sh %s: %v\n%s", action, err, b)
	}
}

// config writes a helpdeskd configuration against the stack.
func (env *e2eEnv) config(t *testing.T, dir, extra string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metrics := ln.Addr().String()
	ln.Close()
	cfg := fmt.Sprintf(`store:
  path: %s/helpdeskd.db
support:
  address: %s
  name: E2E Support
imap:
  address: %s
  security: plain
  username: %s
  password: %s
  poll_interval: 5s
  command_timeout: 10s
  batch_size: 10
smtp:
  address: %s
  security: plain
  timeout: 10s
  retry_min: 1s
  retry_max: 2s
acks:
  per_sender_per_hour: 100000
  global_per_hour: 100000
metrics:
  listen: %s
log:
  level: info
`, dir, e2eSupport, stackIMAP, e2eSupport, stackPassword, stackSMTP, metrics) + extra
	p := filepath.Join(dir, "helpdeskd.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// proc is the daemon under test: bin/helpdeskd run.
type proc struct {
	env     *e2eEnv
	cfg     string
	metrics string
	cmd     *exec.Cmd
	log     string
	done    chan struct{}
	waitErr error
}

// start runs the binary and waits for READY=1 on a NOTIFY_SOCKET of the
// test's own. Its output goes to a log file that is printed on failure.
func (env *e2eEnv) start(t *testing.T, cfg string, logName string) *proc {
	t.Helper()
	sd := listenNotify(env.top) // outlives the subtest that starts the daemon
	p := &proc{env: env, cfg: cfg, log: filepath.Join(filepath.Dir(cfg), logName), done: make(chan struct{})}
	raw, _ := os.ReadFile(cfg)
	if i := strings.Index(string(raw), "metrics:\n  listen: "); i >= 0 {
		rest := string(raw)[i+len("metrics:\n  listen: "):]
		p.metrics = rest[:strings.IndexByte(rest, '\n')]
	}
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(env.bin, "run", "-c", cfg)
	p.cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sd.path)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	go func() { p.waitErr = p.cmd.Wait(); close(p.done) }()
	top := env.top
	top.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if keep := os.Getenv("HELPDESKD_E2E_KEEP_LOGS"); keep != "" {
			b, _ := os.ReadFile(p.log)
			os.WriteFile(filepath.Join(keep, top.Name()+"-"+logName), b, 0o644)
		}
		if top.Failed() {
			b, _ := os.ReadFile(p.log)
			top.Logf("daemon log %s:\n%s", p.log, tail(string(b), 200))
		}
	})
	select {
	case <-waitDatagram(sd, "READY=1"):
	case <-p.done:
		b, _ := os.ReadFile(p.log)
		t.Fatalf("daemon exited before READY=1: %v\n%s", p.waitErr, b)
	case <-time.After(30 * time.Second):
		t.Fatal("no READY=1 from the daemon within 30s")
	}
	return p
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// kill SIGKILLs the daemon.
func (p *proc) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// term SIGTERMs the daemon and wants exit status 0 within 60s.
func (p *proc) term(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.waitErr != nil {
			t.Errorf("daemon exit after SIGTERM: %v", p.waitErr)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("daemon did not stop within 60s of SIGTERM")
	}
}

// cli runs the binary's admin commands against the running daemon.
func (p *proc) cli(t *testing.T, v any, args ...string) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(p.env.bin, append(append(args, "-c", p.cfg), "--json")...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("helpdeskd %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	if err := json.Unmarshal(out.Bytes(), v); err != nil {
		t.Fatalf("helpdeskd %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
}

// cliFile runs an admin command offline on a database file.
func (p *proc) cliFile(t *testing.T, v any, file string, args ...string) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(p.env.bin, append(args, "--file", file, "--json")...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("helpdeskd %s --file: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	if err := json.Unmarshal(out.Bytes(), v); err != nil {
		t.Fatalf("helpdeskd %s --file: %v\n%s", strings.Join(args, " "), err, out.String())
	}
}

// metric returns the sum of a Prometheus series' samples whose line
// starts with prefix (name plus optional labels).
func (p *proc) metric(t *testing.T, prefix string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + p.metrics + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	sum := 0.0
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// peakRSS is the daemon's VmHWM in KiB.
func (p *proc) peakRSS() int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return -1
}

// waitUntil polls cond until it holds or the time is up.
func waitUntil(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mailbox is a user's INBOX read with go-imap's client, as a mail client
// would, remembering when each mail was first seen. Its methods take the
// calling (sub)test, which must be the one running them.
type mailbox struct {
	c    *imapclient.Client
	next imap.UID
	mu   sync.Mutex
	msgs []seenMail
}

type seenMail struct {
	UID       imap.UID
	Subject   string
	MessageID string
	InReplyTo string
	Flags     []imap.Flag
	Seen      time.Time
}

func dialMailbox(t *testing.T, user string) *mailbox {
	t.Helper()
	c, err := imapclient.DialInsecure(stackIMAP, nil)
	if err != nil {
		t.Fatalf("IMAP dial: %v", err)
	}
	if err := c.Login(user, stackPassword).Wait(); err != nil {
		t.Fatalf("IMAP login %s: %v", user, err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatalf("IMAP select: %v", err)
	}
	m := &mailbox{c: c, next: 1}
	t.Cleanup(func() { c.Close() })
	return m
}

// purge empties the mailbox: each test starts from nothing, so that a
// fresh store does not take in mail of an earlier run.
func purge(t *testing.T, user string) {
	t.Helper()
	m := dialMailbox(t, user)
	if m.c.Mailbox().NumMessages > 0 {
		all := imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}
		if err := m.c.Store(all, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
			t.Fatalf("purge %s: %v", user, err)
		}
		if err := m.c.Expunge().Close(); err != nil {
			t.Fatalf("purge %s: %v", user, err)
		}
	}
	m.c.Logout().Wait()
}

// poll asks the server for news (NOOP) and fetches mail not seen yet.
func (m *mailbox) poll(t *testing.T) {
	t.Helper()
	if err := m.pollErr(); err != nil {
		t.Fatal(err)
	}
}

func (m *mailbox) pollErr() error {
	if err := m.c.Noop().Wait(); err != nil {
		return fmt.Errorf("IMAP NOOP: %w", err)
	}
	set := imap.UIDSet{imap.UIDRange{Start: m.next, Stop: 0}}
	bufs, err := m.c.Fetch(set, &imap.FetchOptions{UID: true, Envelope: true, Flags: true}).Collect()
	if err != nil {
		return fmt.Errorf("IMAP FETCH: %w", err)
	}
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range bufs {
		if b.UID < m.next || b.Envelope == nil {
			continue // "n:*" always includes the last mail
		}
		s := seenMail{UID: b.UID, Subject: b.Envelope.Subject, MessageID: bare(b.Envelope.MessageID), Flags: b.Flags, Seen: now}
		if len(b.Envelope.InReplyTo) > 0 {
			s.InReplyTo = bare(b.Envelope.InReplyTo[0])
		}
		m.msgs = append(m.msgs, s)
		m.next = b.UID + 1
	}
	return nil
}

func bare(id string) string { return strings.Trim(strings.TrimSpace(id), "<>") }

// all returns what was seen so far.
func (m *mailbox) all() []seenMail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.msgs)
}

// seenWith counts the mails whose subject contains s and that are
// flagged \Seen now (intake flags what it has committed).
func (m *mailbox) seenWith(t *testing.T, s string) int {
	t.Helper()
	all := imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}
	if err := m.c.Noop().Wait(); err != nil {
		t.Fatalf("IMAP NOOP: %v", err)
	}
	if m.c.Mailbox().NumMessages == 0 {
		return 0
	}
	bufs, err := m.c.Fetch(all, &imap.FetchOptions{Envelope: true, Flags: true}).Collect()
	if err != nil {
		t.Fatalf("IMAP FETCH: %v", err)
	}
	n := 0
	for _, b := range bufs {
		if b.Envelope != nil && strings.Contains(b.Envelope.Subject, s) && slices.Contains(b.Flags, imap.FlagSeen) {
			n++
		}
	}
	return n
}

// repliesTo returns the mails that answer messageID.
func (m *mailbox) repliesTo(messageID string) []seenMail {
	var out []seenMail
	for _, s := range m.all() {
		if s.InReplyTo == messageID {
			out = append(out, s)
		}
	}
	return out
}

// waitReply polls until a reply to messageID is in the mailbox.
func (m *mailbox) waitReply(t *testing.T, messageID string, limit time.Duration) seenMail {
	t.Helper()
	var got []seenMail
	waitUntil(t, "a reply to <"+messageID+"> in the mailbox", limit, func() bool {
		m.poll(t)
		got = m.repliesTo(messageID)
		return len(got) > 0
	})
	return got[0]
}

// customerMail is a mail from the customer to support.
func customerMailE2E(subject, messageID string, extra ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Carol Customer <%s>\r\nTo: Support <%s>\r\nSubject: %s\r\nMessage-ID: <%s>\r\nDate: %s\r\n",
		e2eCustomer, e2eSupport, subject, messageID, time.Now().Format(time.RFC1123Z))
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlease help, the printer is on fire.\r\n")
	return b.Bytes()
}

// submitter is one SMTP connection to Postfix.
type submitter struct {
	c *smtp.Client
}

func dialSMTP(t *testing.T) *submitter {
	t.Helper()
	s, err := newSubmitter()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newSubmitter() (*submitter, error) {
	c, err := smtp.Dial(stackSMTP)
	if err != nil {
		return nil, fmt.Errorf("SMTP dial: %w", err)
	}
	if err := c.Hello("client.customer.test"); err != nil {
		c.Close()
		return nil, fmt.Errorf("SMTP EHLO: %w", err)
	}
	return &submitter{c: c}, nil
}

// send submits raw from the customer to support; when it returns,
// Postfix has taken responsibility for the mail (250 after DATA).
func (s *submitter) send(raw []byte) error {
	if err := s.c.Mail(e2eCustomer); err != nil {
		return err
	}
	if err := s.c.Rcpt(e2eSupport); err != nil {
		return err
	}
	w, err := s.c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(raw); err != nil {
		return err
	}
	return w.Close()
}

func (s *submitter) close() { s.c.Quit() }

func sendOne(t *testing.T, raw []byte) {
	t.Helper()
	s := dialSMTP(t)
	defer s.close()
	if err := s.send(raw); err != nil {
		t.Fatalf("SMTP send: %v", err)
	}
}

// appendDirect puts a mail into support's INBOX without Postfix.
func appendDirect(t *testing.T, raw []byte) {
	t.Helper()
	m := dialMailbox(t, e2eSupport)
	defer func() { m.c.Logout().Wait() }()
	cmd := m.c.Append("INBOX", int64(len(raw)), nil)
	cmd.Write(raw)
	cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		t.Fatalf("IMAP APPEND: %v", err)
	}
}

func TestE2E(t *testing.T) {
	top := t
	env := newE2EEnv(t)
	purge(t, e2eSupport)
	purge(t, e2eCustomer)
	dir := shortTempDir(t)
	cfg := env.config(t, dir, "")
	p := env.start(t, cfg, "daemon.log")
	inbox := dialMailbox(t, e2eCustomer)
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	id := func(s string) string { return "e2e-" + s + "-" + nonce + "@customer.test" }

	var ack seenMail
	t.Run("customer_mail_via_postfix_gets_an_ack_with_the_tag_within_seconds", func(t *testing.T) {
		start := time.Now()
		sendOne(t, customerMailE2E("Printer on fire", id("first")))
		ack = inbox.waitReply(t, id("first"), 20*time.Second)
		took := time.Since(start)
		if !strings.HasPrefix(ack.Subject, "[#HD-000001] ") || !strings.Contains(ack.Subject, "Printer on fire") {
			t.Errorf("ack subject %q, want the case tag [#HD-000001] and the original subject", ack.Subject)
		}
		if took > 10*time.Second {
			t.Errorf("the ack took %v; want it within seconds", took)
		}
		t.Logf("mail → ack in the customer's INBOX: %v", took.Round(time.Millisecond))
	})

	t.Run("replies_thread_into_the_ticket", func(t *testing.T) {
		sendOne(t, customerMailE2E("Re: "+ack.Subject, id("reply-tag"), "In-Reply-To: <"+ack.MessageID+">"))
		// Tag gone, but In-Reply-To names our ack.
		sendOne(t, customerMailE2E("Re: Printer on fire", id("reply-thread"), "In-Reply-To: <"+ack.MessageID+">", "References: <"+id("first")+"> <"+ack.MessageID+">"))
		var det ticketDetail
		waitUntil(t, "both replies in HD-000001", 20*time.Second, func() bool {
			p.cli(t, &det, "tickets", "show", "HD-000001")
			return det.Ticket.MessageCount >= 3
		})
		var rows []ticketRow
		p.cli(t, &rows, "tickets", "list")
		if len(rows) != 1 {
			t.Errorf("%d tickets, want 1: the replies opened new ones", len(rows))
		}
	})

	t.Run("auto_reply_is_ticketed_but_not_answered", func(t *testing.T) {
		sendOne(t, customerMailE2E("Automatic reply: out of office", id("ooo"), "Auto-Submitted: auto-replied"))
		var rows []ticketRow
		waitUntil(t, "the auto-reply ticketed", 20*time.Second, func() bool {
			p.cli(t, &rows, "tickets", "list")
			return len(rows) == 2
		})
		var det ticketDetail
		p.cli(t, &det, "tickets", "show", rows[1].Case)
		suppressed := false
		for _, e := range det.Ticket.Events {
			suppressed = suppressed || (e.What == "ack-suppressed" && e.Detail == "auto-reply")
		}
		if !suppressed {
			t.Errorf("ticket %s has no ack-suppressed auto-reply event: %+v", rows[1].Case, det.Ticket.Events)
		}
		var out []outboxRow
		p.cli(t, &out, "outbox", "list")
		inbox.poll(t)
		if len(out) != 0 || len(inbox.repliesTo(id("ooo"))) != 0 {
			t.Errorf("an acknowledgement went to an auto-reply (outbox %+v)", out)
		}
		if n := p.metric(t, `helpdeskd_acks_suppressed_total{reason="auto-reply"}`); n != 1 {
			t.Errorf("acks_suppressed{auto-reply} = %v, want 1", n)
		}
	})

	t.Run("postfix_down_the_outbox_retries_and_delivers_when_it_returns", func(t *testing.T) {
		env.stack(t, "postfix-stop")
		stopped := true
		defer func() {
			if stopped {
				env.stack(t, "postfix-start")
			}
		}()
		appendDirect(t, customerMailE2E("Mail while Postfix is down", id("outage")))
		var out []outboxRow
		waitUntil(t, "the ack deferred after failed attempts", 30*time.Second, func() bool {
			p.cli(t, &out, "outbox", "list")
			return len(out) == 1 && out[0].Attempts >= 2 && out[0].State == "pending"
		})
		if !strings.Contains(out[0].LastError, "connect") && !strings.Contains(out[0].LastError, "refused") {
			t.Errorf("last error %q does not say the connection failed", out[0].LastError)
		}
		if n := p.metric(t, `helpdeskd_smtp_sends_total{purpose="ack",result="temporary"}`); n < 2 {
			t.Errorf("temporary send failures = %v, want at least 2", n)
		}
		env.stack(t, "postfix-start")
		stopped = false
		inbox.waitReply(t, id("outage"), 30*time.Second)
		waitUntil(t, "the outbox empty", 10*time.Second, func() bool {
			p.cli(t, &out, "outbox", "list")
			return len(out) == 0
		})
	})

	t.Run("dovecot_restarted_intake_reconnects_and_misses_nothing", func(t *testing.T) {
		before := p.metric(t, "helpdeskd_imap_reconnects_total")
		env.stack(t, "dovecot-stop")
		stopped := true
		defer func() {
			if stopped {
				env.stack(t, "dovecot-start")
			}
		}()
		// Postfix queues these while Dovecot is down and delivers them
		// when it is back.
		s := dialSMTP(t)
		for i := range 3 {
			if err := s.send(customerMailE2E(fmt.Sprintf("During the IMAP outage %d", i), id(fmt.Sprintf("imap-outage-%d", i)))); err != nil {
				t.Fatal(err)
			}
		}
		s.close()
		var st statusReply
		waitUntil(t, "intake to notice", 30*time.Second, func() bool {
			p.cli(t, &st, "status")
			return st.Intake != "connected"
		})
		env.stack(t, "dovecot-start")
		stopped = false
		inbox = dialMailbox(top, e2eCustomer) // the old connection died with Dovecot
		for i := range 3 {
			inbox.waitReply(t, id(fmt.Sprintf("imap-outage-%d", i)), 60*time.Second)
		}
		if after := p.metric(t, "helpdeskd_imap_reconnects_total"); after <= before {
			t.Errorf("imap_reconnects_total %v → %v: no reconnect counted", before, after)
		}
		var rows []ticketRow
		p.cli(t, &rows, "tickets", "list")
		if len(rows) != 6 {
			t.Errorf("%d tickets, want 6", len(rows))
		}
	})

	t.Run("sigkill_mid_batch_then_restart_no_duplicate_no_loss", func(t *testing.T) {
		const n = 60
		support := dialMailbox(t, e2eSupport)
		s := dialSMTP(t)
		for i := range n {
			if err := s.send(customerMailE2E(fmt.Sprintf("Burst %d", i), id(fmt.Sprintf("burst-%d", i)))); err != nil {
				t.Fatal(err)
			}
		}
		s.close()
		// Kill as soon as intake has committed (and flagged \Seen) the
		// first of the burst: later batches are being fetched or
		// committed, acks are being sent.
		waitUntil(t, "the first burst mail committed", 30*time.Second, func() bool {
			return support.seenWith(t, "Burst ") > 0
		})
		p.kill()
		var atKill []ticketRow
		p.cliFile(t, &atKill, filepath.Join(dir, "helpdeskd.db"), "tickets", "list")
		t.Logf("SIGKILL with %d of the %d burst mails committed", len(atKill)-6, n)
		p = env.start(t, cfg, "daemon.log")
		for i := range n {
			inbox.waitReply(t, id(fmt.Sprintf("burst-%d", i)), 60*time.Second)
		}
		var rows []ticketRow
		waitUntil(t, "the outbox drained", 30*time.Second, func() bool {
			var out []outboxRow
			p.cli(t, &out, "outbox", "list")
			return len(out) == 0
		})
		p.cli(t, &rows, "tickets", "list")
		if len(rows) != 6+n {
			t.Errorf("%d tickets after the crash, want %d", len(rows), 6+n)
		}
		inbox.poll(t)
		resent := 0
		for i := range n {
			rs := inbox.repliesTo(id(fmt.Sprintf("burst-%d", i)))
			ids := map[string]bool{}
			for _, r := range rs {
				ids[r.MessageID] = true
			}
			if len(ids) != 1 {
				t.Errorf("burst %d got %d different acknowledgements, want 1", i, len(ids))
			}
			resent += len(rs) - 1
		}
		// A kill between Postfix's 250 and our commit of "delivered" sends
		// the same bytes (same Message-ID) again: SMTP is at-least-once.
		t.Logf("acks delivered twice with the same Message-ID (kill between 250 and commit): %d", resent)
	})

	t.Run("agreement_report_and_notice_through_postfix", func(t *testing.T) {
		// A reload adds an agreement for the customer, with HTML reports.
		extra := `plans:
  - {name: e2e, calendar: 24x7, priorities: {all: {first_response: 8h}}}
agreements:
  - name: E2E Customer
    customers: [customer.test]
    plan: e2e
    contacts: [` + e2eCustomer + `]
    reports: {every: [month], html: true}
`
		if got := env.config(t, dir, extra); got != cfg {
			t.Fatalf("config written to %s, want %s", got, cfg)
		}
		if out, err := exec.Command(env.bin, "reload", "-c", cfg).CombinedOutput(); err != nil {
			t.Fatalf("helpdeskd reload: %v\n%s", err, out)
		}

		// The report, sent again by hand, arrives with text, HTML, its
		// chart and the CSV, as Postfix and Dovecot pass them on.
		var sent reportSendReply
		month := time.Now().Format("2006-01")
		p.cli(t, &sent, "report", "--agreement", "E2E Customer", "--period", month, "--send")
		if !sent.Sent || !slices.Equal(sent.To, []string{e2eCustomer}) {
			t.Fatalf("report --send = %+v, want it queued to %s", sent, e2eCustomer)
		}
		report := inbox.waitSubject(t, "Support report "+month, 20*time.Second)
		m := mailer.Parse(inbox.raw(t, report.UID))
		var parts []string
		for _, a := range m.Attachments {
			parts = append(parts, a.ContentType)
		}
		if !slices.Equal(parts, []string{"image/png", "text/csv"}) || !strings.Contains(m.Text, "E2E Customer") || !bytes.Contains(inbox.raw(t, report.UID), []byte("Content-Type: text/html")) {
			t.Errorf("report mail: parts %v, text %.120q; want text, HTML, the chart and the CSV", parts, m.Text)
		}

		// A notice opens a ticket; the customer's answer threads to it.
		body := filepath.Join(dir, "notice.txt")
		if err := os.WriteFile(body, []byte("The portal is down for maintenance on Saturday 02:00-04:00.\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		var nr notifyReply
		p.cli(t, &nr, "notify", "--agreement", "E2E Customer", "--subject", "Maintenance Saturday", "--body-file", body)
		if len(nr.Queued) != 1 {
			t.Fatalf("notify queued %+v, want one notice", nr.Queued)
		}
		notice := inbox.waitSubject(t, "["+"#"+nr.Queued[0].Case+"] Maintenance Saturday", 20*time.Second)
		sendOne(t, customerMailE2E("Re: Maintenance Saturday", id("notice-answer"), "In-Reply-To: <"+notice.MessageID+">"))
		var det ticketDetail
		waitUntil(t, "the answer in the notice's ticket", 20*time.Second, func() bool {
			p.cli(t, &det, "tickets", "show", nr.Queued[0].Case)
			return det.Ticket.MessageCount >= 2
		})
	})

	t.Run("sigterm_exits_cleanly", func(t *testing.T) {
		p.term(t)
	})
}

// waitSubject polls until a mail whose subject contains s is in the
// mailbox, and returns it.
func (m *mailbox) waitSubject(t *testing.T, s string, limit time.Duration) seenMail {
	t.Helper()
	var got seenMail
	waitUntil(t, "a mail "+strconv.Quote(s)+" in the mailbox", limit, func() bool {
		m.poll(t)
		for _, x := range m.all() {
			if strings.Contains(x.Subject, s) {
				got = x
				return true
			}
		}
		return false
	})
	return got
}

// raw fetches a mail's bytes.
func (m *mailbox) raw(t *testing.T, uid imap.UID) []byte {
	t.Helper()
	bufs, err := m.c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
	if err != nil || len(bufs) != 1 || len(bufs[0].BodySection) != 1 {
		t.Fatalf("IMAP FETCH of UID %d: %d mails, %v", uid, len(bufs), err)
	}
	return bufs[0].BodySection[0].Bytes
}

// TestE2ELoad: 1,000 customer mails through Postfix, each ticketed and
// acknowledged exactly once. Run by `make e2e-load`. Two IMAP clients
// watch the mailboxes: support's INBOX gives the moment each mail was
// appended (delivered by Postfix into Dovecot), the customer's INBOX the
// moment its acknowledgement arrived.
func TestE2ELoad(t *testing.T) {
	if os.Getenv("HELPDESKD_E2E_LOAD") == "" {
		t.Skip("set HELPDESKD_E2E_LOAD=1 (make e2e-load)")
	}
	total := 1000
	if s := os.Getenv("HELPDESKD_E2E_LOAD_N"); s != "" {
		total, _ = strconv.Atoi(s)
	}
	const senders = 4
	env := newE2EEnv(t)
	purge(t, e2eSupport)
	purge(t, e2eCustomer)
	dir := shortTempDir(t)
	cfg := env.config(t, dir, "")
	cfgText, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, bytes.Replace(cfgText, []byte("batch_size: 10"), []byte("batch_size: 100"), 1), 0o600)
	p := env.start(t, cfg, "daemon.log")
	support := dialMailbox(t, e2eSupport)
	inbox := dialMailbox(t, e2eCustomer)
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	msgID := func(i int) string { return fmt.Sprintf("load-%d-%s@customer.test", i, nonce) }

	stopWatch := make(chan struct{})
	var watchers sync.WaitGroup
	watchErrs := make(chan error, 2)
	watch := func(m *mailbox) {
		defer watchers.Done()
		for {
			if err := m.pollErr(); err != nil {
				watchErrs <- err
				return
			}
			if len(m.all()) >= total {
				return
			}
			select {
			case <-stopWatch:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	watchers.Add(2)
	go watch(support)
	go watch(inbox)
	watchDone := make(chan struct{})
	go func() { watchers.Wait(); close(watchDone) }()

	sent := make([]time.Time, total)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := newSubmitter()
			if err != nil {
				errs <- err
				return
			}
			defer s.close()
			for i := w; i < total; i += senders {
				if err := s.send(customerMailE2E(fmt.Sprintf("Load %d", i), msgID(i))); err != nil {
					errs <- fmt.Errorf("mail %d: %w", i, err)
					return
				}
				sent[i] = time.Now()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		close(stopWatch)
		t.Fatal(err)
	}
	submitted := time.Since(start)
	select {
	case <-watchDone:
	case <-time.After(5 * time.Minute):
		close(stopWatch)
		<-watchDone
		t.Fatalf("only %d of %d acks after 5 minutes", len(inbox.all()), total)
	}
	close(watchErrs)
	for err := range watchErrs {
		t.Fatal(err)
	}
	rss := p.peakRSS()

	appended := map[string]time.Time{}
	var firstAppend, lastAppend time.Time
	for _, m := range support.all() {
		appended[m.MessageID] = m.Seen
		if firstAppend.IsZero() || m.Seen.Before(firstAppend) {
			firstAppend = m.Seen
		}
		if m.Seen.After(lastAppend) {
			lastAppend = m.Seen
		}
	}
	// Exactly once: one ack per mail, and one ticket per mail.
	byReq := map[string][]seenMail{}
	var lastAck time.Time
	for _, m := range inbox.all() {
		byReq[m.InReplyTo] = append(byReq[m.InReplyTo], m)
		if m.Seen.After(lastAck) {
			lastAck = m.Seen
		}
	}
	var fromSMTP, fromAppend []time.Duration
	for i := range total {
		rs := byReq[msgID(i)]
		if len(rs) != 1 {
			t.Errorf("mail %d got %d acks, want 1", i, len(rs))
			continue
		}
		fromSMTP = append(fromSMTP, rs[0].Seen.Sub(sent[i]))
		if at, ok := appended[msgID(i)]; ok {
			fromAppend = append(fromAppend, rs[0].Seen.Sub(at))
		}
	}
	var rows []ticketRow
	p.cli(t, &rows, "tickets", "list")
	if len(rows) != total {
		t.Errorf("%d tickets, want %d", len(rows), total)
	}
	p.term(t)
	// Split the latency at the commit (the ticket's Created): the
	// daemon's intake side, then sender + Postfix + Dovecot.
	var toCommit, fromCommit []time.Duration
	for _, r := range rows {
		i, err := strconv.Atoi(strings.TrimPrefix(r.Subject, "Load "))
		if err != nil || i < 0 || i >= total {
			continue
		}
		if at, ok := appended[msgID(i)]; ok {
			toCommit = append(toCommit, r.Created.Sub(at))
		}
		if rs := byReq[msgID(i)]; len(rs) == 1 {
			fromCommit = append(fromCommit, rs[0].Seen.Sub(r.Created))
		}
	}

	pct := func(d []time.Duration, q float64) time.Duration {
		if len(d) == 0 {
			return 0
		}
		slices.Sort(d)
		return d[min(len(d)-1, int(q*float64(len(d))))].Round(time.Millisecond)
	}
	elapsed := lastAck.Sub(start)
	report := fmt.Sprintf("e2e-load: %d mails via Postfix → %d tickets, %d acks in the customer's INBOX\n"+
		"  submitted in %v over %d SMTP connections; appended to support's INBOX over %v\n"+
		"  all acked %v after the first submission: %.1f msgs/s end to end\n"+
		"  append → ack visible: p50 %v, p99 %v, max %v (%d mails)\n"+
		"    of which append → ticket committed: p50 %v, p99 %v; committed → ack visible: p50 %v, p99 %v\n"+
		"  SMTP 250 → ack visible: p50 %v, p99 %v, max %v\n"+
		"  daemon peak RSS (VmHWM): %.1f MiB",
		total, len(rows), len(inbox.all()),
		submitted.Round(time.Millisecond), senders, lastAppend.Sub(firstAppend).Round(time.Millisecond),
		elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(),
		pct(fromAppend, 0.50), pct(fromAppend, 0.99), pct(fromAppend, 1), len(fromAppend),
		pct(toCommit, 0.50), pct(toCommit, 0.99), pct(fromCommit, 0.50), pct(fromCommit, 0.99),
		pct(fromSMTP, 0.50), pct(fromSMTP, 0.99), pct(fromSMTP, 1),
		float64(rss)/1024)
	t.Log(report)
	fmt.Println(report)
}
