package store

import (
	"bytes"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/ticket"
)

func sampleTicket(id uint64) *ticket.Ticket {
	return &ticket.Ticket{
		ID: id, Case: ticket.FormatCase("HD", id), Subject: "Printer on fire",
		Customer: "ola@example.com", Participants: []string{"ola@example.com", "kari@example.com"},
		State: ticket.StateNew, Priority: 2, Language: "nb", Created: t0, Updated: t0.Add(time.Minute),
		LastInbound: "<a1@example.com>", Flags: []string{"oversize"},
		Events:       []ticket.Event{{At: t0, What: "created"}, {At: t0.Add(time.Minute), What: "ack-sent", Detail: "HD-000001"}},
		MessageCount: 1,
	}
}

func TestTicketRoundTrip(t *testing.T) {
	db := openTemp(t)
	want := sampleTicket(7)
	update(t, db, func(tx ticket.Tx) error { return tx.PutTicket(want) })
	view(t, db, func(tx ticket.Tx) error {
		got, err := tx.Ticket(7)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Ticket(7) = %+v\nwant %+v", got, want)
		}
		if _, err := tx.Ticket(8); !errors.Is(err, ticket.ErrNotFound) {
			t.Errorf("Ticket(8) error = %v, want ErrNotFound", err)
		}
		return nil
	})
	err := db.Update(func(tx ticket.Tx) error { return tx.PutTicket(&ticket.Ticket{Subject: "no id"}) })
	if err == nil {
		t.Error("PutTicket without ID succeeded")
	}
}

func TestForEachTicketInIDOrder(t *testing.T) {
	db := openTemp(t)
	ids := []uint64{300, 3, 1, 256, 2}
	update(t, db, func(tx ticket.Tx) error {
		for _, id := range ids {
			if err := tx.PutTicket(sampleTicket(id)); err != nil {
				return err
			}
		}
		return nil
	})
	var got []uint64
	view(t, db, func(tx ticket.Tx) error {
		return tx.ForEachTicket(func(tk *ticket.Ticket) error { got = append(got, tk.ID); return nil })
	})
	if want := []uint64{1, 2, 3, 256, 300}; !reflect.DeepEqual(got, want) {
		t.Errorf("ForEachTicket order = %v, want %v", got, want)
	}

	stop := errors.New("stop")
	n := 0
	err := db.View(func(tx ticket.Tx) error {
		return tx.ForEachTicket(func(*ticket.Ticket) error { n++; return stop })
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("ForEachTicket with failing fn: err %v after %d calls, want stop after 1", err, n)
	}
}

func TestCaseNumbers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "helpdeskd.db")
	db := openAt(t, path)
	next := func(db *DB) uint64 {
		var n uint64
		update(t, db, func(tx ticket.Tx) (err error) { n, err = tx.NextCaseNumber(); return err })
		return n
	}
	for want := uint64(1); want <= 3; want++ {
		if got := next(db); got != want {
			t.Fatalf("NextCaseNumber = %d, want %d", got, want)
		}
	}

	outer := t
	t.Run("survive_reopen", func(t *testing.T) {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db = openAt(outer, path)
		if got := next(db); got != 4 {
			t.Errorf("after reopen NextCaseNumber = %d, want 4", got)
		}
	})
	t.Run("not_below_a_stored_ticket", func(t *testing.T) {
		update(t, db, func(tx ticket.Tx) error { return tx.PutTicket(sampleTicket(10)) })
		if got := next(db); got != 11 {
			t.Errorf("after PutTicket(10) NextCaseNumber = %d, want 11", got)
		}
	})
}

