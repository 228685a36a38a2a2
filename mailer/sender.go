package mailer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Sentinel errors of Sender.
var (
	// ErrSenderRunning is returned by Run when another Run of the same
	// Sender has not returned yet.
	ErrSenderRunning = errors.New("mailer: sender is already running")
	// ErrInvalidSenderOptions is returned by Run when Transport or Queue
	// is missing.
	ErrInvalidSenderOptions = errors.New("mailer: invalid sender options")
)

// Transport delivers one envelope; *SMTP is the production one. Errors
// are classified with IsTemporary, and a *SendError with Partial set
// counts as delivered.
type Transport interface {
	Send(ctx context.Context, env Envelope) error
}

// SenderOptions configures a Sender. Transport and Queue are required.
type SenderOptions struct {
	Transport Transport
	Queue     Queue

	// RetryMin and RetryMax bound the wait after a temporary failure. The
	// wait roughly doubles per attempt and is drawn at random from
	// [bound/2, bound) ("equal jitter": retries of many mails spread out,
	// yet none comes back at once), where bound = 2·RetryMin·2^(attempt-1)
	// capped at RetryMax; it stays within [RetryMin, RetryMax]. Zero: 1m
	// and 1h.
	RetryMin, RetryMax time.Duration
	// GiveUpAfter is how long after Envelope.Created temporary failures
	// stop being retried: the envelope is then recorded as Failed. The
	// last retry is scheduled no later than that moment. Zero: 5 days.
	GiveUpAfter time.Duration
	// DrainTimeout bounds how long a send in flight when Run's context
	// ends may go on; the transport's own timeout normally ends it first.
	// Zero: 2m.
	DrainTimeout time.Duration

	// Now is the clock. Zero: time.Now.
	Now func() time.Time
	// Rand returns a number in [0, 1) for the jitter. Zero:
	// math/rand/v2.Float64.
	Rand func() float64
	// Logger for every delivery decision. Zero: slog.Default().
	Logger *slog.Logger
	// OnResult, when set, is called after every attempt with the
	// envelope (Attempts counting this one) and the transport's error
	// (nil when delivered), for metrics. It runs on the sender goroutine
	// and must return quickly.
	OnResult func(env Envelope, err error)
}

// Sender drains the outbox: one goroutine (Run) sends the due envelopes
// one at a time and records each outcome in the Queue. Between sends it
// sleeps until the earliest NextAttempt, or until Kick.
type Sender struct {
	o       SenderOptions
	log     *slog.Logger
	kick    chan struct{}
	running atomic.Bool

	// unrecorded holds outcomes the Queue failed to record. They are
	// retried before anything else, and their envelopes are never sent
	// again meanwhile: a delivered mail whose Delivered call failed would
	// otherwise go out twice.
	unrecorded map[uint64]func() error
}

// NewSender returns a Sender with o's defaults filled in.
func NewSender(o SenderOptions) *Sender {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.RetryMin, time.Minute)
	def(&o.RetryMax, time.Hour)
	def(&o.GiveUpAfter, 5*24*time.Hour)
	def(&o.DrainTimeout, 2*time.Minute)
	if o.RetryMax < o.RetryMin {
		o.RetryMax = o.RetryMin
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Sender{
		o:          o,
		log:        o.Logger.With("component", "sender"),
		kick:       make(chan struct{}, 1),
		unrecorded: map[uint64]func() error{},
	}
}

// Kick makes Run look at the queue now; call it after a commit that
// enqueued mail. It never blocks; kicks that arrive while one is pending
// are merged.
func (s *Sender) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run sends queued mail until ctx is done, then lets a send in flight
// finish (bounded by DrainTimeout) and returns nil. Queue errors are
// logged and retried with backoff, never returned. Run returns
// ErrSenderRunning when called while already running.
func (s *Sender) Run(ctx context.Context) error {
	if s.o.Transport == nil || s.o.Queue == nil {
		return fmt.Errorf("%w: Transport and Queue are required", ErrInvalidSenderOptions)
	}
	if !s.running.CompareAndSwap(false, true) {
		return ErrSenderRunning
	}
	defer s.running.Store(false)

	// A send in flight when ctx ends is finished rather than cut off: the
	// server may already have taken the mail, and an interrupted DATA
	// would make us send it again after restart.
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	stopDrain := context.AfterFunc(ctx, func() { time.AfterFunc(s.o.DrainTimeout, cancelSends) })
	defer stopDrain()

	queueFailures := 0
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		wait, queueOK := s.drain(ctx, sendCtx)
		if ctx.Err() != nil {
			s.log.Info("sender stopped")
			return nil
		}
		if queueOK {
			queueFailures = 0
		} else {
			queueFailures++
			wait = equalJitter(Backoff{Min: time.Second, Max: s.o.RetryMin}.Bound(queueFailures), s.o.Rand)
		}
		var tick <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			tick = timer.C
		}
		select {
		case <-ctx.Done():
			timer.Stop()
			s.log.Info("sender stopped")
			return nil
		case <-s.kick:
		case <-tick:
		}
		timer.Stop()
	}
}

