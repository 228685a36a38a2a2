package store

import (
	"fmt"
	"os"
	"testing"

	"github.com/helpdeskd/helpdeskd/ticket"
)

// BenchmarkCommit measures what intake costs the store per mail on a real
// file with fsync: a ticket, its entry, 5 KB of raw mail, the thread and
// dedupe keys, an acknowledgement in the outbox and the checkpoint, with
// 1 or 50 mails per Update (intake commits a fetched batch at once).
func BenchmarkCommit(b *testing.B) {
	raws := make([][]byte, 64)
	for i := range raws {
		raws[i] = mailText(uint64(i), 5<<10)
	}
	for _, batch := range []int{1, 50} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			db := openTemp(b)
			var uid uint64
			b.ReportAllocs()
			for b.Loop() {
				err := db.Update(func(tx ticket.Tx) error {
					for range batch {
						uid++
						if err := commitMail(tx, uid, raws[uid%64]); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(uid)/b.Elapsed().Seconds(), "mails/s")
		})
	}
}

// BenchmarkOpen measures Open of an existing file, which makes the quick
// check (meta pages, freelist, bucket roots and branch pages) before
// bbolt maps it; the full check runs in the background and is stopped by
// Close (see BenchmarkVerify for its cost).
func BenchmarkOpen(b *testing.B) {
	path := realDBBatched(b, 5000)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	for b.Loop() {
		db, err := Open(path, testOptions())
		if err != nil {
			b.Fatal(err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures the full check of every page (Verify; what
// Open's background check costs).
func BenchmarkVerify(b *testing.B) {
	path := realDBBatched(b, 5000)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	for b.Loop() {
		if _, err := Verify(path); err != nil {
			b.Fatal(err)
		}
	}
}
