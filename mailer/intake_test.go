package mailer

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer/mailtest"
)

func TestNewIntakeValidates(t *testing.T) {
	noop := func(context.Context, Batch) error { return nil }
	valid := IntakeOptions{
		Addr: "imap.example.com:993", Username: "u", Password: "p",
		Handler: noop, Checkpoints: newMemCheckpoints(),
	}
	tests := []struct {
		name    string
		tweak   func(*IntakeOptions)
		wantErr string // "" for no error
	}{
		{"defaults_are_valid", func(*IntakeOptions) {}, ""},
		{"plain_to_loopback_ip_is_allowed", func(o *IntakeOptions) { o.Addr, o.Security = "127.0.0.1:143", SecurityPlain }, ""},
		{"plain_to_localhost_is_allowed", func(o *IntakeOptions) { o.Addr, o.Security = "localhost:143", SecurityPlain }, ""},
		{"plain_to_ipv6_loopback_is_allowed", func(o *IntakeOptions) { o.Addr, o.Security = "[::1]:143", SecurityPlain }, ""},
		{"plain_to_remote_host_is_refused", func(o *IntakeOptions) { o.Addr, o.Security = "imap.example.com:143", SecurityPlain }, "not loopback"},
		{"plain_to_remote_ip_is_refused", func(o *IntakeOptions) { o.Addr, o.Security = "192.0.2.7:143", SecurityPlain }, "not loopback"},
		{"plain_to_remote_host_with_allow_insecure", func(o *IntakeOptions) {
			o.Addr, o.Security, o.AllowInsecure = "imap.example.com:143", SecurityPlain, true
		}, ""},
		{"unknown_security", func(o *IntakeOptions) { o.Security = "ssl" }, `Security "ssl" is unknown`},
		{"missing_addr", func(o *IntakeOptions) { o.Addr = "" }, "Addr is empty"},
		{"addr_without_port", func(o *IntakeOptions) { o.Addr = "imap.example.com" }, "not host:port"},
		{"missing_handler", func(o *IntakeOptions) { o.Handler = nil }, "Handler is nil"},
		{"missing_checkpoints", func(o *IntakeOptions) { o.Checkpoints = nil }, "Checkpoints is nil"},
		{"missing_username", func(o *IntakeOptions) { o.Username = "" }, "Username is empty"},
		{"missing_password", func(o *IntakeOptions) { o.Password = "" }, "Password is empty"},
		{"processed_is_the_mailbox", func(o *IntakeOptions) { o.ProcessedMailbox = "inbox" }, "ProcessedMailbox"},
		{"processed_differs_by_case_from_a_non_inbox_mailbox", func(o *IntakeOptions) { o.Mailbox, o.ProcessedMailbox = "Support", "support" }, ""},
		{"idle_refresh_too_long", func(o *IntakeOptions) { o.IdleRefresh = 29 * time.Minute }, "IdleRefresh"},
		{"negative_poll_interval", func(o *IntakeOptions) { o.PollInterval = -time.Second }, "PollInterval"},
		{"backoff_min_above_max", func(o *IntakeOptions) { o.BackoffMin, o.BackoffMax = time.Minute, time.Second }, "BackoffMin"},
		{"negative_max_size", func(o *IntakeOptions) { o.MaxSize = -1 }, "MaxSize"},
		{"negative_batch_size", func(o *IntakeOptions) { o.BatchSize = -1 }, "BatchSize"},
		{"unknown_initial_scan", func(o *IntakeOptions) { o.InitialScan = "new" }, `InitialScan "new" is unknown`},
		{"initial_scan_none", func(o *IntakeOptions) { o.InitialScan = InitialScanNone }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := valid
			tt.tweak(&o)
			_, err := NewIntake(o)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("NewIntake: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidIntakeOptions) {
				t.Fatalf("NewIntake error = %v, want ErrInvalidIntakeOptions", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewIntake error = %q, want it to mention %q", err, tt.wantErr)
			}
		})
	}

	t.Run("reports_every_problem_at_once", func(t *testing.T) {
		_, err := NewIntake(IntakeOptions{Addr: "imap.example.com:143", Security: SecurityPlain})
		for _, want := range []string{"not loopback", "Username", "Password", "Handler", "Checkpoints"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
	})
}

func TestIntakeDeliversMail(t *testing.T) {
	tests := []struct {
		name     string
		security string
		noIdle   bool
	}{
		{"plain_with_idle", "plain", false},
		{"plain_polling", "plain", true},
		{"implicit_tls", "tls", false},
		{"starttls", "starttls", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startTestIMAP(t, mailtest.IMAPOptions{Security: tt.security})
			before := testMail(1)
			appendMail(t, srv, before)
			ti := startIntake(t, srv.Addr(), newMemCheckpoints(), func(o *IntakeOptions) {
				o.Security = Security(tt.security)
				o.TLSConfig = srv.ClientTLSConfig()
				o.DisableIdle = tt.noIdle
			})
			waitFor(t, "the mail already in the mailbox", func() bool { return len(ti.rec.uids()) == 1 })

			after := testMail(2)
			uid := appendMail(t, srv, after)
			waitFor(t, "the mail appended while running", func() bool { return len(ti.rec.uids()) == 2 })

			b := ti.rec.committed()[1]
			m := b.Mails[0]
			if m.UID != uid || !bytes.Equal(m.Raw, after) || m.Size != int64(len(after)) || m.Truncated || m.InternalDate.IsZero() {
				t.Errorf("delivered %+v, want UID %d, the raw bytes, size %d, not truncated, an internal date", m, uid, len(after))
			}
			if b.Mailbox != "INBOX" || b.UIDValidity == 0 {
				t.Errorf("batch mailbox %q uidvalidity %d", b.Mailbox, b.UIDValidity)
			}
			waitFor(t, "both mails flagged \\Seen", func() bool { return allSeen(t, srv, "INBOX", 2) })
		})
	}
}

