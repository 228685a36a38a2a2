package store

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/helpdeskd/helpdeskd/ticket"
)

func TestOpenCreatesFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "helpdeskd")
	path := filepath.Join(dir, "helpdeskd.db")
	db := openAt(t, path)
	if db.Path() != path {
		t.Errorf("Path() = %q, want %q", db.Path(), path)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		// The umask can only take permissions away.
		if fi.Mode()&^want != 0 {
			t.Errorf("%s has mode %v, want at most %v", p, fi.Mode(), want)
		}
	}
	_ = db.bolt.View(func(btx *bolt.Tx) error {
		for _, name := range topBuckets {
			if btx.Bucket(name) == nil {
				t.Errorf("bucket %q missing", name)
			}
		}
		if v, _ := decodeU64(btx.Bucket(bucketMeta).Get(keySchemaVersion)); v != SchemaVersion {
			t.Errorf("schema version %d, want %d", v, SchemaVersion)
		}
		return nil
	})
}

func TestOpenEmptyFileInitializes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "helpdeskd.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	db := openAt(t, path)
	update(t, db, func(tx ticket.Tx) error { return tx.PutTicket(sampleTicket(1)) })
}

// Opening an up-to-date file, checking it and closing it writes nothing,
// so a read-only inspection cannot damage anything.
func TestReopenWritesNothing(t *testing.T) {
	path := realDB(t, 20)
	before := readFile(t, path)
	db, err := Open(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, readFile(t, path)) {
		t.Error("open and close changed the file")
	}
}

func TestOpenLockedInProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "helpdeskd.db")
	first, err := Open(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = Open(path, testOptions())
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open error = %v, want ErrLocked", err)
	}
	if want := "open " + path + ": database is in use by another helpdeskd"; err.Error() != want {
		t.Errorf("error text %q, want %q", err, want)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("second Open took %v with a 200ms lock timeout", d)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	openAt(t, path)
}

func TestOpenLockedByOtherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "helpdeskd.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "locked\n" {
		t.Fatalf("helper process said %q (%v)", line, err)
	}

	_, err = Open(path, testOptions())
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("Open while another process holds the file: %v, want ErrLocked", err)
	}
	if err := stdin.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper process: %v", err)
	}
	openAt(t, path)
}

func TestOpenCorruptFile(t *testing.T) {
	t.Parallel()
	real := readFile(t, realDBBatched(t, 200))
	if len(real) < 64<<10 {
		t.Fatalf("real database only %d bytes", len(real))
	}
	overwrite := func(b []byte, off int, with []byte) []byte {
		b = bytes.Clone(b)
		copy(b[off:], with)
		return b
	}
	cases := []struct {
		name  string
		bytes []byte
	}{
		{"random_bytes", randomBytes(1, 256<<10)},
		{"few_random_bytes", randomBytes(2, 100)},
		{"one_page_of_random_bytes", randomBytes(3, 4096)},
		{"text_file", []byte("helpdeskd:\n  store: /var/lib/helpdeskd\n")},
		{"truncated_to_half", real[:len(real)/2]},
		{"truncated_to_meta_pages", real[:2*4096]},
		{"pages_after_meta_overwritten", overwrite(real, 2*4096, randomBytes(4, len(real)-2*4096))},
		{"both_meta_pages_overwritten", overwrite(real, 0, randomBytes(5, 2*4096))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "helpdeskd.db")
			if err := os.WriteFile(path, c.bytes, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Open(path, testOptions())
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open error = %v, want ErrCorrupt", err)
			}
			for _, want := range []string{path, "helpdeskd backup", "unchanged"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if !bytes.Equal(readFile(t, path), c.bytes) {
				t.Error("Open modified the corrupt file")
			}
		})
	}
}

