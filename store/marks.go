package store

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketMarks records things that must happen at most once, such as an
// hour bank's warn mail for one agreement and period, or a sent report:
// key → RFC 3339 time it was marked. It is created on first write, so
// files made before it existed need no migration.
var bucketMarks = []byte("marks")

func (t *tx) Mark(key string, at time.Time) (fresh bool, err error) {
	if !t.btx.Writable() {
		return false, fmt.Errorf("mark %q: %w", key, ErrReadOnly)
	}
	if key == "" {
		return false, fmt.Errorf("mark: empty key")
	}
	b, err := t.btx.CreateBucketIfNotExists(bucketMarks)
	if err != nil {
		return false, fmt.Errorf("mark %q: %w", key, err)
	}
	if b.Get([]byte(key)) != nil {
		return false, nil
	}
	if err := b.Put([]byte(key), []byte(at.UTC().Format(time.RFC3339Nano))); err != nil {
		return false, fmt.Errorf("mark %q: %w", key, err)
	}
	return true, nil
}

func (t *tx) Marked(key string) (at time.Time, ok bool, err error) {
	b := t.btx.Bucket(bucketMarks)
	if b == nil {
		return time.Time{}, false, nil
	}
	return markTime(b, key)
}

func (t *tx) Unmark(key string) error {
	if !t.btx.Writable() {
		return fmt.Errorf("unmark %q: %w", key, ErrReadOnly)
	}
	b := t.btx.Bucket(bucketMarks)
	if b == nil {
		return nil
	}
	if err := b.Delete([]byte(key)); err != nil {
		return fmt.Errorf("unmark %q: %w", key, err)
	}
	return nil
}

func markTime(b *bolt.Bucket, key string) (time.Time, bool, error) {
	v := b.Get([]byte(key))
	if v == nil {
		return time.Time{}, false, nil
	}
	at, err := time.Parse(time.RFC3339Nano, string(v))
	if err != nil {
		return time.Time{}, false, fmt.Errorf("mark %q: %w", key, err)
	}
	return at, true, nil
}
