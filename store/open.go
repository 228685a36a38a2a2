package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Open opens the database at path, creating it (mode 0600, parent
// directory 0700) and its buckets on first use.
//
// An existing file is first read and checked page by page (validateFile),
// so that a corrupt or truncated file is reported as ErrCorrupt without a
// single byte written to it; only then does bbolt open it. A file held by
// another process gives ErrLocked after Options.LockTimeout instead of a
// hang, and one from a newer helpdeskd gives ErrSchema.
func Open(path string, o Options) (*DB, error) {
	o = o.withDefaults()
	if path == "" {
		return nil, errors.New("open: empty database path")
	}
	path = filepath.Clean(path)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	switch {
	case err == nil && !fi.Mode().IsRegular():
		return nil, fmt.Errorf("open %s: not a regular file", path)
	case err == nil && fi.Size() > 0:
		if err := verifyFile(path, o); err != nil {
			return nil, err
		}
	case err == nil, errors.Is(err, fs.ErrNotExist):
		// New or empty file: bbolt writes its first pages.
	default:
		return nil, fmt.Errorf("open %s: %w", path, err)
	}

	bdb, err := openBolt(path, &bolt.Options{Timeout: o.LockTimeout})
	if err != nil {
		return nil, classifyOpenError(path, err)
	}
	db := &DB{bolt: bdb, path: path, now: o.Now, log: o.Logger}
	created, err := db.initSchema()
	if err != nil {
		_ = bdb.Close()
		return nil, err
	}
	db.log.Info("database opened", "path", path, "schema", SchemaVersion, "created", created)
	return db, nil
}

// errPanicked marks a bbolt panic (or memory fault) while reading a file.
var errPanicked = errors.New("bbolt panicked")

// openBolt is bolt.Open that survives what validateFile cannot rule out
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

func corruptError(path string, cause error) error {
	return fmt.Errorf("open %s: %w (%v); the file was left unchanged: "+
		"restore it from a backup made with `helpdeskd backup`, or move it aside to start empty",
		path, ErrCorrupt, cause)
}

// verifyFile checks an existing file before bbolt maps it for writing,
// under a shared lock (so a running daemon still gives ErrLocked, and no
// writer changes the file while it is read). See validateFile.
func verifyFile(path string, o Options) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	if err := lockShared(f, o.LockTimeout); err != nil {
		if errors.Is(err, ErrLocked) {
			return fmt.Errorf("open %s: %w", path, ErrLocked)
		}
		return fmt.Errorf("open %s: lock: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	if fi.Size() == 0 {
		return nil // bbolt initializes an empty file
	}
	if err := validateMapped(f, fi.Size()); err != nil {
		return corruptError(path, err)
	}
	return nil
}

// validateMapped runs validateFile on a read-only mapping of f (falling
// back to ReadAt). validateFile never touches bytes past the end of the
// file, but another program could truncate it meanwhile: the SIGBUS that
// would then follow becomes an error here instead of a crash.
func validateMapped(f *os.File, size int64) (err error) {
	src, unmap, err := mapFile(f, size)
	if err != nil {
		src, unmap = readerSource{f}, func() {}
	}
	defer unmap()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reading the file failed: %v", r)
		}
	}()
	return validateFile(src, size)
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
		meta := btx.Bucket(bucketMeta)
		if meta == nil {
			if hasBuckets(btx) {
				return corruptError(db.path, errors.New("bbolt file without helpdeskd's meta bucket"))
			}
			created = true
		} else {
			v := meta.Get(keySchemaVersion)
			if v == nil {
				return corruptError(db.path, errors.New("meta bucket without a schema version"))
			}
			ver, err := decodeU64(v)
			if err != nil || ver == 0 {
				return corruptError(db.path, fmt.Errorf("bad schema version %x", v))
			}
			if ver > maxPlausibleSchema {
				return corruptError(db.path, fmt.Errorf("implausible schema version %d", ver))
			}
			if ver > SchemaVersion {
				return fmt.Errorf("open %s: %w: file has schema version %d, this helpdeskd knows up to %d; "+
					"run the newer helpdeskd or restore a backup", db.path, ErrSchema, ver, SchemaVersion)
			}
		}
		if !created {
			// Every version-1 file has every bucket; a missing one means
			// damage, not something to quietly recreate empty.
			for _, name := range topBuckets {
				if btx.Bucket(name) == nil {
					return corruptError(db.path, fmt.Errorf("bucket %q missing", name))
				}
			}
			if meta.Bucket(bucketCases) == nil {
				return corruptError(db.path, fmt.Errorf("bucket %q missing", bucketCases))
			}
			return errNoChange
		}
		for _, name := range topBuckets {
			if _, err := btx.CreateBucket(name); err != nil {
				return err
			}
		}
		meta = btx.Bucket(bucketMeta)
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
