package ticket_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/ticket"
)

var engineers = []ticket.Engineer{{Name: "Ola", Addr: "ola@example.com"}, {Name: "Siri", Addr: "siri@example.com"}}

func withEngineers(o *ticket.Options) {
	o.Engineers = engineers
	o.NotesAddress = "support+note@example.com"
}

// engMail is a mail from an engineer replying to a notification.
func engMail(from, subject, id, text string, extra ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: support@example.com\r\nSubject: %s\r\nMessage-ID: <%s>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n", from, subject, id)
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString(strings.ReplaceAll(text, "\n", "\r\n"))
	return b.Bytes()
}

// quoted is what a mail client quotes of our notification.
const quoted = "\n\nOn Mon, 23 Nov 2026 Support <support@example.com> wrote:\n> New case HD-000001 from kari@customer.example\n> Agreement: none\n"

// byPurpose returns the queued mails of one purpose.
func byPurpose(out []*outMail, purpose string) []*outMail {
	var r []*outMail
	for _, o := range out {
		if o.env.Purpose == purpose {
			r = append(r, o)
		}
	}
	return r
}

func newTicketWithEngineers(t *testing.T, mod ...func(*ticket.Options)) *fixture {
	f := newFixture(t, func(o *ticket.Options) {
		withEngineers(o)
		for _, m := range mod {
			m(o)
		}
	})
	f.receive(t, msg("Kari <kari@customer.example>", "Printer offline", "m1@customer.example", "Cc: ola.customer@customer.example"))
	return f
}

