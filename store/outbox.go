package store

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// The outbox is three buckets: outbox holds pending envelopes by ID,
// outbox_due indexes them by NextAttempt so that Next is one cursor seek,
// and outbox_failed keeps the ones given up on for inspection and Retry.
// Every change moves an envelope between them in one transaction.

var _ mailer.Queue = (*DB)(nil)
var _ mailer.Checkpoints = (*DB)(nil)

// Enqueue adds env to the outbox and sets env.ID. A zero Created becomes
// now and a zero NextAttempt becomes Created (send at once).
func (t *tx) Enqueue(env *mailer.Envelope) error {
	b, err := t.writable("enqueue", bucketOutbox)
	if err != nil {
		return err
	}
	if env == nil {
		return fmt.Errorf("enqueue: nil envelope")
	}
	id, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	env.ID = id
	if env.Created.IsZero() {
		env.Created = t.db.now()
	}
	if env.NextAttempt.IsZero() {
		env.NextAttempt = env.Created
	}
	if err := putPending(t.btx, env); err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	return nil
}

// putPending writes env to outbox and its due key; the caller has removed
// any older due key.
func putPending(btx *bolt.Tx, env *mailer.Envelope) error {
	v, err := encodeRecord(env)
	if err != nil {
		return fmt.Errorf("envelope %d: %w", env.ID, err)
	}
	if err := btx.Bucket(bucketOutbox).Put(u64(env.ID), v); err != nil {
		return fmt.Errorf("envelope %d: %w", env.ID, err)
	}
	return btx.Bucket(bucketOutboxDue).Put(dueKey(env.NextAttempt, env.ID), []byte{})
}

func getEnvelope(b *bolt.Bucket, id uint64) (*mailer.Envelope, error) {
	v := b.Get(u64(id))
	if v == nil {
		return nil, fmt.Errorf("envelope %d: %w", id, ticket.ErrNotFound)
	}
	var env mailer.Envelope
	if err := decodeRecord(v, &env); err != nil {
		return nil, fmt.Errorf("envelope %d: decode: %w", id, err)
	}
	return &env, nil
}

// takePending removes a pending envelope from outbox and the due index and
// returns it.
func takePending(btx *bolt.Tx, id uint64) (*mailer.Envelope, error) {
	env, err := getEnvelope(btx.Bucket(bucketOutbox), id)
	if err != nil {
		return nil, err
	}
	if err := btx.Bucket(bucketOutbox).Delete(u64(id)); err != nil {
		return nil, err
	}
	if err := btx.Bucket(bucketOutboxDue).Delete(dueKey(env.NextAttempt, id)); err != nil {
		return nil, err
	}
	return env, nil
}

// Next returns the pending envelope with the earliest NextAttempt, whether
// or not it is due yet; ok is false when nothing is pending.
func (db *DB) Next() (env mailer.Envelope, ok bool, err error) {
	err = db.bolt.View(func(btx *bolt.Tx) error {
		k, _ := btx.Bucket(bucketOutboxDue).Cursor().First()
		if k == nil {
			return nil
		}
		if len(k) != 16 {
			return fmt.Errorf("outbox: due key %x is not 16 bytes", k)
		}
		e, err := getEnvelope(btx.Bucket(bucketOutbox), binary.BigEndian.Uint64(k[8:]))
		if err != nil {
			return fmt.Errorf("outbox: due index points to a missing envelope: %w", err)
		}
		env, ok = *e, true
		return nil
	})
	return env, ok, err
}

// Delivered removes a sent envelope. An unknown ID gives ticket.ErrNotFound.
func (db *DB) Delivered(id uint64, at time.Time) error {
	return db.bolt.Update(func(btx *bolt.Tx) error {
		env, err := takePending(btx, id)
		if err != nil {
			return fmt.Errorf("delivered: %w", err)
		}
		db.log.Debug("outbox delivered", "id", id, "purpose", env.Purpose, "case", env.Case,
			"attempts", env.Attempts, "at", at)
		return nil
	})
}

// Deferred records a temporary failure and re-sorts the envelope to next.
func (db *DB) Deferred(id uint64, attempts int, next time.Time, reason string) error {
	return db.bolt.Update(func(btx *bolt.Tx) error {
		env, err := takePending(btx, id)
		if err != nil {
			return fmt.Errorf("deferred: %w", err)
		}
		env.Attempts, env.NextAttempt, env.LastError = attempts, next, reason
		if err := putPending(btx, env); err != nil {
			return fmt.Errorf("deferred: %w", err)
		}
		db.log.Debug("outbox deferred", "id", id, "attempts", attempts, "next", next, "reason", reason)
		return nil
	})
}

