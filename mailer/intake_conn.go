package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// shutdownBudget bounds the polite goodbye (IDLE DONE, LOGOUT) so that
// stopping the daemon never waits a whole CommandTimeout on a dead server.
const shutdownBudget = 5 * time.Second

var errIMAPClosed = errors.New("mailer: IMAP connection closed")

// imapSession is one connection, logged in with the mailbox selected.
type imapSession struct {
	raw     net.Conn // the TCP connection; closing it fails every pending command
	c       *imapclient.Client
	timeout time.Duration
	broken  bool // the connection is unusable: skip LOGOUT

	caps        imap.CapSet
	idle        bool
	uidValidity uint32
	// wake is signalled by the unilateral data handler (new mail, expunge)
	// and drained before every check.
	wake chan struct{}
}

// connect dials, logs in, prepares ProcessedMailbox and selects Mailbox,
// each step under the watchdog.
func (in *Intake) connect(ctx context.Context) (*imapSession, error) {
	d := net.Dialer{Timeout: in.o.CommandTimeout}
	raw, err := d.DialContext(ctx, "tcp", in.o.Addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", in.o.Addr, err)
	}
	s := &imapSession{raw: raw, timeout: in.o.CommandTimeout, wake: make(chan struct{}, 1)}
	if err := in.open(ctx, s); err != nil {
		s.broken = true
		s.close()
		return nil, err
	}
	return s, nil
}

func (in *Intake) open(ctx context.Context, s *imapSession) error {
	signal := func() {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	opts := &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		// Runs on the client's reader: it must only signal, never block
		// or issue commands.
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				signal()
			}
		},
		Expunge: func(uint32) { signal() },
	}}

	switch in.o.Security {
	case SecurityTLS:
		err := s.do(ctx, "TLS handshake", func() error {
			cfg := in.tlsConfig()
			if cfg.NextProtos == nil {
				cfg.NextProtos = []string{"imap"}
			}
			tc := tls.Client(s.raw, cfg)
			if err := tc.HandshakeContext(ctx); err != nil {
				return err
			}
			s.c = imapclient.New(tc, opts)
			return nil
		})
		if err != nil {
			return err
		}
	case SecurityStartTLS:
		opts.TLSConfig = in.tlsConfig()
		err := s.do(ctx, "STARTTLS", func() (err error) {
			s.c, err = imapclient.NewStartTLS(s.raw, opts)
			return err
		})
		if err != nil {
			return err
		}
	default:
		s.c = imapclient.New(s.raw, opts)
	}
	if err := s.do(ctx, "greeting", s.c.WaitGreeting); err != nil {
		return err
	}
	if err := in.login(ctx, s); err != nil {
		return err
	}
	var err error
	if s.caps, err = s.capabilities(ctx); err != nil {
		return err
	}
	s.idle = !in.o.DisableIdle && s.caps.Has(imap.CapIdle)
	if in.o.ProcessedMailbox != "" {
		if err := in.ensureMailbox(ctx, s, in.o.ProcessedMailbox); err != nil {
			return err
		}
	}
	var sel *imap.SelectData
	err = s.do(ctx, "SELECT "+in.o.Mailbox, func() (err error) {
		sel, err = s.c.Select(in.o.Mailbox, nil).Wait()
		return err
	})
	if err != nil {
		return err
	}
	if sel.UIDValidity == 0 {
		return fmt.Errorf("SELECT %s: the server sent no UIDVALIDITY, so UIDs cannot be checkpointed", in.o.Mailbox)
	}
	s.uidValidity = sel.UIDValidity
	return nil
}

func (in *Intake) tlsConfig() *tls.Config {
	var cfg *tls.Config
	if in.o.TLSConfig != nil {
		cfg = in.o.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = in.host
	}
	return cfg
}

// login uses LOGIN, or AUTHENTICATE PLAIN when the server disables LOGIN.
func (in *Intake) login(ctx context.Context, s *imapSession) error {
	caps, err := s.capabilities(ctx)
	if err != nil {
		return err
	}
	if caps.Has(imap.CapLoginDisabled) {
		err = s.do(ctx, "AUTHENTICATE PLAIN", func() error {
			return s.c.Authenticate(sasl.NewPlainClient("", in.o.Username, in.o.Password))
		})
	} else {
		err = s.do(ctx, "LOGIN", func() error { return s.c.Login(in.o.Username, in.o.Password).Wait() })
	}
	var imapErr *imap.Error
	if errors.As(err, &imapErr) {
		return fmt.Errorf("%w as %q: %w", ErrIMAPLogin, in.o.Username, err)
	}
	return err
}

