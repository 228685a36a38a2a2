package store

import (
	"bytes"
	"errors"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/ticket"
)

func enqueue(t *testing.T, db *DB, envs ...*mailer.Envelope) {
	t.Helper()
	update(t, db, func(tx ticket.Tx) error {
		for _, env := range envs {
			if err := tx.Enqueue(env); err != nil {
				return err
			}
		}
		return nil
	})
}

func next(t *testing.T, db *DB) (mailer.Envelope, bool) {
	t.Helper()
	env, ok, err := db.Next()
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return env, ok
}

// listing renders Outbox as "purpose" or "purpose!" for failed ones.
func listing(t *testing.T, db *DB) []string {
	t.Helper()
	var out []string
	err := db.Outbox(func(env mailer.Envelope, failed bool) error {
		if failed {
			out = append(out, env.Purpose+"!")
		} else {
			out = append(out, env.Purpose)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Outbox: %v", err)
	}
	return out
}

func TestEnqueueDefaults(t *testing.T) {
	db := openTemp(t)
	a := &mailer.Envelope{Purpose: "ack", Raw: []byte("mail a"), To: []string{"ola@example.com"}}
	b := &mailer.Envelope{Purpose: "notify", Created: t0.Add(-time.Hour), NextAttempt: t0.Add(time.Hour)}
	enqueue(t, db, a, b)
	if a.ID != 1 || b.ID != 2 {
		t.Errorf("IDs = %d, %d; want 1, 2", a.ID, b.ID)
	}
	if !a.Created.Equal(t0) || !a.NextAttempt.Equal(t0) {
		t.Errorf("zero times became Created %v, NextAttempt %v; want both %v", a.Created, a.NextAttempt, t0)
	}
	if !b.Created.Equal(t0.Add(-time.Hour)) || !b.NextAttempt.Equal(t0.Add(time.Hour)) {
		t.Errorf("given times changed to %v, %v", b.Created, b.NextAttempt)
	}
	env, ok := next(t, db)
	if !ok || env.ID != 1 || !bytes.Equal(env.Raw, a.Raw) || env.To[0] != "ola@example.com" {
		t.Errorf("Next = %+v, %v; want envelope 1 as stored", env, ok)
	}
}

func TestOutboxLifecycle(t *testing.T) {
	db := openTemp(t)
	if _, ok := next(t, db); ok {
		t.Fatal("Next on an empty outbox returned an envelope")
	}
	if depth, oldest, err := db.OutboxStats(); depth != 0 || !oldest.IsZero() || err != nil {
		t.Errorf("OutboxStats on empty outbox = %d, %v, %v", depth, oldest, err)
	}

	a := &mailer.Envelope{Purpose: "a", Created: t0, NextAttempt: t0.Add(3 * time.Hour)}
	b := &mailer.Envelope{Purpose: "b", Created: t0.Add(time.Minute), NextAttempt: t0.Add(1 * time.Hour)}
	c := &mailer.Envelope{Purpose: "c", Created: t0.Add(2 * time.Minute), NextAttempt: t0.Add(2 * time.Hour)}
	enqueue(t, db, a, b, c)

	steps := []struct {
		name    string
		do      func() error
		next    string // purpose Next returns, "" for none
		listing []string
		depth   int
	}{
		{"ordered_by_next_attempt", func() error { return nil }, "b", []string{"a", "b", "c"}, 3},
		{"deferred_resorts", func() error { return db.Deferred(b.ID, 1, t0.Add(4*time.Hour), "451 try later") },
			"c", []string{"a", "b", "c"}, 3},
		{"failed_leaves_due_index", func() error { return db.Failed(c.ID, 2, "550 no such user") },
			"a", []string{"a", "b", "c!"}, 2},
		{"retry_brings_failed_back_due_now", func() error { return db.Retry(c.ID) },
			"c", []string{"a", "b", "c"}, 3},
		{"delivered_removes", func() error { return db.Delivered(c.ID, t0) }, "a", []string{"a", "b"}, 2},
		{"retry_of_pending_moves_it_first", func() error { return db.Retry(b.ID) }, "b", []string{"a", "b"}, 2},
		{"last_delivered", func() error {
			return errors.Join(db.Delivered(a.ID, t0), db.Delivered(b.ID, t0))
		}, "", nil, 0},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		env, ok := next(t, db)
		if got := env.Purpose; got != s.next || ok != (s.next != "") {
			t.Errorf("%s: Next = %q (ok %v), want %q", s.name, got, ok, s.next)
		}
		if got := listing(t, db); !equalStrings(got, s.listing) {
			t.Errorf("%s: Outbox = %v, want %v", s.name, got, s.listing)
		}
		if depth, _, err := db.OutboxStats(); depth != s.depth || err != nil {
			t.Errorf("%s: OutboxStats depth = %d (%v), want %d", s.name, depth, err, s.depth)
		}
	}
}

func TestOutboxRecordsAttempts(t *testing.T) {
	db := openTemp(t)
	env := &mailer.Envelope{Purpose: "ack"}
	enqueue(t, db, env)
	if err := db.Deferred(env.ID, 3, t0.Add(time.Hour), "421 busy"); err != nil {
		t.Fatal(err)
	}
	got, _ := next(t, db)
	if got.Attempts != 3 || !got.NextAttempt.Equal(t0.Add(time.Hour)) || got.LastError != "421 busy" {
		t.Errorf("after Deferred: attempts %d, next %v, error %q", got.Attempts, got.NextAttempt, got.LastError)
	}
	if err := db.Failed(env.ID, 4, "550 rejected"); err != nil {
		t.Fatal(err)
	}
	var failed mailer.Envelope
	_ = db.Outbox(func(e mailer.Envelope, f bool) error {
		if f {
			failed = e
		}
		return nil
	})
	if failed.ID != env.ID || failed.Attempts != 4 || failed.LastError != "550 rejected" {
		t.Errorf("failed envelope listed as %+v", failed)
	}
	// Outbox's fn may change the queue: it runs outside the transaction.
	err := db.Outbox(func(e mailer.Envelope, f bool) error { return db.Retry(e.ID) })
	if err != nil {
		t.Fatalf("Retry from Outbox: %v", err)
	}
	got, ok := next(t, db)
	if !ok || got.Attempts != 0 || !got.NextAttempt.Equal(t0) || got.LastError != "550 rejected" {
		t.Errorf("after Retry: %+v", got)
	}
}

func TestOutboxUnknownID(t *testing.T) {
	db := openTemp(t)
	env := &mailer.Envelope{Purpose: "ack"}
	enqueue(t, db, env)
	if err := db.Failed(env.ID, 1, "550"); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"Delivered_unknown": db.Delivered(99, t0),
		"Deferred_unknown":  db.Deferred(99, 1, t0, ""),
		"Failed_unknown":    db.Failed(99, 1, ""),
		"Retry_unknown":     db.Retry(99),
		"Deferred_failed":   db.Deferred(env.ID, 2, t0, ""),
		"Delivered_failed":  db.Delivered(env.ID, t0),
	} {
		if !errors.Is(err, ticket.ErrNotFound) {
			t.Errorf("%s: error = %v, want ErrNotFound", name, err)
		}
	}
}

func TestOutboxStatsOldest(t *testing.T) {
	db := openTemp(t)
	enqueue(t, db,
		&mailer.Envelope{Created: t0.Add(-2 * time.Hour), NextAttempt: t0.Add(time.Hour)},
		&mailer.Envelope{Created: t0.Add(-time.Hour)},
	)
	depth, oldest, err := db.OutboxStats()
	if depth != 2 || !oldest.Equal(t0.Add(-2*time.Hour)) || err != nil {
		t.Errorf("OutboxStats = %d, %v, %v; want 2, %v", depth, oldest, err, t0.Add(-2*time.Hour))
	}
}

func TestDueKeyOrdersByTime(t *testing.T) {
	times := []time.Time{
		time.Unix(0, math.MinInt64).Add(-time.Hour), // clamped
		time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(-1, 0),
		time.Unix(0, 0),
		t0,
		t0.Add(time.Nanosecond),
		time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), // clamped
	}
	keys := make([][]byte, len(times))
	for i, at := range times {
		keys[i] = dueKey(at, uint64(len(times)-i))
	}
	if !sort.SliceIsSorted(keys, func(i, j int) bool { return bytes.Compare(keys[i], keys[j]) < 0 }) {
		t.Errorf("due keys are not in time order: %x", keys)
	}
	if bytes.Compare(dueKey(t0, 1), dueKey(t0, 2)) >= 0 {
		t.Error("equal times are not ordered by ID")
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
