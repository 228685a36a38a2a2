package store

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// TestBackupWhileWriting takes backups while another goroutine commits
// mails. Each commit keeps an invariant across buckets (tickets = entries
// = outbox envelopes = the intake checkpoint's LastUID), so a backup that
// mixed two transactions would break it.
func TestBackupWhileWriting(t *testing.T) {
	db := openTemp(t)
	stop := make(chan struct{})
	committed := make(chan uint64, 1000)
	writeErr := make(chan error, 1)
	go func() {
		defer close(committed)
		for uid := uint64(1); ; uid++ {
			select {
			case <-stop:
				writeErr <- nil
				return
			default:
			}
			err := db.Update(func(tx ticket.Tx) error { return commitMail(tx, uid, mailText(uid, 3000)) })
			if err != nil {
				writeErr <- err
				return
			}
			select {
			case committed <- uid:
			default:
			}
		}
	}()

	dir := t.TempDir()
	var sizes []uint32
	for i := range 4 {
		// Let the writer get ahead between backups.
		for range 5 {
			<-committed
		}
		dst := filepath.Join(dir, "backup.db")
		if err := db.BackupFile(dst); err != nil {
			t.Fatalf("backup %d: %v", i, err)
		}
		sizes = append(sizes, checkBackup(t, dst))
	}
	close(stop)
	for range committed {
	}
	if err := <-writeErr; err != nil {
		t.Fatalf("writer: %v", err)
	}
	if sizes[len(sizes)-1] <= sizes[0] {
		t.Errorf("later backups hold no more mails than the first: %v", sizes)
	}
	if _, err := os.Stat(filepath.Join(dir, "backup.db.tmp")); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
}

// checkBackup opens a backup (which validates every page) and checks the
// cross-bucket invariant; it returns the number of mails it holds.
func checkBackup(t *testing.T, path string) uint32 {
	t.Helper()
	b, err := Open(path, testOptions())
	if err != nil {
		t.Fatalf("open backup: %v", err)
	}
	defer b.Close()
	var tickets, entries int
	var cp mailer.Checkpoint
	var depth int
	view(t, b, func(tx ticket.Tx) error {
		err := tx.ForEachTicket(func(tk *ticket.Ticket) error {
			tickets++
			es, err := tx.Entries(tk.ID)
			entries += len(es)
			return err
		})
		if err != nil {
			return err
		}
		cp, err = tx.Checkpoint("INBOX")
		return err
	})
	depth, _, err = b.OutboxStats()
	if err != nil {
		t.Fatal(err)
	}
	if tickets == 0 || tickets != entries || tickets != depth || uint32(tickets) != cp.LastUID {
		t.Errorf("backup is inconsistent: %d tickets, %d entries, %d envelopes, checkpoint %d",
			tickets, entries, depth, cp.LastUID)
	}
	return cp.LastUID
}

func TestBackupToWriter(t *testing.T) {
	db := openTemp(t)
	update(t, db, func(tx ticket.Tx) error { return commitMail(tx, 1, mailText(1, 5000)) })
	var buf bytes.Buffer
	n, err := db.Backup(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) || n == 0 {
		t.Errorf("Backup reported %d bytes, wrote %d", n, buf.Len())
	}
	dst := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(dst, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := checkBackup(t, dst); got != 1 {
		t.Errorf("backup holds %d mails, want 1", got)
	}
}

func TestBackupRefusesLiveDatabase(t *testing.T) {
	db := openTemp(t)
	before := readFile(t, db.Path())
	link := filepath.Join(t.TempDir(), "link.db")
	if err := os.Symlink(db.Path(), link); err != nil {
		t.Fatal(err)
	}
	for _, dst := range []string{db.Path(), link, filepath.Dir(db.Path()) + "/./helpdeskd.db"} {
		err := db.BackupFile(dst)
		if err == nil || !strings.Contains(err.Error(), "live database") {
			t.Errorf("BackupFile(%s) error = %v, want a refusal", dst, err)
		}
	}
	if !bytes.Equal(before, readFile(t, db.Path())) {
		t.Error("refused backup changed the live file")
	}
}