// Failed moves a pending envelope to the failed list, out of Next's reach;
// Outbox lists it and Retry brings it back.
func (db *DB) Failed(id uint64, attempts int, reason string) error {
	return db.bolt.Update(func(btx *bolt.Tx) error {
		env, err := takePending(btx, id)
		if err != nil {
			return fmt.Errorf("failed: %w", err)
		}
		env.Attempts, env.LastError = attempts, reason
		v, err := encodeRecord(env)
		if err != nil {
			return fmt.Errorf("failed: envelope %d: %w", id, err)
		}
		if err := btx.Bucket(bucketOutboxFailed).Put(u64(id), v); err != nil {
			return fmt.Errorf("failed: envelope %d: %w", id, err)
		}
		db.log.Debug("outbox failed", "id", id, "attempts", attempts, "reason", reason)
		return nil
	})
}

// Retry makes an envelope due now: a failed one goes back to pending with
// its attempt count reset (an operator asked for a fresh go; LastError is
// kept), a pending one is moved to the front. An unknown ID gives
// ticket.ErrNotFound.
func (db *DB) Retry(id uint64) error {
	return db.bolt.Update(func(btx *bolt.Tx) error {
		failed := btx.Bucket(bucketOutboxFailed)
		var env *mailer.Envelope
		var err error
		if failed.Get(u64(id)) != nil {
			if env, err = getEnvelope(failed, id); err != nil {
				return fmt.Errorf("retry: %w", err)
			}
			if err := failed.Delete(u64(id)); err != nil {
				return fmt.Errorf("retry: %w", err)
			}
			env.Attempts = 0
		} else if env, err = takePending(btx, id); err != nil {
			return fmt.Errorf("retry: %w", err)
		}
		env.NextAttempt = db.now()
		if err := putPending(btx, env); err != nil {
			return fmt.Errorf("retry: %w", err)
		}
		db.log.Debug("outbox retry", "id", id, "purpose", env.Purpose, "case", env.Case)
		return nil
	})
}

// OutboxStats returns the number of pending envelopes and the Created time
// of the oldest (zero when none), for metrics. It counts index keys and
// decodes one envelope: IDs are handed out in Enqueue order, so the lowest
// pending ID is the oldest mail.
func (db *DB) OutboxStats() (depth int, oldest time.Time, err error) {
	err = db.bolt.View(func(btx *bolt.Tx) error {
		c := btx.Bucket(bucketOutboxDue).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			depth++
		}
		_, v := btx.Bucket(bucketOutbox).Cursor().First()
		if v == nil {
			return nil
		}
		var head struct {
			Created time.Time `json:"created"`
		}
		if err := decodeRecord(v, &head); err != nil {
			return fmt.Errorf("outbox stats: decode: %w", err)
		}
		oldest = head.Created
		return nil
	})
	return depth, oldest, err
}

// Outbox calls fn for every pending envelope in ID order, then for every
// failed one. fn runs after the read transaction has ended, so it may call
// Retry or any other method.
func (db *DB) Outbox(fn func(env mailer.Envelope, failed bool) error) error {
	type item struct {
		env    mailer.Envelope
		failed bool
	}
	var items []item
	err := db.bolt.View(func(btx *bolt.Tx) error {
		for _, src := range []struct {
			name   []byte
			failed bool
		}{{bucketOutbox, false}, {bucketOutboxFailed, true}} {
			c := btx.Bucket(src.name).Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				var env mailer.Envelope
				if err := decodeRecord(v, &env); err != nil {
					return fmt.Errorf("outbox: envelope %x: decode: %w", k, err)
				}
				items = append(items, item{env, src.failed})
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, it := range items {
		if err := fn(it.env, it.failed); err != nil {
			return err
		}
	}
	return nil
}

// Checkpoint returns intake's last committed place in mailbox; a mailbox
// never seen gives the zero Checkpoint.
func (db *DB) Checkpoint(mailbox string) (c mailer.Checkpoint, err error) {
	err = db.View(func(t ticket.Tx) error {
		c, err = t.Checkpoint(mailbox)
		return err
	})
	return c, err
}
