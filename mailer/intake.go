package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"time"
)

// Security says how Intake protects its IMAP connection.
type Security string

// The connection security modes of Intake.
const (
	SecurityTLS      Security = "tls"      // implicit TLS (IMAPS, usually port 993)
	SecurityStartTLS Security = "starttls" // plain connect, then STARTTLS (usually port 143)
	SecurityPlain    Security = "plain"    // no encryption: loopback only unless AllowInsecure
)

// Sentinel errors of Intake.
var (
	// ErrInvalidIntakeOptions wraps every problem NewIntake finds.
	ErrInvalidIntakeOptions = errors.New("mailer: invalid intake options")
	// ErrIntakeRunning is returned by Run when another Run of the same
	// Intake has not returned yet.
	ErrIntakeRunning = errors.New("mailer: intake is already running")
	// ErrIMAPTimeout is the cause of a session that ended because the
	// server did not answer a command within CommandTimeout.
	ErrIMAPTimeout = errors.New("mailer: IMAP server did not answer in time")
	// ErrIMAPLogin is the cause of a session that ended because the server
	// refused the credentials.
	ErrIMAPLogin = errors.New("mailer: IMAP login refused")
	// ErrIntakeHandler is the cause of a session that ended because the
	// Handler failed to commit a batch.
	ErrIntakeHandler = errors.New("mailer: intake handler failed")
)

// IntakeOptions configures an Intake. Zero values are documented per field;
// Addr, Username, Password, Handler and Checkpoints are required.
type IntakeOptions struct {
	Addr string // host:port of the IMAP server

	// Security of the connection. Zero: SecurityTLS.
	Security Security
	// AllowInsecure permits SecurityPlain to a host that is not loopback;
	// without it NewIntake refuses to send a password in clear.
	AllowInsecure bool
	// TLSConfig for SecurityTLS and SecurityStartTLS. Nil: system roots,
	// ServerName taken from Addr, TLS 1.2 or newer. A config without a
	// ServerName gets the host of Addr.
	TLSConfig *tls.Config

	Username, Password string

	// Mailbox to take mail from. Zero: "INBOX".
	Mailbox string
	// InitialScan decides which of the mail a mailbox already holds is
	// taken when Intake first reads it: when no checkpoint was committed
	// under the mailbox's current UIDVALIDITY (a mailbox never read, or
	// one the server renumbered). Zero: InitialScanUnseen, so that years
	// of old mail do not all become tickets.
	InitialScan InitialScan
	// ProcessedMailbox, when set, receives every mail after its batch was
	// committed (created when missing): UID MOVE when the server has MOVE,
	// else UID COPY + \Deleted + UID EXPUNGE with UIDPLUS, else UID COPY +
	// \Deleted and the expunge is left to the mailbox owner (a plain
	// EXPUNGE would also remove mail others marked deleted). Zero: mails
	// stay and are only flagged \Seen.
	ProcessedMailbox string

	// PollInterval is how often the mailbox is checked when the server has
	// no IDLE, and the safety net with IDLE (some servers drop wake-ups).
	// Zero: 60s.
	PollInterval time.Duration
	// IdleRefresh is the longest an IDLE runs before it is re-issued;
	// servers may drop a connection idle for 30 minutes, so it must stay
	// below 29 minutes. Zero: 25m.
	IdleRefresh time.Duration
	// DisableIdle polls even when the server offers IDLE, for servers whose
	// IDLE is broken.
	DisableIdle bool
	// CommandTimeout is the watchdog of every command: when the server
	// makes no progress on one for this long, the connection is closed and
	// Intake reconnects. It also bounds connecting. Zero: 60s.
	CommandTimeout time.Duration

	// MaxSize is the most bytes fetched of one mail; of a bigger mail only
	// the first MaxSize bytes are fetched and Fetched.Truncated is set.
	// Zero: 25 MiB.
	MaxSize int64
	// BatchSize is the most mails per Handler call. A batch is also cut
	// before its bodies exceed max(MaxSize, 64 MiB). Zero: 100.
	BatchSize int

	// BackoffMin and BackoffMax bound the reconnect delays (exponential
	// with full jitter, reset after a session that completed a check).
	// Zero: 1s and 5m.
	BackoffMin, BackoffMax time.Duration

	// Handler commits a batch durably; required.
	Handler Handler
	// Checkpoints tells how far the Handler got; required.
	Checkpoints Checkpoints

	// Logger for connection and delivery decisions. Nil: slog.Default().
	Logger *slog.Logger
	// OnEvent, when set, is called for every IntakeEvent, for metrics. It
	// runs on the intake goroutine and must return quickly.
	OnEvent func(IntakeEvent)
}

