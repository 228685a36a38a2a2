//go:build !unix

package store

import (
	"errors"
	"os"
	"time"
)

// lockShared is left to bbolt's own lock where flock does not exist.
func lockShared(*os.File, time.Duration) error { return nil }

// mapFile is not available; the file checks then read with ReadAt.
func mapFile(*os.File, int64) (source, func(), error) {
	return nil, nil, errors.New("no mmap")
}
