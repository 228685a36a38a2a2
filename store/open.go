package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Open opens the database at path, creating it (mode 0600, parent
// directory 0700) and its buckets on first use.
//
// An existing file is first checked (quickCheck: meta pages, length,
// freelist, bucket roots and branch pages; everything with VerifyFull)
// from a read-only mapping, so that a corrupt or truncated file is
// reported as ErrCorrupt without a single byte written to it; only then
// does bbolt open it. With VerifyBackground, the default, every other
// page is checked after Open has returned (see Verification). A file held
// by another process gives ErrLocked after Options.LockTimeout instead of
// a hang, and one from a newer helpdeskd gives ErrSchema.
func Open(path string, o Options) (*DB, error) {
	o = o.withDefaults()
	if path == "" {
		return nil, errors.New("open: empty database path")
	}
	path = filepath.Clean(path)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	depth := quickCheck
	if o.Verify == VerifyFull {
		depth = fullCheck
	}
	var st fileStats
	fi, err := os.Stat(path)
	switch {
	case err == nil && !fi.Mode().IsRegular():
		return nil, fmt.Errorf("open %s: not a regular file", path)
	case err == nil && fi.Size() > 0:
		if st, err = checkPath("open", path, o.LockTimeout, depth); err != nil {
			return nil, err
		}
	case err == nil, errors.Is(err, fs.ErrNotExist):
		// New or empty file: bbolt writes its first pages.
	default:
		return nil, fmt.Errorf("open %s: %w", path, err)
	}

	bo := &bolt.Options{Timeout: o.LockTimeout}
	if o.Verify == VerifyBackground && fi != nil && fi.Size() > 0 {
		// The background check holds a read transaction, and bbolt
		// remaps a growing file only when no transaction is open: map
		// room to grow from the start, so that commits do not wait for
		// the check. (Address space only; pages are read on use.)
		bo.InitialMmapSize = mmapRoom(fi.Size())
	}
	bdb, err := openBolt(path, bo)
	if err != nil {
		return nil, classifyOpenError(path, err)
	}
	db := &DB{bolt: bdb, path: path, now: o.Now, log: o.Logger}
	created, err := db.initSchema()
	if err != nil {
		_ = bdb.Close()
		return nil, err
	}
	if st.validMetas == 1 {
		db.log.Warn("one of the database's two meta pages is damaged; bbolt opened the file as of the other "+
			"(after a crash, the last transaction may have been rolled back); the next commit rewrites it", "path", path)
	}
	check := "full"
	switch {
	case created:
		db.verified.Store(&Verification{Done: true})
	case depth == fullCheck:
		db.verified.Store(&Verification{Done: true, Pages: st.pages})
	case o.Verify == VerifyBackground:
		check = "quick, full in background"
		db.startLiveCheck(o.OnVerified, o.liveCheckStarting)
	default:
		check = "quick"
	}
	db.log.Info("database opened", "path", path, "schema", SchemaVersion, "created", created, "check", check)
	return db, nil
}

// mmapRoom is the initial mapping of a file of size bytes under a
// background check: half as much again, and at least 64 MiB more. On
// 32-bit systems address space is short: bbolt's default stands there.
func mmapRoom(size int64) int {
	if strconv.IntSize < 64 {
		return 0
	}
	return int(size + max(size/2, 64<<20))
}

// errPanicked marks a bbolt panic (or memory fault) while reading a file.
var errPanicked = errors.New("bbolt panicked")

// openBolt is bolt.Open that survives what checkPath cannot rule out
// (the file changing between the check and the open): bbolt panics on
// malformed pages, and a page beyond the end of a file faults (SIGBUS)
// when touched through the mmap. Both become an error. After such a panic
// the file is closed; its mapping is leaked and keeps the lock until the
// process exits, acceptable because Open has failed for good.
func openBolt(path string, bo *bolt.Options) (db *bolt.DB, err error) {
	var f *os.File
	bo.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		var err error
		f, err = os.OpenFile(name, flag, perm)
		return f, err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if f != nil {
				_ = f.Close()
			}
			db, err = nil, fmt.Errorf("%w: %v", errPanicked, r)
		}
	}()
	return bolt.Open(path, 0o600, bo)
}

func classifyOpenError(path string, err error) error {
	var pathErr *fs.PathError
	var errno syscall.Errno
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("open %s: %w", path, ErrLocked)
	case errors.As(err, &pathErr), errors.As(err, &errno):
		// Permissions, I/O, out of memory: the file may well be fine.
		return fmt.Errorf("open %s: %w", path, err)
	default:
		return corruptError(path, err)
	}
}

func corruptError(path string, cause error) error { return damaged("open", path, cause) }

// damaged is the ErrCorrupt of a file that op found damaged before
// anything was written to it.
func damaged(op, path string, cause error) error {
	return fmt.Errorf("%s %s: %w (%v); the file was left unchanged: "+
		"restore it from a backup made with `helpdeskd backup`, or move it aside to start empty",
		op, path, ErrCorrupt, cause)
}