// TestOpenSurvivesDamagedPages damages each page of a real database in
// turn (random bytes over the whole page, and flipped bits in its header
// and first element): Open must either accept the file (the damage was in
// a free page or a value, or in a leaf that only the full check reads) or
// report ErrCorrupt, never crash or hang, and never change a byte. Verify
// must find all that Open finds.
func TestOpenSurvivesDamagedPages(t *testing.T) {
	t.Parallel()
	path := realDB(t, 8)
	real := readFile(t, path)
	const pageSize = 4096
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	detected, verified, tried := 0, 0, 0
	// try damages one page in place, opens the file and restores the page.
	try := func(what string, page int, damaged []byte) {
		t.Helper()
		tried++
		if _, err := f.WriteAt(damaged, int64(page*pageSize)); err != nil {
			t.Fatal(err)
		}
		want := bytes.Clone(real)
		copy(want[page*pageSize:], damaged)
		db, err := Open(path, testOptions())
		switch {
		case err == nil:
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
		case errors.Is(err, ErrCorrupt):
			detected++
		default:
			t.Errorf("%s: Open error %v, want nil or ErrCorrupt", what, err)
		}
		_, verr := Verify(path)
		switch {
		case errors.Is(verr, ErrCorrupt):
			verified++
		case verr != nil:
			t.Errorf("%s: Verify error %v, want nil or ErrCorrupt", what, verr)
		case err != nil:
			t.Errorf("%s: Open found %v, Verify nothing", what, err)
		}
		if !bytes.Equal(readFile(t, path), want) {
			t.Fatalf("%s: Open or Verify modified the file", what)
		}
		if _, err := f.WriteAt(real[page*pageSize:(page+1)*pageSize], int64(page*pageSize)); err != nil {
			t.Fatal(err)
		}
	}
	for page := range len(real) / pageSize {
		orig := real[page*pageSize : (page+1)*pageSize]
		if page >= 2 {
			try(fmt.Sprintf("page %d random", page), page, randomBytes(uint64(page), pageSize))
		}
		// Header: count and overflow; then the first element (a leaf key size,
		// a branch child page).
		for _, off := range []int{10, 12, 24} {
			b := bytes.Clone(orig)
			b[off] ^= 0xff
			try(fmt.Sprintf("page %d byte %d flipped", page, off), page, b)
		}
	}
	if detected == 0 {
		t.Error("no damage was detected")
	}
	t.Logf("%d of %d damaged files detected as corrupt by Open, %d by Verify", detected, tried, verified)
}

func TestOpenForeignBboltFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.db")
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(btx *bolt.Tx) error {
		b, err := btx.CreateBucket([]byte("etcd"))
		if err != nil {
			return err
		}
		return b.Put([]byte("k"), []byte("v"))
	})
	if err != nil || bdb.Close() != nil {
		t.Fatal(err)
	}
	before := readFile(t, path)
	if _, err := Open(path, testOptions()); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Open of a foreign bbolt file: %v, want ErrCorrupt", err)
	}
	if !bytes.Equal(before, readFile(t, path)) {
		t.Error("Open modified the foreign file")
	}
}

func TestOpenNewerSchema(t *testing.T) {
	path := realDB(t, 1)
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(btx *bolt.Tx) error {
		return btx.Bucket(bucketMeta).Put(keySchemaVersion, u64(SchemaVersion+1))
	})
	if err != nil || bdb.Close() != nil {
		t.Fatal(err)
	}
	before := readFile(t, path)
	_, err = Open(path, testOptions())
	if !errors.Is(err, ErrSchema) {
		t.Fatalf("Open error = %v, want ErrSchema", err)
	}
	if !strings.Contains(err.Error(), "version 2") {
		t.Errorf("error %q does not name the file's version", err)
	}
	if !bytes.Equal(before, readFile(t, path)) {
		t.Error("Open modified the newer file")
	}
}

func TestOpenNotAFile(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(dir, testOptions())
	if err == nil || errors.Is(err, ErrCorrupt) {
		t.Errorf("Open of a directory: %v, want a plain error", err)
	}
}
