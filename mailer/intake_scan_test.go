package mailer

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"

	"github.com/helpdeskd/helpdeskd/mailer/mailtest"
)

// fillMailbox appends mails 1..n to INBOX and flags the given ones \Seen,
// as a mailbox that a person has been reading for a while.
func fillMailbox(t testing.TB, srv *mailtest.IMAPServer, n int, seen ...uint32) {
	t.Helper()
	for i := 1; i <= n; i++ {
		if uid := appendMail(t, srv, testMail(i)); uid != uint32(i) {
			t.Fatalf("mail %d got UID %d", i, uid)
		}
	}
	if len(seen) > 0 {
		markSeen(t, srv, "INBOX", seen...)
	}
}

func mailboxUIDs(t testing.TB, srv *mailtest.IMAPServer, mailbox string) []uint32 {
	t.Helper()
	seen, unseen := seenUIDs(t, srv, mailbox)
	all := append(seen, unseen...)
	slices.Sort(all)
	return all
}

func TestIntakeInitialScan(t *testing.T) {
	// INBOX holds 1..6 of which a person read 2, 4 and 5. Later, while
	// intake is down, mail 7 arrives and is read at once in webmail.
	tests := []struct {
		name      string
		mode      InitialScan
		processed string
		first     []uint32   // delivered on first contact
		cp        Checkpoint // then committed (UIDValidity aside)
		leftAlone string     // as logged on first contact
		inbox     []uint32   // left in INBOX at the end
		unseen    []uint32   // of those, without \Seen at the end
	}{
		{"unseen_takes_only_unread_mail", InitialScanUnseen, "", []uint32{1, 3, 6}, Checkpoint{LastUID: 6, InitialUID: 6}, "3", []uint32{1, 2, 3, 4, 5, 6, 7}, nil},
		{"zero_value_is_unseen", "", "", []uint32{1, 3, 6}, Checkpoint{LastUID: 6, InitialUID: 6}, "3", []uint32{1, 2, 3, 4, 5, 6, 7}, nil},
		{"all_takes_every_mail", InitialScanAll, "", []uint32{1, 2, 3, 4, 5, 6}, Checkpoint{LastUID: 6}, "", []uint32{1, 2, 3, 4, 5, 6, 7}, nil},
		{"none_takes_nothing_and_leaves_unread_mail_unread", InitialScanNone, "", nil, Checkpoint{LastUID: 6, InitialUID: 6}, "6", []uint32{1, 2, 3, 4, 5, 6, 7}, []uint32{1, 3, 6}},
		{"unseen_never_moves_mail_left_alone", InitialScanUnseen, "Processed", []uint32{1, 3, 6}, Checkpoint{LastUID: 6, InitialUID: 6}, "3", []uint32{2, 4, 5}, nil},
		{"none_never_moves_mail_left_alone", InitialScanNone, "Processed", nil, Checkpoint{LastUID: 6, InitialUID: 6}, "6", []uint32{1, 2, 3, 4, 5, 6}, []uint32{1, 3, 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startTestIMAP(t, mailtest.IMAPOptions{})
			fillMailbox(t, srv, 6, 2, 4, 5)
			cps := newMemCheckpoints()
			tweak := func(o *IntakeOptions) { o.InitialScan, o.ProcessedMailbox = tt.mode, tt.processed }

			ti := startIntake(t, srv.Addr(), cps, tweak)
			waitFor(t, "two checks", func() bool { return ti.events.count(IntakeChecked) >= 2 })
			if got := ti.rec.uids(); !slices.Equal(got, tt.first) {
				t.Errorf("first contact delivered %v, want %v", got, tt.first)
			}
			cp, _ := cps.Checkpoint("INBOX")
			if cp.UIDValidity == 0 || cp.LastUID != tt.cp.LastUID || cp.InitialUID != tt.cp.InitialUID || cp.Scanning {
				t.Errorf("checkpoint %+v, want %+v under the mailbox's UIDVALIDITY", cp, tt.cp)
			}
			logs := ti.logs.find(slog.LevelInfo, "first contact with mailbox INBOX")
			if len(logs) != 1 || logs[0].attrs["left_alone"] != tt.leftAlone {
				t.Errorf("first-contact info logs %+v, want one with left_alone=%q", logs, tt.leftAlone)
			}
			ti.stop(t)

			uid := appendMail(t, srv, testMail(7))
			markSeen(t, srv, "INBOX", uid)
			again := startIntake(t, srv.Addr(), cps, tweak)
			waitFor(t, "the mail that arrived while intake was down", func() bool { return len(again.rec.uids()) == 1 })
			waitFor(t, "two more checks", func() bool { return again.events.count(IntakeChecked) >= 2 })
			if got := again.rec.uids(); !slices.Equal(got, []uint32{uid}) {
				t.Errorf("after the restart delivered %v, want only [%d]", got, uid)
			}
			if got := mailboxUIDs(t, srv, "INBOX"); !slices.Equal(got, tt.inbox) {
				t.Errorf("INBOX holds %v, want %v", got, tt.inbox)
			}
			if _, got := seenUIDs(t, srv, "INBOX"); !slices.Equal(got, tt.unseen) {
				t.Errorf("unseen in INBOX: %v, want %v", got, tt.unseen)
			}
		})
	}
}