// drain sends every envelope that is due and returns how long to wait for
// the next one (-1: the queue is empty, wait for a kick), and false when
// the Queue failed.
func (s *Sender) drain(ctx, sendCtx context.Context) (wait time.Duration, queueOK bool) {
	if !s.recordPending() {
		return 0, false
	}
	seen := map[uint64]bool{}
	for ctx.Err() == nil {
		env, ok, err := s.o.Queue.Next()
		if err != nil {
			s.log.Error("outbox: reading the next mail failed; retrying", "err", err)
			return 0, false
		}
		if !ok {
			return -1, true
		}
		now := s.o.Now()
		if env.NextAttempt.After(now) {
			return env.NextAttempt.Sub(now), true
		}
		if seen[env.ID] {
			// The Queue handed back an envelope whose outcome it just
			// recorded: sending again would loop, and might duplicate.
			s.log.Error("outbox: queue returned a mail again right after recording it; backing off",
				"outbox_id", env.ID, "msgid", env.MessageID)
			return 0, false
		}
		seen[env.ID] = true
		if !s.attempt(sendCtx, env) {
			return 0, false
		}
	}
	return 0, true
}

// recordPending retries outcomes the Queue failed to record; false while
// any is still unrecorded.
func (s *Sender) recordPending() bool {
	for id, record := range s.unrecorded {
		if err := record(); err != nil {
			s.log.Error("outbox: recording a delivery outcome failed again; retrying", "outbox_id", id, "err", err)
			return false
		}
		delete(s.unrecorded, id)
	}
	return true
}

// attempt sends env once and records the outcome; false when the Queue
// failed to record it.
func (s *Sender) attempt(ctx context.Context, env Envelope) bool {
	env.Attempts++
	start := s.o.Now()
	err := s.o.Transport.Send(ctx, env)
	now := s.o.Now()
	log := s.log.With("outbox_id", env.ID, "msgid", env.MessageID, "case", env.Case,
		"purpose", env.Purpose, "attempt", env.Attempts, "duration", now.Sub(start))

	var se *SendError
	var record func() error
	switch {
	case err == nil:
		log.Info("mail delivered", "to", env.To)
		record = func() error { return s.o.Queue.Delivered(env.ID, now) }
	case errors.As(err, &se) && se.Partial:
		log.Warn("mail delivered to some recipients only; the others refused it", "rejected", se.Rejected, "err", err)
		record = func() error { return s.o.Queue.Delivered(env.ID, now) }
	case !IsTemporary(err):
		log.Warn("mail failed permanently", "to", env.To, "err", err)
		reason := truncateReason(err.Error())
		record = func() error { return s.o.Queue.Failed(env.ID, env.Attempts, reason) }
	case !env.Created.IsZero() && now.Sub(env.Created) >= s.o.GiveUpAfter:
		log.Warn("mail failed: giving up after temporary failures", "to", env.To, "since", env.Created, "err", err)
		reason := truncateReason(fmt.Sprintf("gave up after %d attempts over %s: %v",
			env.Attempts, now.Sub(env.Created).Round(time.Second), err))
		record = func() error { return s.o.Queue.Failed(env.ID, env.Attempts, reason) }
	default:
		next := now.Add(s.retryDelay(env.Attempts))
		if giveUp := env.Created.Add(s.o.GiveUpAfter); !env.Created.IsZero() && next.After(giveUp) {
			next = giveUp // one last try when the time is up, not after
		}
		log.Warn("mail deferred after a temporary failure", "to", env.To, "next_attempt", next, "err", err)
		reason := truncateReason(err.Error())
		record = func() error { return s.o.Queue.Deferred(env.ID, env.Attempts, next, reason) }
	}
	if s.o.OnResult != nil {
		s.o.OnResult(env, err)
	}
	if rerr := record(); rerr != nil {
		log.Error("outbox: recording the outcome failed; it will be retried before any other send", "err", rerr)
		s.unrecorded[env.ID] = record
		return false
	}
	return true
}

// retryDelay is the wait after the attempt-th failed attempt.
func (s *Sender) retryDelay(attempt int) time.Duration {
	bound := Backoff{Min: 2 * s.o.RetryMin, Max: s.o.RetryMax}.Bound(attempt)
	return min(s.o.RetryMax, max(s.o.RetryMin, equalJitter(bound, s.o.Rand)))
}

// equalJitter draws a wait from [bound/2, bound).
func equalJitter(bound time.Duration, rnd func() float64) time.Duration {
	half := bound / 2
	return half + time.Duration(rnd()*float64(bound-half))
}

// truncateReason keeps stored failure reasons to a sensible size; a
// server's multi-line reply can be long.
func truncateReason(s string) string {
	const limit = 1000
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