// ensureMailbox creates name unless it exists. LIST comes first because
// servers disagree on how CREATE of an existing mailbox fails.
func (in *Intake) ensureMailbox(ctx context.Context, s *imapSession, name string) error {
	var found bool
	err := s.do(ctx, "LIST "+name, func() error {
		list, err := s.c.List("", name, nil).Collect()
		found = len(list) > 0
		return err
	})
	if err != nil || found {
		return err
	}
	in.log.Info("creating processed mailbox", "processed", name)
	return s.do(ctx, "CREATE "+name, func() error { return s.c.Create(name, nil).Wait() })
}

func (s *imapSession) capabilities(ctx context.Context) (imap.CapSet, error) {
	var caps imap.CapSet
	err := s.do(ctx, "CAPABILITY", func() error {
		// Caps blocks until the server sent them, asking when needed.
		if caps = s.c.Caps(); caps == nil {
			return errors.New("no capabilities received")
		}
		return nil
	})
	return caps, err
}

// do runs one command under the watchdog: if it takes longer than the
// command timeout, or ctx ends, the connection is closed, which fails the
// command. go-imap's client has no timeout of its own on answers.
func (s *imapSession) do(ctx context.Context, op string, f func() error) error {
	return s.watch(ctx, s.timeout, op, func(func()) error { return f() })
}

// watch is do for long transfers: f calls progress whenever data arrives,
// which restarts the timeout, so a big mail on a slow link is not cut while
// a stalled server still is.
func (s *imapSession) watch(ctx context.Context, timeout time.Duration, op string, f func(progress func()) error) error {
	const (
		byTimer = 1
		byCtx   = 2
	)
	var fired atomic.Int32
	cut := func(why int32) func() {
		return func() {
			if fired.CompareAndSwap(0, why) {
				_ = s.raw.Close()
			}
		}
	}
	timer := time.AfterFunc(timeout, cut(byTimer))
	stopCtx := context.AfterFunc(ctx, cut(byCtx))
	err := f(func() { timer.Reset(timeout) })
	timer.Stop()
	stopCtx()

	switch fired.Load() {
	case byTimer:
		s.broken = true
		return fmt.Errorf("imap %s: %w (no progress for %v)", op, ErrIMAPTimeout, timeout)
	case byCtx:
		s.broken = true
		return fmt.Errorf("imap %s: %w", op, context.Cause(ctx))
	}
	if err != nil {
		var imapErr *imap.Error
		if !errors.As(err, &imapErr) { // a NO or BAD leaves the connection usable
			s.broken = true
		}
		return fmt.Errorf("imap %s: %w", op, err)
	}
	return nil
}

// close says LOGOUT when the connection is still usable, then closes it.
func (s *imapSession) close() {
	if s.c == nil {
		_ = s.raw.Close()
		return
	}
	if !s.broken {
		_ = s.watch(context.Background(), min(s.timeout, shutdownBudget), "LOGOUT", func(func()) error {
			return s.c.Logout().Wait()
		})
	}
	_ = s.raw.Close()
	// The client's reader ends once the connection is closed; waiting for
	// it keeps goroutines from piling up over reconnects, the bound keeps
	// a bug there from hanging Run.
	select {
	case <-s.c.Closed():
	case <-time.After(min(s.timeout, shutdownBudget)):
	}
}

// waitForMail returns when the mailbox should be checked again: the server
// announced a change, Kick was called, or the safety-net interval passed.
func (in *Intake) waitForMail(ctx context.Context, s *imapSession) error {
	if s.idle {
		return in.idleWait(ctx, s)
	}
	t := time.NewTimer(in.o.PollInterval)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.c.Closed():
		s.broken = true
		return errIMAPClosed
	case <-in.kick:
	case <-s.wake: // an EXISTS arrived with the last command's answer
	case <-t.C:
	}
	return s.do(ctx, "NOOP", func() error { return s.c.Noop().Wait() })
}

func (in *Intake) idleWait(ctx context.Context, s *imapSession) error {
	var idle *imapclient.IdleCommand
	err := s.do(ctx, "IDLE", func() (err error) {
		idle, err = s.c.Idle()
		return err
	})
	if err != nil {
		return err
	}
	t := time.NewTimer(min(in.o.PollInterval, in.o.IdleRefresh))
	defer t.Stop()
	stopCtx, budget := ctx, s.timeout
	select {
	case <-ctx.Done():
		stopCtx, budget = context.WithoutCancel(ctx), min(s.timeout, shutdownBudget)
	case <-s.c.Closed():
	case <-in.kick:
	case <-s.wake:
		in.event(IntakeEvent{Kind: IntakeIdleWake})
	case <-t.C:
	}
	err = s.watch(stopCtx, budget, "DONE", func(func()) error {
		if err := idle.Close(); err != nil {
			return err
		}
		return idle.Wait()
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
