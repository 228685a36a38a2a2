//go:build unix

package store

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// lockShared takes a shared flock on f, waiting up to timeout for an
// exclusive holder (a running helpdeskd) to let go. It is the same kind of
// lock bbolt takes, so it excludes exactly what bbolt excludes.
func lockShared(f *os.File, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		if time.Now().After(deadline) {
			return ErrLocked
		}
		time.Sleep(lockRetry)
	}
}

// lockRetry is bbolt's flockRetryTimeout.
const lockRetry = 50 * time.Millisecond

// mapFile maps f read-only for the file checks. unmap must be called after.
func mapFile(f *os.File, size int64) (src source, unmap func(), err error) {
	if size <= 0 || int64(int(size)) != size {
		return nil, nil, errors.New("file too large to map")
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return mapped(data), func() { _ = syscall.Munmap(data) }, nil
}
