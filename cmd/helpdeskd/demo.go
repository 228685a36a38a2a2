package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/smtp"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/spf13/cobra"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/ticket"
)

const (
	demoSupport  = "support@demo.test"
	demoCustomer = "alice@customer.test"
	demoEngineer = "engineer@demo.test"
	demoPassword = "demo"
)

var demoUsers = map[string]string{
	demoSupport:          demoPassword,
	demoCustomer:         demoPassword,
	"bob@customer.test":  demoPassword,
	"engineer@demo.test": demoPassword,
}

func newDemoCmd() *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the daemon on embedded IMAP/SMTP servers with sample traffic",
		Long: `demo starts an IMAP and an SMTP server on loopback, a daemon with a
temporary data directory, sends sample customer mail through SMTP into the
support mailbox and prints what happened. It then keeps running so that you
can send more mail with any client; --once exits after the summary, with
status 0 only if everything flowed as expected.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			o.out = cmd.OutOrStdout()
			o.logOut = cmd.ErrOrStderr()
			return runDemo(ctx, o)
		},
	}
	cmd.Flags().BoolVar(&o.once, "once", false, "run the sample traffic, print the summary and exit")
	cmd.Flags().StringVar(&o.imapAddr, "imap", "127.0.0.1:0", "IMAP listen address (loopback)")
	cmd.Flags().StringVar(&o.smtpAddr, "smtp", "127.0.0.1:0", "SMTP listen address (loopback)")
	cmd.Flags().StringVar(&o.dir, "dir", "", "data directory (default: a new temporary directory, removed on exit)")
	cmd.Flags().BoolVarP(&o.verbose, "verbose", "v", false, "show the daemon's info log (default: warnings only)")
	return cmd
}

type demoOptions struct {
	once               bool
	imapAddr, smtpAddr string
	dir                string
	verbose            bool
	out, logOut        io.Writer
	timeout            time.Duration // per expected event; zero: 20s
}

// demoRun is the state of one demo: the stack, the daemon and what the
// daemon decided.
type demoRun struct {
	o     demoOptions
	stack *mailStack
	d     *daemon
	mu    sync.Mutex
	decs  []ticket.Decision
	seen  chan struct{}
}

func runDemo(ctx context.Context, o demoOptions) error {
	if o.timeout == 0 {
		o.timeout = 20 * time.Second
	}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(o.logOut, &slog.HandlerOptions{Level: level}))
	if o.dir == "" {
		dir, err := os.MkdirTemp("", "helpdeskd-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.dir = dir
	}
	stack, err := startMailStack(o.imapAddr, o.smtpAddr, demoUsers, log)
	if err != nil {
		return err
	}
	defer stack.Close()

	r := &demoRun{o: o, stack: stack, seen: make(chan struct{}, 1)}
	opts := daemonOptions{
		StorePath: filepath.Join(o.dir, "helpdeskd.db"),
		Desk: ticket.Options{
			Support:    mailer.Address{Name: "Demo Support", Addr: demoSupport},
			Engineers:  []ticket.Engineer{{Name: "Eve Engineer", Addr: demoEngineer}},
			OnDecision: r.record,
		},
		Intake: mailer.IntakeOptions{
			Addr: stack.IMAP.Addr(), Security: mailer.SecurityPlain,
			Username: demoSupport, Password: demoPassword,
			PollInterval: 2 * time.Second, CommandTimeout: 10 * time.Second,
			BackoffMin: 100 * time.Millisecond, BackoffMax: 2 * time.Second,
		},
		SMTP:   mailer.SMTPOptions{Addr: stack.SMTP.Addr(), Security: mailer.SecurityPlain, HELO: "demo.test", Timeout: 10 * time.Second},
		Sender: mailer.SenderOptions{RetryMin: time.Second, RetryMax: 10 * time.Second},
		Logger: log,
	}
	d, err := newDaemon(opts)
	if err != nil {
		return err
	}
	r.d = d
	dctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(dctx) }()
	stopDaemon := func() error { cancel(); return <-done }

	fmt.Fprintf(o.out, "helpdeskd demo\n  IMAP  %s  plain, LOGIN; users %s, %s, %s; password %q\n  SMTP  %s  no auth; mail to %s lands in the support INBOX\n  data  %s\n\n",
		stack.IMAP.Addr(), demoSupport, demoCustomer, demoEngineer, demoPassword, stack.SMTP.Addr(), demoSupport, opts.StorePath)

	trafficErr := r.sampleTraffic(ctx)
	r.summary()
	if trafficErr != nil {
		fmt.Fprintf(o.out, "\nFAILED: %v\n", trafficErr)
	}
	if o.once || trafficErr != nil {
		if err := stopDaemon(); err != nil && trafficErr == nil {
			return err
		}
		if trafficErr != nil {
			return &exitError{code: 1, err: errors.New("demo: the sample traffic did not flow as expected")}
		}
		fmt.Fprintln(o.out, "\nOK: everything flowed as expected.")
		return nil
	}
	fmt.Fprintf(o.out, "\nThe daemon keeps running. Send mail to %s through SMTP %s (any client, no auth),\nread answers over IMAP %s as %s / %q. Ctrl-C stops.\n",
		demoSupport, stack.SMTP.Addr(), stack.IMAP.Addr(), demoCustomer, demoPassword)
	<-ctx.Done()
	return stopDaemon()
}

func (r *demoRun) record(d ticket.Decision) {
	r.mu.Lock()
	r.decs = append(r.decs, d)
	r.mu.Unlock()
	select {
	case r.seen <- struct{}{}:
	default:
	}
}

func (r *demoRun) decisions() []ticket.Decision {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ticket.Decision(nil), r.decs...)
}

// sampleStep is one mail of the sample traffic and the decision it must get.
type sampleStep struct {
	title string
	mail  func(ack ackInfo) []byte
	want  func(d ticket.Decision) bool
}

// ackInfo is what the customer learned from the acknowledgement.
type ackInfo struct{ subject, messageID string }

func (r *demoRun) sampleTraffic(ctx context.Context) error {
	var ack ackInfo
	steps := []sampleStep{
		{"new request from " + demoCustomer, func(ackInfo) []byte {
			return demoMail(demoCustomer, "Alice Hansen", "Printer offline in building B", "req1@customer.test", nil,
				"Hi,\n\nthe printer on the second floor of building B has been offline since this morning.\n\nAlice")
		}, func(d ticket.Decision) bool { return d.Action == ticket.ActionNew && d.Ack }},
		{"reply keeping the case tag", func(a ackInfo) []byte {
			return demoMail(demoCustomer, "Alice Hansen", "Re: "+a.subject, "req2@customer.test",
				[]string{"In-Reply-To: <" + a.messageID + ">"}, "It shows error E-42, if that helps.")
		}, func(d ticket.Decision) bool { return d.Action == ticket.ActionFollowUp && d.Case == "HD-000001" }},
		{"reply that lost the tag, threading by References", func(a ackInfo) []byte {
			return demoMail(demoCustomer, "Alice Hansen", "Re: Printer offline in building B", "req3@customer.test",
				[]string{"References: <req1@customer.test> <" + a.messageID + ">"}, "Any news?")
		}, func(d ticket.Decision) bool { return d.Action == ticket.ActionFollowUp && d.Case == "HD-000001" }},
		{"out-of-office auto-reply", func(ackInfo) []byte {
			return demoMail("bob@customer.test", "Bob", "Automatic reply: Out of office", "ooo1@customer.test",
				[]string{"Auto-Submitted: auto-replied"}, "I am out of the office until Monday.")
		}, func(d ticket.Decision) bool { return d.AckSuppressed == ticket.SuppressAutoReply }},
		{"bounce", func(ackInfo) []byte { return demoBounce() },
			func(d ticket.Decision) bool { return d.AckSuppressed == ticket.SuppressBounce }},
		{"engineer answers the notification by mail", func(a ackInfo) []byte {
			return demoMail(demoEngineer, "Eve Engineer", "Re: [#HD-000001] New: Printer offline in building B", "eng1@demo.test", nil,
				"#time 15m\nHi Alice,\n\nwe restarted the print server; the printer works again.\n\nEve\n\nOn Monday Demo Support wrote:\n> New case HD-000001")
		}, func(d ticket.Decision) bool { return d.Action == ticket.ActionRelayed && d.Case == "HD-000001" }},
	}
	fmt.Fprintln(r.o.out, "Sample traffic:")
	for i, s := range steps {
		if err := sendSMTP(r.stack.SMTP.Addr(), s.mail(ack)); err != nil {
			return fmt.Errorf("step %d (%s): send: %w", i+1, s.title, err)
		}
		d, err := r.waitDecision(ctx, i+1)
		if err != nil {
			return fmt.Errorf("step %d (%s): %w", i+1, s.title, err)
		}
		fmt.Fprintf(r.o.out, "  %d. %-50s -> %s\n", i+1, s.title, describe(d))
		if !s.want(d) {
			return fmt.Errorf("step %d (%s): unexpected decision %s", i+1, s.title, describe(d))
		}
		if i == 0 {
			if ack, err = r.waitAck(ctx); err != nil {
				return fmt.Errorf("step 1: %w", err)
			}
			fmt.Fprintf(r.o.out, "     acknowledgement in %s's INBOX: %q\n", demoCustomer, ack.subject)
		}
		if d.Action == ticket.ActionRelayed {
			if err := r.waitInbox(ctx, demoCustomer, "the print server"); err != nil {
				return fmt.Errorf("step %d: %w", i+1, err)
			}
			fmt.Fprintf(r.o.out, "     the reply reached %s from %s, without the engineer's address or the quote\n", demoCustomer, demoSupport)
		}
	}
	return r.waitOutboxEmpty(ctx)
}

func describe(d ticket.Decision) string {
	s := string(d.Action)
	if d.Case != "" {
		s += " " + d.Case
	}
	if d.Reason != "" {
		s += " (" + d.Reason + ")"
	}
	switch {
	case d.Ack:
		s += ", acknowledgement queued"
	case d.AckSuppressed != "":
		s += ", no acknowledgement: " + d.AckSuppressed
	}
	return s
}

// waitDecision waits until the daemon has decided on n mails.
func (r *demoRun) waitDecision(ctx context.Context, n int) (ticket.Decision, error) {
	deadline := time.After(r.o.timeout)
	for {
		if ds := r.decisions(); len(ds) >= n {
			return ds[n-1], nil
		}
		select {
		case <-r.seen:
		case <-deadline:
			return ticket.Decision{}, fmt.Errorf("the daemon did not take the mail in within %s", r.o.timeout)
		case <-ctx.Done():
			return ticket.Decision{}, ctx.Err()
		}
	}
}

// waitAck waits for the acknowledgement in the customer's INBOX.
func (r *demoRun) waitAck(ctx context.Context) (ackInfo, error) {
	deadline := time.Now().Add(r.o.timeout)
	for time.Now().Before(deadline) {
		msgs, err := r.stack.IMAP.Messages(demoCustomer, "INBOX")
		if err != nil {
			return ackInfo{}, err
		}
		for _, m := range msgs {
			h, err := mail.CreateReader(bytes.NewReader(m.Raw))
			if err != nil {
				continue
			}
			subject, _ := h.Header.Subject()
			id, _ := h.Header.MessageID()
			if strings.Contains(subject, "[#HD-000001]") {
				return ackInfo{subject: subject, messageID: id}, nil
			}
		}
		select {
		case <-r.stack.SMTP.Changed():
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return ackInfo{}, ctx.Err()
		}
	}
	return ackInfo{}, fmt.Errorf("no acknowledgement reached %s within %s", demoCustomer, r.o.timeout)
}

// waitInbox waits for a mail containing text in user's INBOX.
func (r *demoRun) waitInbox(ctx context.Context, user, text string) error {
	deadline := time.Now().Add(r.o.timeout)
	for time.Now().Before(deadline) {
		msgs, err := r.stack.IMAP.Messages(user, "INBOX")
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if bytes.Contains(m.Raw, []byte(text)) {
				return nil
			}
		}
		select {
		case <-r.stack.SMTP.Changed():
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return fmt.Errorf("no mail with %q reached %s within %s", text, user, r.o.timeout)
}

func (r *demoRun) waitOutboxEmpty(ctx context.Context) error {
	deadline := time.Now().Add(r.o.timeout)
	for time.Now().Before(deadline) {
		n, _, err := r.d.db.OutboxStats()
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return fmt.Errorf("the outbox did not drain within %s", r.o.timeout)
}

// summary prints the tickets, the acknowledgements delivered and the
// replies suppressed.
func (r *demoRun) summary() {
	w := tabwriter.NewWriter(r.o.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(r.o.out, "\nTickets:")
	err := r.d.db.View(func(tx ticket.Tx) error {
		return tx.ForEachTicket(func(t *ticket.Ticket) error {
			in, out := 0, 0
			es, err := tx.Entries(t.ID)
			if err != nil {
				return err
			}
			for _, e := range es {
				if e.Direction == ticket.Inbound {
					in++
				} else {
					out++
				}
			}
			fmt.Fprintf(w, "  %s\t%s\t%s\t%q\t%d in, %d out\n", ticket.Tag(t.Case), t.State, t.Customer, t.Subject, in, out)
			return nil
		})
	})
	if err != nil {
		fmt.Fprintf(w, "  (cannot read tickets: %v)\n", err)
	}
	w.Flush()
	fmt.Fprintln(r.o.out, "\nMails delivered by SMTP:")
	for _, m := range r.stack.SMTP.Messages() {
		if m.From != demoSupport {
			continue
		}
		h, err := mail.CreateReader(bytes.NewReader(m.Raw))
		subject := "?"
		if err == nil {
			subject, _ = h.Header.Subject()
		}
		fmt.Fprintf(w, "  to %s\t%q\n", strings.Join(m.To, ", "), subject)
	}
	w.Flush()
	fmt.Fprintln(r.o.out, "\nReplies suppressed:")
	for _, d := range r.decisions() {
		if d.AckSuppressed != "" {
			fmt.Fprintf(w, "  %s\tfrom %s\t%s\n", d.Case, d.From, d.AckSuppressed)
		}
	}
	w.Flush()
}

func sendSMTP(addr string, raw []byte) error {
	h, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	from, err := h.Header.AddressList("From")
	if err != nil || len(from) == 0 {
		return fmt.Errorf("sample mail has no From: %v", err)
	}
	sender := from[0].Address
	if rp := h.Header.Get("Return-Path"); rp == "<>" {
		sender = ""
	}
	return smtp.SendMail(addr, nil, sender, []string{demoSupport}, raw)
}

func demoMail(from, name, subject, id string, extra []string, body string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s <%s>\r\nTo: Demo Support <%s>\r\nSubject: %s\r\nMessage-ID: <%s>\r\nDate: %s\r\n",
		name, from, demoSupport, subject, id, time.Now().Format(time.RFC1123Z))
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n") + "\r\n")
	return b.Bytes()
}

func demoBounce() []byte {
	return []byte(strings.ReplaceAll(`Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mx.customer.test>
To: `+demoSupport+`
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce1@mx.customer.test>
Date: `+time.Now().Format(time.RFC1123Z)+`
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.customer.test.
I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<carol@customer.test>: user unknown
--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.customer.test
Final-Recipient: rfc822; carol@customer.test
Action: failed
Status: 5.1.1
--b1--
`, "\n", "\r\n"))
}