func TestIntakeInitialScanOfEmptyMailbox(t *testing.T) {
	// The place is recorded on first contact even when there is nothing:
	// a mail that arrives while intake is down and is read before it
	// comes back is still new mail.
	for _, mode := range []InitialScan{InitialScanUnseen, InitialScanAll, InitialScanNone} {
		t.Run(string(mode), func(t *testing.T) {
			srv := startTestIMAP(t, mailtest.IMAPOptions{})
			cps := newMemCheckpoints()
			tweak := func(o *IntakeOptions) { o.InitialScan = mode }
			ti := startIntake(t, srv.Addr(), cps, tweak)
			waitFor(t, "the first check", func() bool { return ti.events.count(IntakeChecked) >= 1 })
			first := appendMail(t, srv, testMail(1))
			waitFor(t, "the mail that arrived after first contact", func() bool { return len(ti.rec.uids()) == 1 })
			ti.stop(t)

			second := appendMail(t, srv, testMail(2))
			markSeen(t, srv, "INBOX", second)
			again := startIntake(t, srv.Addr(), cps, tweak)
			waitFor(t, "the mail read while intake was down", func() bool { return len(again.rec.uids()) == 1 })
			if got := append(ti.rec.uids(), again.rec.uids()...); !slices.Equal(got, []uint32{first, second}) {
				t.Errorf("delivered %v, want [%d %d]", got, first, second)
			}
		})
	}
}

func TestIntakeInitialScanSurvivesCrash(t *testing.T) {
	// INBOX holds 1..10 of which 2, 5 and 7 were read; batches of three,
	// so the unseen ones come as [1 3 4] [6 8 9] [10], and 10 is also the
	// highest UID of first contact.
	wantAll := []uint32{1, 3, 4, 6, 8, 9, 10}
	tests := []struct {
		name string
		call int  // the Handler call of the first intake that goes wrong
		dies bool // it commits, then the process dies before flagging; else it fails
		// firstLast is the checkpoint's LastUID the first intake leaves.
		firstLast uint32
	}{
		{"handler_fails_on_the_second_batch", 2, false, 4},
		{"process_dies_between_commit_and_flag", 2, true, 9},
		{"process_dies_before_flagging_the_last_unseen_mail", 3, true, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startTestIMAP(t, mailtest.IMAPOptions{})
			fillMailbox(t, srv, 10, 2, 5, 7)
			cps := newMemCheckpoints()
			died, die := context.WithCancel(context.Background())
			defer die()
			first := startIntake(t, srv.Addr(), cps, func(o *IntakeOptions) {
				o.BatchSize = 3
				inner, calls := o.Handler, 0
				o.Handler = func(ctx context.Context, b Batch) error {
					if calls++; calls < tt.call {
						return inner(ctx, b)
					}
					if !tt.dies {
						return errors.New("disk full")
					}
					if err := inner(ctx, b); err != nil {
						return err
					}
					die() // committed; Run is stopped before it flags
					<-ctx.Done()
					return ctx.Err()
				}
			})
			waitFor(t, "the first intake to go wrong", func() bool {
				return died.Err() != nil || first.events.count(IntakeHandlerError) >= 2
			})
			first.stop(t)
			cp, _ := cps.Checkpoint("INBOX")
			if cp.LastUID != tt.firstLast || cp.InitialUID != 10 || !cp.Scanning {
				t.Fatalf("checkpoint after the first intake %+v, want LastUID %d, InitialUID 10, still scanning", cp, tt.firstLast)
			}

			again := startIntake(t, srv.Addr(), cps, func(o *IntakeOptions) { o.BatchSize = 3 })
			waitFor(t, "the scan to finish", func() bool {
				cp, _ := cps.Checkpoint("INBOX")
				return cp.LastUID == 10 && !cp.Scanning
			})
			waitFor(t, "another check", func() bool { return again.events.count(IntakeChecked) >= 2 })
			got := append(first.rec.uids(), again.rec.uids()...)
			if !slices.Equal(got, wantAll) {
				t.Errorf("delivered %v over both runs, want %v: each unseen mail once, no read one", got, wantAll)
			}
			if _, unseen := seenUIDs(t, srv, "INBOX"); len(unseen) != 0 {
				t.Errorf("mails %v left unflagged after the scan", unseen)
			}
			if len(again.logs.find(slog.LevelInfo, "resuming the first scan of mailbox INBOX")) != 1 {
				t.Error("the resumed scan was not logged")
			}
			if n := again.rec.moveCount(); n != 1 {
				t.Errorf("%d checkpoint-only commits, want 1 at the end of the scan", n)
			}
		})
	}
}

