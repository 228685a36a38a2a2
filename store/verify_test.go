package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/helpdeskd/helpdeskd/ticket"
)

const testPageSize = 4096

// middleLeaf returns a leaf page of bucket name that a quick check does
// not read: neither the bucket's first leaf nor its last.
func middleLeaf(t *testing.T, path string, name []byte) uint64 {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var root uint64
	_ = bdb.View(func(btx *bolt.Tx) error {
		root = uint64(btx.Bucket(name).Root())
		return nil
	})
	if err := bdb.Close(); err != nil {
		t.Fatal(err)
	}
	b := readFile(t, path)
	var leaves []uint64
	var walk func(id uint64)
	walk = func(id uint64) {
		pg := b[id*testPageSize:]
		switch ne.Uint16(pg[8:]) {
		case leafPageFlag:
			leaves = append(leaves, id)
		case branchPageFlag:
			for i := range uint64(ne.Uint16(pg[10:])) {
				walk(ne.Uint64(pg[pageHeaderSize+i*elementSize+8:]))
			}
		default:
			t.Fatalf("page %d: not a branch or leaf page", id)
		}
	}
	walk(root)
	if len(leaves) < 3 {
		t.Fatalf("bucket %s has %d leaves, want 3 or more", name, len(leaves))
	}
	return leaves[len(leaves)/2]
}

// damageLeaf gives the first element of leaf page id a key that runs far
// past the page, as a flipped bit in the size field would.
func damageLeaf(t *testing.T, path string, id uint64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ksize [4]byte
	ne.PutUint32(ksize[:], 1<<30)
	if _, err := f.WriteAt(ksize[:], int64(id*testPageSize+pageHeaderSize+8)); err != nil {
		t.Fatal(err)
	}
}

// A leaf deep in a bucket is not read by Open's quick check: Open accepts
// the file and Verify, VerifyFull and the background check find the
// damage, naming the page. None of them writes to the file.
func TestVerifyFindsDamagedLeafThatOpenSkips(t *testing.T) {
	t.Parallel()
	path := realDBBatched(t, 300)
	leaf := middleLeaf(t, path, bucketEntries)
	damageLeaf(t, path, leaf)
	before := readFile(t, path)
	page := "page " + strconv.FormatUint(leaf, 10)

	o := testOptions()
	o.Verify = VerifyQuick
	db, err := Open(path, o)
	if err != nil {
		t.Fatalf("Open with the quick check: %v, want the file accepted", err)
	}
	if v := db.Verification(); v.Done {
		t.Errorf("Verification() = %+v after a quick check, want not done", v)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	_, err = Verify(path)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Verify: %v, want ErrCorrupt", err)
	}
	for _, want := range []string{"verify " + path, page, "helpdeskd backup", "unchanged"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Verify error %q does not mention %q", err, want)
		}
	}

	o.Verify = VerifyFull
	if _, err := Open(path, o); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), page) {
		t.Errorf("Open with VerifyFull: %v, want ErrCorrupt naming %s", err, page)
	}

	results := make(chan error, 1)
	o.Verify, o.OnVerified = VerifyBackground, func(err error) { results <- err }
	db, err = Open(path, o)
	if err != nil {
		t.Fatalf("Open with the background check: %v", err)
	}
	err = <-results
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), page) || !strings.Contains(err.Error(), path) {
		t.Errorf("background check reported %v, want ErrCorrupt naming %s and %s", err, path, page)
	}
	if v := db.Verification(); !v.Done || !errors.Is(v.Err, ErrCorrupt) {
		t.Errorf("Verification() = %+v, want done with ErrCorrupt", v)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, readFile(t, path)) {
		t.Error("the damaged file was modified")
	}
}