func allSeen(t testing.TB, srv *mailtest.IMAPServer, mailbox string, n int) bool {
	t.Helper()
	msgs, err := srv.Messages(testUser, mailbox)
	if err != nil {
		t.Fatalf("messages: %v", err)
	}
	seen := 0
	for _, m := range msgs {
		if m.HasFlag(`\Seen`) {
			seen++
		}
	}
	return len(msgs) == n && seen == n
}

func TestIntakeIdleWakeDeliversBeforeThePoll(t *testing.T) {
	srv := startTestIMAP(t, mailtest.IMAPOptions{})
	ti := startIntake(t, srv.Addr(), newMemCheckpoints(), func(o *IntakeOptions) {
		o.PollInterval = 10 * time.Minute // only IDLE can bring the mail in time
	})
	waitFor(t, "the first check", func() bool { return ti.events.count(IntakeChecked) >= 1 })
	// imapmemserver does not announce mail appended just before IDLE
	// starts; the next append is announced, so append until one is.
	n := 0
	deadline := time.Now().Add(waitLimit)
	for len(ti.rec.uids()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no mail delivered through IDLE")
		}
		if ti.events.count(IntakeIdleWake) == 0 && n < 50 {
			n++
			appendMail(t, srv, testMail(n))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ti.events.count(IntakeIdleWake) == 0 {
		t.Fatal("mail delivered without an IDLE wake-up")
	}
}

func TestIntakeKickChecksAtOnce(t *testing.T) {
	srv := startTestIMAP(t, mailtest.IMAPOptions{})
	ti := startIntake(t, srv.Addr(), newMemCheckpoints(), func(o *IntakeOptions) {
		o.DisableIdle = true
		o.PollInterval = 10 * time.Minute
	})
	waitFor(t, "the first check", func() bool { return ti.events.count(IntakeChecked) >= 1 })
	appendMail(t, srv, testMail(1))
	ti.in.Kick()
	ti.in.Kick() // merged, never blocks
	waitFor(t, "the mail after Kick", func() bool { return len(ti.rec.uids()) == 1 })
}

func TestIntakeResumesFromCheckpoint(t *testing.T) {
	srv := startTestIMAP(t, mailtest.IMAPOptions{})
	cps := newMemCheckpoints()
	appendMail(t, srv, testMail(1))
	appendMail(t, srv, testMail(2))

	first := startIntake(t, srv.Addr(), cps, nil)
	// Both mails, and the end of the first scan recorded: a batch of no
	// mails moves the checkpoint, which a restart would otherwise make.
	waitFor(t, "the first two mails and the scan's end", func() bool {
		cp, _ := cps.Checkpoint("INBOX")
		return len(first.rec.uids()) == 2 && cp.LastUID == 2 && !cp.Scanning
	})
	first.stop(t)

	t.Run("nothing_new_calls_no_handler", func(t *testing.T) {
		// UID FETCH 3:* answers with UID 2 when 2 is the highest UID.
		ti := startIntake(t, srv.Addr(), cps, nil)
		waitFor(t, "three checks", func() bool { return ti.events.count(IntakeChecked) >= 3 })
		if n := ti.rec.callCount(); n != 0 {
			t.Fatalf("handler called %d times with nothing new; batches %+v", n, ti.rec.committed())
		}
		ti.stop(t)
	})

	t.Run("only_new_uids_after_restart", func(t *testing.T) {
		uid := appendMail(t, srv, testMail(3))
		ti := startIntake(t, srv.Addr(), cps, nil)
		waitFor(t, "the new mail", func() bool { return len(ti.rec.uids()) >= 1 })
		waitFor(t, "another check", func() bool { return ti.events.count(IntakeChecked) >= 2 })
		if got := ti.rec.uids(); !slices.Equal(got, []uint32{uid}) {
			t.Fatalf("delivered UIDs %v after restart, want only [%d]", got, uid)
		}
	})
}

func TestIntakeRescansAfterUIDValidityChange(t *testing.T) {
	srv := startTestIMAP(t, mailtest.IMAPOptions{})
	cps := newMemCheckpoints()
	appendMail(t, srv, testMail(1))
	appendMail(t, srv, testMail(2))
	ti := startIntake(t, srv.Addr(), cps, func(o *IntakeOptions) { o.InitialScan = InitialScanAll })
	waitFor(t, "the first two mails", func() bool { return len(ti.rec.uids()) == 2 })
	// Flagging follows the commit and ends the check; a recreate before
	// would leave them pending and warn about that too.
	waitFor(t, "the check that flags them", func() bool { return ti.events.count(IntakeChecked) >= 1 })
	oldValidity := ti.rec.committed()[0].UIDValidity

	// The server rebuilds its index: same mails, new UIDVALIDITY, UIDs
	// from 1 again. The running session still sees the old mailbox, so cut
	// it as such a server restart would.
	if err := srv.RecreateMailbox(testUser, "INBOX"); err != nil {
		t.Fatal(err)
	}
	appendMail(t, srv, testMail(1))
	appendMail(t, srv, testMail(2))
	newValidity, err := srv.UIDValidity(testUser, "INBOX")
	if err != nil || newValidity == oldValidity {
		t.Fatalf("UIDVALIDITY %d after recreate (err %v), was %d", newValidity, err, oldValidity)
	}
	srv.DropConnections()

	waitFor(t, "the re-scan", func() bool { return len(ti.rec.uids()) == 4 })
	if got := ti.rec.uids(); !slices.Equal(got, []uint32{1, 2, 1, 2}) {
		t.Fatalf("delivered UIDs %v, want [1 2 1 2]", got)
	}
	last := ti.rec.committed()[len(ti.rec.committed())-1]
	if last.UIDValidity != newValidity {
		t.Errorf("re-scan batch has UIDVALIDITY %d, want %d", last.UIDValidity, newValidity)
	}
	if warns := ti.logs.find(slog.LevelWarn, "UIDVALIDITY changed"); len(warns) != 1 {
		t.Errorf("got %d warnings about the UIDVALIDITY change, want 1", len(warns))
	}
}

func TestIntakeRetriesWhenHandlerFails(t *testing.T) {
	srv := startTestIMAP(t, mailtest.IMAPOptions{})
	uid := appendMail(t, srv, testMail(1))
	cps := newMemCheckpoints()
	release := make(chan struct{})
	ti := startIntake(t, srv.Addr(), cps, func(o *IntakeOptions) {
		inner := o.Handler
		o.Handler = func(ctx context.Context, b Batch) error {
			select {
			case <-release:
				return inner(ctx, b)
			default:
				return errors.New("disk full")
			}
		}
	})
	waitFor(t, "two handler failures", func() bool { return ti.events.count(IntakeHandlerError) >= 2 })
	msgs, err := srv.Messages(testUser, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].HasFlag(`\Seen`) {
		t.Fatalf("after handler failures the mail is %+v, want it unflagged", msgs)
	}
	if cp, _ := cps.Checkpoint("INBOX"); cp.LastUID != 0 {
		t.Fatalf("checkpoint advanced to %+v by failed batches", cp)
	}
	for _, ev := range ti.events.all(IntakeReconnect) {
		if !errors.Is(ev.Err, ErrIntakeHandler) {
			t.Errorf("reconnect caused by %v, want ErrIntakeHandler", ev.Err)
		}
	}
	if len(ti.logs.find(slog.LevelError, "handler failed")) == 0 {
		t.Error("handler failure not logged at error level")
	}

	close(release)
	waitFor(t, "the retried mail", func() bool { return slices.Equal(ti.rec.uids(), []uint32{uid}) })
	waitFor(t, "the mail flagged \\Seen", func() bool { return allSeen(t, srv, "INBOX", 1) })
}

func TestIntakeFlagsCommittedMailAfterConnectionBreaks(t *testing.T) {
	srv := startTestIMAP(t, mailtest.IMAPOptions{})
	uid := appendMail(t, srv, testMail(1))
	var dropped atomic.Bool
	ti := startIntake(t, srv.Addr(), newMemCheckpoints(), func(o *IntakeOptions) {
		inner := o.Handler
		o.Handler = func(ctx context.Context, b Batch) error {
			err := inner(ctx, b)
			if !dropped.Swap(true) {
				srv.DropConnections() // between the commit and STORE \Seen
			}
			return err
		}
	})
	waitFor(t, "the mail flagged \\Seen by the next session", func() bool { return allSeen(t, srv, "INBOX", 1) })
	if ti.events.count(IntakeConnected) < 2 {
		t.Error("the mail was flagged without a reconnect")
	}
	waitFor(t, "another check", func() bool { return ti.events.count(IntakeChecked) >= 2 })
	if got := ti.rec.uids(); !slices.Equal(got, []uint32{uid}) {
		t.Errorf("delivered %v, want [%d] once", got, uid)
	}
}

func TestIntakeMovesProcessedMail(t *testing.T) {
	tests := []struct {
		name             string
		noMove, noUIDPlu bool
		inboxLeft        int // mails left in INBOX, \Deleted, when nothing may expunge them
	}{
		{"with_move", false, false, 0},
		{"copy_and_uid_expunge_without_move", true, false, 0},
		{"copy_and_deleted_without_uidplus", true, true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startTestIMAP(t, mailtest.IMAPOptions{NoMove: tt.noMove, NoUIDPlus: tt.noUIDPlu})
			appendMail(t, srv, testMail(1))
			appendMail(t, srv, testMail(2))
			ti := startIntake(t, srv.Addr(), newMemCheckpoints(), func(o *IntakeOptions) {
				o.ProcessedMailbox = "Processed"
			})
			waitFor(t, "Processed created", func() bool {
				names, err := srv.Mailboxes(testUser)
				return err == nil && slices.Contains(names, "Processed")
			})
			waitFor(t, "both mails in Processed", func() bool { return allSeen(t, srv, "Processed", 2) })
			waitFor(t, "the INBOX emptied", func() bool {
				msgs, err := srv.Messages(testUser, "INBOX")
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range msgs {
					if !m.HasFlag(`\Deleted`) || !m.HasFlag(`\Seen`) {
						return false
					}
				}
				return len(msgs) == tt.inboxLeft
			})
			moved, _ := srv.Messages(testUser, "Processed")
			if !bytes.Equal(moved[0].Raw, testMail(1)) || !bytes.Equal(moved[1].Raw, testMail(2)) {
				t.Error("Processed does not hold the two mails unchanged")
			}
			if got := ti.rec.uids(); !slices.Equal(got, []uint32{1, 2}) {
				t.Errorf("delivered %v, want [1 2] once each", got)
			}
		})
	}
}