func TestIntakeInitialScanAfterUIDValidityChange(t *testing.T) {
	// A renumbered mailbox is met anew: with "unseen" only the mail nobody
	// has read yet is taken, not everything that was left alone before.
	srv := startTestIMAP(t, mailtest.IMAPOptions{})
	fillMailbox(t, srv, 3, 2)
	cps := newMemCheckpoints()
	ti := startIntake(t, srv.Addr(), cps, nil)
	waitFor(t, "the unseen mails", func() bool { return slices.Equal(ti.rec.uids(), []uint32{1, 3}) })
	ti.stop(t)

	if err := srv.RecreateMailbox(testUser, "INBOX"); err != nil {
		t.Fatal(err)
	}
	fillMailbox(t, srv, 4, 1, 2, 3) // the old three, read, and one new
	again := startIntake(t, srv.Addr(), cps, nil)
	waitFor(t, "the new mail", func() bool { return len(again.rec.uids()) >= 1 })
	waitFor(t, "another check", func() bool { return again.events.count(IntakeChecked) >= 2 })
	if got := again.rec.uids(); !slices.Equal(got, []uint32{4}) {
		t.Errorf("after the UIDVALIDITY change delivered %v, want [4]", got)
	}
	if len(again.logs.find(slog.LevelWarn, "UIDVALIDITY changed, reading the mailbox as on first contact")) != 1 {
		t.Error("the UIDVALIDITY change was not logged once")
	}
}

func TestBatchCheckpoint(t *testing.T) {
	mails := func(uids ...uint32) []Fetched {
		var out []Fetched
		for _, u := range uids {
			out = append(out, Fetched{UID: u})
		}
		return out
	}
	tests := []struct {
		name string
		b    Batch
		want Checkpoint
	}{
		{"highest_uid_of_the_mails", Batch{UIDValidity: 7, Mails: mails(3, 5, 4)}, Checkpoint{UIDValidity: 7, LastUID: 5}},
		{"base_beyond_the_mails", Batch{UIDValidity: 7, Mails: mails(3), base: Checkpoint{LastUID: 9, InitialUID: 9}}, Checkpoint{UIDValidity: 7, LastUID: 9, InitialUID: 9}},
		{"base_below_the_mails_keeps_them_covered", Batch{UIDValidity: 7, Mails: mails(12), base: Checkpoint{LastUID: 9, InitialUID: 9}}, Checkpoint{UIDValidity: 7, LastUID: 12, InitialUID: 9}},
		{"scan_state_is_carried", Batch{UIDValidity: 7, Mails: mails(4), base: Checkpoint{InitialUID: 9, Scanning: true}}, Checkpoint{UIDValidity: 7, LastUID: 4, InitialUID: 9, Scanning: true}},
		{"no_mails_only_moves", Batch{UIDValidity: 7, base: Checkpoint{UIDValidity: 3, LastUID: 9, InitialUID: 9}}, Checkpoint{UIDValidity: 7, LastUID: 9, InitialUID: 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.b.Checkpoint(); got != tt.want {
				t.Errorf("Checkpoint() = %+v, want %+v", got, tt.want)
			}
		})
	}
}