// What must never reach bbolt is still refused by Open's quick check,
// with the file left as it was: truncation by a single page, both meta
// pages damaged, a damaged bucket root, branch page or freelist. One
// damaged meta page is not damage to the data: bbolt uses the other, as
// after a crash during a commit.
func TestOpenQuickCheckRefuses(t *testing.T) {
	t.Parallel()
	path := realDBBatched(t, 300)
	real := readFile(t, path)
	m, _, err := chooseMeta(mapped(real), int64(len(real)))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(b []byte, off int) []byte {
		b = bytes.Clone(b)
		b[off] ^= 0x40
		return b
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	roots := map[string]uint64{}
	_ = bdb.View(func(btx *bolt.Tx) error {
		for _, name := range [][]byte{bucketDeadlines, bucketEntries, bucketRaw} {
			roots[string(name)] = uint64(btx.Bucket(name).Root())
		}
		return nil
	})
	_ = bdb.Close()
	entriesRoot := int(roots[string(bucketEntries)]) * testPageSize
	cases := []struct {
		name  string
		bytes []byte
		ok    bool
	}{
		{"truncated_by_one_page", real[:(m.pgid-1)*testPageSize], false},
		{"both_meta_checksums_wrong", flip(flip(real, pageHeaderSize+metaSumLen), testPageSize+pageHeaderSize+metaSumLen), false},
		{"meta_page_size_damaged_in_both", flip(flip(real, pageHeaderSize+9), testPageSize+pageHeaderSize+9), false},
		{"root_page_damaged", flip(real, int(m.root)*testPageSize), false},
		{"freelist_page_damaged", flip(real, int(m.freelist)*testPageSize+8), false},
		{"bucket_root_branch_element_damaged", flip(real, entriesRoot+pageHeaderSize+elementSize+8+3), false},
		{"bucket_root_branch_count_damaged", flip(real, entriesRoot+11), false},
		{"first_meta_page_damaged", flip(real, pageHeaderSize+metaSumLen), true},
		{"second_meta_page_damaged", flip(real, testPageSize+pageHeaderSize+metaSumLen), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "helpdeskd.db")
			if err := os.WriteFile(path, c.bytes, 0o600); err != nil {
				t.Fatal(err)
			}
			o := testOptions()
			o.Verify = VerifyQuick
			db, err := Open(path, o)
			switch {
			case c.ok && err != nil:
				t.Fatalf("Open: %v, want the file accepted", err)
			case c.ok:
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
				if _, err := Verify(path); err != nil {
					t.Errorf("Verify: %v, want the file sound", err)
				}
			case !errors.Is(err, ErrCorrupt):
				t.Fatalf("Open: %v, want ErrCorrupt", err)
			default:
				for _, want := range []string{path, "helpdeskd backup", "unchanged"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not mention %q", err, want)
					}
				}
				if _, err := Verify(path); !errors.Is(err, ErrCorrupt) {
					t.Errorf("Verify: %v; it must find all that Open finds", err)
				}
			}
			if !c.ok && !bytes.Equal(readFile(t, path), c.bytes) {
				t.Error("Open modified the file")
			}
		})
	}
}

// The quick check reads a small share of a large file: its cost follows
// the bucket trees' branch pages, not the file.
func TestOpenQuickCheckReadsFewPages(t *testing.T) {
	t.Parallel()
	path := realDBBatched(t, 2000)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	quick, err := checkMapped(f, fi.Size(), quickCheck)
	if err != nil {
		t.Fatal(err)
	}
	full, err := checkMapped(f, fi.Size(), fullCheck)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d pages; the quick check read %d, the full check %d", full.pages, quick.read, full.read)
	if quick.read*20 > full.pages {
		t.Errorf("the quick check read %d of %d pages, want under 5 %%", quick.read, full.pages)
	}
	if full.read <= quick.read*10 {
		t.Errorf("the full check read %d pages, the quick one %d: the file has too few leaves to tell", full.read, quick.read)
	}
}