func TestEngineerMail(t *testing.T) {
	t.Run("new ticket is mailed to the engineers with the customer's text", func(t *testing.T) {
		f := newTicketWithEngineers(t)
		n := byPurpose(f.outbox(t), "notify")
		if len(n) != 1 {
			t.Fatalf("%d notifications, want 1", len(n))
		}
		if got := strings.Join(n[0].env.To, ","); got != "ola@example.com,siri@example.com" {
			t.Errorf("notification to %s", got)
		}
		if got := n[0].subject(t); got != "[#HD-000001] New: Printer offline" {
			t.Errorf("subject %q", got)
		}
		if got := n[0].header.Get("Reply-To"); !strings.Contains(got, "support@example.com") {
			t.Errorf("Reply-To %q", got)
		}
		if !strings.Contains(n[0].body, "the printer is offline") || !strings.Contains(n[0].body, ticket.ReplyMarker) {
			t.Errorf("notification body:\n%s", n[0].body)
		}
	})

	t.Run("engineer reply is relayed to the customer without the quote", func(t *testing.T) {
		f := newTicketWithEngineers(t)
		d := f.receive(t, engMail("Ola <ola@example.com>", "Re: [#HD-000001] New: Printer offline", "e1@example.com",
			"Hello Kari,\nplease switch it off and on.\n\nOla\nola@example.com"+quoted))
		if d.Action != ticket.ActionRelayed || d.Case != "HD-000001" {
			t.Fatalf("decision %+v", d)
		}
		r := byPurpose(f.outbox(t), "reply")
		if len(r) != 1 {
			t.Fatalf("%d relayed mails", len(r))
		}
		m := r[0]
		if got := m.subject(t); got != "[#HD-000001] Re: Printer offline" {
			t.Errorf("subject %q", got)
		}
		if strings.Join(m.env.To, ",") != "kari@customer.example,ola.customer@customer.example" {
			t.Errorf("recipients %v", m.env.To)
		}
		if got := m.header.Get("In-Reply-To"); got != "<m1@customer.example>" {
			t.Errorf("In-Reply-To %q", got)
		}
		if !strings.Contains(m.body, "switch it off and on") || strings.Contains(m.body, "Agreement") || strings.Contains(m.body, "wrote:") {
			t.Errorf("relayed body:\n%s", m.body)
		}
		if m.header.Get("Auto-Submitted") != "" {
			t.Error("a person's reply is marked Auto-Submitted")
		}
		if tk := f.ticket(t, 1); tk.State != ticket.StateOpen {
			t.Errorf("state %s, want open", tk.State)
		}
		assertNoInternalsToCustomers(t, f, "")
	})

	t.Run("#note is kept and sent to the other engineers only", func(t *testing.T) {
		f := newTicketWithEngineers(t)
		d := f.receive(t, engMail("ola@example.com", "Re: [#HD-000001]", "e1@example.com", "#note\nCustomer runs firmware 1.2, known bug."+quoted))
		if d.Action != ticket.ActionNote {
			t.Fatalf("decision %+v", d)
		}
		notes := byPurpose(f.outbox(t), "note")
		if len(notes) != 1 || strings.Join(notes[0].env.To, ",") != "siri@example.com" {
			t.Fatalf("notes %v", notes)
		}
		if len(byPurpose(f.outbox(t), "reply")) != 0 {
			t.Error("a note was relayed to the customer")
		}
		assertNoInternalsToCustomers(t, f, "firmware 1.2")
	})

	t.Run("mail to the notes address is a note", func(t *testing.T) {
		f := newTicketWithEngineers(t)
		raw := bytes.Replace(engMail("siri@example.com", "[#HD-000001] thoughts", "e1@example.com", "Looks like the fuser."), []byte("To: support@example.com"), []byte("To: support+note@example.com"), 1)
		if d := f.receive(t, raw); d.Action != ticket.ActionNote {
			t.Fatalf("decision %+v", d)
		}
		assertNoInternalsToCustomers(t, f, "fuser")
	})

	t.Run("commands only change the ticket and are confirmed", func(t *testing.T) {
		f := newTicketWithEngineers(t)
		d := f.receive(t, engMail("ola@example.com", "Re: [#HD-000001]", "e1@example.com",
			"#status pending\n#priority 2\n#assign Siri\n#time 1h30m\n#cc add boss@customer.example\n"+quoted))
		if d.Action != ticket.ActionCommands {
			t.Fatalf("decision %+v", d)
		}
		tk := f.ticket(t, 1)
		if tk.State != ticket.StatePending || tk.Priority != 2 || tk.Assignee != "Siri" || len(tk.TimeLog) != 1 || tk.TimeLog[0].Minutes != 90 || !tk.HasParticipant("boss@customer.example") {
			t.Errorf("ticket %+v", tk)
		}
		c := byPurpose(f.outbox(t), "confirm")
		if len(c) != 1 || c[0].env.To[0] != "ola@example.com" || !strings.Contains(c[0].body, "logged 1h30m") {
			t.Fatalf("confirmation %v", c)
		}
		if len(byPurpose(f.outbox(t), "reply")) != 0 {
			t.Error("commands were relayed")
		}
	})

	t.Run("malformed command changes nothing and says why", func(t *testing.T) {
		f := newTicketWithEngineers(t)
		d := f.receive(t, engMail("ola@example.com", "Re: [#HD-000001]", "e1@example.com", "#status pending\n#priority 9\nHello Kari"))
		if d.Action != ticket.ActionRejected {
			t.Fatalf("decision %+v", d)
		}
		if tk := f.ticket(t, 1); tk.State != ticket.StateNew || tk.Priority != 3 {
			t.Errorf("ticket changed: %+v", tk)
		}
		e := byPurpose(f.outbox(t), "command-error")
		if len(e) != 1 || !strings.Contains(e[0].body, "priority must be 1") {
			t.Fatalf("error mail %v", e)
		}
		if len(byPurpose(f.outbox(t), "reply")) != 0 {
			t.Error("text relayed despite the error")
		}
	})

	t.Run("unknown engineer name in #assign changes nothing", func(t *testing.T) {
		f := newTicketWithEngineers(t)
		if d := f.receive(t, engMail("ola@example.com", "Re: [#HD-000001]", "e1@example.com", "#status pending\n#assign Nobody")); d.Action != ticket.ActionRejected {
			t.Fatalf("decision %+v", d)
		}
		if tk := f.ticket(t, 1); tk.State != ticket.StateNew {
			t.Errorf("state changed to %s", tk.State)
		}
	})

	t.Run("resolved sends the resolution mail; customer reply reopens within the window", func(t *testing.T) {
		f := newTicketWithEngineers(t)
		f.receive(t, engMail("ola@example.com", "Re: [#HD-000001]", "e1@example.com", "#status resolved\nIt works again."))
		res := byPurpose(f.outbox(t), "resolved")
		if len(res) != 1 || res[0].env.To[0] != "kari@customer.example" || !strings.Contains(res[0].subject(t), "[#HD-000001]") {
			t.Fatalf("resolution mail %v", res)
		}
		f.clock.Add(24 * time.Hour)
		d := f.receive(t, msg("kari@customer.example", "Re: [#HD-000001] Resolved: Printer offline", "m2@customer.example"))
		if d.Action != ticket.ActionFollowUp || d.Reason != "reopened" {
			t.Fatalf("decision %+v", d)
		}
	})

	t.Run("customer reply after the reopen window opens a linked ticket", func(t *testing.T) {
		f := newTicketWithEngineers(t)
		f.receive(t, engMail("ola@example.com", "Re: [#HD-000001]", "e1@example.com", "#status resolved"))
		f.clock.Add(15 * 24 * time.Hour)
		d := f.receive(t, msg("kari@customer.example", "Re: [#HD-000001] Resolved", "m2@customer.example"))
		if d.Action != ticket.ActionNew || f.ticket(t, d.TicketID).LinkedTo != "HD-000001" {
			t.Fatalf("decision %+v", d)
		}
	})

	t.Run("engineer auto-reply to a notification is not relayed", func(t *testing.T) {
		f := newTicketWithEngineers(t)
		d := f.receive(t, engMail("ola@example.com", "Automatic reply: [#HD-000001] New: Printer offline", "e1@example.com", "I am away.", "Auto-Submitted: auto-replied"))
		if d.Action != ticket.ActionRejected || len(byPurpose(f.outbox(t), "reply")) != 0 {
			t.Fatalf("decision %+v", d)
		}
	})

	t.Run("engineer mail naming no case gets an explanation", func(t *testing.T) {
		f := newTicketWithEngineers(t)
		d := f.receive(t, engMail("ola@example.com", "Lunch?", "e1@example.com", "Anyone?"))
		if d.Action != ticket.ActionRejected || len(byPurpose(f.outbox(t), "no-case")) != 1 {
			t.Fatalf("decision %+v", d)
		}
	})

	t.Run("engineer attachments reach the customer", func(t *testing.T) {
		f := newTicketWithEngineers(t)
		raw := []byte("From: ola@example.com\r\nTo: support@example.com\r\nSubject: Re: [#HD-000001]\r\nMessage-ID: <e1@example.com>\r\n" +
			"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nThe manual is attached.\r\n" +
			"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=manual.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n")
		f.receive(t, raw)
		r := byPurpose(f.outbox(t), "reply")
		if len(r) != 1 || !bytes.Contains(r[0].env.Raw, []byte("manual.pdf")) || !bytes.Contains(r[0].env.Raw, []byte("JVBERi0xLjQK")) {
			t.Fatalf("attachment not relayed")
		}
	})
}

