package store

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/ticket"
)

func TestTimerIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "helpdeskd.db")
	db := openAt(t, path)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	set := func(db *DB, tms ...ticket.Timer) {
		t.Helper()
		update(t, db, func(tx ticket.Tx) error {
			for _, tm := range tms {
				if err := tx.SetTimer(tm); err != nil {
					return err
				}
			}
			return nil
		})
	}
	due := func(db *DB, prefix string, until time.Time, limit int) []ticket.Timer {
		t.Helper()
		var out []ticket.Timer
		view(t, db, func(tx ticket.Tx) (err error) { out, err = tx.DueTimers(prefix, until, limit); return err })
		return out
	}
	next := func(db *DB, prefix string) (ticket.Timer, bool) {
		t.Helper()
		var tm ticket.Timer
		var ok bool
		view(t, db, func(tx ticket.Tx) (err error) { tm, ok, err = tx.NextTimer(prefix); return err })
		return tm, ok
	}
	list := func(db *DB, prefix string) []ticket.Timer {
		t.Helper()
		var out []ticket.Timer
		view(t, db, func(tx ticket.Tx) (err error) { out, err = tx.Timers(prefix); return err })
		return out
	}

	t.Run("a_file_without_timers_reads_empty", func(t *testing.T) {
		if _, ok := next(db, ""); ok {
			t.Error("NextTimer on a fresh file returned an entry")
		}
		if got := due(db, "", at(100), 0); len(got) != 0 {
			t.Errorf("DueTimers on a fresh file = %v", got)
		}
		view(t, db, func(tx ticket.Tx) error {
			if _, ok, err := tx.Timer("report/Jotron/year"); ok || err != nil {
				t.Errorf("Timer on a fresh file = %v, %v; want false, nil", ok, err)
			}
			if err := tx.SetTimer(ticket.Timer{Name: "x", At: t0}); !errors.Is(err, ErrReadOnly) {
				t.Errorf("SetTimer in a read-only tx: %v, want ErrReadOnly", err)
			}
			if err := tx.ClearTimer("x"); !errors.Is(err, ErrReadOnly) {
				t.Errorf("ClearTimer in a read-only tx: %v, want ErrReadOnly", err)
			}
			return nil
		})
	})

	set(db,
		ticket.Timer{Name: "report/Trinax/month", At: at(5), Payload: "2025-03"},
		ticket.Timer{Name: "report/Jotron/year", At: at(2), Payload: "2024"},
		ticket.Timer{Name: "report/Trinax/quarter", At: at(2), Payload: "2025-Q1"},
		ticket.Timer{Name: "other/thing", At: at(1)},
	)
	month := ticket.Timer{Name: "report/Trinax/month", At: at(5), Payload: "2025-03"}
	year := ticket.Timer{Name: "report/Jotron/year", At: at(2), Payload: "2024"}
	quarter := ticket.Timer{Name: "report/Trinax/quarter", At: at(2), Payload: "2025-Q1"}
	other := ticket.Timer{Name: "other/thing", At: at(1), Payload: ""}

	t.Run("due_earliest_first_ties_by_name_within_prefix", func(t *testing.T) {
		if got, want := due(db, "report/", at(5), 0), []ticket.Timer{year, quarter, month}; !reflect.DeepEqual(got, want) {
			t.Errorf("DueTimers(report/, +5h) = %v\nwant %v", got, want)
		}
		if got, want := due(db, "", at(2), 0), []ticket.Timer{other, year, quarter}; !reflect.DeepEqual(got, want) {
			t.Errorf("DueTimers(\"\", +2h) = %v\nwant %v", got, want)
		}
		if got := due(db, "report/", at(5), 1); !reflect.DeepEqual(got, []ticket.Timer{year}) {
			t.Errorf("DueTimers(report/, +5h, 1) = %v, want the first", got)
		}
		if got := due(db, "report/", at(1), 0); len(got) != 0 {
			t.Errorf("DueTimers(report/, +1h) = %v, want none (other/thing is not a report)", got)
		}
		if tm, ok := next(db, "report/"); !ok || tm != year {
			t.Errorf("NextTimer(report/) = %v, %v; want %v", tm, ok, year)
		}
		if tm, ok := next(db, ""); !ok || tm != other {
			t.Errorf("NextTimer(\"\") = %v, %v; want %v", tm, ok, other)
		}
		if _, ok := next(db, "nothing/"); ok {
			t.Error("NextTimer of a prefix nobody uses returned an entry")
		}
	})

	t.Run("listed_by_name", func(t *testing.T) {
		if got, want := list(db, "report/Trinax/"), []ticket.Timer{month, quarter}; !reflect.DeepEqual(got, want) {
			t.Errorf("Timers(report/Trinax/) = %v\nwant %v", got, want)
		}
		if got := list(db, ""); len(got) != 4 {
			t.Errorf("Timers(\"\") = %v, want all 4", got)
		}
	})

	t.Run("set_moves_the_named_timer", func(t *testing.T) {
		moved := ticket.Timer{Name: year.Name, At: at(50), Payload: "2025"}
		set(db, moved)
		if got, want := due(db, "report/", at(100), 0), []ticket.Timer{quarter, month, moved}; !reflect.DeepEqual(got, want) {
			t.Errorf("after moving Jotron: %v\nwant %v", got, want)
		}
		view(t, db, func(tx ticket.Tx) error {
			if tm, ok, err := tx.Timer(year.Name); !ok || err != nil || tm != moved {
				t.Errorf("Timer(%q) = %v, %v, %v; want %v", year.Name, tm, ok, err, moved)
			}
			return nil
		})
		set(db, moved) // the same again: one entry still
		if got := list(db, "report/Jotron/"); len(got) != 1 {
			t.Errorf("Timers after setting the same timer twice = %v", got)
		}
	})

	t.Run("clear_removes_it_and_clearing_none_is_no_error", func(t *testing.T) {
		update(t, db, func(tx ticket.Tx) error {
			if err := tx.ClearTimer(quarter.Name); err != nil {
				return err
			}
			return tx.ClearTimer("never/set")
		})
		if got := list(db, "report/Trinax/"); !reflect.DeepEqual(got, []ticket.Timer{month}) {
			t.Errorf("Timers after clear = %v, want the month only", got)
		}
		if got := due(db, "report/", at(5), 0); !reflect.DeepEqual(got, []ticket.Timer{month}) {
			t.Errorf("DueTimers after clear = %v, want the month only", got)
		}
	})

	t.Run("kept_across_reopen_and_rolled_back_with_a_failed_transaction", func(t *testing.T) {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db2 := openAt(t, path)
		boom := errors.New("boom")
		if err := db2.Update(func(tx ticket.Tx) error {
			if err := tx.SetTimer(ticket.Timer{Name: month.Name, At: at(900), Payload: "2025-04"}); err != nil {
				return err
			}
			return boom
		}); !errors.Is(err, boom) {
			t.Fatalf("Update = %v, want boom", err)
		}
		if got := list(db2, "report/Trinax/"); !reflect.DeepEqual(got, []ticket.Timer{month}) {
			t.Errorf("after reopen and a rolled-back move: %v, want %v", got, month)
		}
	})
}

func TestTimerNames(t *testing.T) {
	db := openTemp(t)
	err := db.Update(func(tx ticket.Tx) error { return tx.SetTimer(ticket.Timer{At: t0}) })
	if err == nil || !strings.Contains(err.Error(), "empty key") {
		t.Errorf("SetTimer without a name: %v, want an empty key error", err)
	}
	long := "report/" + strings.Repeat("x", maxStringKey)
	if err := db.Update(func(tx ticket.Tx) error { return tx.SetTimer(ticket.Timer{Name: long, At: t0}) }); err == nil {
		t.Error("SetTimer accepted a name longer than a key may be")
	}
	// Times before 1970 order before later ones: the sign bit is flipped.
	update(t, db, func(tx ticket.Tx) error {
		if err := tx.SetTimer(ticket.Timer{Name: "b", At: t0}); err != nil {
			return err
		}
		return tx.SetTimer(ticket.Timer{Name: "a", At: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)})
	})
	view(t, db, func(tx ticket.Tx) error {
		tm, ok, err := tx.NextTimer("")
		if !ok || err != nil || tm.Name != "a" || !tm.At.Equal(time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("NextTimer = %v, %v, %v; want a at 1960", tm, ok, err)
		}
		return nil
	})
}