// checkPath checks the file at path to depth before bbolt maps it, under
// a shared lock (so a running daemon still gives ErrLocked, and no writer
// changes the file while it is read). op names the operation in errors.
func checkPath(op, path string, lockTimeout time.Duration, depth checkDepth) (fileStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return fileStats{}, fmt.Errorf("%s %s: %w", op, path, err)
	}
	defer f.Close()
	if err := lockShared(f, lockTimeout); err != nil {
		if errors.Is(err, ErrLocked) {
			return fileStats{}, fmt.Errorf("%s %s: %w", op, path, ErrLocked)
		}
		return fileStats{}, fmt.Errorf("%s %s: lock: %w", op, path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return fileStats{}, fmt.Errorf("%s %s: %w", op, path, err)
	}
	if fi.Size() == 0 {
		return fileStats{}, nil // bbolt initializes an empty file
	}
	st, err := checkMapped(f, fi.Size(), depth)
	if err != nil {
		return st, damaged(op, path, err)
	}
	return st, nil
}

// checkMapped runs checkFile on a read-only mapping of f (falling back
// to ReadAt). The check never touches bytes past the end of the file, but
// another program could truncate it meanwhile: the SIGBUS that would then
// follow becomes an error here instead of a crash.
func checkMapped(f *os.File, size int64, depth checkDepth) (fileStats, error) {
	src, unmap, err := mapFile(f, size)
	if err != nil {
		src, unmap = readerSource{f}, func() {}
	}
	defer unmap()
	var st fileStats
	err = faultsAsErrors(func() error {
		var err error
		st, err = checkFile(src, size, depth, nil)
		return err
	})
	return st, err
}

// faultsAsErrors runs fn, turning a panic or a memory fault in it (a
// mapped page that has gone) into an error.
func faultsAsErrors(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reading the file failed: %v", r)
		}
	}()
	return fn()
}

func hasBuckets(btx *bolt.Tx) bool {
	found := errors.New("found")
	return btx.ForEach(func([]byte, *bolt.Bucket) error { return found }) != nil
}

// maxPlausibleSchema tells a newer schema from a damaged version field.
const maxPlausibleSchema = 1 << 16

// errNoChange rolls back an initSchema transaction that had nothing to do,
// so that opening an up-to-date file does not write to it.
var errNoChange = errors.New("no change")

// initSchema checks the schema version and creates what is missing. It
// reports whether the file was new. A newer schema is refused before
// anything is written.
func (db *DB) initSchema() (created bool, err error) {
	err = db.bolt.Update(func(btx *bolt.Tx) error {
		if btx.Bucket(bucketMeta) == nil && !hasBuckets(btx) {
			created = true
		} else {
			if _, err := checkSchema(btx, "open", db.path); err != nil {
				return err
			}
			return errNoChange
		}
		for _, name := range topBuckets {
			if _, err := btx.CreateBucket(name); err != nil {
				return err
			}
		}
		meta := btx.Bucket(bucketMeta)
		if _, err := meta.CreateBucket(bucketCases); err != nil {
			return err
		}
		return meta.Put(keySchemaVersion, u64(SchemaVersion))
	})
	if errors.Is(err, errNoChange) {
		err = nil
	}
	return created, err
}

// checkSchema checks that btx is a helpdeskd database this code can use,
// and returns its schema version. op names the operation in errors.
func checkSchema(btx *bolt.Tx, op, path string) (uint64, error) {
	meta := btx.Bucket(bucketMeta)
	if meta == nil {
		return 0, damaged(op, path, errors.New("bbolt file without helpdeskd's meta bucket"))
	}
	v := meta.Get(keySchemaVersion)
	if v == nil {
		return 0, damaged(op, path, errors.New("meta bucket without a schema version"))
	}
	ver, err := decodeU64(v)
	if err != nil || ver == 0 {
		return 0, damaged(op, path, fmt.Errorf("bad schema version %x", v))
	}
	if ver > maxPlausibleSchema {
		return 0, damaged(op, path, fmt.Errorf("implausible schema version %d", ver))
	}
	if ver > SchemaVersion {
		return ver, fmt.Errorf("%s %s: %w: file has schema version %d, this helpdeskd knows up to %d; "+
			"run the newer helpdeskd or restore a backup", op, path, ErrSchema, ver, SchemaVersion)
	}
	// Every version-1 file has every bucket; a missing one means
	// damage, not something to quietly recreate empty.
	for _, name := range topBuckets {
		if btx.Bucket(name) == nil {
			return ver, damaged(op, path, fmt.Errorf("bucket %q missing", name))
		}
	}
	if meta.Bucket(bucketCases) == nil {
		return ver, damaged(op, path, fmt.Errorf("bucket %q missing", bucketCases))
	}
	return ver, nil
}
