package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the whole database to w while the
// daemon keeps running: the copy is the snapshot of one read transaction,
// so writers are not blocked. It returns the number of bytes written.
func (db *DB) Backup(w io.Writer) (n int64, err error) {
	err = db.bolt.View(func(btx *bolt.Tx) error {
		n, err = btx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("backup %s: %w", db.path, err)
	}
	return n, nil
}

// BackupFile writes a backup to path atomically: to path+".tmp", fsync,
// rename, fsync of the directory, so path is either the old file or a
// complete new copy. It refuses to write over the live database.
func (db *DB) BackupFile(path string) error {
	tmp := path + ".tmp"
	for _, p := range []string{path, tmp} {
		if err := db.refuseLive(p); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	_, err = db.Backup(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	db.log.Info("backup written", "path", path, "from", db.path)
	return nil
}

// refuseLive fails if p names the open database file (by any path).
func (db *DB) refuseLive(p string) error {
	live, err := os.Stat(db.path)
	if err != nil {
		return fmt.Errorf("backup: stat %s: %w", db.path, err)
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("backup to %s: %w", p, err)
	}
	if os.SameFile(live, fi) {
		return fmt.Errorf("backup to %s: that is the live database", p)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
