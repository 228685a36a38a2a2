package store

import (
	"errors"
	"testing"

	"github.com/helpdeskd/helpdeskd/ticket"
)

func TestCounters(t *testing.T) {
	db := openTemp(t)
	if err := db.View(func(tx ticket.Tx) error {
		if _, ok, err := tx.Counter("hours/A/2026-Q4"); ok || err != nil {
			t.Errorf("a counter in a new file: ok %v, err %v", ok, err)
		}
		if err := tx.SetCounter("x", 1); !errors.Is(err, ErrReadOnly) {
			t.Errorf("SetCounter in a read transaction: %v, want ErrReadOnly", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int64{0, 90, -15} {
		if err := db.Update(func(tx ticket.Tx) error { return tx.SetCounter("hours/A/2026-Q4", n) }); err != nil {
			t.Fatal(err)
		}
		if err := db.View(func(tx ticket.Tx) error {
			got, ok, err := tx.Counter("hours/A/2026-Q4")
			if got != n || !ok || err != nil {
				t.Errorf("Counter after SetCounter(%d) = %d, %v, %v", n, got, ok, err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Update(func(tx ticket.Tx) error { return tx.SetCounter("", 1) }); err == nil {
		t.Error("SetCounter with an empty key succeeded")
	}
}
