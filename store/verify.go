package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// VerifyResult describes a file that Verify found sound.
type VerifyResult struct {
	Size     int64  // bytes of the file
	PageSize int    // bytes of a page
	Pages    uint64 // pages in use or free; bbolt preallocates the rest of the file
	Free     uint64 // pages on the freelist
	Schema   uint64 // the file's schema version
	Took     time.Duration
}

// Verify checks every page of the database file at path — what Open
// checks and also every leaf page, with every page accounted for as in
// use or free — and then its schema, without writing to it. A damaged
// file gives an error wrapping ErrCorrupt that names the file and the
// first problem found; a file in use by a running helpdeskd gives
// ErrLocked (the daemon checks its own file after each start, see
// VerifyBackground); a newer file gives ErrSchema.
func Verify(path string) (VerifyResult, error) {
	start := time.Now()
	path = filepath.Clean(path)
	var r VerifyResult
	f, err := os.Open(path)
	if err != nil {
		return r, fmt.Errorf("verify %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	switch {
	case err != nil:
		return r, fmt.Errorf("verify %s: %w", path, err)
	case !fi.Mode().IsRegular():
		return r, fmt.Errorf("verify %s: not a regular file", path)
	case fi.Size() == 0:
		return r, damaged("verify", path, errors.New("empty file"))
	}
	lockTimeout := Options{}.withDefaults().LockTimeout
	// The checked pages must stay as they are until bbolt has read the
	// schema: the shared lock is held throughout (bbolt's own read-only
	// lock is shared too).
	if err := lockShared(f, lockTimeout); err != nil {
		if errors.Is(err, ErrLocked) {
			return r, fmt.Errorf("verify %s: %w", path, ErrLocked)
		}
		return r, fmt.Errorf("verify %s: lock: %w", path, err)
	}
	if fi, err = f.Stat(); err != nil {
		return r, fmt.Errorf("verify %s: %w", path, err)
	}
	st, err := checkMapped(f, fi.Size(), fullCheck)
	if err != nil {
		return r, damaged("verify", path, err)
	}
	bdb, err := openBolt(path, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if err != nil {
		err = classifyOpenError(path, err)
		if errors.Is(err, ErrCorrupt) {
			return r, damaged("verify", path, err)
		}
		return r, err
	}
	defer bdb.Close()
	err = bdb.View(func(btx *bolt.Tx) error {
		r.Schema, err = checkSchema(btx, "verify", path)
		return err
	})
	if err != nil {
		return r, err
	}
	r.Size, r.PageSize, r.Pages, r.Free = fi.Size(), int(st.pageSize), st.pages, st.free
	r.Took = time.Since(start)
	return r, nil
}

// Verification is how far a DB's check of every page has come.
type Verification struct {
	// Done is set once every page was checked: at Open for a new file
	// and with VerifyFull, when the background check ends with
	// VerifyBackground; never with VerifyQuick, nor for a background
	// check that Close stopped.
	Done bool
	// Err is the damage the check found, wrapping ErrCorrupt; nil when
	// none (or not done).
	Err   error
	Pages uint64        // pages checked
	Took  time.Duration // of the background check
}

// Verification returns the state of the check of every page.
func (db *DB) Verification() Verification {
	if v := db.verified.Load(); v != nil {
		return *v
	}
	return Verification{}
}

// liveCheck is a background check of an open file (VerifyBackground).
type liveCheck struct {
	stop     chan struct{} // closed by stopAndWait
	stopOnce sync.Once
	done     chan struct{} // closed when the check has ended
}

// stopAndWait ends the check, if one runs, and waits until it has.
func (lc *liveCheck) stopAndWait() {
	if lc == nil {
		return
	}
	lc.stopOnce.Do(func() { close(lc.stop) })
	<-lc.done
}

// liveCheckIdle is how long the background check rests for each unit of
// time it works: at 3 it takes about a quarter of a CPU, so that a daemon
// starting on a large file and a backlog gets on with the backlog. (A
// 3 GB file then takes some 10 s.)
const liveCheckIdle = 3

// pace is the check's stop function: between stretches of pages it rests
// (liveCheckIdle), and it reports whether Close wants it to end.
func (lc *liveCheck) pace() func() bool {
	var timer *time.Timer
	worked := time.Now()
	return func() bool {
		rest := time.Since(worked) * liveCheckIdle
		if timer == nil {
			timer = time.NewTimer(rest)
		} else {
			timer.Reset(rest)
		}
		select {
		case <-lc.stop:
			return true
		case <-timer.C:
		}
		worked = time.Now()
		return false
	}
}

// startLiveCheck starts the full check of the file as of the transaction
// Open left it in. The check reads its own read-only mapping of the file
// while a bbolt read transaction keeps that transaction's pages from
// being reused: bbolt releases the pages a later commit frees only once
// no reader older than that commit is left, and writes new pages only to
// free ones. So the pages it reads are those of one committed state,
// while the daemon goes on writing.
//
// It must be called before anything else uses db: no commit may come
// between Open's checks and the meta page read here.
func (db *DB) startLiveCheck(onDone func(error), hook func(stop <-chan struct{})) {
	fail := func(err error) {
		db.log.Warn("database: background check not started; run `helpdeskd store verify` on a copy or backup",
			"path", db.path, "err", err)
	}
	rtx, err := db.bolt.Begin(false)
	if err != nil {
		fail(err)
		return
	}
	f, err := os.Open(db.path)
	if err != nil {
		_ = rtx.Rollback()
		fail(err)
		return
	}
	size := rtx.Size()
	src, unmap, err := mapFile(f, size)
	if err != nil {
		src, unmap = readerSource{f}, func() {}
	}
	var m boltMeta
	err = faultsAsErrors(func() error {
		var err error
		if m, _, err = chooseMeta(src, size); err == nil && m.txid != uint64(rtx.ID()) {
			err = fmt.Errorf("the meta page of transaction %d is gone", rtx.ID())
		}
		return err
	})
	if err != nil {
		unmap()
		_ = f.Close()
		_ = rtx.Rollback()
		fail(err)
		return
	}
	lc := &liveCheck{stop: make(chan struct{}), done: make(chan struct{})}
	db.verify = lc
	go func() {
		defer close(lc.done)
		if hook != nil {
			hook(lc.stop)
		}
		start := time.Now()
		var st fileStats
		err := faultsAsErrors(func() error {
			var err error
			st, err = checkFrom(src, size, m, fullCheck, lc.pace())
			return err
		})
		unmap()
		_ = f.Close()
		_ = rtx.Rollback()
		took := time.Since(start)
		switch {
		case errors.Is(err, errStopped):
			db.log.Debug("database: background check stopped by Close", "path", db.path)
			return
		case err != nil:
			err = fmt.Errorf("check %s: %w (%v); stop helpdeskd and restore the file from a backup "+
				"(see docs/operations.md, Restore); `helpdeskd store verify FILE` checks a backup first",
				db.path, ErrCorrupt, err)
			db.log.Error("database is damaged", "path", db.path, "err", err, "took", took)
		default:
			db.log.Info("database verified", "path", db.path, "pages", st.pages, "free", st.free, "took", took)
		}
		db.verified.Store(&Verification{Done: true, Err: err, Pages: st.pages, Took: took})
		if onDone != nil {
			onDone(err)
		}
	}()
}
