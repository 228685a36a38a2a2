package ticket_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// clock is an injected clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	desk  *ticket.Desk
	db    *store.DB
	clock *clock
}

func newFixture(t *testing.T, mod func(*ticket.Options)) *fixture {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "hd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	o := ticket.Options{
		Store:            db,
		Support:          mailer.Address{Name: "Example Support", Addr: "support@example.com"},
		OwnAddresses:     []string{"helpdesk@example.com"},
		LanguageByDomain: map[string]string{"kunde.no": "nb"},
		Now:              c.Now,
	}
	if mod != nil {
		mod(&o)
	}
	d, err := ticket.NewDesk(o)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{desk: d, db: db, clock: c}
}

// msg builds a raw mail. Extra headers are "Name: value" lines.
func msg(from, subject, id string, extra ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: Support <support@example.com>\r\nSubject: %s\r\nMessage-ID: <%s>\r\nDate: Mon, 23 Nov 2026 08:59:00 +0000\r\n", from, subject, id)
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n\r\nHello, the printer is offline.\r\n")
	return b.Bytes()
}

func (f *fixture) receive(t *testing.T, raw []byte) ticket.Decision {
	t.Helper()
	d, err := f.desk.Receive(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (f *fixture) ticket(t *testing.T, id uint64) *ticket.Ticket {
	t.Helper()
	var tk *ticket.Ticket
	if err := f.db.View(func(tx ticket.Tx) error {
		var err error
		tk, err = tx.Ticket(id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return tk
}

// outbox returns the queued mails, parsed.
func (f *fixture) outbox(t *testing.T) []*outMail {
	t.Helper()
	var out []*outMail
	err := f.db.Outbox(func(env mailer.Envelope, failed bool) error {
		out = append(out, parseOut(t, env))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type outMail struct {
	env    mailer.Envelope
	header mail.Header
	body   string
}

func parseOut(t *testing.T, env mailer.Envelope) *outMail {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(env.Raw))
	if err != nil {
		t.Fatalf("queued mail does not parse: %v", err)
	}
	om := &outMail{env: env, header: r.Header}
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := p.Header.(*mail.InlineHeader); ok {
			b, _ := io.ReadAll(p.Body)
			om.body += string(b)
		}
	}
	return om
}

func (o *outMail) subject(t *testing.T) string {
	s, err := o.header.Subject()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestReceive(t *testing.T) {
	t.Run("new request opens a ticket and queues an acknowledgement", func(t *testing.T) {
		f := newFixture(t, nil)
		d := f.receive(t, msg("Kari Nordmann <Kari@Customer.example>", "Printer offline", "m1@customer.example"))
		if d.Action != ticket.ActionNew || d.Case != "HD-000001" || !d.Ack {
			t.Fatalf("decision = %+v", d)
		}
		tk := f.ticket(t, d.TicketID)
		if tk.State != ticket.StateNew || tk.Customer != "kari@customer.example" || tk.Priority != 3 || tk.Subject != "Printer offline" {
			t.Errorf("ticket = %+v", tk)
		}
		out := f.outbox(t)
		if len(out) != 1 {
			t.Fatalf("outbox has %d mails, want 1", len(out))
		}
		a := out[0]
		if got := a.subject(t); got != "[#HD-000001] Re: Printer offline" {
			t.Errorf("ack subject = %q", got)
		}
		if a.env.From != "support@example.com" || strings.Join(a.env.To, ",") != "kari@customer.example" {
			t.Errorf("ack envelope %s -> %v", a.env.From, a.env.To)
		}
		for h, want := range map[string]string{
			"In-Reply-To":      "<m1@customer.example>",
			"Auto-Submitted":   "auto-replied",
			mailer.LoopHeader:  "support@example.com",
			"X-Helpdeskd-Case": "HD-000001",
		} {
			if got := a.header.Get(h); got != want {
				t.Errorf("ack %s = %q, want %q", h, got, want)
			}
		}
		if !strings.Contains(a.body, "HD-000001") {
			t.Errorf("ack body does not name the case:\n%s", a.body)
		}
	})

	t.Run("reply keeping the tag joins the ticket without a new ack", func(t *testing.T) {
		f := newFixture(t, nil)
		first := f.receive(t, msg("kari@customer.example", "Printer offline", "m1@customer.example"))
		d := f.receive(t, msg("kari@customer.example", "Re: [#HD-000001] Re: Printer offline", "m2@customer.example"))
		if d.Action != ticket.ActionFollowUp || d.TicketID != first.TicketID || d.Ack {
			t.Fatalf("decision = %+v", d)
		}
		if n := len(f.outbox(t)); n != 1 {
			t.Errorf("outbox has %d mails, want only the first ack", n)
		}
		var entries []*ticket.Entry
		f.db.View(func(tx ticket.Tx) error { entries, _ = tx.Entries(first.TicketID); return nil })
		if len(entries) != 3 { // request, ack, reply
			t.Errorf("ticket has %d entries, want 3", len(entries))
		}
	})

	t.Run("reply threading only by References joins the ticket", func(t *testing.T) {
		f := newFixture(t, nil)
		first := f.receive(t, msg("kari@customer.example", "Printer offline", "m1@customer.example"))
		ackID := f.outbox(t)[0].env.MessageID
		d := f.receive(t, msg("kari@customer.example", "Re: Printer offline", "m2@customer.example",
			"In-Reply-To: <"+ackID+">", "References: <m1@customer.example> <"+ackID+">"))
		if d.Action != ticket.ActionFollowUp || d.TicketID != first.TicketID {
			t.Fatalf("decision = %+v", d)
		}
	})

	t.Run("colleague of the same domain joins by tag", func(t *testing.T) {
		f := newFixture(t, nil)
		f.receive(t, msg("kari@customer.example", "Printer offline", "m1@customer.example"))
		d := f.receive(t, msg("ola@customer.example", "Re: [#HD-000001]", "m2@customer.example"))
		if d.Action != ticket.ActionFollowUp {
			t.Fatalf("decision = %+v", d)
		}
		if tk := f.ticket(t, 1); !tk.HasParticipant("ola@customer.example") {
			t.Errorf("participants = %v", tk.Participants)
		}
	})

	t.Run("reply with foreign case tag opens new linked ticket", func(t *testing.T) {
		f := newFixture(t, nil)
		f.receive(t, msg("kari@customer.example", "Printer offline", "m1@customer.example"))
		d := f.receive(t, msg("mallory@evil.example", "Re: [#HD-000001] give me the data", "m2@evil.example"))
		if d.Action != ticket.ActionNew || d.TicketID == 1 || !strings.HasPrefix(d.Reason, "foreign-tag") {
			t.Fatalf("decision = %+v", d)
		}
		if tk := f.ticket(t, d.TicketID); tk.LinkedTo != "HD-000001" {
			t.Errorf("LinkedTo = %q", tk.LinkedTo)
		}
		if tk := f.ticket(t, 1); tk.HasParticipant("mallory@evil.example") || tk.MessageCount != 2 {
			t.Errorf("original ticket changed: %+v", tk)
		}
		// The stranger's ack carries the new case only.
		out := f.outbox(t)
		if got := out[len(out)-1].subject(t); got != "[#HD-000002] Re: give me the data" {
			t.Errorf("stranger's ack subject = %q", got)
		}
	})

	t.Run("public mail domain is no organisation", func(t *testing.T) {
		f := newFixture(t, nil)
		f.receive(t, msg("kari@gmail.com", "Printer offline", "m1@gmail.com"))
		d := f.receive(t, msg("someone@gmail.com", "Re: [#HD-000001]", "m2@gmail.com"))
		if d.Action != ticket.ActionNew {
			t.Fatalf("decision = %+v", d)
		}
	})

	t.Run("unknown case tag opens new ticket", func(t *testing.T) {
		f := newFixture(t, nil)
		d := f.receive(t, msg("kari@customer.example", "Re: [#HD-000777] old case", "m1@customer.example"))
		if d.Action != ticket.ActionNew || d.Case != "HD-000001" || d.Reason != "unknown-tag HD-000777" {
			t.Fatalf("decision = %+v", d)
		}
	})

	t.Run("customer reply reopens resolved ticket", func(t *testing.T) {
		f := newFixture(t, nil)
		f.receive(t, msg("kari@customer.example", "Printer offline", "m1@customer.example"))
		setState(t, f, 1, ticket.StateResolved)
		d := f.receive(t, msg("kari@customer.example", "Re: [#HD-000001] still broken", "m2@customer.example"))
		if d.Action != ticket.ActionFollowUp || d.Reason != "reopened" {
			t.Fatalf("decision = %+v", d)
		}
		if tk := f.ticket(t, 1); tk.State != ticket.StateOpen {
			t.Errorf("state = %s, want open", tk.State)
		}
	})

	t.Run("reply to closed ticket opens new linked ticket", func(t *testing.T) {
		f := newFixture(t, nil)
		f.receive(t, msg("kari@customer.example", "Printer offline", "m1@customer.example"))
		setState(t, f, 1, ticket.StateClosed)
		d := f.receive(t, msg("kari@customer.example", "Re: [#HD-000001] again", "m2@customer.example"))
		if d.Action != ticket.ActionNew || f.ticket(t, d.TicketID).LinkedTo != "HD-000001" {
			t.Fatalf("decision = %+v", d)
		}
	})

	t.Run("same mail twice is a duplicate", func(t *testing.T) {
		f := newFixture(t, nil)
		raw := msg("kari@customer.example", "Printer offline", "m1@customer.example")
		f.receive(t, raw)
		d := f.receive(t, raw)
		if d.Action != ticket.ActionDuplicate || d.TicketID != 1 || d.Ack {
			t.Fatalf("decision = %+v", d)
		}
		if n := len(f.outbox(t)); n != 1 {
			t.Errorf("outbox has %d mails, want 1", n)
		}
	})

	t.Run("reused Message-ID with another body is a new mail", func(t *testing.T) {
		f := newFixture(t, nil)
		raw := msg("kari@customer.example", "Printer offline", "same@customer.example")
		f.receive(t, raw)
		other := bytes.Replace(raw, []byte("printer is offline"), []byte("scanner is offline"), 1)
		d := f.receive(t, other)
		if d.Action == ticket.ActionDuplicate {
			t.Fatalf("decision = %+v", d)
		}
	})

	t.Run("our own loop header is dropped", func(t *testing.T) {
		f := newFixture(t, nil)
		d := f.receive(t, msg("kari@customer.example", "x", "m1@customer.example", mailer.LoopHeader+": support@example.com"))
		if d.Action != ticket.ActionDropped || d.Reason != "loop" {
			t.Fatalf("decision = %+v", d)
		}
	})

	t.Run("mail from our own address is dropped", func(t *testing.T) {
		f := newFixture(t, nil)
		d := f.receive(t, msg("helpdesk@example.com", "x", "m1@example.com"))
		if d.Action != ticket.ActionDropped {
			t.Fatalf("decision = %+v", d)
		}
	})

	t.Run("Norwegian customer domain gets the Norwegian acknowledgement", func(t *testing.T) {
		f := newFixture(t, nil)
		f.receive(t, msg("kari@kunde.no", "Skriveren virker ikke", "m1@kunde.no"))
		out := f.outbox(t)
		if tk := f.ticket(t, 1); tk.Language != "nb" {
			t.Errorf("language = %q", tk.Language)
		}
		if len(out) != 1 || out[0].body == "" {
			t.Fatal("no ack")
		}
		en := newFixture(t, nil)
		en.receive(t, msg("kari@customer.example", "Skriveren virker ikke", "m1@kunde.no"))
		if en.outbox(t)[0].body == out[0].body {
			t.Error("nb ack has the same text as the en ack")
		}
	})
}

func TestAckSuppressed(t *testing.T) {
	tests := []struct {
		name   string
		raw    []byte
		reason string
	}{
		{"out-of-office auto-reply", msg("kari@customer.example", "Out of office", "a1@c", "Auto-Submitted: auto-replied"), ticket.SuppressAutoReply},
		{"bounce", msg("MAILER-DAEMON@mx.customer.example", "Undelivered Mail Returned to Sender", "b1@c", "Return-Path: <>"), ticket.SuppressBounce},
		{"mailing list", msg("list@lists.example", "Weekly digest", "l1@c", "List-Id: <weekly.lists.example>"), ticket.SuppressList},
		{"noreply sender", msg("no-reply@shop.example", "Your order", "n1@c"), ticket.SuppressNoReply},
		{"reply-to our own address", msg("kari@customer.example", "x", "o1@c", "Reply-To: helpdesk@example.com"), ticket.SuppressOwnAddress},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			d := f.receive(t, tc.raw)
			if d.Action != ticket.ActionNew || d.Ack || d.AckSuppressed != tc.reason {
				t.Fatalf("decision = %+v, want new ticket with ack suppressed (%s)", d, tc.reason)
			}
			if n := len(f.outbox(t)); n != 0 {
				t.Errorf("outbox has %d mails", n)
			}
		})
	}

	t.Run("sender rate cap", func(t *testing.T) {
		f := newFixture(t, func(o *ticket.Options) { o.AckPerSenderPerHour = 2 })
		var got []string
		for i := range 3 {
			d := f.receive(t, msg("kari@customer.example", fmt.Sprintf("request %d", i), fmt.Sprintf("r%d@c", i)))
			got = append(got, fmt.Sprint(d.Ack, d.AckSuppressed))
			f.clock.Add(time.Minute)
		}
		if strings.Join(got, ",") != "true,true,false"+ticket.SuppressSenderCap {
			t.Errorf("acks = %v", got)
		}
		// An hour later the sender is answered again.
		f.clock.Add(time.Hour)
		if d := f.receive(t, msg("kari@customer.example", "later", "r9@c")); !d.Ack {
			t.Errorf("after the window: %+v", d)
		}
	})

	t.Run("global rate cap", func(t *testing.T) {
		f := newFixture(t, func(o *ticket.Options) { o.AckGlobalPerHour = 1 })
		f.receive(t, msg("a@one.example", "x", "g1@c"))
		d := f.receive(t, msg("b@two.example", "y", "g2@c"))
		if d.AckSuppressed != ticket.SuppressGlobalCap {
			t.Errorf("decision = %+v", d)
		}
	})
}

func setState(t *testing.T, f *fixture, id uint64, s ticket.State) {
	t.Helper()
	err := f.db.Update(func(tx ticket.Tx) error {
		tk, err := tx.Ticket(id)
		if err != nil {
			return err
		}
		tk.State = s
		return tx.PutTicket(tk)
	})
	if err != nil {
		t.Fatal(err)
	}
}
