package mailtest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Received is one mail the SMTP server accepted.
type Received struct {
	From string   // MAIL FROM address without brackets; "" for the null sender
	To   []string // accepted RCPT TO addresses, in order
	Raw  []byte   // the message exactly as received (CRLF line endings, dots unstuffed)
	At   time.Time
}

// Phase is the SMTP command at which a failure set with SetFailureAt is
// answered.
type Phase string

// The phases at which the server can be made to fail.
const (
	PhaseMail Phase = "MAIL" // MAIL FROM
	PhaseRcpt Phase = "RCPT" // every RCPT TO
	PhaseData Phase = "DATA" // the reply after the message data
)

// SMTPServerOptions configures NewSMTPServerWith. The zero value is a
// plain-text server on a free loopback port without authentication.
type SMTPServerOptions struct {
	// Addr to listen on; "" is 127.0.0.1:0. Only loopback addresses are
	// accepted: this server is for tests and the demo.
	Addr string
	// ImplicitTLS serves TLS from the first byte (port 465 style), with a
	// self-signed certificate that ClientTLSConfig trusts.
	ImplicitTLS bool
	// StartTLS offers the STARTTLS extension with the same certificate.
	StartTLS bool
	// Username and Password, when Username is set, make the server require
	// AUTH PLAIN before MAIL FROM. AUTH is offered on plain connections too.
	Username, Password string
	// Now stamps Received.At; nil is time.Now.
	Now func() time.Time
}

// SMTPServer is an in-process SMTP server (go-smtp) on 127.0.0.1 that keeps
// every accepted mail in memory. It is safe for concurrent use.
type SMTPServer struct {
	opts      SMTPServerOptions
	srv       *smtp.Server
	ln        net.Listener
	clientTLS *tls.Config
	done      chan struct{}

	mu       sync.Mutex
	msgs     []Received
	changed  chan struct{} // closed and replaced whenever msgs grows
	failures map[Phase]*smtp.SMTPError
	rejects  map[string]*smtp.SMTPError // per recipient, lower-case
	hook     func(Received)
}

// NewSMTPServer starts a plain-text server without authentication on addr
// ("" or "127.0.0.1:0" picks a free port).
func NewSMTPServer(addr string) (*SMTPServer, error) {
	return NewSMTPServerWith(SMTPServerOptions{Addr: addr})
}

// NewSMTPServerWith starts a server configured by o.
func NewSMTPServerWith(o SMTPServerOptions) (*SMTPServer, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := checkLoopback(o.Addr); err != nil {
		return nil, err
	}
	s := &SMTPServer{
		opts:     o,
		done:     make(chan struct{}),
		changed:  make(chan struct{}),
		failures: map[Phase]*smtp.SMTPError{},
		rejects:  map[string]*smtp.SMTPError{},
	}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "localhost"
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 64 << 20
	srv.MaxRecipients = 100
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0)

	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("mailtest: smtp listen: %w", err)
	}
	if o.ImplicitTLS || o.StartTLS {
		cfg, client, err := selfSignedTLS() // shared with the IMAP server (imap.go)
		if err != nil {
			ln.Close()
			return nil, err
		}
		s.clientTLS = client
		if o.ImplicitTLS {
			ln = tls.NewListener(ln, cfg)
		} else {
			srv.TLSConfig = cfg
		}
	}
	s.srv, s.ln = srv, ln
	go func() {
		defer close(s.done)
		_ = srv.Serve(ln)
	}()
	return s, nil
}

// Addr is the host:port the server listens on.
func (s *SMTPServer) Addr() string { return s.ln.Addr().String() }

// ClientTLSConfig returns a TLS configuration that trusts the server's
// self-signed certificate; nil when the server has no TLS.
func (s *SMTPServer) ClientTLSConfig() *tls.Config {
	if s.clientTLS == nil {
		return nil
	}
	return s.clientTLS.Clone()
}

// Messages returns a copy of every mail accepted so far, oldest first.
func (s *SMTPServer) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Received, len(s.msgs))
	copy(out, s.msgs)
	return out
}

// WaitFor blocks until at least n mails have been accepted or ctx is done.
func (s *SMTPServer) WaitFor(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		got, changed := len(s.msgs), s.changed
		s.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("mailtest: waiting for %d mails, have %d: %w", n, got, ctx.Err())
		}
	}
}

// Changed returns a channel that is closed when the next mail is accepted,
// for waiting on a condition other than a count.
func (s *SMTPServer) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// SetFailure makes the server answer every RCPT TO with code and msg (a
// 4xx is a temporary failure, such as greylisting; a 5xx a permanent one).
// Code 0 clears it.
func (s *SMTPServer) SetFailure(code int, msg string) { s.SetFailureAt(PhaseRcpt, code, msg) }

// SetFailureAt makes the server answer the command of phase with code and
// msg; code 0 clears that phase.
func (s *SMTPServer) SetFailureAt(phase Phase, code int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		delete(s.failures, phase)
		return
	}
	s.failures[phase] = &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: msg}
}

// RejectRecipient makes the server refuse RCPT TO addr with code and msg,
// while other recipients are accepted; code 0 clears it.
func (s *SMTPServer) RejectRecipient(addr string, code int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	addr = strings.ToLower(addr)
	if code == 0 {
		delete(s.rejects, addr)
		return
	}
	s.rejects[addr] = &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: msg}
}

// OnMessage sets a hook called with every accepted mail, after it is
// recorded and before the server answers the DATA command; nil removes it.
// The demo uses it to drop mail into IMAP mailboxes.
func (s *SMTPServer) OnMessage(fn func(Received)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = fn
}

// Close stops the server, drops open connections and waits for it to stop
// accepting.
func (s *SMTPServer) Close() error {
	err := s.srv.Close()
	// go-smtp only knows the listener once Serve has started; closing it
	// here too stops a Serve that had not got that far.
	_ = s.ln.Close()
	<-s.done
	if errors.Is(err, smtp.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

func (s *SMTPServer) failure(phase Phase) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.failures[phase]; f != nil {
		return f
	}
	return nil
}

func (s *SMTPServer) deliver(r Received) {
	s.mu.Lock()
	s.msgs = append(s.msgs, r)
	close(s.changed)
	s.changed = make(chan struct{})
	hook := s.hook
	s.mu.Unlock()
	if hook != nil {
		hook(r)
	}
}

func (s *SMTPServer) newSession(*smtp.Conn) (smtp.Session, error) {
	return &session{srv: s}, nil
}

type session struct {
	srv    *SMTPServer
	authed bool
	from   string
	to     []string
}

var _ smtp.AuthSession = (*session)(nil)

func (se *session) AuthMechanisms() []string {
	if se.srv.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (se *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || se.srv.opts.Username == "" {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != se.srv.opts.Username || password != se.srv.opts.Password {
			return smtp.ErrAuthFailed
		}
		se.authed = true
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.srv.opts.Username != "" && !se.authed {
		return smtp.ErrAuthRequired
	}
	if err := se.srv.failure(PhaseMail); err != nil {
		return err
	}
	se.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := se.srv.failure(PhaseRcpt); err != nil {
		return err
	}
	se.srv.mu.Lock()
	reject := se.srv.rejects[strings.ToLower(to)]
	se.srv.mu.Unlock()
	if reject != nil {
		return reject
	}
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := se.srv.failure(PhaseData); err != nil {
		return err
	}
	se.srv.deliver(Received{From: se.from, To: se.to, Raw: raw, At: se.srv.opts.Now()})
	return nil
}

func (se *session) Reset() { se.from, se.to = "", nil }

func (se *session) Logout() error { return nil }
