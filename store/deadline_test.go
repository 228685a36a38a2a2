package store

import (
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/ticket"
)

func TestDeadlineIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "helpdeskd.db")
	db := openAt(t, path)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	set := func(ds ...ticket.Deadline) {
		t.Helper()
		update(t, db, func(tx ticket.Tx) error {
			for _, d := range ds {
				if err := tx.SetDeadline(d); err != nil {
					return err
				}
			}
			return nil
		})
	}
	due := func(db *DB, until time.Time, limit int) []ticket.Deadline {
		t.Helper()
		var out []ticket.Deadline
		view(t, db, func(tx ticket.Tx) (err error) { out, err = tx.DueDeadlines(until, limit); return err })
		return out
	}
	nextOf := func(db *DB) (ticket.Deadline, bool) {
		t.Helper()
		var d ticket.Deadline
		var ok bool
		view(t, db, func(tx ticket.Tx) (err error) { d, ok, err = tx.NextDeadline(); return err })
		return d, ok
	}

	if _, ok := nextOf(db); ok {
		t.Fatal("NextDeadline on an empty index returned an entry")
	}
	set(
		ticket.Deadline{At: at(5), TicketID: 1, Kind: ticket.DeadlineWarn},
		ticket.Deadline{At: at(2), TicketID: 2, Kind: ticket.DeadlineBreach},
		ticket.Deadline{At: at(2), TicketID: 3, Kind: ticket.DeadlineMail},
		ticket.Deadline{At: at(9), TicketID: 4, Kind: ticket.DeadlineRetry},
	)
	want := []ticket.Deadline{
		{At: at(2), TicketID: 2, Kind: ticket.DeadlineBreach},
		{At: at(2), TicketID: 3, Kind: ticket.DeadlineMail},
		{At: at(5), TicketID: 1, Kind: ticket.DeadlineWarn},
	}
	if got := due(db, at(5), 0); !reflect.DeepEqual(got, want) {
		t.Errorf("DueDeadlines(+5h) = %v\nwant %v", got, want)
	}
	if got := due(db, at(5), 2); !reflect.DeepEqual(got, want[:2]) {
		t.Errorf("DueDeadlines(+5h, 2) = %v, want the first two", got)
	}
	if got := due(db, at(1), 0); len(got) != 0 {
		t.Errorf("DueDeadlines(+1h) = %v, want none", got)
	}
	if d, ok := nextOf(db); !ok || d != want[0] {
		t.Errorf("NextDeadline = %v, %v; want %v", d, ok, want[0])
	}

	t.Run("set_replaces_the_tickets_entry", func(t *testing.T) {
		set(ticket.Deadline{At: at(10), TicketID: 2, Kind: ticket.DeadlineEscalate})
		if d, _ := nextOf(db); d.TicketID != 3 {
			t.Errorf("NextDeadline = %v, want ticket 3 after moving ticket 2 later", d)
		}
		all := due(db, at(100), 0)
		if len(all) != 4 || all[3].TicketID != 2 || all[3].Kind != ticket.DeadlineEscalate {
			t.Errorf("index after replace = %v", all)
		}
	})
	t.Run("clear_removes_it", func(t *testing.T) {
		update(t, db, func(tx ticket.Tx) error {
			return errors.Join(tx.ClearDeadline(3), tx.ClearDeadline(3), tx.ClearDeadline(99))
		})
		for _, d := range due(db, at(100), 0) {
			if d.TicketID == 3 {
				t.Errorf("ticket 3 still in the index: %v", d)
			}
		}
	})
	t.Run("survives_reopen", func(t *testing.T) {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db2 := openAt(t, path)
		if got := due(db2, at(100), 0); len(got) != 3 {
			t.Errorf("after reopen: %v, want 3 entries", got)
		}
	})
}

func TestDeadlineWritesInViewFail(t *testing.T) {
	db := openTemp(t)
	err := db.View(func(tx ticket.Tx) error {
		return errors.Join(
			tx.SetDeadline(ticket.Deadline{At: t0, TicketID: 1}),
			tx.ClearDeadline(1),
		)
	})
	if !errors.Is(err, ErrReadOnly) {
		t.Errorf("deadline writes in View: %v, want ErrReadOnly", err)
	}
	if err := db.Update(func(tx ticket.Tx) error { return tx.SetDeadline(ticket.Deadline{At: t0}) }); err == nil {
		t.Error("SetDeadline without a ticket ID succeeded")
	}
}
