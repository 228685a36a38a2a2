package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/helpdeskd/helpdeskd/store"
)

func newBackupCmd() *cobra.Command {
	var ac adminFlags
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent copy of the running daemon's database to FILE",
		Long: `backup asks the running daemon for a copy of its database, taken in one
read transaction while intake and the sender go on working, and writes it to
FILE atomically: FILE is either left as it was or replaced by a complete copy
that has been checked to open as a helpdeskd database. FILE may be anywhere
the caller can write; it must not be the live database.

Restore: stop the daemon, move the damaged file aside, copy the backup to
store.path (owned by the daemon's user, mode 0600), start the daemon.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := ac.client()
			if err != nil {
				return err
			}
			n, live, err := c.backup(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "backup of %s written to %s (%d bytes, verified)\n", live, args[0], n)
			return nil
		},
	}
	ac.register(cmd)
	return cmd
}

// backup downloads the database into path: to path.tmp, checked against
// the daemon's SHA-256 trailer, fsynced, opened as a store to prove it is
// whole, then renamed over path. It returns the size and the live path.
func (c *adminClient) backup(ctx context.Context, path string) (int64, string, error) {
	path = filepath.Clean(path)
	tmp := path + ".tmp"
	resp, err := c.do(ctx, http.MethodGet, "/v1/backup", nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	live := resp.Header.Get(headerStore)
	// Renaming over the live file would leave the daemon writing to an
	// unlinked inode: everything after the backup would be lost.
	for _, p := range []string{path, tmp} {
		if sameFile(p, live) {
			return 0, live, fmt.Errorf("backup to %s: that is the live database; choose another file", p)
		}
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, live, fmt.Errorf("backup: %w", err)
	}
	fail := func(err error) (int64, string, error) {
		f.Close()
		os.Remove(tmp)
		return 0, live, fmt.Errorf("backup to %s: %w; no file written", path, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), resp.Body)
	if err != nil {
		return fail(fmt.Errorf("the copy broke off after %d bytes: %w", n, err))
	}
	sum := resp.Trailer.Get(trailerSHA256)
	if want := resp.Trailer.Get(trailerBytes); sum == "" || want != strconv.FormatInt(n, 10) {
		return fail(fmt.Errorf("the copy is incomplete (%d bytes, the daemon sent %q)", n, want))
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		return fail(fmt.Errorf("checksum mismatch (got %s, the daemon sent %s)", got, sum))
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return 0, live, fmt.Errorf("backup to %s: %w", path, err)
	}
	if err := verifyBackup(tmp); err != nil {
		os.Remove(tmp)
		return 0, live, fmt.Errorf("backup to %s: the copy does not open as a database: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return 0, live, fmt.Errorf("backup to %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return n, live, nil
}

// verifyBackup checks a copy page by page (schema and buckets included)
// before it replaces anything: a backup nobody checked is a hope.
func verifyBackup(path string) error {
	_, err := store.Verify(path)
	return err
}

func sameFile(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// explainStartError adds to the store's errors what an operator does
// about them. The store's own message already names the file.
func explainStartError(err error, storePath string) error {
	switch {
	case errors.Is(err, store.ErrCorrupt):
		return &exitError{code: 1, err: fmt.Errorf(`%w

helpdeskd refuses to start on a damaged database and has not changed it.
To restore from a backup (see docs/operations.md, "Restore"):
  1. keep the damaged file for analysis:  mv %[2]s %[2]s.damaged
  2. copy the latest backup in place:     cp BACKUP %[2]s
     (chown it to the daemon's user, chmod 0600)
  3. start helpdeskd again; it resumes intake at the backup's checkpoint,
     so mail that arrived after the backup and is still in imap.mailbox
     is taken in again.
Without a backup, moving the file aside starts an empty database`, err, storePath)}
	case errors.Is(err, store.ErrLocked):
		return &exitError{code: 1, err: fmt.Errorf("%w\nanother helpdeskd is running on this database; stop it first (or use `helpdeskd status`)", err)}
	case errors.Is(err, errAdminSocketInUse):
		return &exitError{code: 1, err: fmt.Errorf("%w\nstop the other daemon, or give this one its own admin.socket", err)}
	}
	return err
}