func TestEntries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "helpdeskd.db")
	db := openAt(t, path)
	add := func(db *DB, id uint64, subject string) uint32 {
		e := &ticket.Entry{Direction: ticket.Inbound, MessageID: "<" + subject + "@x>", Subject: subject,
			From: "ola@example.com", To: []string{"support@example.net"}, Date: t0, Received: t0, Text: "hi"}
		update(t, db, func(tx ticket.Tx) error { return tx.AddEntry(id, e) })
		return e.Seq
	}
	// Interleaved tickets, including neighbours in key space and the
	// largest ID, each numbered from 1 on its own.
	steps := []struct {
		id      uint64
		subject string
		seq     uint32
	}{
		{1, "a1", 1}, {2, "b1", 1}, {1, "a2", 2}, {256, "c1", 1}, {2, "b2", 2}, {1, "a3", 3},
		{math.MaxUint64, "z1", 1}, {math.MaxUint64, "z2", 2}, {255, "d1", 1},
	}
	for _, s := range steps {
		if got := add(db, s.id, s.subject); got != s.seq {
			t.Fatalf("AddEntry(%d, %s).Seq = %d, want %d", s.id, s.subject, got, s.seq)
		}
	}
	subjects := func(db *DB, id uint64) string {
		var out []string
		view(t, db, func(tx ticket.Tx) error {
			es, err := tx.Entries(id)
			for i, e := range es {
				if e.Seq != uint32(i+1) {
					t.Errorf("ticket %d entry %d has Seq %d", id, i, e.Seq)
				}
				out = append(out, e.Subject)
			}
			return err
		})
		return strings.Join(out, ",")
	}
	want := map[uint64]string{1: "a1,a2,a3", 2: "b1,b2", 3: "", 255: "d1", 256: "c1", math.MaxUint64: "z1,z2"}
	for id, w := range want {
		if got := subjects(db, id); got != w {
			t.Errorf("Entries(%d) = %q, want %q", id, got, w)
		}
	}
	// Newest first, as far as the caller wants.
	newest := func(id uint64, limit int) string {
		var out []string
		view(t, db, func(tx ticket.Tx) error {
			nf, ok := tx.(interface {
				EntriesNewestFirst(uint64, func(*ticket.Entry) bool) error
			})
			if !ok {
				t.Fatal("the store's Tx has no EntriesNewestFirst")
			}
			return nf.EntriesNewestFirst(id, func(e *ticket.Entry) bool {
				out = append(out, e.Subject)
				return len(out) < limit
			})
		})
		return strings.Join(out, ",")
	}
	for id, w := range map[uint64]string{1: "a3,a2,a1", 2: "b2,b1", 3: "", 255: "d1", 256: "c1", math.MaxUint64: "z2,z1"} {
		if got := newest(id, 10); got != w {
			t.Errorf("EntriesNewestFirst(%d) = %q, want %q", id, got, w)
		}
	}
	if got := newest(1, 2); got != "a3,a2" {
		t.Errorf("EntriesNewestFirst(1) stopped after 2 = %q, want a3,a2", got)
	}

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, path)
	if got := add(db, 1, "a4"); got != 4 {
		t.Errorf("after reopen AddEntry.Seq = %d, want 4", got)
	}
	view(t, db, func(tx ticket.Tx) error {
		es, err := tx.Entries(1)
		if err == nil && !reflect.DeepEqual(es[0].To, []string{"support@example.net"}) {
			t.Errorf("entry fields lost: %+v", es[0])
		}
		return err
	})
}

func TestRaw(t *testing.T) {
	t.Parallel()
	db := openTemp(t)
	cases := []struct {
		name string
		raw  []byte
	}{
		{"small_text", mailText(1, 5000)},
		{"empty", []byte{}},
		{"incompressible", randomBytes(2, 100_000)},
		// Repetitive, so that flate runs fast under the race detector.
		{"30_MB_mail", bytes.Repeat(mailText(3, 5000), 30<<20/5000)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			update(t, db, func(tx ticket.Tx) error { return tx.PutRaw("raw/"+c.name, c.raw) })
			view(t, db, func(tx ticket.Tx) error {
				got, err := tx.Raw("raw/" + c.name)
				if err != nil {
					return err
				}
				if !bytes.Equal(got, c.raw) {
					t.Errorf("Raw returned %d bytes, not the %d stored", len(got), len(c.raw))
				}
				return nil
			})
		})
	}
	t.Run("compressed_on_disk", func(t *testing.T) {
		raw := mailText(4, 200_000)
		update(t, db, func(tx ticket.Tx) error { return tx.PutRaw("big", raw) })
		_ = db.bolt.View(func(btx *boltTx) error {
			v := btx.Bucket(bucketRaw).Get([]byte("big"))
			if v[0] != codecDeflate || len(v) > len(raw)/2 {
				t.Errorf("stored %d bytes with codec %d for %d bytes of text", len(v), v[0], len(raw))
			}
			v = btx.Bucket(bucketRaw).Get([]byte("raw/incompressible"))
			if v[0] != codecStored {
				t.Errorf("incompressible bytes stored with codec %d", v[0])
			}
			return nil
		})
	})
	t.Run("missing", func(t *testing.T) {
		view(t, db, func(tx ticket.Tx) error {
			if _, err := tx.Raw("nope"); !errors.Is(err, ticket.ErrNotFound) {
				t.Errorf("Raw(nope) error = %v, want ErrNotFound", err)
			}
			return nil
		})
	})
}