func TestIntakeReconnectsAfterConnectionLoss(t *testing.T) {
	srv := startTestIMAP(t, mailtest.IMAPOptions{})
	appendMail(t, srv, testMail(1))
	ti := startIntake(t, srv.Addr(), newMemCheckpoints(), nil)
	waitFor(t, "the first mail", func() bool { return len(ti.rec.uids()) == 1 })

	if n := srv.DropConnections(); n == 0 {
		t.Fatal("no connection to drop")
	}
	uid := appendMail(t, srv, testMail(2))
	waitFor(t, "the mail appended while disconnected", func() bool { return len(ti.rec.uids()) == 2 })
	if got := ti.rec.uids(); got[1] != uid {
		t.Errorf("delivered %v, want %d second", got, uid)
	}
	if ti.events.count(IntakeReconnect) == 0 || ti.events.count(IntakeConnected) < 2 {
		t.Errorf("events: %d reconnects, %d connects; want a reconnect", ti.events.count(IntakeReconnect), ti.events.count(IntakeConnected))
	}
	waitFor(t, "the mails flagged \\Seen", func() bool { return allSeen(t, srv, "INBOX", 2) })
}

func TestIntakeWatchdogCutsHungServer(t *testing.T) {
	tests := []struct {
		name     string
		greeting string
	}{
		{"no_greeting", ""},
		{"greets_then_never_answers_login", "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hung server ready\r\n"},
		{"greets_then_never_answers_capability", "* OK hung server ready\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFakeIMAP(t, tt.greeting)
			ti := startIntake(t, fake.addr(), newMemCheckpoints(), func(o *IntakeOptions) {
				o.CommandTimeout = 100 * time.Millisecond
			})
			waitFor(t, "three connection attempts", func() bool { return fake.accepted.Load() >= 3 })
			for _, ev := range ti.events.all(IntakeReconnect) {
				if !errors.Is(ev.Err, ErrIMAPTimeout) {
					t.Errorf("session ended with %v, want ErrIMAPTimeout", ev.Err)
				}
			}
			start := time.Now()
			ti.stop(t)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Run took %v to stop", d)
			}
			if ti.rec.callCount() != 0 {
				t.Error("handler called by a hung server")
			}
		})
	}
}

