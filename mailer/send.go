package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// Sentinel errors of SMTP sending.
var (
	// ErrInvalidSMTPOptions wraps every problem NewSMTP finds.
	ErrInvalidSMTPOptions = errors.New("mailer: invalid SMTP options")
	// ErrInvalidEnvelope is the cause of a permanent SendError for an
	// envelope that cannot be sent at all (no recipients, a line break in
	// an address, no bytes).
	ErrInvalidEnvelope = errors.New("mailer: invalid envelope")
)

// SMTPOptions configures the SMTP submission client. Addr is required.
type SMTPOptions struct {
	Addr string // host:port of the submission server, e.g. smtp.example.com:465

	// Security of the connection. Zero: SecurityTLS (implicit TLS, as RFC
	// 8314 recommends for submission). SecurityStartTLS requires the
	// server to offer STARTTLS; it never falls back to clear text.
	Security Security
	// AllowInsecure permits SecurityPlain to a host that is not loopback.
	AllowInsecure bool
	// TLSConfig for SecurityTLS and SecurityStartTLS. Nil: system roots,
	// TLS 1.2 or newer. A config without ServerName gets the host of Addr.
	TLSConfig *tls.Config

	// Username, when set, makes Send authenticate with AUTH PLAIN, or
	// LOGIN when the server offers no PLAIN. Over SecurityPlain the
	// password then crosses the connection in clear, which NewSMTP only
	// allows for loopback or with AllowInsecure.
	Username, Password string

	// HELO is the name we greet with. Zero: "localhost".
	HELO string
	// Timeout bounds one whole Send: connect, TLS, authentication and the
	// mail transaction. Zero: 60s.
	Timeout time.Duration
}

// SMTP delivers queued envelopes to one submission server, one connection
// per Send. It is safe for concurrent use.
type SMTP struct {
	o    SMTPOptions
	host string
	port int
}

// NewSMTP checks o and returns a client; it does not connect.
func NewSMTP(o SMTPOptions) (*SMTP, error) {
	if o.Security == "" {
		o.Security = SecurityTLS
	}
	if o.HELO == "" {
		o.HELO = "localhost"
	}
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	host, portStr, err := net.SplitHostPort(o.Addr)
	port, perr := strconv.Atoi(portStr)
	switch {
	case o.Addr == "":
		bad("Addr is empty: set host:port of the SMTP submission server, e.g. smtp.example.com:465")
	case err != nil:
		bad("Addr %q is not host:port (e.g. smtp.example.com:465): %v", o.Addr, err)
	case host == "":
		bad("Addr %q has no host", o.Addr)
	case perr != nil || port < 1 || port > 65535:
		bad("Addr %q has no valid port", o.Addr)
	}
	switch o.Security {
	case SecurityTLS, SecurityStartTLS:
	case SecurityPlain:
		if host != "" && !o.AllowInsecure && !isLoopbackHost(host) {
			bad("Security %q would send mail (and any password) in clear to %q, which is not loopback: use %q or %q, or set AllowInsecure",
				o.Security, host, SecurityTLS, SecurityStartTLS)
		}
	default:
		bad("Security %q is unknown: use %q, %q or %q", o.Security, SecurityTLS, SecurityStartTLS, SecurityPlain)
	}
	if o.Username == "" && o.Password != "" {
		bad("Password is set without Username: set both to authenticate, or neither")
	}
	if strings.ContainsAny(o.HELO, " \r\n") {
		bad("HELO %q must be one word", o.HELO)
	}
	if o.Timeout < 0 {
		bad("Timeout %v is negative: use a positive duration, or zero for 60s", o.Timeout)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSMTPOptions, errors.Join(errs...))
	}
	if o.TLSConfig == nil {
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	} else {
		o.TLSConfig = o.TLSConfig.Clone()
	}
	if o.TLSConfig.ServerName == "" {
		o.TLSConfig.ServerName = host
	}
	return &SMTP{o: o, host: host, port: port}, nil
}

// SendError is the outcome of a failed Send.
type SendError struct {
	// Temporary says a later attempt may succeed: network trouble,
	// timeouts, a 4xx reply, or a failure before the mail transaction
	// started (connect, TLS, authentication: these are about our set-up or
	// the server's state, not about this mail). A 5xx reply to MAIL, RCPT
	// or DATA is permanent.
	Temporary bool
	// Code is the SMTP reply code, 0 when there was none (network error).
	Code int
	// Partial is set when the server took the mail for some recipients
	// and refused the others (listed in Rejected): the mail was delivered
	// to the rest and must not be sent again, or they would get it twice.
	Partial  bool
	Rejected []string
	Err      error
}

