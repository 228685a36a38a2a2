package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// tx implements ticket.Tx on one bbolt transaction.
type tx struct {
	btx *bolt.Tx
	db  *DB
}

var _ ticket.Tx = (*tx)(nil)

// ID numbers the transaction: a read transaction has the number of the
// last committed write, a write transaction that number plus one. So two
// write transactions whose IDs differ by one had no commit between them
// (the scheduler relies on that to reuse work done ahead).
func (t *tx) ID() uint64 { return uint64(t.btx.ID()) }

// bucket returns a top-level bucket; they all exist after Open.
func (t *tx) bucket(name []byte) (*bolt.Bucket, error) {
	b := t.btx.Bucket(name)
	if b == nil {
		return nil, fmt.Errorf("bucket %q missing", name)
	}
	return b, nil
}

// writable returns bucket name if the transaction may write, else an
// error naming the method.
func (t *tx) writable(method string, name []byte) (*bolt.Bucket, error) {
	if !t.btx.Writable() {
		return nil, fmt.Errorf("%s: %w", method, ErrReadOnly)
	}
	b, err := t.bucket(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	return b, nil
}

func (t *tx) NextCaseNumber() (uint64, error) {
	meta, err := t.writable("next case number", bucketMeta)
	if err != nil {
		return 0, err
	}
	cases := meta.Bucket(bucketCases)
	if cases == nil {
		return 0, fmt.Errorf("next case number: bucket %q missing", bucketCases)
	}
	n, err := cases.NextSequence()
	if err != nil {
		return 0, fmt.Errorf("next case number: %w", err)
	}
	return n, nil
}

func (t *tx) Ticket(id uint64) (*ticket.Ticket, error) {
	b, err := t.bucket(bucketTickets)
	if err != nil {
		return nil, err
	}
	v := b.Get(u64(id))
	if v == nil {
		return nil, fmt.Errorf("ticket %d: %w", id, ticket.ErrNotFound)
	}
	var tk ticket.Ticket
	if err := decodeRecord(v, &tk); err != nil {
		return nil, fmt.Errorf("ticket %d: decode: %w", id, err)
	}
	return &tk, nil
}

func (t *tx) PutTicket(tk *ticket.Ticket) error {
	b, err := t.writable("put ticket", bucketTickets)
	if err != nil {
		return err
	}
	if tk == nil || tk.ID == 0 {
		return fmt.Errorf("put ticket: ticket without ID")
	}
	v, err := encodeRecord(tk)
	if err != nil {
		return fmt.Errorf("put ticket %d: %w", tk.ID, err)
	}
	if err := b.Put(u64(tk.ID), v); err != nil {
		return fmt.Errorf("put ticket %d: %w", tk.ID, err)
	}
	// A ticket stored under a number the sequence has not handed out yet
	// (an import, a restore by hand) must not be handed out again later.
	cases := t.btx.Bucket(bucketMeta).Bucket(bucketCases)
	if cases.Sequence() < tk.ID {
		if err := cases.SetSequence(tk.ID); err != nil {
			return fmt.Errorf("put ticket %d: %w", tk.ID, err)
		}
	}
	return nil
}

func (t *tx) ForEachTicket(fn func(*ticket.Ticket) error) error {
	b, err := t.bucket(bucketTickets)
	if err != nil {
		return err
	}
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var tk ticket.Ticket
		if err := decodeRecord(v, &tk); err != nil {
			return fmt.Errorf("ticket %x: decode: %w", k, err)
		}
		if err := fn(&tk); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) AddEntry(ticketID uint64, e *ticket.Entry) error {
	b, err := t.writable("add entry", bucketEntries)
	if err != nil {
		return err
	}
	if ticketID == 0 || e == nil {
		return fmt.Errorf("add entry: need a ticket ID and an entry")
	}
	last, err := lastEntrySeq(b, ticketID)
	if err != nil {
		return fmt.Errorf("add entry to ticket %d: %w", ticketID, err)
	}
	if last == math.MaxUint32 {
		return fmt.Errorf("add entry to ticket %d: history is full", ticketID)
	}
	e.Seq = last + 1
	v, err := encodeRecord(e)
	if err != nil {
		return fmt.Errorf("add entry to ticket %d: %w", ticketID, err)
	}
	if err := b.Put(entryKey(ticketID, e.Seq), v); err != nil {
		return fmt.Errorf("add entry to ticket %d: %w", ticketID, err)
	}
	return nil
}

// lastEntrySeq finds the highest seq of a ticket (0: none) by seeking just
// past its key range and stepping back: O(log n).
func lastEntrySeq(b *bolt.Bucket, ticketID uint64) (uint32, error) {
	c := b.Cursor()
	var k []byte
	if ticketID == math.MaxUint64 {
		k, _ = c.Last()
	} else if k, _ = c.Seek(u64(ticketID + 1)); k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, u64(ticketID)) {
		return 0, nil
	}
	if len(k) != 12 {
		return 0, fmt.Errorf("entry key %x is not 12 bytes", k)
	}
	return binary.BigEndian.Uint32(k[8:]), nil
}

func (t *tx) Entries(ticketID uint64) ([]*ticket.Entry, error) {
	b, err := t.bucket(bucketEntries)
	if err != nil {
		return nil, err
	}
	prefix := u64(ticketID)
	var out []*ticket.Entry
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var e ticket.Entry
		if err := decodeRecord(v, &e); err != nil {
			return nil, fmt.Errorf("entry %x: decode: %w", k, err)
		}
		out = append(out, &e)
	}
	return out, nil
}