func TestIntakeWatchdogCutsServerHungMidSession(t *testing.T) {
	srv := startTestIMAP(t, mailtest.IMAPOptions{})
	proxy := startFreezeProxy(t, srv.Addr())
	appendMail(t, srv, testMail(1))
	ti := startIntake(t, proxy.addr(), newMemCheckpoints(), func(o *IntakeOptions) {
		o.CommandTimeout = 500 * time.Millisecond
	})
	waitFor(t, "the first mail", func() bool { return len(ti.rec.uids()) == 1 })

	proxy.freeze() // the session idles; its next command gets no answer
	uid := appendMail(t, srv, testMail(2))
	waitFor(t, "the mail after the hang", func() bool { return len(ti.rec.uids()) == 2 })
	if got := ti.rec.uids(); got[1] != uid {
		t.Errorf("delivered %v", got)
	}
	timeouts := 0
	for _, ev := range ti.events.all(IntakeReconnect) {
		if errors.Is(ev.Err, ErrIMAPTimeout) {
			timeouts++
		}
	}
	if timeouts == 0 {
		t.Error("no session ended by the watchdog")
	}
}

func TestIntakeTruncatesOversizeMail(t *testing.T) {
	srv := startTestIMAP(t, mailtest.IMAPOptions{})
	big := append(testMail(1), bytes.Repeat([]byte("0123456789abcdef\r\n"), 300)...) // ~5.5 kB
	small := testMail(2)
	bigUID := appendMail(t, srv, big)
	appendMail(t, srv, small)
	const limit = 1024
	ti := startIntake(t, srv.Addr(), newMemCheckpoints(), func(o *IntakeOptions) { o.MaxSize = limit })
	waitFor(t, "both mails", func() bool { return len(ti.rec.uids()) == 2 })

	mails := ti.rec.committed()[0].Mails
	if m := mails[0]; m.UID != bigUID || !m.Truncated || len(m.Raw) != limit || !bytes.Equal(m.Raw, big[:limit]) || m.Size != int64(len(big)) {
		t.Errorf("big mail: UID %d truncated %v len %d size %d; want truncated to its first %d bytes, size %d",
			m.UID, m.Truncated, len(m.Raw), m.Size, limit, len(big))
	}
	if m := mails[1]; m.Truncated || !bytes.Equal(m.Raw, small) {
		t.Errorf("small mail truncated %v, raw %q", m.Truncated, m.Raw)
	}
	warns := ti.logs.find(slog.LevelWarn, "larger than the intake limit")
	if len(warns) != 1 || warns[0].attrs["uid"] != "1" || warns[0].attrs["size"] == "" {
		t.Errorf("oversize warnings %+v, want one with uid and size", warns)
	}
	if ev := ti.events.all(IntakeOversize); len(ev) != 1 || ev[0].UID != bigUID || ev[0].Size != int64(len(big)) {
		t.Errorf("oversize events %+v", ev)
	}
}