// TestKeyedIndexes covers the string-keyed buckets: msgid, seen, intake
// and autoreply.
func TestKeyedIndexes(t *testing.T) {
	db := openTemp(t)
	long1 := "<" + strings.Repeat("x", 40_000) + "1@example.com>"
	long2 := "<" + strings.Repeat("x", 40_000) + "2@example.com>"
	var win ticket.RateWindow
	win.Add(t0)
	win.Add(t0.Add(time.Minute))
	update(t, db, func(tx ticket.Tx) error {
		for _, err := range []error{
			tx.PutThread("<A@example.com>", 1),
			tx.PutThread("<a@example.com>", 2),
			tx.PutThread(long1, 3),
			tx.PutThread(long2, 4),
			tx.MarkSeen("<A@example.com>|sha256:ab", 1),
			tx.SetCheckpoint("INBOX", mailer.Checkpoint{UIDValidity: 7, LastUID: 42}),
			tx.SetRateWindow("ola@example.com", win),
			tx.SetRateWindow("*", win),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	})

	view(t, db, func(tx ticket.Tx) error {
		for key, want := range map[string]uint64{"<A@example.com>": 1, "<a@example.com>": 2, long1: 3, long2: 4} {
			if got, err := tx.ThreadTicket(key); err != nil || got != want {
				t.Errorf("ThreadTicket(%.20q) = %d, %v; want %d", key, got, err, want)
			}
		}
		if _, err := tx.ThreadTicket("<b@example.com>"); !errors.Is(err, ticket.ErrNotFound) {
			t.Errorf("ThreadTicket(unknown) error = %v, want ErrNotFound", err)
		}
		if id, ok, err := tx.Seen("<A@example.com>|sha256:ab"); err != nil || !ok || id != 1 {
			t.Errorf("Seen(known) = %d, %v, %v", id, ok, err)
		}
		if _, ok, err := tx.Seen("<a@example.com>|sha256:ab"); err != nil || ok {
			t.Errorf("Seen(other case) = %v, %v; want not seen", ok, err)
		}
		if c, err := tx.Checkpoint("INBOX"); err != nil || c != (mailer.Checkpoint{UIDValidity: 7, LastUID: 42}) {
			t.Errorf("Checkpoint(INBOX) = %+v, %v", c, err)
		}
		if c, err := tx.Checkpoint("Other"); err != nil || c != (mailer.Checkpoint{}) {
			t.Errorf("Checkpoint(Other) = %+v, %v; want zero", c, err)
		}
		if got, err := tx.RateWindow("ola@example.com"); err != nil || got != win {
			t.Errorf("RateWindow = %v, %v; want %v", got, err, win)
		}
		if got, err := tx.RateWindow("kari@example.com"); err != nil || !got.Empty() {
			t.Errorf("RateWindow(unknown) = %v, %v; want empty", got, err)
		}
		return nil
	})

	if c, err := db.Checkpoint("INBOX"); err != nil || c.LastUID != 42 {
		t.Errorf("DB.Checkpoint(INBOX) = %+v, %v", c, err)
	}
	update(t, db, func(tx ticket.Tx) error {
		if err := tx.SetCheckpoint("INBOX", mailer.Checkpoint{UIDValidity: 8, LastUID: 1}); err != nil {
			return err
		}
		return tx.SetRateWindow("ola@example.com", ticket.RateWindow{})
	})
	if c, err := db.Checkpoint("INBOX"); err != nil || c != (mailer.Checkpoint{UIDValidity: 8, LastUID: 1}) {
		t.Errorf("overwritten checkpoint = %+v, %v", c, err)
	}
	_ = db.bolt.View(func(btx *boltTx) error {
		if v := btx.Bucket(bucketAutoReply).Get([]byte("ola@example.com")); v != nil {
			t.Errorf("SetRateWindow(empty) left %q", v)
		}
		return nil
	})

	err := db.Update(func(tx ticket.Tx) error { return tx.PutThread("", 1) })
	if !errors.Is(err, errEmptyKey) {
		t.Errorf("PutThread(\"\") error = %v, want empty key", err)
	}
}

func TestWritesInViewFail(t *testing.T) {
	db := openTemp(t)
	writes := map[string]func(ticket.Tx) error{
		"NextCaseNumber":      func(tx ticket.Tx) error { _, err := tx.NextCaseNumber(); return err },
		"PutTicket":           func(tx ticket.Tx) error { return tx.PutTicket(sampleTicket(1)) },
		"AddEntry":            func(tx ticket.Tx) error { return tx.AddEntry(1, &ticket.Entry{}) },
		"PutRaw":              func(tx ticket.Tx) error { return tx.PutRaw("k", []byte("x")) },
		"PutThread":           func(tx ticket.Tx) error { return tx.PutThread("<m@x>", 1) },
		"MarkSeen":            func(tx ticket.Tx) error { return tx.MarkSeen("k", 1) },
		"Enqueue":             func(tx ticket.Tx) error { return tx.Enqueue(&mailer.Envelope{}) },
		"SetCheckpoint":       func(tx ticket.Tx) error { return tx.SetCheckpoint("INBOX", mailer.Checkpoint{}) },
		"SetRateWindow":       func(tx ticket.Tx) error { w := ticket.RateWindow{}; w.Add(t0); return tx.SetRateWindow("k", w) },
		"SetRateWindow_empty": func(tx ticket.Tx) error { return tx.SetRateWindow("k", ticket.RateWindow{}) },
	}
	for name, write := range writes {
		t.Run(name, func(t *testing.T) {
			err := db.View(write)
			if !errors.Is(err, ErrReadOnly) {
				t.Errorf("%s in View: error = %v, want ErrReadOnly", name, err)
			}
		})
	}
}

// writeEverything touches every bucket through Tx.
func writeEverything(tx ticket.Tx, n uint64) error {
	id, err := tx.NextCaseNumber()
	if err != nil {
		return err
	}
	for _, err := range []error{
		tx.PutTicket(sampleTicket(id)),
		tx.AddEntry(id, &ticket.Entry{Subject: "s"}),
		tx.PutRaw("raw", []byte("mail")),
		tx.PutThread("<m@x>", id),
		tx.MarkSeen("seen", id),
		tx.Enqueue(&mailer.Envelope{To: []string{"ola@example.com"}, Raw: []byte("ack")}),
		tx.SetCheckpoint("INBOX", mailer.Checkpoint{UIDValidity: 1, LastUID: uint32(n)}),
		tx.SetRateWindow("ola@example.com", oneReply()),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

func TestFailedUpdateLeavesNothing(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name string
		fn   func(ticket.Tx) error
	}{
		{"error", func(tx ticket.Tx) error {
			if err := writeEverything(tx, 1); err != nil {
				return err
			}
			return boom
		}},
		{"panic", func(tx ticket.Tx) error {
			if err := writeEverything(tx, 1); err != nil {
				return err
			}
			panic(boom)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := openTemp(t)
			func() {
				defer func() {
					if r := recover(); r != nil && r != boom {
						panic(r)
					}
				}()
				if err := db.Update(c.fn); !errors.Is(err, boom) {
					t.Errorf("Update error = %v, want boom", err)
				}
			}()
			view(t, db, func(tx ticket.Tx) error {
				n := 0
				_ = tx.ForEachTicket(func(*ticket.Ticket) error { n++; return nil })
				es, _ := tx.Entries(1)
				_, rawErr := tx.Raw("raw")
				_, threadErr := tx.ThreadTicket("<m@x>")
				_, seen, _ := tx.Seen("seen")
				cp, _ := tx.Checkpoint("INBOX")
				ar, _ := tx.RateWindow("ola@example.com")
				if n != 0 || len(es) != 0 || rawErr == nil || threadErr == nil || seen || cp != (mailer.Checkpoint{}) || !ar.Empty() {
					t.Errorf("failed Update left data: tickets %d, entries %d, raw %v, thread %v, seen %v, checkpoint %+v, autoreplies %v",
						n, len(es), rawErr, threadErr, seen, cp, ar)
				}
				return nil
			})
			if _, ok, err := db.Next(); ok || err != nil {
				t.Errorf("failed Update left an outbox envelope (err %v)", err)
			}
			// The case number taken by the failed transaction was never
			// used, so it is handed out again.
			update(t, db, func(tx ticket.Tx) error {
				if n, err := tx.NextCaseNumber(); err != nil || n != 1 {
					t.Errorf("NextCaseNumber after rollback = %d, %v; want 1", n, err)
				}
				return nil
			})
		})
	}
}

func oneReply() ticket.RateWindow {
	var w ticket.RateWindow
	w.Add(t0)
	return w
}