func TestVerifySoundFile(t *testing.T) {
	t.Parallel()
	path := realDBBatched(t, 300)
	before := readFile(t, path)
	r, err := Verify(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Schema != SchemaVersion || r.PageSize != testPageSize || r.Pages < 100 || r.Size != int64(len(before)) ||
		r.Pages*uint64(r.PageSize) > uint64(r.Size) || r.Free >= r.Pages {
		t.Errorf("Verify = %+v", r)
	}
	if !bytes.Equal(before, readFile(t, path)) {
		t.Error("Verify modified the file")
	}
}

func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(empty); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Verify of an empty file: %v, want ErrCorrupt", err)
	}
	if _, err := Verify(filepath.Join(dir, "missing.db")); err == nil || errors.Is(err, ErrCorrupt) {
		t.Errorf("Verify of a missing file: %v, want a plain error", err)
	}
	if _, err := Verify(dir); err == nil || errors.Is(err, ErrCorrupt) {
		t.Errorf("Verify of a directory: %v, want a plain error", err)
	}

	foreign := filepath.Join(dir, "foreign.db")
	bdb, err := bolt.Open(foreign, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(btx *bolt.Tx) error { _, err := btx.CreateBucket([]byte("etcd")); return err })
	if err != nil || bdb.Close() != nil {
		t.Fatal(err)
	}
	if _, err := Verify(foreign); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "meta bucket") {
		t.Errorf("Verify of another program's bbolt file: %v, want ErrCorrupt", err)
	}

	held := realDB(t, 1)
	db := openAt(t, held)
	if _, err := Verify(held); !errors.Is(err, ErrLocked) {
		t.Errorf("Verify of a file in use: %v, want ErrLocked", err)
	}
	_ = db.Close()

	newer := realDB(t, 1)
	bdb, err = bolt.Open(newer, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(btx *bolt.Tx) error {
		return btx.Bucket(bucketMeta).Put(keySchemaVersion, u64(SchemaVersion+1))
	})
	if err != nil || bdb.Close() != nil {
		t.Fatal(err)
	}
	if _, err := Verify(newer); !errors.Is(err, ErrSchema) {
		t.Errorf("Verify of a newer file: %v, want ErrSchema", err)
	}
}

// The background check reads the file while the daemon writes to it. Its
// read transaction keeps the pages of the state it checks from being
// reused, so commits that free and rewrite much of the file while it runs
// are no damage.
func TestBackgroundCheckWhileWriting(t *testing.T) {
	t.Parallel()
	path := realDBBatched(t, 300)
	// Free a good share of the file, so that later commits reuse pages.
	freeRaw(t, path, 2)

	started, release := make(chan struct{}), make(chan struct{})
	results := make(chan error, 1)
	o := testOptions()
	o.OnVerified = func(err error) { results <- err }
	o.liveCheckStarting = func(<-chan struct{}) {
		close(started)
		<-release
	}
	db, err := Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	<-started
	// Rewrite every ticket and many entries and raw mails before the check
	// reads a page, and go on while it runs.
	rewrite := func(round int) {
		update(t, db, func(tx ticket.Tx) error {
			for id := uint64(1); id <= 300; id++ {
				tk, err := tx.Ticket(id)
				if err != nil {
					return err
				}
				tk.Subject = strings.Repeat("x", round%7*100)
				if err := tx.PutTicket(tk); err != nil {
					return err
				}
				if id%3 == 0 {
					if err := tx.PutRaw("round/"+strconv.Itoa(round)+"/"+strconv.FormatUint(id, 10), mailText(id, 3000)); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	for round := range 5 {
		rewrite(round)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for round := 5; round < 10; round++ {
			rewrite(round)
		}
	}()
	close(release)
	if err := <-results; err != nil {
		t.Errorf("background check of a sound file being written: %v", err)
	}
	wg.Wait()
	if v := db.Verification(); !v.Done || v.Err != nil || v.Pages == 0 {
		t.Errorf("Verification() = %+v", v)
	}
}

// freeRaw deletes every n-th raw mail of a closed file and commits twice
// more, so that the freed pages are on its freelist.
func freeRaw(t *testing.T, path string, n int) {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(btx *bolt.Tx) error {
		b := btx.Bucket(bucketRaw)
		var keys [][]byte
		i := 0
		_ = b.ForEach(func(k, _ []byte) error {
			if i++; i%n == 0 {
				keys = append(keys, bytes.Clone(k))
			}
			return nil
		})
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	for range 2 {
		if err == nil {
			err = bdb.Update(func(btx *bolt.Tx) error { return btx.Bucket(bucketMeta).Put([]byte("touch"), nil) })
		}
	}
	if cerr := bdb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}

// Close stops a background check that is still running, and the check
// reports nothing then.
func TestCloseStopsBackgroundCheck(t *testing.T) {
	path := realDB(t, 20)
	t.Parallel()
	started := make(chan struct{})
	o := testOptions()
	o.liveCheckStarting = func(stop <-chan struct{}) {
		close(started)
		<-stop // Close has been called
	}
	o.OnVerified = func(err error) { t.Errorf("OnVerified(%v) for a check that Close stopped", err) }
	db, err := Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	<-started
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if v := db.Verification(); v.Done {
		t.Errorf("Verification() = %+v after Close stopped the check", v)
	}
}