func TestIntakeBatchesInUIDOrder(t *testing.T) {
	srv := startTestIMAP(t, mailtest.IMAPOptions{})
	for i := 1; i <= 5; i++ {
		appendMail(t, srv, testMail(i))
	}
	ti := startIntake(t, srv.Addr(), newMemCheckpoints(), func(o *IntakeOptions) { o.BatchSize = 2 })
	waitFor(t, "five mails", func() bool { return len(ti.rec.uids()) == 5 })
	var sizes []int
	for _, b := range ti.rec.committed() {
		sizes = append(sizes, len(b.Mails))
	}
	if !slices.Equal(sizes, []int{2, 2, 1}) || !slices.Equal(ti.rec.uids(), []uint32{1, 2, 3, 4, 5}) {
		t.Errorf("batches of %v with UIDs %v, want [2 2 1] of [1 2 3 4 5]", sizes, ti.rec.uids())
	}
}

func TestSplitBatches(t *testing.T) {
	meta := func(sizes ...int64) []mailMeta {
		var l []mailMeta
		for i, s := range sizes {
			l = append(l, mailMeta{uid: uint32(i + 1), size: s})
		}
		return l
	}
	shape := func(bs [][]mailMeta) []int {
		var out []int
		for _, b := range bs {
			out = append(out, len(b))
		}
		return out
	}
	tests := []struct {
		name     string
		metas    []mailMeta
		maxMails int
		maxBytes int64
		maxSize  int64
		want     []int
	}{
		{"nothing", nil, 10, 100, 100, nil},
		{"cut_by_count", meta(1, 1, 1, 1, 1), 2, 100, 100, []int{2, 2, 1}},
		{"cut_by_bytes", meta(40, 40, 40, 40), 10, 100, 100, []int{2, 2}},
		{"oversize_counts_only_max_size", meta(1000, 1000, 1000), 10, 100, 50, []int{2, 1}},
		{"a_mail_bigger_than_the_budget_is_alone", meta(10, 500, 10), 10, 100, 1000, []int{1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := shape(splitBatches(tt.metas, tt.maxMails, tt.maxBytes, tt.maxSize))
			if !slices.Equal(got, tt.want) {
				t.Errorf("batch sizes %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIntakeRunTwiceIsRefused(t *testing.T) {
	srv := startTestIMAP(t, mailtest.IMAPOptions{})
	ti := startIntake(t, srv.Addr(), newMemCheckpoints(), nil)
	waitFor(t, "the first check", func() bool { return ti.events.count(IntakeChecked) >= 1 })
	if err := ti.in.Run(context.Background()); !errors.Is(err, ErrIntakeRunning) {
		t.Fatalf("second Run = %v, want ErrIntakeRunning", err)
	}
}

func TestIntakeLoginRefused(t *testing.T) {
	srv := startTestIMAP(t, mailtest.IMAPOptions{})
	ti := startIntake(t, srv.Addr(), newMemCheckpoints(), func(o *IntakeOptions) { o.Password = "wrong" })
	waitFor(t, "two refused logins", func() bool { return ti.events.count(IntakeReconnect) >= 2 })
	for _, ev := range ti.events.all(IntakeReconnect) {
		if !errors.Is(ev.Err, ErrIMAPLogin) {
			t.Errorf("session ended with %v, want ErrIMAPLogin", ev.Err)
		}
	}
	// Attempts grow while nothing succeeds.
	if ev := ti.events.all(IntakeReconnect); ev[1].Attempt != ev[0].Attempt+1 {
		t.Errorf("attempts %d then %d, want them to count up", ev[0].Attempt, ev[1].Attempt)
	}
}

func BenchmarkIntake(b *testing.B) {
	srv := startTestIMAP(b, mailtest.IMAPOptions{})
	raw := append(testMail(1), bytes.Repeat([]byte("Some text of a typical support mail.\r\n"), 100)...)
	for i := 0; i < b.N; i++ {
		if err := srv.Append(testUser, "INBOX", raw); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	ti := startIntake(b, srv.Addr(), newMemCheckpoints(), func(o *IntakeOptions) { o.Logger = slog.New(slog.DiscardHandler) })
	deadline := time.Now().Add(time.Minute)
	for len(ti.rec.uids()) < b.N {
		if time.Now().After(deadline) {
			b.Fatalf("delivered %d of %d", len(ti.rec.uids()), b.N)
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "mails/s")
	ti.stop(b)
}