func (e *SendError) Error() string {
	kind := "permanent"
	switch {
	case e.Partial:
		kind = "partial delivery, refused for " + strings.Join(e.Rejected, ", ")
	case e.Temporary:
		kind = "temporary"
	}
	return fmt.Sprintf("mailer: send (%s): %v", kind, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// IsTemporary reports whether err is worth retrying. Errors that are not a
// SendError are treated as temporary: an unknown failure is retried until
// the sender gives up, rather than losing the mail at once.
func IsTemporary(err error) bool {
	if err == nil {
		return false
	}
	var se *SendError
	if errors.As(err, &se) {
		return se.Temporary
	}
	return true
}

// Send delivers env.Raw unchanged to env.To with env.From as the envelope
// sender ("" is the null sender). Raw must use CRLF line endings, as
// Compose produces: SMTP transmits lines, so a bare LF is sent as CRLF and
// a missing final line break is added. Every error is a *SendError.
func (s *SMTP) Send(ctx context.Context, env Envelope) error {
	if err := validateEnvelope(env); err != nil {
		return &SendError{Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()

	var conn *ctxConn
	defer func() {
		// go-mail leaves the connection open when the greeting, EHLO or
		// STARTTLS fails; it is ours to close on every path.
		if conn != nil {
			conn.stop()
			_ = conn.Close()
		}
	}()
	client, err := s.newClient(ctx, &conn)
	if err != nil {
		return &SendError{Err: err}
	}
	c, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return setupError("connect", ctx, err)
	}
	if s.o.Username != "" {
		if err := s.auth(c); err != nil {
			return setupError("authenticate", ctx, err)
		}
	}
	if err := s.transaction(ctx, c, env); err != nil {
		return err
	}
	_ = c.Quit() // the server has taken the mail; a failed QUIT changes nothing
	return nil
}

// newClient configures go-mail for one connection. We dial ourselves so
// that we hold the connection: to close it on every path and to let ctx
// (shutdown, Timeout) interrupt it wherever it blocks.
func (s *SMTP) newClient(sendCtx context.Context, conn **ctxConn) (*gomail.Client, error) {
	policy := gomail.NoTLS // implicit TLS is done by dial; plain stays plain
	if s.o.Security == SecurityStartTLS {
		policy = gomail.TLSMandatory
	}
	// go-mail hands dial a context that ends when dialing is over; the
	// connection lives for the whole Send, so it is tied to sendCtx.
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		raw, err := (&net.Dialer{}).DialContext(ctx, network, s.o.Addr)
		if err != nil {
			return nil, err
		}
		*conn = newCtxConn(sendCtx, raw)
		if s.o.Security != SecurityTLS {
			return *conn, nil
		}
		// The TLS layer sits on top so that go-mail sees a *tls.Conn (it
		// checks the type to know the connection is encrypted) while every
		// deadline still passes through ctxConn.
		tc := tls.Client(*conn, s.o.TLSConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, err
		}
		return tc, nil
	}
	return gomail.NewClient(s.host,
		gomail.WithPort(s.port),
		gomail.WithHELO(s.o.HELO),
		gomail.WithTimeout(s.o.Timeout),
		gomail.WithTLSPolicy(policy),
		gomail.WithTLSConfig(s.o.TLSConfig),
		gomail.WithDialContextFunc(dial),
	)
}

// ctxConn ties a connection's deadlines to a context: no deadline set by
// go-mail can lie beyond ctx's, and once ctx ends every deadline is in the
// past, so a blocked read or write returns at once. The mutex orders a
// cancellation against a concurrent SetDeadline so that it cannot be
// overwritten.
type ctxConn struct {
	net.Conn
	ctx  context.Context
	mu   sync.Mutex
	stop func() bool
}

func newCtxConn(ctx context.Context, c net.Conn) *ctxConn {
	cc := &ctxConn{Conn: c, ctx: ctx}
	cc.stop = context.AfterFunc(ctx, func() { _ = cc.SetDeadline(time.Time{}) })
	_ = cc.SetDeadline(time.Time{})
	return cc
}

func (c *ctxConn) clamp(t time.Time) time.Time {
	if c.ctx.Err() != nil {
		return time.Unix(1, 0)
	}
	if dl, ok := c.ctx.Deadline(); ok && (t.IsZero() || dl.Before(t)) {
		return dl
	}
	return t
}

func (c *ctxConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetDeadline(c.clamp(t))
}

func (c *ctxConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetReadDeadline(c.clamp(t))
}

func (c *ctxConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetWriteDeadline(c.clamp(t))
}

// auth picks PLAIN, else LOGIN. Clear-text authentication was allowed (or
// refused) by NewSMTP already, so go-mail's own check is switched off for
// SecurityPlain.
func (s *SMTP) auth(c *smtp.Client) error {
	ok, mechs := c.Extension("AUTH")
	if !ok {
		return errors.New("server offers no AUTH, but a Username is configured")
	}
	clear := s.o.Security == SecurityPlain
	offered := strings.Fields(strings.ToUpper(mechs))
	var a smtp.Auth
	switch {
	case slices.Contains(offered, "PLAIN"):
		a = smtp.PlainAuth("", s.o.Username, s.o.Password, s.host, clear)
	case slices.Contains(offered, "LOGIN"):
		a = smtp.LoginAuth(s.o.Username, s.o.Password, s.host, clear)
	default:
		return fmt.Errorf("server offers AUTH %s, none of PLAIN and LOGIN", mechs)
	}
	return c.Auth(a)
}

// transaction runs MAIL, RCPT for every recipient and DATA.
func (s *SMTP) transaction(ctx context.Context, c *smtp.Client, env Envelope) error {
	if err := c.Mail("<" + env.From + ">"); err != nil {
		return replyError("MAIL FROM", ctx, err)
	}
	var (
		accepted, rejected []string
		rcptErrs           []error
		anyTemp            bool
		firstCode          int
	)
	for _, to := range env.To {
		err := c.Rcpt("<" + to + ">")
		if err == nil {
			accepted = append(accepted, to)
			continue
		}
		se := replyError("RCPT TO <"+to+">", ctx, err)
		if se.Code == 0 { // the connection broke: nothing more to learn
			return se
		}
		rejected = append(rejected, to)
		rcptErrs = append(rcptErrs, se.Err)
		anyTemp = anyTemp || se.Temporary
		if firstCode == 0 || (se.Temporary && firstCode >= 500) {
			firstCode = se.Code
		}
	}
	if len(accepted) == 0 {
		_ = c.Reset()
		return &SendError{Temporary: anyTemp, Code: firstCode, Rejected: rejected, Err: errors.Join(rcptErrs...)}
	}
	w, err := c.Data()
	if err != nil {
		return replyError("DATA", ctx, err)
	}
	if _, err := w.Write(env.Raw); err != nil {
		_ = w.Close()
		return replyError("DATA", ctx, err)
	}
	if err := w.Close(); err != nil {
		return replyError("end of DATA", ctx, err)
	}
	if len(rejected) > 0 {
		return &SendError{Code: firstCode, Partial: true, Rejected: rejected,
			Err: fmt.Errorf("delivered to %s; %w", strings.Join(accepted, ", "), errors.Join(rcptErrs...))}
	}
	return nil
}

// replyError classifies an error during the mail transaction by its reply
// code: 5xx is permanent, anything else (4xx, no reply at all) temporary.
//
// 530 ("authentication required", RFC 4954) is the exception: the server
// wants credentials we did not give, which is fixed in our configuration,
// after which the mail must still go out.
func replyError(step string, ctx context.Context, err error) *SendError {
	code := replyCode(err)
	return &SendError{
		Temporary: code < 500 || code > 599 || code == 530,
		Code:      code,
		Err:       fmt.Errorf("%s: %w", step, withCtx(ctx, err)),
	}
}

// setupError wraps a failure before the mail transaction. It is always
// temporary: a refused connection, a TLS or authentication problem is
// fixed on the server or in our configuration, after which the mail must
// still go out.
func setupError(step string, ctx context.Context, err error) *SendError {
	return &SendError{Temporary: true, Code: replyCode(err), Err: fmt.Errorf("%s: %w", step, withCtx(ctx, err))}
}

func replyCode(err error) int {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return tp.Code
	}
	return 0
}

// withCtx adds why ctx ended to an I/O error it caused, so that logs say
// "deadline exceeded" instead of only "i/o timeout".
func withCtx(ctx context.Context, err error) error {
	if cerr := context.Cause(ctx); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%w)", err, cerr)
	}
	return err
}

func validateEnvelope(env Envelope) error {
	var errs []error
	if len(env.Raw) == 0 {
		errs = append(errs, errors.New("no message bytes"))
	}
	if len(env.To) == 0 {
		errs = append(errs, errors.New("no recipients"))
	}
	for _, a := range append([]string{env.From}, env.To...) {
		if strings.ContainsAny(a, "<>\r\n \t") {
			errs = append(errs, fmt.Errorf("address %q contains brackets, spaces or a line break", a))
		}
	}
	for _, a := range env.To {
		if a == "" {
			errs = append(errs, errors.New("empty recipient"))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: envelope %d: %w", ErrInvalidEnvelope, env.ID, errors.Join(errs...))
	}
	return nil
}