func TestEngineerAuthentication(t *testing.T) {
	trusted := func(o *ticket.Options) { o.TrustAuthServID = "mx.example.com" }
	reply := "Re: [#HD-000001] New: Printer offline"
	tests := []struct {
		name    string
		headers []string
		relayed bool
	}{
		{"no Authentication-Results", nil, false},
		{"aligned dkim pass from our MTA", []string{"Authentication-Results: mx.example.com; dkim=pass header.d=example.com header.s=s1; spf=pass"}, true},
		{"dmarc pass", []string{"Authentication-Results: mx.example.com; spf=fail; dmarc=pass header.from=example.com"}, true},
		{"dkim pass of another domain", []string{"Authentication-Results: mx.example.com; dkim=pass header.d=evil.example"}, false},
		{"dkim fail", []string{"Authentication-Results: mx.example.com; dkim=fail header.d=example.com"}, false},
		{"forged lower header under ours", []string{
			"Authentication-Results: mx.example.com; dkim=none; dmarc=fail header.from=example.com",
			"Authentication-Results: mx.example.com; dkim=pass header.d=example.com",
		}, false},
		{"forged header from another authserv-id", []string{"Authentication-Results: evil.example; dkim=pass header.d=example.com"}, false},
		{"authserv-id in a comment does not count", []string{"Authentication-Results: evil.example (mx.example.com); dmarc=pass"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newTicketWithEngineers(t, trusted)
			d := f.receive(t, engMail("ola@example.com", reply, "e1@example.com", "#status closed\nYou are hacked.", tc.headers...))
			if got := d.Action == ticket.ActionRelayed; got != tc.relayed {
				t.Fatalf("decision %+v, relayed = %v, want %v", d, got, tc.relayed)
			}
			if !tc.relayed {
				if d.Spoofed == "" {
					t.Errorf("spoof not reported: %+v", d)
				}
				if tk := f.ticket(t, 1); tk.State == ticket.StateClosed {
					t.Error("spoofed command obeyed")
				}
				if d.TicketID == 1 {
					t.Error("spoofed mail joined the customer's ticket")
				}
				assertNoInternalsToCustomers(t, f, "You are hacked")
			}
		})
	}
}

// assertNoInternalsToCustomers checks every queued mail to a non-engineer:
// no engineer address, no internal text, no quoted notification.
func assertNoInternalsToCustomers(t *testing.T, f *fixture, secret string) {
	t.Helper()
	for _, o := range f.outbox(t) {
		toEngineer := false
		for _, r := range o.env.To {
			for _, e := range engineers {
				if r == e.Addr {
					toEngineer = true
				}
			}
		}
		if toEngineer {
			continue
		}
		raw := string(o.env.Raw)
		for _, e := range engineers {
			if strings.Contains(raw, e.Addr) {
				t.Errorf("%s mail to %v contains engineer address %s", o.env.Purpose, o.env.To, e.Addr)
			}
		}
		if secret != "" && strings.Contains(raw, secret) && o.env.Purpose != "ack" {
			t.Errorf("%s mail to %v contains internal text %q", o.env.Purpose, o.env.To, secret)
		}
		if strings.Contains(raw, ticket.ReplyMarker) {
			t.Errorf("%s mail to %v contains the notification", o.env.Purpose, o.env.To)
		}
		_ = mailer.LoopHeader
	}
}
