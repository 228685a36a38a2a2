package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// TestValidateAcceptsWhatBboltWrites runs a random workload through bbolt
// (nested and inline buckets, values from empty to many pages, deletes of
// keys and buckets, so that pages are freed and reused) and checks after
// every commit that the full and the quick check accept the file and
// that bbolt's own Check agrees it is sound.
func TestValidateAcceptsWhatBboltWrites(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "random.db")
	// NoSync: this checks the file format, not durability.
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	r := rand.New(rand.NewPCG(7, 7))
	names := []string{"a", "b", "c", "d"}
	for commit := range 40 {
		err := bdb.Update(func(btx *bolt.Tx) error {
			for range 1 + r.IntN(40) {
				top, err := btx.CreateBucketIfNotExists([]byte(names[r.IntN(len(names))]))
				if err != nil {
					return err
				}
				b := top
				if r.IntN(3) == 0 { // a nested bucket, often small enough to be inline
					if b, err = top.CreateBucketIfNotExists([]byte("sub")); err != nil {
						return err
					}
				}
				key := []byte(fmt.Sprintf("k%05d", r.IntN(2000)))
				switch op := r.IntN(10); {
				case op < 6:
					size := []int{0, 10, 500, 3000, 20_000, 100_000}[r.IntN(6)]
					if err := b.Put(key, randomBytes(r.Uint64(), size)); err != nil {
						return err
					}
				case op < 9:
					if err := b.Delete(key); err != nil {
						return err
					}
				default:
					if err := top.DeleteBucket([]byte("sub")); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := f.Stat()
		verr := validateFile(readerSource{f}, fi.Size())
		_, qerr := checkFile(readerSource{f}, fi.Size(), quickCheck, nil)
		_ = f.Close()
		if verr != nil {
			t.Fatalf("after commit %d: full check: %v", commit, verr)
		}
		if qerr != nil {
			t.Fatalf("after commit %d: quick check: %v", commit, qerr)
		}
		_ = bdb.View(func(btx *bolt.Tx) error {
			for err := range btx.Check() {
				t.Errorf("after commit %d: bbolt Check: %v", commit, err)
			}
			return nil
		})
	}
	_ = bdb.View(func(btx *bolt.Tx) error {
		var branches, leaves int
		_ = btx.ForEach(func(_ []byte, b *bolt.Bucket) error {
			st := b.Stats()
			branches += st.BranchPageN
			leaves += st.LeafPageN
			return nil
		})
		t.Logf("file: %d pages, %d branch and %d leaf pages, %d free", btx.Size()/4096, branches, leaves, bdb.Stats().FreePageN)
		if branches == 0 {
			t.Error("the workload made no branch pages; the test covers less than it claims")
		}
		return nil
	})
}
