package store

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/ticket"
)

func TestMarksHappenOnceAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hd.db")
	db := openAt(t, path)
	at := time.Date(2026, 10, 3, 9, 30, 0, 0, time.UTC)
	view(t, db, func(tx ticket.Tx) error {
		if _, ok, err := tx.Marked("hours-warn/Trinax/2026-Q4"); ok || err != nil {
			t.Errorf("Marked on a fresh file = %v, %v; want false, nil", ok, err)
		}
		if _, err := tx.Mark("x", at); !errors.Is(err, ErrReadOnly) {
			t.Errorf("Mark in a read-only tx: err = %v, want ErrReadOnly", err)
		}
		return nil
	})
	update(t, db, func(tx ticket.Tx) error {
		if fresh, err := tx.Mark("hours-warn/Trinax/2026-Q4", at); !fresh || err != nil {
			t.Errorf("first Mark = %v, %v; want true, nil", fresh, err)
		}
		if fresh, err := tx.Mark("hours-warn/Trinax/2026-Q4", at.Add(time.Hour)); fresh || err != nil {
			t.Errorf("second Mark in the same tx = %v, %v; want false, nil", fresh, err)
		}
		return nil
	})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, path)
	update(t, db, func(tx ticket.Tx) error {
		got, ok, err := tx.Marked("hours-warn/Trinax/2026-Q4")
		if !ok || err != nil || !got.Equal(at) {
			t.Errorf("Marked after reopen = %v, %v, %v; want %v", got, ok, err, at)
		}
		if fresh, _ := tx.Mark("hours-warn/Trinax/2026-Q4", at); fresh {
			t.Error("Mark after reopen is fresh; want it remembered")
		}
		if err := tx.Unmark("hours-warn/Trinax/2026-Q4"); err != nil {
			return err
		}
		if fresh, _ := tx.Mark("hours-warn/Trinax/2026-Q4", at); !fresh {
			t.Error("Mark after Unmark is not fresh")
		}
		return nil
	})
}

func TestMarkRolledBackWithItsTransaction(t *testing.T) {
	db := openTemp(t)
	boom := errors.New("boom")
	err := db.Update(func(tx ticket.Tx) error {
		if _, err := tx.Mark("report/Jotron/2026", time.Unix(0, 0)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want boom", err)
	}
	view(t, db, func(tx ticket.Tx) error {
		if _, ok, _ := tx.Marked("report/Jotron/2026"); ok {
			t.Error("a mark of a failed transaction was kept")
		}
		return nil
	})
}
