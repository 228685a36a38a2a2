package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/helpdeskd/helpdeskd/ticket"
)

// The deadline index is two buckets: deadlines, ordered by time so that
// the scheduler's next wake-up is one cursor seek, and deadline_of, from
// ticket ID to its key in deadlines, so that replacing or clearing a
// ticket's one entry does not scan.

func (t *tx) SetDeadline(d ticket.Deadline) error {
	idx, err := t.writable("set deadline", bucketDeadlines)
	if err != nil {
		return err
	}
	if d.TicketID == 0 {
		return fmt.Errorf("set deadline: no ticket ID")
	}
	of := t.btx.Bucket(bucketDeadlineOf)
	id := u64(d.TicketID)
	k := dueKey(d.At, d.TicketID)
	// The ticket's old entry goes; its deadline_of key is overwritten.
	if old := of.Get(id); old != nil && !bytes.Equal(old, k) {
		if err := idx.Delete(bytes.Clone(old)); err != nil {
			return fmt.Errorf("set deadline of ticket %d: %w", d.TicketID, err)
		}
	}
	if err := idx.Put(k, []byte(d.Kind)); err != nil {
		return fmt.Errorf("set deadline of ticket %d: %w", d.TicketID, err)
	}
	if err := of.Put(id, k); err != nil {
		return fmt.Errorf("set deadline of ticket %d: %w", d.TicketID, err)
	}
	return nil
}

func (t *tx) ClearDeadline(ticketID uint64) error {
	idx, err := t.writable("clear deadline", bucketDeadlines)
	if err != nil {
		return err
	}
	if err := clearDeadline(idx, t.btx.Bucket(bucketDeadlineOf), ticketID); err != nil {
		return fmt.Errorf("clear deadline of ticket %d: %w", ticketID, err)
	}
	return nil
}

func clearDeadline(idx, of *bolt.Bucket, ticketID uint64) error {
	old := of.Get(u64(ticketID))
	if old == nil {
		return nil
	}
	if err := idx.Delete(bytes.Clone(old)); err != nil {
		return err
	}
	return of.Delete(u64(ticketID))
}

// DueDeadlines returns up to limit entries (all if limit <= 0) with
// At <= until, earliest first. At comes back in UTC.
func (t *tx) DueDeadlines(until time.Time, limit int) ([]ticket.Deadline, error) {
	idx, err := t.bucket(bucketDeadlines)
	if err != nil {
		return nil, err
	}
	end := dueKey(until, 0)[:8]
	var out []ticket.Deadline
	c := idx.Cursor()
	for k, v := c.First(); k != nil && bytes.Compare(k[:min(8, len(k))], end) <= 0; k, v = c.Next() {
		if limit > 0 && len(out) == limit {
			break
		}
		d, err := decodeDeadline(k, v)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func (t *tx) NextDeadline() (ticket.Deadline, bool, error) {
	idx, err := t.bucket(bucketDeadlines)
	if err != nil {
		return ticket.Deadline{}, false, err
	}
	k, v := idx.Cursor().First()
	if k == nil {
		return ticket.Deadline{}, false, nil
	}
	d, err := decodeDeadline(k, v)
	return d, err == nil, err
}

func decodeDeadline(k, v []byte) (ticket.Deadline, error) {
	if len(k) != 16 {
		return ticket.Deadline{}, fmt.Errorf("deadline key %x is not 16 bytes", k)
	}
	return ticket.Deadline{
		At:       dueKeyTime(k),
		TicketID: binary.BigEndian.Uint64(k[8:]),
		Kind:     ticket.DeadlineKind(v),
	}, nil
}
