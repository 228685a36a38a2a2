package store

import (
	"encoding/binary"
	"fmt"
)

// bucketCounters holds named running totals kept in step with the records
// they sum, such as the minutes logged on an agreement's hour bank in one
// period: key → big-endian int64. It is created on first write, so files
// made before it existed need no migration.
var bucketCounters = []byte("counters")

func (t *tx) Counter(key string) (n int64, ok bool, err error) {
	b := t.btx.Bucket(bucketCounters)
	if b == nil {
		return 0, false, nil
	}
	v := b.Get([]byte(key))
	if v == nil {
		return 0, false, nil
	}
	if len(v) != 8 {
		return 0, false, fmt.Errorf("counter %q: %d bytes, want 8", key, len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), true, nil
}

func (t *tx) SetCounter(key string, n int64) error {
	if !t.btx.Writable() {
		return fmt.Errorf("set counter %q: %w", key, ErrReadOnly)
	}
	if key == "" {
		return fmt.Errorf("set counter: empty key")
	}
	b, err := t.btx.CreateBucketIfNotExists(bucketCounters)
	if err != nil {
		return fmt.Errorf("set counter %q: %w", key, err)
	}
	if err := b.Put([]byte(key), binary.BigEndian.AppendUint64(nil, uint64(n))); err != nil {
		return fmt.Errorf("set counter %q: %w", key, err)
	}
	return nil
}