// IntakeEventKind names what happened in an IntakeEvent.
type IntakeEventKind string

// The kinds of IntakeEvent.
const (
	IntakeConnected    IntakeEventKind = "connected"     // logged in, mailbox selected
	IntakeReconnect    IntakeEventKind = "reconnect"     // session ended (Err); next try after Delay (Attempt)
	IntakeIdleWake     IntakeEventKind = "idle-wake"     // the server announced a change during IDLE
	IntakeFetched      IntakeEventKind = "fetched"       // Count mails fetched, about to be handed to the Handler
	IntakeHandlerError IntakeEventKind = "handler-error" // the Handler failed (Err); mails stay unflagged
	IntakeOversize     IntakeEventKind = "oversize"      // mail UID of Size bytes was fetched truncated
	IntakeChecked      IntakeEventKind = "checked"       // a check completed; Count new mails were committed
)

// IntakeEvent reports one thing Intake did, for metrics and health checks.
type IntakeEvent struct {
	Kind    IntakeEventKind
	Mailbox string
	Count   int
	UID     uint32
	Size    int64
	Attempt int
	Delay   time.Duration
	Err     error
}

// Intake takes mail from one IMAP mailbox and hands it to a Handler in
// batches, in UID order. A mail is flagged \Seen (and moved) only after the
// Handler committed it together with its checkpoint, so a crash at any
// point loses nothing: what was not committed is fetched again. Which of
// the mail already in the mailbox it takes on first contact is set by
// IntakeOptions.InitialScan.
type Intake struct {
	o       IntakeOptions
	host    string
	log     *slog.Logger
	backoff Backoff
	kick    chan struct{}
	running atomic.Bool

	// Owned by the Run goroutine.
	mark         Checkpoint // the last batch the Handler committed in this process
	pending      pendingDone
	rescanWarned uint32 // UIDVALIDITY whose change was already logged
	// recovered is the UIDVALIDITY for which this process already looked
	// for mails committed by an earlier process but never flagged.
	recovered uint32
}

// pendingDone are committed mails not yet flagged or moved, because the
// connection broke in between; the next session settles them.
type pendingDone struct {
	uidValidity uint32
	uids        []uint32
}

// NewIntake checks o, fills in its defaults and returns an Intake ready to
// Run. All problems are reported at once, wrapped in ErrInvalidIntakeOptions.
func NewIntake(o IntakeOptions) (*Intake, error) {
	o = o.withDefaults()
	host, err := o.validate()
	if err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Intake{
		o:       o,
		host:    host,
		log:     log.With("component", "intake", "mailbox", o.Mailbox),
		backoff: Backoff{Min: o.BackoffMin, Max: o.BackoffMax},
		kick:    make(chan struct{}, 1),
	}, nil
}

func (o IntakeOptions) withDefaults() IntakeOptions {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if o.Security == "" {
		o.Security = SecurityTLS
	}
	if o.Mailbox == "" {
		o.Mailbox = "INBOX"
	}
	if o.InitialScan == "" {
		o.InitialScan = InitialScanUnseen
	}
	def(&o.PollInterval, 60*time.Second)
	def(&o.IdleRefresh, 25*time.Minute)
	def(&o.CommandTimeout, 60*time.Second)
	def(&o.BackoffMin, time.Second)
	def(&o.BackoffMax, 5*time.Minute)
	if o.MaxSize == 0 {
		o.MaxSize = 25 << 20
	}
	if o.BatchSize == 0 {
		o.BatchSize = 100
	}
	return o
}

