package mailer

import (
	"bytes"
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer/mailtest"
)

func newSMTPServer(t testing.TB, o mailtest.SMTPServerOptions) *mailtest.SMTPServer {
	t.Helper()
	s, err := mailtest.NewSMTPServerWith(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// plainSMTP is a client for a plain-text test server.
func plainSMTP(t testing.TB, addr string) *SMTP {
	t.Helper()
	c, err := NewSMTP(SMTPOptions{Addr: addr, Security: SecurityPlain, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testEnvelope is a composed mail whose body has the lines SMTP must
// dot-stuff, so that a byte-identical arrival proves the transparency.
func testEnvelope(t testing.TB, to ...string) Envelope {
	t.Helper()
	o := fullOutgoing()
	o.Attachments = nil
	o.Text = "first line\n.\n..two dots\n.leading dot\nlast line"
	raw, err := Compose(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(to) == 0 {
		to = []string{"kari@customer.example"}
	}
	return Envelope{ID: 1, From: "support@helpdesk.example", To: to, Raw: raw, MessageID: o.MessageID}
}

func sendErr(t *testing.T, err error) *SendError {
	t.Helper()
	var se *SendError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *SendError", err, err)
	}
	return se
}

func TestSMTPSendDeliversRawBytesUnchanged(t *testing.T) {
	srv := newSMTPServer(t, mailtest.SMTPServerOptions{})
	env := testEnvelope(t, "kari@customer.example", "boss@customer.example")
	if !bytes.Contains(env.Raw, []byte("\r\n.\r\n")) || !bytes.Contains(env.Raw, []byte("\r\n..two")) {
		t.Fatalf("test mail lacks dot lines:\n%s", env.Raw)
	}
	if err := plainSMTP(t, srv.Addr()).Send(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d mails arrived, want 1", len(msgs))
	}
	if !bytes.Equal(msgs[0].Raw, env.Raw) {
		t.Fatalf("bytes changed on the way:\n%q\nwant\n%q", msgs[0].Raw, env.Raw)
	}
	if msgs[0].From != env.From || !slices.Equal(msgs[0].To, env.To) {
		t.Fatalf("envelope %q %v, want %q %v", msgs[0].From, msgs[0].To, env.From, env.To)
	}
}

func TestSMTPSendNullSender(t *testing.T) {
	srv := newSMTPServer(t, mailtest.SMTPServerOptions{})
	env := testEnvelope(t)
	env.From = ""
	if err := plainSMTP(t, srv.Addr()).Send(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	if m := srv.Messages(); len(m) != 1 || m[0].From != "" {
		t.Fatalf("got %+v, want one mail with the null sender", m)
	}
}

func TestSMTPSendSecurityAndAuth(t *testing.T) {
	for _, tc := range []struct {
		name     string
		server   mailtest.SMTPServerOptions
		security Security
		user     string
		pass     string
		wantErr  bool
	}{
		{"plain", mailtest.SMTPServerOptions{}, SecurityPlain, "", "", false},
		{"plain with auth on loopback", mailtest.SMTPServerOptions{Username: "u", Password: "p"}, SecurityPlain, "u", "p", false},
		{"starttls", mailtest.SMTPServerOptions{StartTLS: true}, SecurityStartTLS, "", "", false},
		{"starttls with auth", mailtest.SMTPServerOptions{StartTLS: true, Username: "u", Password: "p"}, SecurityStartTLS, "u", "p", false},
		{"implicit tls", mailtest.SMTPServerOptions{ImplicitTLS: true}, SecurityTLS, "", "", false},
		{"implicit tls with auth", mailtest.SMTPServerOptions{ImplicitTLS: true, Username: "u", Password: "p"}, SecurityTLS, "u", "p", false},
		{"wrong password", mailtest.SMTPServerOptions{ImplicitTLS: true, Username: "u", Password: "p"}, SecurityTLS, "u", "wrong", true},
		{"auth required but not configured", mailtest.SMTPServerOptions{StartTLS: true, Username: "u", Password: "p"}, SecurityStartTLS, "", "", true},
		{"starttls required but not offered", mailtest.SMTPServerOptions{}, SecurityStartTLS, "", "", true},
		{"tls to a plain server", mailtest.SMTPServerOptions{}, SecurityTLS, "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newSMTPServer(t, tc.server)
			c, err := NewSMTP(SMTPOptions{
				Addr: srv.Addr(), Security: tc.security, TLSConfig: srv.ClientTLSConfig(),
				Username: tc.user, Password: tc.pass, Timeout: 5 * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			err = c.Send(context.Background(), testEnvelope(t))
			if tc.wantErr {
				if err == nil {
					t.Fatal("Send succeeded")
				}
				t.Logf("error as expected: %v", err)
				if se := sendErr(t, err); !se.Temporary && tc.user != "" {
					// Setup failures are ours to fix; the mail must wait.
					t.Fatalf("authentication failure is permanent: %v", err)
				}
				if n := len(srv.Messages()); n != 0 {
					t.Fatalf("%d mails arrived despite the error", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := len(srv.Messages()); n != 1 {
				t.Fatalf("%d mails arrived, want 1", n)
			}
		})
	}
}

func TestSMTPSendClassifiesReplies(t *testing.T) {
	for _, tc := range []struct {
		name     string
		phase    mailtest.Phase
		code     int
		wantTemp bool
	}{
		{"greylisted at rcpt", mailtest.PhaseRcpt, 451, true},
		{"unknown user at rcpt", mailtest.PhaseRcpt, 550, false},
		{"service closing at mail", mailtest.PhaseMail, 421, true},
		{"sender refused at mail", mailtest.PhaseMail, 553, false},
		{"authentication required at mail", mailtest.PhaseMail, 530, true},
		{"out of storage at data", mailtest.PhaseData, 452, true},
		{"spam at data", mailtest.PhaseData, 554, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newSMTPServer(t, mailtest.SMTPServerOptions{})
			srv.SetFailureAt(tc.phase, tc.code, "test says no")
			err := plainSMTP(t, srv.Addr()).Send(context.Background(), testEnvelope(t))
			se := sendErr(t, err)
			if se.Code != tc.code || se.Temporary != tc.wantTemp || IsTemporary(err) != tc.wantTemp || se.Partial {
				t.Fatalf("got code %d temporary %v partial %v (%v); want code %d temporary %v", se.Code, se.Temporary, se.Partial, err, tc.code, tc.wantTemp)
			}
			if !strings.Contains(err.Error(), "test says no") {
				t.Errorf("error %q lacks the server's text", err)
			}
		})
	}
}

func TestSMTPSendPartialDelivery(t *testing.T) {
	srv := newSMTPServer(t, mailtest.SMTPServerOptions{})
	srv.RejectRecipient("gone@customer.example", 550, "no such user")
	env := testEnvelope(t, "kari@customer.example", "gone@customer.example")
	err := plainSMTP(t, srv.Addr()).Send(context.Background(), env)
	se := sendErr(t, err)
	if !se.Partial || se.Temporary || IsTemporary(err) || se.Code != 550 || !slices.Equal(se.Rejected, []string{"gone@customer.example"}) {
		t.Fatalf("got %+v", se)
	}
	if !strings.Contains(err.Error(), "gone@customer.example") || !strings.Contains(err.Error(), "delivered to kari@customer.example") {
		t.Errorf("error %q does not say what happened", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || !slices.Equal(msgs[0].To, []string{"kari@customer.example"}) {
		t.Fatalf("arrived %+v, want one mail to kari", msgs)
	}
}

func TestSMTPSendAllRecipientsRefused(t *testing.T) {
	srv := newSMTPServer(t, mailtest.SMTPServerOptions{})
	srv.RejectRecipient("a@customer.example", 550, "no such user")
	srv.RejectRecipient("b@customer.example", 450, "mailbox busy")
	err := plainSMTP(t, srv.Addr()).Send(context.Background(), testEnvelope(t, "a@customer.example", "b@customer.example"))
	se := sendErr(t, err)
	if se.Partial || !se.Temporary || se.Code != 450 || len(se.Rejected) != 2 {
		t.Fatalf("a 4xx among the refusals must make it temporary; got %+v", se)
	}
	srv.RejectRecipient("b@customer.example", 551, "moved")
	se = sendErr(t, plainSMTP(t, srv.Addr()).Send(context.Background(), testEnvelope(t, "a@customer.example", "b@customer.example")))
	if se.Temporary || se.Code != 550 {
		t.Fatalf("all 5xx must be permanent; got %+v", se)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d mails arrived", n)
	}
}

func TestSMTPSendConnectionRefusedIsTemporary(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	err = plainSMTP(t, addr).Send(context.Background(), testEnvelope(t))
	se := sendErr(t, err)
	if !se.Temporary || se.Code != 0 {
		t.Fatalf("got %+v, want temporary without code", se)
	}
}

// silentServer accepts connections and never says anything.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	return ln.Addr().String()
}

func TestSMTPSendTimeoutAndCancel(t *testing.T) {
	addr := silentServer(t)
	t.Run("timeout", func(t *testing.T) {
		c, err := NewSMTP(SMTPOptions{Addr: addr, Security: SecurityPlain, Timeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err = c.Send(context.Background(), testEnvelope(t))
		if se := sendErr(t, err); !se.Temporary {
			t.Fatalf("timeout is not temporary: %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Send took %v with a 200ms timeout", d)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		c := plainSMTP(t, addr) // 10s timeout
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		err := c.Send(ctx, testEnvelope(t))
		if se := sendErr(t, err); !se.Temporary || !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want a temporary error caused by cancellation", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Send took %v after cancel", d)
		}
	})
}

func TestSMTPSendRejectsInvalidEnvelope(t *testing.T) {
	c := plainSMTP(t, silentServer(t))
	for _, tc := range []struct {
		name   string
		change func(e *Envelope)
	}{
		{"no recipients", func(e *Envelope) { e.To = nil }},
		{"empty recipient", func(e *Envelope) { e.To = []string{""} }},
		{"line break in sender", func(e *Envelope) { e.From = "a@b\r\nRCPT TO:<x@y>" }},
		{"brackets in recipient", func(e *Envelope) { e.To = []string{"<a@b>"} }},
		{"no bytes", func(e *Envelope) { e.Raw = nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnvelope(t)
			tc.change(&env)
			err := c.Send(context.Background(), env)
			if se := sendErr(t, err); se.Temporary || !errors.Is(err, ErrInvalidEnvelope) {
				t.Fatalf("got %v, want a permanent ErrInvalidEnvelope", err)
			}
		})
	}
}

func TestNewSMTPValidatesOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    SMTPOptions
		ok   bool
	}{
		{"zero security is implicit tls", SMTPOptions{Addr: "smtp.example.com:465"}, true},
		{"plain to loopback", SMTPOptions{Addr: "127.0.0.1:25", Security: SecurityPlain}, true},
		{"plain to localhost", SMTPOptions{Addr: "localhost:25", Security: SecurityPlain}, true},
		{"plain to remote refused", SMTPOptions{Addr: "smtp.example.com:25", Security: SecurityPlain}, false},
		{"plain to remote allowed", SMTPOptions{Addr: "smtp.example.com:25", Security: SecurityPlain, AllowInsecure: true}, true},
		{"empty addr", SMTPOptions{}, false},
		{"no port", SMTPOptions{Addr: "smtp.example.com"}, false},
		{"bad port", SMTPOptions{Addr: "smtp.example.com:0"}, false},
		{"unknown security", SMTPOptions{Addr: "smtp.example.com:465", Security: "ssl"}, false},
		{"password without user", SMTPOptions{Addr: "smtp.example.com:465", Password: "x"}, false},
		{"helo with space", SMTPOptions{Addr: "smtp.example.com:465", HELO: "a b"}, false},
		{"negative timeout", SMTPOptions{Addr: "smtp.example.com:465", Timeout: -time.Second}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSMTP(tc.o)
			if tc.ok && err != nil {
				t.Fatal(err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalidSMTPOptions) {
				t.Fatalf("err = %v, want ErrInvalidSMTPOptions", err)
			}
		})
	}
}

func TestIsTemporary(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("unknown"), true},
		{&SendError{Temporary: true, Code: 451}, true},
		{&SendError{Code: 550}, false},
		{&SendError{Code: 550, Partial: true}, false},
		{errors.Join(errors.New("x"), &SendError{Code: 550}), false},
	} {
		if got := IsTemporary(tc.err); got != tc.want {
			t.Errorf("IsTemporary(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func BenchmarkSMTPSend(b *testing.B) {
	srv := newSMTPServer(b, mailtest.SMTPServerOptions{})
	c := plainSMTP(b, srv.Addr())
	env := testEnvelope(b)
	b.SetBytes(int64(len(env.Raw)))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Send(context.Background(), env); err != nil {
			b.Fatal(err)
		}
	}
}
