package mailtest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

const testMail = "From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n"

func newSMTP(t *testing.T, o SMTPServerOptions) *SMTPServer {
	t.Helper()
	s, err := NewSMTPServerWith(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// send runs one transaction with go-smtp's client and returns the error of
// the first step that failed.
func send(c *smtp.Client, from string, to []string, raw string) error {
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(raw)); err != nil {
		return err
	}
	return w.Close()
}

func dial(t *testing.T, s *SMTPServer) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func code(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func TestSMTPServerRecordsMailUnchanged(t *testing.T) {
	at := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
	s := newSMTP(t, SMTPServerOptions{Now: func() time.Time { return at }})
	var hooked []Received
	hookDone := make(chan struct{}, 1)
	s.OnMessage(func(r Received) { hooked = append(hooked, r); hookDone <- struct{}{} })

	c := dial(t, s)
	if err := send(c, "a@example.com", []string{"b@example.com", "c@example.com"}, testMail); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.WaitFor(ctx, 1); err != nil {
		t.Fatal(err)
	}
	<-hookDone
	msgs := s.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.From != "a@example.com" || !slices.Equal(m.To, []string{"b@example.com", "c@example.com"}) || !m.At.Equal(at) {
		t.Errorf("envelope %q %v %v", m.From, m.To, m.At)
	}
	if !bytes.Equal(m.Raw, []byte(testMail)) {
		t.Errorf("raw differs:\n%q\nwant\n%q", m.Raw, testMail)
	}
	if len(hooked) != 1 || !bytes.Equal(hooked[0].Raw, m.Raw) {
		t.Errorf("OnMessage got %d mails", len(hooked))
	}
}

func TestSMTPServerFailures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		set   func(s *SMTPServer)
		to    []string
		want  int
		saved int
	}{
		{"temporary at rcpt", func(s *SMTPServer) { s.SetFailure(451, "greylisted") }, []string{"b@example.com"}, 451, 0},
		{"permanent at rcpt", func(s *SMTPServer) { s.SetFailure(550, "no such user") }, []string{"b@example.com"}, 550, 0},
		{"at mail", func(s *SMTPServer) { s.SetFailureAt(PhaseMail, 421, "busy") }, []string{"b@example.com"}, 421, 0},
		{"at data", func(s *SMTPServer) { s.SetFailureAt(PhaseData, 554, "spam") }, []string{"b@example.com"}, 554, 0},
		{"one recipient rejected", func(s *SMTPServer) { s.RejectRecipient("B@example.com", 550, "gone") }, []string{"b@example.com"}, 550, 0},
		{"cleared failure", func(s *SMTPServer) { s.SetFailure(451, "x"); s.SetFailure(0, "") }, []string{"b@example.com"}, 0, 1},
		{"cleared reject", func(s *SMTPServer) {
			s.RejectRecipient("b@example.com", 550, "x")
			s.RejectRecipient("b@example.com", 0, "")
		}, []string{"b@example.com"}, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSMTP(t, SMTPServerOptions{})
			tc.set(s)
			err := send(dial(t, s), "a@example.com", tc.to, testMail)
			if got := code(err); got != tc.want {
				t.Fatalf("reply code %d (%v), want %d", got, err, tc.want)
			}
			if n := len(s.Messages()); n != tc.saved {
				t.Fatalf("%d messages saved, want %d", n, tc.saved)
			}
		})
	}
}

func TestSMTPServerAuth(t *testing.T) {
	s := newSMTP(t, SMTPServerOptions{Username: "helpdesk", Password: "secret"})

	if err := send(dial(t, s), "a@example.com", []string{"b@example.com"}, testMail); code(err) != 502 {
		t.Fatalf("unauthenticated MAIL: %v, want 502", err)
	}
	bad := dial(t, s)
	if err := bad.Auth(sasl.NewPlainClient("", "helpdesk", "wrong")); code(err) != 535 {
		t.Fatalf("wrong password: %v, want 535", err)
	}
	good := dial(t, s)
	if err := good.Auth(sasl.NewPlainClient("", "helpdesk", "secret")); err != nil {
		t.Fatal(err)
	}
	if err := send(good, "a@example.com", []string{"b@example.com"}, testMail); err != nil {
		t.Fatal(err)
	}
	if len(s.Messages()) != 1 {
		t.Fatal("authenticated mail not saved")
	}
}

func TestSMTPServerTLS(t *testing.T) {
	t.Run("starttls", func(t *testing.T) {
		s := newSMTP(t, SMTPServerOptions{StartTLS: true})
		c, err := smtp.DialStartTLS(s.Addr(), s.ClientTLSConfig())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, ok := c.TLSConnectionState(); !ok {
			t.Fatal("connection is not TLS after STARTTLS")
		}
		if err := send(c, "a@example.com", []string{"b@example.com"}, testMail); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("implicit", func(t *testing.T) {
		s := newSMTP(t, SMTPServerOptions{ImplicitTLS: true})
		c, err := smtp.DialTLS(s.Addr(), s.ClientTLSConfig())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := send(c, "a@example.com", []string{"b@example.com"}, testMail); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("plain server has no client config", func(t *testing.T) {
		if cfg := newSMTP(t, SMTPServerOptions{}).ClientTLSConfig(); cfg != nil {
			t.Fatal("ClientTLSConfig of a plain server is not nil")
		}
	})
}

func TestSMTPServerRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:25", ":0", "nohost"} {
		if s, err := NewSMTPServer(addr); err == nil {
			s.Close()
			t.Errorf("NewSMTPServer(%q) succeeded", addr)
		}
	}
}

func TestSMTPServerWaitForHonoursContext(t *testing.T) {
	s := newSMTP(t, SMTPServerOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.WaitFor(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitFor = %v, want context.Canceled", err)
	}
	changed := s.Changed()
	if err := send(dial(t, s), "", []string{"b@example.com"}, testMail); err != nil {
		t.Fatal(err)
	}
	<-changed
	if m := s.Messages(); len(m) != 1 || m[0].From != "" {
		t.Fatalf("null sender mail not recorded as From \"\": %+v", m)
	}
}

func TestSMTPServerCloseTwiceAndRebind(t *testing.T) {
	s, err := NewSMTPServer("")
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := smtp.Dial(addr); err == nil {
		t.Fatal("closed server still accepts connections")
	}
	again, err := NewSMTPServer(addr)
	if err != nil {
		t.Fatalf("listening again on %s: %v", addr, err)
	}
	again.Close()
}