// EntriesNewestFirst calls fn for a ticket's entries from the newest
// until fn returns false, decoding only those. (ticket's escalation mail
// looks for the customer's last message this way.)
func (t *tx) EntriesNewestFirst(ticketID uint64, fn func(*ticket.Entry) bool) error {
	b, err := t.bucket(bucketEntries)
	if err != nil {
		return err
	}
	prefix := u64(ticketID)
	c := b.Cursor()
	var k, v []byte
	if ticketID == math.MaxUint64 {
		k, v = c.Last()
	} else if k, _ = c.Seek(u64(ticketID + 1)); k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
		var e ticket.Entry
		if err := decodeRecord(v, &e); err != nil {
			return fmt.Errorf("entry %x: decode: %w", k, err)
		}
		if !fn(&e) {
			return nil
		}
	}
	return nil
}

func (t *tx) PutRaw(key string, raw []byte) error {
	v, err := encodeRaw(raw)
	if err != nil {
		return fmt.Errorf("put raw %q: %w", key, err)
	}
	return t.put("put raw", bucketRaw, key, v)
}

func (t *tx) Raw(key string) ([]byte, error) {
	v, err := t.get(bucketRaw, key)
	if err != nil {
		return nil, fmt.Errorf("raw: %w", err)
	}
	if v == nil {
		return nil, fmt.Errorf("raw %q: %w", key, ticket.ErrNotFound)
	}
	raw, err := decodeRaw(v)
	if err != nil {
		return nil, fmt.Errorf("raw %q: %w", key, err)
	}
	return raw, nil
}

func (t *tx) ThreadTicket(messageID string) (uint64, error) {
	id, ok, err := t.getID(bucketMsgID, messageID)
	if err != nil {
		return 0, fmt.Errorf("thread %q: %w", messageID, err)
	}
	if !ok {
		return 0, fmt.Errorf("thread %q: %w", messageID, ticket.ErrNotFound)
	}
	return id, nil
}

func (t *tx) PutThread(messageID string, ticketID uint64) error {
	return t.put("put thread", bucketMsgID, messageID, u64(ticketID))
}

func (t *tx) Seen(key string) (uint64, bool, error) {
	id, ok, err := t.getID(bucketSeen, key)
	if err != nil {
		return 0, false, fmt.Errorf("seen %q: %w", key, err)
	}
	return id, ok, nil
}

func (t *tx) MarkSeen(key string, ticketID uint64) error {
	return t.put("mark seen", bucketSeen, key, u64(ticketID))
}

func (t *tx) getID(bucket []byte, key string) (uint64, bool, error) {
	v, err := t.get(bucket, key)
	if err != nil || v == nil {
		return 0, false, err
	}
	id, err := decodeU64(v)
	return id, err == nil, err
}

func (t *tx) Checkpoint(mailbox string) (mailer.Checkpoint, error) {
	var c mailer.Checkpoint
	if err := t.getRecord("checkpoint", bucketIntake, mailbox, &c); err != nil {
		return mailer.Checkpoint{}, err
	}
	return c, nil
}

func (t *tx) SetCheckpoint(mailbox string, c mailer.Checkpoint) error {
	return t.putRecord("set checkpoint", bucketIntake, mailbox, &c)
}

func (t *tx) RateWindow(key string) (ticket.RateWindow, error) {
	var w ticket.RateWindow
	if err := t.getRecord("rate window", bucketAutoReply, key, &w); err != nil {
		return ticket.RateWindow{}, err
	}
	return w, nil
}

// SetRateWindow with an empty window deletes the key, so senders whose
// hour has passed do not accumulate.
func (t *tx) SetRateWindow(key string, w ticket.RateWindow) error {
	if !w.Empty() {
		return t.putRecord("set rate window", bucketAutoReply, key, &w)
	}
	b, k, err := t.writableKey("set rate window", bucketAutoReply, key)
	if err != nil {
		return err
	}
	return b.Delete(k)
}

// The buckets keyed by a string (raw, msgid, seen, intake, autoreply) are
// read and written through these, so that a key bbolt cannot take gives
// the same error everywhere.

// get returns the value under key in bucket, nil when there is none.
func (t *tx) get(bucket []byte, key string) ([]byte, error) {
	b, err := t.bucket(bucket)
	if err != nil {
		return nil, err
	}
	k, err := stringKey(key)
	if err != nil {
		return nil, err
	}
	return b.Get(k), nil
}

// getRecord decodes the record under key into v, which it leaves as it is
// when there is none; what names the record in errors.
func (t *tx) getRecord(what string, bucket []byte, key string, v any) error {
	data, err := t.get(bucket, key)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if data == nil {
		return nil
	}
	if err := decodeRecord(data, v); err != nil {
		return fmt.Errorf("%s %q: decode: %w", what, key, err)
	}
	return nil
}

// writableKey returns bucket and key for a change, or an error naming
// method.
func (t *tx) writableKey(method string, bucket []byte, key string) (*bolt.Bucket, []byte, error) {
	b, err := t.writable(method, bucket)
	if err != nil {
		return nil, nil, err
	}
	k, err := stringKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", method, err)
	}
	return b, k, nil
}

func (t *tx) put(method string, bucket []byte, key string, v []byte) error {
	b, k, err := t.writableKey(method, bucket, key)
	if err != nil {
		return err
	}
	if err := b.Put(k, v); err != nil {
		return fmt.Errorf("%s %q: %w", method, key, err)
	}
	return nil
}

// putRecord stores the JSON of the record v points to under key.
func (t *tx) putRecord(method string, bucket []byte, key string, v any) error {
	data, err := encodeRecord(v)
	if err != nil {
		return fmt.Errorf("%s %q: %w", method, key, err)
	}
	return t.put(method, bucket, key, data)
}
