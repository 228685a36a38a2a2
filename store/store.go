package store

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/helpdeskd/helpdeskd/ticket"
)

// Sentinel errors of Open. They come wrapped with the file's path.
var (
	// ErrLocked: another process (or another DB in this process) has the
	// file open; bbolt's flock did not become free within LockTimeout.
	ErrLocked = errors.New("database is in use by another helpdeskd")
	// ErrCorrupt: the file is not a readable helpdeskd bbolt database.
	// Open never modifies such a file.
	ErrCorrupt = errors.New("database file is corrupt or not a helpdeskd database")
	// ErrSchema: the file was written by a newer helpdeskd.
	ErrSchema = errors.New("database was written by a newer helpdeskd")
	// ErrReadOnly: a write method was called on the Tx of a View.
	ErrReadOnly = errors.New("write in a read-only transaction (use Update)")
)

// Options configure Open. The zero value is ready to use.
type Options struct {
	// LockTimeout is how long Open waits for another process to release
	// the file before failing with ErrLocked. Zero means 1s.
	LockTimeout time.Duration
	// Now is the clock for defaults such as an envelope's Created. Zero
	// means time.Now.
	Now func() time.Time
	// Logger receives one line per open and per outbox state change that
	// an operator may look for. Zero means slog.Default().
	Logger *slog.Logger
	// Verify is how much of an existing file is checked, and when. Zero
	// means VerifyBackground.
	Verify VerifyMode
	// OnVerified, when set, is called once with the result of the
	// background check (VerifyBackground): nil for a sound file, else an
	// error wrapping ErrCorrupt. It is not called for a check that Close
	// stopped. Use it to count and alert; the result is logged anyway.
	// It runs on the checking goroutine and must not call Close.
	OnVerified func(error)

	// liveCheckStarting, when set (by tests), is called by the
	// background check before it reads a page.
	liveCheckStarting func(stop <-chan struct{})
}

// VerifyMode says how much of an existing file Open checks, and when.
// Whatever the mode, a file that Open refuses is never written to.
type VerifyMode int

const (
	// VerifyBackground: Open makes the quick start-up check (meta pages,
	// file length, freelist, bucket roots and branch pages; see
	// quickCheck), and after opening checks every page on a goroutine,
	// holding a read transaction so that the pages it checks stay as
	// they were. A damaged page found then is logged at error level and
	// reported to OnVerified and by Verification. The check paces itself
	// to about a quarter of a CPU (a 3 GB file takes some 10 s). The
	// file is mapped with room to grow by half while it runs: a commit
	// that must grow the mapping further waits for the check to end.
	VerifyBackground VerifyMode = iota
	// VerifyQuick: the quick start-up check only. For short-lived
	// commands on a file that the daemon checks anyway.
	VerifyQuick
	// VerifyFull: every page is checked before bbolt maps the file, as
	// Verify does; Open takes time in proportion to the file's size. For
	// a file that must be known sound before it is used, such as a fresh
	// backup.
	VerifyFull
)

func (o Options) withDefaults() Options {
	if o.LockTimeout <= 0 {
		o.LockTimeout = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// DB is one open helpdeskd database file. It implements ticket.Store,
// mailer.Queue and mailer.Checkpoints and is safe for concurrent use:
// bbolt runs one writer at a time next to any number of readers.
type DB struct {
	bolt   *bolt.DB
	path   string
	now    func() time.Time
	log    *slog.Logger
	verify *liveCheck // the background check; nil when none was started
	// verified is the result of the check of every page, once there is one.
	verified atomic.Pointer[Verification]
}

var _ ticket.Store = (*DB)(nil)

// Path is the file the DB was opened from.
func (db *DB) Path() string { return db.path }

// Close releases the file and its lock. Transactions still running are
// waited for.
func (db *DB) Close() error {
	// A running background check holds a read transaction, which bbolt's
	// Close would wait for.
	db.verify.stopAndWait()
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("close %s: %w", db.path, err)
	}
	return nil
}

// Update runs fn in one durable read-write transaction (fsync on commit).
// If fn returns an error or panics, nothing it did is kept. The Tx must not
// be used after fn returns.
func (db *DB) Update(fn func(ticket.Tx) error) error {
	return db.bolt.Update(func(btx *bolt.Tx) error {
		return fn(&tx{btx: btx, db: db})
	})
}

// View runs fn in a read-only snapshot; write methods of its Tx return
// ErrReadOnly. The Tx must not be used after fn returns.
func (db *DB) View(fn func(ticket.Tx) error) error {
	return db.bolt.View(func(btx *bolt.Tx) error {
		return fn(&tx{btx: btx, db: db})
	})
}