// validate reports every problem of o (after defaults) and returns the host
// part of Addr.
func (o IntakeOptions) validate() (string, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	host, _, err := net.SplitHostPort(o.Addr)
	switch {
	case o.Addr == "":
		bad("Addr is empty: set host:port of the IMAP server, e.g. imap.example.com:993")
	case err != nil:
		bad("Addr %q is not host:port (e.g. imap.example.com:993): %v", o.Addr, err)
	case host == "":
		bad("Addr %q has no host", o.Addr)
	}
	switch o.Security {
	case SecurityTLS, SecurityStartTLS:
	case SecurityPlain:
		if host != "" && !o.AllowInsecure && !isLoopbackHost(host) {
			bad("Security %q would send the password in clear to %q, which is not loopback: use %q or %q, or set AllowInsecure", o.Security, host, SecurityTLS, SecurityStartTLS)
		}
	default:
		bad("Security %q is unknown: use %q, %q or %q", o.Security, SecurityTLS, SecurityStartTLS, SecurityPlain)
	}
	if o.Username == "" {
		bad("Username is empty: set the IMAP login")
	}
	if o.Password == "" {
		bad("Password is empty: set the IMAP password")
	}
	switch o.InitialScan {
	case InitialScanUnseen, InitialScanAll, InitialScanNone:
	default:
		bad("InitialScan %q is unknown: use %q, %q or %q", o.InitialScan, InitialScanUnseen, InitialScanAll, InitialScanNone)
	}
	if o.ProcessedMailbox != "" && sameMailbox(o.ProcessedMailbox, o.Mailbox) {
		bad("ProcessedMailbox %q is the mailbox intake reads: choose another one, or leave it empty to only flag \\Seen", o.ProcessedMailbox)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"PollInterval", o.PollInterval}, {"IdleRefresh", o.IdleRefresh}, {"CommandTimeout", o.CommandTimeout},
		{"BackoffMin", o.BackoffMin}, {"BackoffMax", o.BackoffMax},
	} {
		if d.v < 0 {
			bad("%s %v is negative: use a positive duration, or zero for the default", d.name, d.v)
		}
	}
	if o.IdleRefresh >= 29*time.Minute {
		bad("IdleRefresh %v is too long: servers may drop a connection idle for 30 minutes; use less than 29m", o.IdleRefresh)
	}
	if o.BackoffMin > 0 && o.BackoffMax > 0 && o.BackoffMin > o.BackoffMax {
		bad("BackoffMin %v is above BackoffMax %v", o.BackoffMin, o.BackoffMax)
	}
	if o.MaxSize < 0 {
		bad("MaxSize %d is negative: use a byte count, or zero for 25 MiB", o.MaxSize)
	}
	if o.BatchSize < 0 {
		bad("BatchSize %d is negative: use a count, or zero for 100", o.BatchSize)
	}
	if o.Handler == nil {
		bad("Handler is nil: intake needs a Handler that commits batches")
	}
	if o.Checkpoints == nil {
		bad("Checkpoints is nil: intake needs to read where the Handler got")
	}
	if len(errs) > 0 {
		return "", fmt.Errorf("%w: %w", ErrInvalidIntakeOptions, errors.Join(errs...))
	}
	return host, nil
}

// sameMailbox compares mailbox names as IMAP does: only INBOX ignores case.
func sameMailbox(a, b string) bool {
	if strings.EqualFold(a, "INBOX") && strings.EqualFold(b, "INBOX") {
		return true
	}
	return a == b
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Kick asks for a check of the mailbox as soon as possible. It never
// blocks; kicks that arrive while one is pending are merged. It does not
// cut a reconnect backoff short.
func (in *Intake) Kick() {
	select {
	case in.kick <- struct{}{}:
	default:
	}
}

// Run takes mail in until ctx is done, then returns nil. Server errors,
// timeouts and Handler failures end the current session and Run reconnects
// with backoff; they are logged and reported through OnEvent, never
// returned. Run returns ErrIntakeRunning when called while already running.
func (in *Intake) Run(ctx context.Context) error {
	if !in.running.CompareAndSwap(false, true) {
		return ErrIntakeRunning
	}
	defer in.running.Store(false)

	attempt := 0
	for {
		healthy, err := in.session(ctx)
		if ctx.Err() != nil {
			in.log.Info("imap intake stopped")
			return nil
		}
		if healthy {
			attempt = 0
		}
		attempt++
		delay := in.backoff.Delay(attempt)
		in.log.Warn("imap intake session ended, reconnecting", "attempt", attempt, "delay", delay, "err", err)
		in.event(IntakeEvent{Kind: IntakeReconnect, Attempt: attempt, Delay: delay, Err: err})
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			in.log.Info("imap intake stopped")
			return nil
		case <-t.C:
		}
	}
}

// session connects, then checks and waits for mail until an error. It
// reports whether at least one check completed, which resets the backoff.
func (in *Intake) session(ctx context.Context) (healthy bool, err error) {
	s, err := in.connect(ctx)
	if err != nil {
		return false, err
	}
	defer s.close()
	in.log.Info("imap intake connected", "addr", in.o.Addr, "uidvalidity", s.uidValidity, "idle", s.idle)
	in.event(IntakeEvent{Kind: IntakeConnected})
	for {
		if err := in.check(ctx, s); err != nil {
			return healthy, err
		}
		healthy = true
		if err := in.waitForMail(ctx, s); err != nil {
			return healthy, err
		}
	}
}

func (in *Intake) event(e IntakeEvent) {
	if in.o.OnEvent == nil {
		return
	}
	e.Mailbox = in.o.Mailbox
	in.o.OnEvent(e)
}
