package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"time"
)

// SchemaVersion is the layout this code reads and writes. A file with a
// higher version was written by a newer helpdeskd and is refused
// (ErrSchema) rather than half understood.
const SchemaVersion = 1

// Bucket names. See DESIGN.md "Store layout".
var (
	bucketMeta         = []byte("meta")          // schema version; sub-bucket cases
	bucketCases        = []byte("cases")         // inside meta: NextSequence = case numbers
	bucketTickets      = []byte("tickets")       // u64 id → JSON Ticket
	bucketEntries      = []byte("entries")       // u64 ticket id + u32 seq → JSON Entry
	bucketRaw          = []byte("raw")           // key → codec byte + bytes
	bucketMsgID        = []byte("msgid")         // Message-ID → u64 ticket id
	bucketSeen         = []byte("seen")          // dedupe key → u64 ticket id
	bucketOutbox       = []byte("outbox")        // u64 id → JSON Envelope (pending)
	bucketOutboxDue    = []byte("outbox_due")    // u64 ordered NextAttempt + u64 id → empty
	bucketOutboxFailed = []byte("outbox_failed") // u64 id → JSON Envelope (given up)
	bucketIntake       = []byte("intake")        // mailbox → JSON Checkpoint
	bucketAutoReply    = []byte("autoreply")     // key → JSON ticket.RateWindow
	bucketDeadlines    = []byte("deadlines")     // u64 ordered At + u64 ticket id → kind
	bucketDeadlineOf   = []byte("deadline_of")   // u64 ticket id → its key in deadlines

	keySchemaVersion = []byte("schema_version")
)

// topBuckets are created by Open; the walk on open visits them all.
var topBuckets = [][]byte{
	bucketMeta, bucketTickets, bucketEntries, bucketRaw, bucketMsgID,
	bucketSeen, bucketOutbox, bucketOutboxDue, bucketOutboxFailed,
	bucketIntake, bucketAutoReply, bucketDeadlines, bucketDeadlineOf,
}

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

func entryKey(ticketID uint64, seq uint32) []byte {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], ticketID)
	binary.BigEndian.PutUint32(b[8:], seq)
	return b[:]
}

// The UnixNano range; times outside it are clamped so that the due index
// stays ordered instead of wrapping around.
var (
	minNano = time.Unix(0, math.MinInt64)
	maxNano = time.Unix(0, math.MaxInt64)
)

// dueKey orders by time (an envelope's NextAttempt, a deadline's At),
// then by id. The sign bit of the nanosecond
// count is flipped so that byte order equals time order also before 1970.
func dueKey(at time.Time, id uint64) []byte {
	switch {
	case at.Before(minNano):
		at = minNano
	case at.After(maxNano):
		at = maxNano
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(at.UnixNano())^(1<<63))
	binary.BigEndian.PutUint64(b[8:], id)
	return b[:]
}

// maxStringKey bounds keys made from strings that come from mail headers.
// bbolt refuses keys over 32 KiB, and one absurd Message-ID must not make
// a whole intake transaction fail forever, so longer keys are replaced by
// a digest. The NUL prefix cannot occur in a normalized header value.
const maxStringKey = 512

var errEmptyKey = errors.New("empty key")

// stringKey turns a caller's key (already normalized, case-sensitive) into
// a bbolt key.
func stringKey(s string) ([]byte, error) {
	if s == "" {
		return nil, errEmptyKey
	}
	if len(s) <= maxStringKey {
		return []byte(s), nil
	}
	sum := sha256.Sum256([]byte(s))
	return []byte("\x00sha256:" + hex.EncodeToString(sum[:])), nil
}

// dueKeyTime is the time of a dueKey, in UTC.
func dueKeyTime(k []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(k[:8])^(1<<63))).UTC()
}

func decodeU64(v []byte) (uint64, error) {
	if len(v) != 8 {
		return 0, errors.New("stored id is not 8 bytes")
	}
	return binary.BigEndian.Uint64(v), nil
}
