package store

import (
	"bytes"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/helpdeskd/helpdeskd/ticket"
)

// The timer index is laid out like the deadline index: timers, ordered
// by time so that the next one is one cursor seek, and timer_of, from a
// timer's name to its time, so that moving or clearing a named timer does
// not scan. Both are created on first write, so files made before they
// existed need no migration.
var (
	bucketTimers  = []byte("timers")   // u64 ordered At + name → payload
	bucketTimerOf = []byte("timer_of") // name → u64 ordered At
)

// timerKey orders by time, then by name.
func timerKey(at time.Time, name string) []byte {
	k := make([]byte, 0, 8+len(name))
	k = append(k, dueKey(at, 0)[:8]...)
	return append(k, name...)
}

// checkTimerName refuses names bbolt cannot key or that would be cut:
// unlike stringKey, a timer's name must come back from its key whole.
func checkTimerName(name string) error {
	switch {
	case name == "":
		return errEmptyKey
	case len(name) > maxStringKey:
		return fmt.Errorf("name is %d bytes; at most %d fit", len(name), maxStringKey)
	}
	return nil
}

// timerBuckets returns both buckets for writing, creating them if needed.
func (t *tx) timerBuckets(method, name string) (idx, of *bolt.Bucket, err error) {
	if !t.btx.Writable() {
		return nil, nil, fmt.Errorf("%s %q: %w", method, name, ErrReadOnly)
	}
	if err := checkTimerName(name); err != nil {
		return nil, nil, fmt.Errorf("%s %q: %w", method, name, err)
	}
	if idx, err = t.btx.CreateBucketIfNotExists(bucketTimers); err == nil {
		of, err = t.btx.CreateBucketIfNotExists(bucketTimerOf)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s %q: %w", method, name, err)
	}
	return idx, of, nil
}

func (t *tx) SetTimer(tm ticket.Timer) error {
	idx, of, err := t.timerBuckets("set timer", tm.Name)
	if err != nil {
		return err
	}
	k := timerKey(tm.At, tm.Name)
	if old := of.Get([]byte(tm.Name)); old != nil {
		if oldKey := append(bytes.Clone(old), tm.Name...); !bytes.Equal(oldKey, k) {
			if err := idx.Delete(oldKey); err != nil {
				return fmt.Errorf("set timer %q: %w", tm.Name, err)
			}
		}
	}
	if err := idx.Put(k, []byte(tm.Payload)); err != nil {
		return fmt.Errorf("set timer %q: %w", tm.Name, err)
	}
	if err := of.Put([]byte(tm.Name), k[:8]); err != nil {
		return fmt.Errorf("set timer %q: %w", tm.Name, err)
	}
	return nil
}

func (t *tx) ClearTimer(name string) error {
	if !t.btx.Writable() {
		return fmt.Errorf("clear timer %q: %w", name, ErrReadOnly)
	}
	idx, of := t.btx.Bucket(bucketTimers), t.btx.Bucket(bucketTimerOf)
	if idx == nil || of == nil {
		return nil
	}
	old := of.Get([]byte(name))
	if old == nil {
		return nil
	}
	if err := idx.Delete(append(bytes.Clone(old), name...)); err != nil {
		return fmt.Errorf("clear timer %q: %w", name, err)
	}
	if err := of.Delete([]byte(name)); err != nil {
		return fmt.Errorf("clear timer %q: %w", name, err)
	}
	return nil
}

func (t *tx) Timer(name string) (ticket.Timer, bool, error) {
	idx, of := t.btx.Bucket(bucketTimers), t.btx.Bucket(bucketTimerOf)
	if idx == nil || of == nil {
		return ticket.Timer{}, false, nil
	}
	old := of.Get([]byte(name))
	if old == nil {
		return ticket.Timer{}, false, nil
	}
	return lookupTimer(idx, append(bytes.Clone(old), name...))
}

// lookupTimer reads the entry at key k of the time index, which
// timer_of says is there.
func lookupTimer(idx *bolt.Bucket, k []byte) (ticket.Timer, bool, error) {
	// A cursor, not Get: it tells an empty payload from a missing key.
	ck, v := idx.Cursor().Seek(k)
	if !bytes.Equal(ck, k) {
		return ticket.Timer{}, false, fmt.Errorf("timer %q: in timer_of but not in the time index", k[8:])
	}
	tm, err := decodeTimer(ck, v)
	return tm, err == nil, err
}

func (t *tx) Timers(prefix string) ([]ticket.Timer, error) {
	idx, of := t.btx.Bucket(bucketTimers), t.btx.Bucket(bucketTimerOf)
	if idx == nil || of == nil {
		return nil, nil
	}
	var out []ticket.Timer
	c := of.Cursor()
	for name, at := c.Seek([]byte(prefix)); name != nil && bytes.HasPrefix(name, []byte(prefix)); name, at = c.Next() {
		tm, _, err := lookupTimer(idx, append(bytes.Clone(at), name...))
		if err != nil {
			return nil, err
		}
		out = append(out, tm)
	}
	return out, nil
}

func (t *tx) DueTimers(prefix string, until time.Time, limit int) ([]ticket.Timer, error) {
	var out []ticket.Timer
	err := t.scanTimers(prefix, until, func(tm ticket.Timer) bool {
		out = append(out, tm)
		return limit <= 0 || len(out) < limit
	})
	return out, err
}

func (t *tx) NextTimer(prefix string) (ticket.Timer, bool, error) {
	var next ticket.Timer
	var ok bool
	err := t.scanTimers(prefix, maxNano, func(tm ticket.Timer) bool {
		next, ok = tm, true
		return false
	})
	return next, ok, err
}

// scanTimers calls fn with each timer whose name starts with prefix and
// whose time is at or before until, earliest first, while fn returns
// true. Timers of other prefixes are stepped over: there are few.
func (t *tx) scanTimers(prefix string, until time.Time, fn func(ticket.Timer) bool) error {
	idx := t.btx.Bucket(bucketTimers)
	if idx == nil {
		return nil
	}
	end, pre := dueKey(until, 0)[:8], []byte(prefix)
	c := idx.Cursor()
	for k, v := c.First(); k != nil && bytes.Compare(k[:min(8, len(k))], end) <= 0; k, v = c.Next() {
		if len(k) > 8 && !bytes.HasPrefix(k[8:], pre) {
			continue
		}
		tm, err := decodeTimer(k, v)
		if err != nil {
			return err
		}
		if !fn(tm) {
			return nil
		}
	}
	return nil
}

func decodeTimer(k, v []byte) (ticket.Timer, error) {
	if len(k) <= 8 {
		return ticket.Timer{}, fmt.Errorf("timer key %x has no name", k)
	}
	return ticket.Timer{Name: string(k[8:]), At: dueKeyTime(k), Payload: string(v)}, nil
}
