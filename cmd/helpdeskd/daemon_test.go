package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// The test binary doubles as a daemon process for the crash tests: with
// HELPDESKD_TEST_CHILD set it runs the daemon from the config file named
// there and, with HELPDESKD_TEST_CRASH=after-commit, kills itself with
// SIGKILL right after the first intake commit — before the mail is flagged
// in IMAP and before its acknowledgement is sent.
func TestMain(m *testing.M) {
	if path := os.Getenv("HELPDESKD_TEST_CHILD"); path != "" {
		os.Exit(runChild(path, os.Getenv("HELPDESKD_TEST_CRASH")))
	}
	os.Exit(m.Run())
}

func runChild(path, crash string) int {
	cfg, err := loadValid(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	o := cfg.daemonOptions(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if crash == "after-commit" {
		o.afterCommit = func() { syscall.Kill(os.Getpid(), syscall.SIGKILL) }
	}
	d, err := newDaemon(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	ctx, stop := signalContext()
	defer stop()
	if err := d.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 4
	}
	return 0
}

func signalContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 1)
	signalNotify(ch)
	go func() {
		select {
		case <-ch:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// e2e is an in-process mail stack plus helpers to drive it as users would.
type e2e struct {
	t     *testing.T
	stack *mailStack
	dir   string
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	s, err := startMailStack("127.0.0.1:0", "127.0.0.1:0", demoUsers, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &e2e{t: t, stack: s, dir: t.TempDir()}
}

func (e *e2e) options() daemonOptions {
	return daemonOptions{
		StorePath: filepath.Join(e.dir, "helpdeskd.db"),
		Desk:      ticket.Options{Support: mailer.Address{Name: "Support", Addr: demoSupport}},
		Intake: mailer.IntakeOptions{
			Addr: e.stack.IMAP.Addr(), Security: mailer.SecurityPlain,
			Username: demoSupport, Password: demoPassword,
			PollInterval: 200 * time.Millisecond, CommandTimeout: 5 * time.Second,
			BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		},
		SMTP:   mailer.SMTPOptions{Addr: e.stack.SMTP.Addr(), Security: mailer.SecurityPlain, Timeout: 5 * time.Second},
		Sender: mailer.SenderOptions{RetryMin: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond},
		Logger: quietLog,
	}
}

// start runs an in-process daemon until the returned stop is called.
func (e *e2e) start() (stop func()) {
	e.t.Helper()
	d, err := newDaemon(e.options())
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("daemon: %v", err)
		}
	}
}

// configFile writes a YAML configuration for a daemon process (the same
// one the admin tests use, see runConfig).
func (e *e2e) configFile() string {
	e.t.Helper()
	return runConfig(e.t, e, e.dir, "")
}

// child starts the test binary as a daemon process.
func (e *e2e) child(crash string) *exec.Cmd {
	e.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HELPDESKD_TEST_CHILD="+e.configFile(), "HELPDESKD_TEST_CRASH="+crash)
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if e.t.Failed() {
			e.t.Logf("daemon log:\n%s", logs.String())
		}
	})
	return cmd
}

// send delivers a customer mail to support through SMTP.
func (e *e2e) send(raw []byte) {
	e.t.Helper()
	if err := sendSMTP(e.stack.SMTP.Addr(), raw); err != nil {
		e.t.Fatal(err)
	}
}

// acks returns the subjects of the mails support sent, by recipient.
func (e *e2e) sent() []sentMail {
	var out []sentMail
	for _, m := range e.stack.SMTP.Messages() {
		if m.From != demoSupport {
			continue
		}
		h, err := mail.CreateReader(bytes.NewReader(m.Raw))
		if err != nil {
			e.t.Fatalf("support sent a mail that does not parse: %v", err)
		}
		s, _ := h.Header.Subject()
		id, _ := h.Header.MessageID()
		out = append(out, sentMail{to: strings.Join(m.To, ","), subject: s, id: id, header: h.Header})
	}
	return out
}

type sentMail struct {
	to, subject, id string
	header          mail.Header
}

