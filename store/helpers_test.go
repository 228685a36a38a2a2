package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// t0 is the fixed "now" of tests.
var t0 = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

var quiet = slog.New(slog.DiscardHandler)

// holdEnv makes the test binary a helper process that holds a database
// open until its stdin closes (see TestOpenLockedByOtherProcess).
const holdEnv = "HELPDESKD_STORE_TEST_HOLD"

func TestMain(m *testing.M) {
	if path := os.Getenv(holdEnv); path != "" {
		os.Exit(holdLock(path))
	}
	os.Exit(m.Run())
}

func holdLock(path string) int {
	db, err := Open(path, Options{Logger: quiet})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := db.Close(); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	return 0
}

func testOptions() Options {
	return Options{LockTimeout: 200 * time.Millisecond, Now: func() time.Time { return t0 }, Logger: quiet}
}

// openAt opens path with test options and closes it when the test ends.
func openAt(t testing.TB, path string) *DB {
	t.Helper()
	db, err := Open(path, testOptions())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func openTemp(t testing.TB) *DB {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "helpdeskd.db"))
}

func update(t testing.TB, db *DB, fn func(ticket.Tx) error) {
	t.Helper()
	if err := db.Update(fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t testing.TB, db *DB, fn func(ticket.Tx) error) {
	t.Helper()
	if err := db.View(fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// mailText returns n bytes of mail-like text, deterministic per seed:
// words from a small vocabulary compress roughly like real prose.
func mailText(seed uint64, n int) []byte {
	words := []string{"the", "system", "support", "ticket", "please", "error", "after", "update",
		"server", "cannot", "login", "regards", "customer", "version", "restart", "log", "Hello,",
		"we", "see", "again", "since", "Monday", "attached", "screenshot", "thanks", "for", "help"}
	r := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: customer%d@example.com\r\nTo: support@example.net\r\nSubject: Problem %d\r\n"+
		"Message-ID: <%d@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n", seed, seed, seed)
	for col := 0; b.Len() < n; {
		w := words[r.IntN(len(words))]
		b.WriteString(w)
		col += len(w) + 1
		if col > 70 {
			b.WriteString("\r\n")
			col = 0
		} else {
			b.WriteByte(' ')
		}
	}
	return b.Bytes()[:n]
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 2))
	b := make([]byte, n+8)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	return b[:n]
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// boltTx lets tests look at the raw buckets.
type boltTx = bolt.Tx

// realDB writes a database with n mails through the public API and
// returns its closed file.
func realDB(t testing.TB, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "real.db")
	db, err := Open(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		update(t, db, func(tx ticket.Tx) error { return commitMail(tx, uint64(i), mailText(uint64(i), 5000)) })
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// realDBBatched is realDB with 100 mails per transaction, for large files.
func realDBBatched(tb testing.TB, n int) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "big.db")
	db, err := Open(path, testOptions())
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i < n; i += 100 {
		update(tb, db, func(tx ticket.Tx) error {
			for j := i; j < min(i+100, n); j++ {
				if err := commitMail(tx, uint64(j), mailText(uint64(j), 5000)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := db.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// commitMail is what one inbound mail costs the store: a new ticket, its
// first entry, the raw bytes, the thread and dedupe keys, the
// acknowledgement in the outbox and the intake checkpoint.
func commitMail(tx ticket.Tx, uid uint64, raw []byte) error {
	id, err := tx.NextCaseNumber()
	if err != nil {
		return err
	}
	tk := sampleTicket(id)
	msgid := "<" + tk.Case + "." + string(rune('a'+uid%26)) + "@example.com>"
	rawKey := "INBOX/1/" + tk.Case
	for _, err := range []error{
		tx.PutTicket(tk),
		tx.AddEntry(id, &ticket.Entry{Direction: ticket.Inbound, MessageID: msgid, From: tk.Customer,
			Subject: tk.Subject, Date: t0, Received: t0, Text: string(raw[:min(len(raw), 2000)]), RawKey: rawKey}),
		tx.PutRaw(rawKey, raw),
		tx.PutThread(msgid, id),
		tx.MarkSeen(msgid+"|sha256:0123456789abcdef", id),
		tx.Enqueue(&mailer.Envelope{From: "support@example.net", To: []string{tk.Customer},
			Raw: raw[:min(len(raw), 1500)], Purpose: "ack", Case: tk.Case, MessageID: "<ack." + msgid[1:]}),
		tx.SetCheckpoint("INBOX", mailer.Checkpoint{UIDValidity: 1, LastUID: uint32(uid)}),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}