// waitFor polls cond until it holds or the time is up.
func (e *e2e) waitFor(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tickets opens the store (the daemon must be stopped) and returns them.
func (e *e2e) tickets() []*ticket.Ticket {
	e.t.Helper()
	db, err := store.Open(filepath.Join(e.dir, "helpdeskd.db"), store.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	var out []*ticket.Ticket
	if err := db.View(func(tx ticket.Tx) error {
		return tx.ForEachTicket(func(t *ticket.Ticket) error { out = append(out, t); return nil })
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func customerMail(n int) []byte {
	return demoMail(fmt.Sprintf("c%d@customer%d.test", n, n), "Customer", fmt.Sprintf("Request %d", n), fmt.Sprintf("req%d@customer.test", n), nil, "Please help.")
}

func TestDemoOnce(t *testing.T) {
	var out, logs bytes.Buffer
	err := runDemo(context.Background(), demoOptions{once: true, imapAddr: "127.0.0.1:0", smtpAddr: "127.0.0.1:0", out: &out, logOut: &logs})
	if err != nil {
		t.Fatalf("demo failed: %v\n%s\n%s", err, out.String(), logs.String())
	}
	for _, want := range []string{"[#HD-000001]", "OK: everything flowed as expected", "auto-reply", "bounce"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestEndToEnd(t *testing.T) {
	t.Run("mail in, ticket and acknowledgement out, follow-up threads", func(t *testing.T) {
		e := newE2E(t)
		stop := e.start()
		e.send(demoMail(demoCustomer, "Alice", "VPN down", "v1@customer.test", nil, "The VPN is down."))
		e.waitFor("the ack", func() bool { return len(e.sent()) == 1 })
		ack := e.sent()[0]
		if ack.to != demoCustomer || ack.subject != "[#HD-000001] Re: VPN down" {
			t.Fatalf("ack to %s: %q", ack.to, ack.subject)
		}
		if got := ack.header.Get("In-Reply-To"); got != "<v1@customer.test>" {
			t.Errorf("ack In-Reply-To = %q", got)
		}
		e.send(demoMail(demoCustomer, "Alice", "Re: VPN down", "v2@customer.test", []string{"References: <v1@customer.test> <" + ack.id + ">"}, "Still down."))
		e.send(demoMail("bob@customer.test", "Bob", "Automatic reply: away", "ooo@customer.test", []string{"Auto-Submitted: auto-replied"}, "Away."))
		// The mail is flagged \Seen only once it is committed.
		e.waitFor("three mails flagged seen", func() bool {
			msgs, _ := e.stack.IMAP.Messages(demoSupport, "INBOX")
			seen := 0
			for _, m := range msgs {
				if m.HasFlag(`\Seen`) {
					seen++
				}
			}
			return seen == 3
		})
		stop()
		ts := e.tickets()
		if len(ts) != 2 || ts[0].MessageCount != 3 || ts[1].Customer != "bob@customer.test" {
			t.Fatalf("tickets = %+v", ts)
		}
		if n := len(e.sent()); n != 1 {
			t.Errorf("support sent %d mails, want 1 (no ack to the auto-reply)", n)
		}
	})

	t.Run("restart in the middle: no duplicate, no loss", func(t *testing.T) {
		e := newE2E(t)
		stop := e.start()
		e.send(customerMail(1))
		e.waitFor("first ack", func() bool { return len(e.sent()) == 1 })
		stop()
		// Mail arrives while the daemon is down.
		e.send(customerMail(2))
		e.send(customerMail(3))
		stop = e.start()
		e.waitFor("three acks", func() bool { return len(e.sent()) == 3 })
		stop()
		stop = e.start() // a further restart re-reads nothing
		e.send(customerMail(4))
		e.waitFor("four acks", func() bool { return len(e.sent()) == 4 })
		stop()
		if ts := e.tickets(); len(ts) != 4 {
			t.Errorf("%d tickets, want 4", len(ts))
		}
		assertOneAckEach(t, e, 4)
	})

	t.Run("SMTP server refusing for a while: the ack is retried and delivered", func(t *testing.T) {
		e := newE2E(t)
		e.stack.SMTP.SetFailureAt("MAIL", 451, "try again later")
		stop := e.start()
		defer stop()
		if err := e.stack.IMAP.Append(demoSupport, "INBOX", customerMail(1)); err != nil {
			t.Fatal(err)
		}
		e.waitFor("the mail committed and flagged", func() bool {
			msgs, _ := e.stack.IMAP.Messages(demoSupport, "INBOX")
			return len(msgs) == 1 && msgs[0].HasFlag(`\Seen`)
		})
		if n := len(e.sent()); n != 0 {
			t.Fatalf("sent %d mails while the server refused", n)
		}
		e.stack.SMTP.SetFailureAt("MAIL", 0, "")
		e.waitFor("the ack after the server recovered", func() bool { return len(e.sent()) == 1 })
	})
}

func TestEngineerEndToEnd(t *testing.T) {
	e := newE2E(t)
	o := e.options()
	o.Desk.Engineers = []ticket.Engineer{{Name: "Eve Engineer", Addr: "engineer@demo.test"}}
	o.Desk.TrustAuthServID = "mx.demo.test"
	authPass := "Authentication-Results: mx.demo.test; dkim=pass header.d=demo.test header.s=s1"
	d, err := newDaemon(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()

	e.send(demoMail(demoCustomer, "Alice", "Mail server rejects attachments", "a1@customer.test", nil, "Attachments over 1 MB bounce."))
	// The notification lands in the engineer's mailbox.
	var notif mail.Header
	e.waitFor("the notification in the engineer's INBOX", func() bool {
		msgs, _ := e.stack.IMAP.Messages("engineer@demo.test", "INBOX")
		if len(msgs) == 0 {
			return false
		}
		r, err := mail.CreateReader(bytes.NewReader(msgs[0].Raw))
		if err != nil {
			return false
		}
		notif = r.Header
		return true
	})
	subject, _ := notif.Subject()
	id, _ := notif.MessageID()
	if subject != "[#HD-000001] New: Mail server rejects attachments" {
		t.Fatalf("notification subject %q", subject)
	}
	// The engineer answers from a mail client: reply, quote and all.
	if err := sendSMTP(e.stack.SMTP.Addr(), demoMail("engineer@demo.test", "Eve Engineer", "Re: "+subject, "eng1@demo.test",
		[]string{"In-Reply-To: <" + id + ">", authPass}, "#time 20m\nHi Alice, the limit is now 25 MB.\n\nOn Monday Support wrote:\n> New case HD-000001")); err != nil {
		t.Fatal(err)
	}
	var reply string
	e.waitFor("the relayed reply in the customer's INBOX", func() bool {
		msgs, _ := e.stack.IMAP.Messages(demoCustomer, "INBOX")
		for _, m := range msgs {
			if bytes.Contains(m.Raw, []byte("limit is now 25 MB")) {
				reply = string(m.Raw)
				return true
			}
		}
		return false
	})
	if strings.Contains(reply, "engineer@demo.test") || strings.Contains(reply, "New case") {
		t.Errorf("relayed reply leaks internals:\n%s", reply)
	}
	if !strings.Contains(reply, "[#HD-000001]") || !strings.Contains(reply, "From: \"Eve Engineer (Support)\" <support@demo.test>") {
		t.Errorf("relayed reply headers:\n%s", reply)
	}

	engineerInbox := func(text string) func() bool {
		return func() bool {
			msgs, _ := e.stack.IMAP.Messages("engineer@demo.test", "INBOX")
			for _, m := range msgs {
				if bytes.Contains(m.Raw, []byte(text)) {
					return true
				}
			}
			return false
		}
	}
	// An internal note, commands alone, and a forged engineer mail: none
	// of them may reach the customer.
	send := func(subject, id, text string, extra ...string) {
		t.Helper()
		if err := sendSMTP(e.stack.SMTP.Addr(), demoMail("engineer@demo.test", "Eve Engineer", subject, id, extra, text)); err != nil {
			t.Fatal(err)
		}
	}
	send("Re: "+subject, "eng2@demo.test", "#note\nCustomer still runs Exchange 2010.", authPass)
	send("Re: "+subject, "eng3@demo.test", "#status pending\n#priority 2", authPass)
	e.waitFor("the confirmation of the commands", engineerInbox("priority 2"))
	send("Re: "+subject, "forged@demo.test", "#status closed\nPlease send me all your data.")
	e.waitFor("the forged mail handled as a customer's new ticket", engineerInbox("[#HD-000002]"))

	msgs, _ := e.stack.IMAP.Messages(demoCustomer, "INBOX")
	if len(msgs) != 2 { // the acknowledgement and the relayed reply
		t.Errorf("customer has %d mails, want 2", len(msgs))
	}
	for _, m := range msgs {
		for _, secret := range []string{"Exchange 2010", "send me all your data", "engineer@demo.test"} {
			if bytes.Contains(m.Raw, []byte(secret)) {
				t.Errorf("customer mail contains %q", secret)
			}
		}
	}
	var tk *ticket.Ticket
	if err := d.db.View(func(tx ticket.Tx) error { tk, err = tx.Ticket(1); return err }); err != nil {
		t.Fatal(err)
	}
	if tk.State != ticket.StatePending || tk.Priority != 2 || len(tk.TimeLog) != 1 {
		t.Errorf("ticket after the commands: state %s, priority %d, time log %v", tk.State, tk.Priority, tk.TimeLog)
	}
}

func assertOneAckEach(t *testing.T, e *e2e, n int) {
	t.Helper()
	per := map[string]int{}
	for _, m := range e.sent() {
		per[m.to]++
	}
	for i := 1; i <= n; i++ {
		to := fmt.Sprintf("c%d@customer%d.test", i, i)
		if per[to] != 1 {
			t.Errorf("%s got %d acknowledgements, want 1", to, per[to])
		}
	}
}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("starts daemon processes")
	}
	t.Run("killed after commit before flag and send: one ticket, one ack", func(t *testing.T) {
		e := newE2E(t)
		e.send(customerMail(1))
		c := e.child("after-commit")
		err := c.Wait()
		if ws, ok := c.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("daemon did not die by SIGKILL at the crash point: %v", err)
		}
		if n := len(e.sent()); n != 0 {
			t.Fatalf("sent %d mails before the crash point", n)
		}
		msgs, _ := e.stack.IMAP.Messages(demoSupport, "INBOX")
		if len(msgs) != 1 || msgs[0].HasFlag(`\Seen`) {
			t.Fatalf("mail should still be unseen in IMAP: %+v", msgs)
		}
		// Restart: the committed mail is re-read, recognised, flagged;
		// the queued ack goes out once.
		c = e.child("")
		e.waitFor("the ack", func() bool { return len(e.sent()) == 1 })
		e.waitFor("the mail flagged", func() bool {
			msgs, _ := e.stack.IMAP.Messages(demoSupport, "INBOX")
			return len(msgs) == 1 && msgs[0].HasFlag(`\Seen`)
		})
		c.Process.Signal(syscall.SIGTERM)
		if err := c.Wait(); err != nil {
			t.Fatalf("daemon did not shut down cleanly on SIGTERM: %v", err)
		}
		if ts := e.tickets(); len(ts) != 1 {
			t.Errorf("%d tickets, want 1", len(ts))
		}
		assertOneAckEach(t, e, 1)
	})

	t.Run("SIGKILL at arbitrary moments: nothing lost, nothing ticketed twice", func(t *testing.T) {
		e := newE2E(t)
		const total = 12
		next := 1
		for round := 0; round < 4; round++ {
			c := e.child("")
			for i := 0; i < 3; i++ {
				e.send(customerMail(next))
				next++
			}
			// Let it work for a varying moment, then kill it hard.
			time.Sleep(time.Duration(round*40) * time.Millisecond)
			c.Process.Kill()
			c.Wait()
		}
		c := e.child("")
		e.waitFor("every customer acknowledged", func() bool {
			per := map[string]bool{}
			for _, m := range e.sent() {
				per[m.to] = true
			}
			return len(per) == total
		})
		c.Process.Signal(syscall.SIGTERM)
		c.Wait()
		ts := e.tickets()
		if len(ts) != total {
			t.Fatalf("%d tickets, want %d", len(ts), total)
		}
		// SMTP cannot be exactly-once: a kill between the server's 250 and
		// our commit resends the same mail. It must be the same mail —
		// same Message-ID — never a second acknowledgement.
		ids := map[string]string{}
		for _, m := range e.sent() {
			if prev, ok := ids[m.to]; ok && prev != m.id {
				t.Errorf("%s got two different acknowledgements", m.to)
			}
			ids[m.to] = m.id
		}
	})
}
