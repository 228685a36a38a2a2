package ticket_test

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// BenchmarkHourBankCarryOver measures what each #time on a carrying bank
// costs: one period's use with the chain walked back to valid_from, here
// a monthly bank over 2021–2026 (72 periods) on 1000 tickets of the
// agreement with 20 entries each, in a real bbolt file.
func BenchmarkHourBankCarryOver(b *testing.B) {
	ag := carryOverAgreement(b)
	ag.HourBank.Per = sla.Monthly
	ag.ValidFrom = time.Date(2021, 1, 1, 0, 0, 0, 0, ag.Location())
	db, err := store.Open(filepath.Join(b.TempDir(), "hd.db"), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx ticket.Tx) error {
		for id := uint64(1); id <= 1000; id++ {
			tk := &ticket.Ticket{ID: id, Case: fmt.Sprintf("HD-%06d", id), Subject: "Växeln tappar samtal", Agreement: ag.Name, State: ticket.StateOpen}
			for j := range 20 {
				at := ag.ValidFrom.Add(time.Duration((int(id)*7919+j*104729)%(72*30*24)) * time.Hour)
				tk.TimeLog = append(tk.TimeLog, ticket.TimeEntry{At: at, Engineer: "Ola", Minutes: 15})
			}
			if err := tx.PutTicket(tk); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		err := db.View(func(tx ticket.Tx) error {
			_, err := ticket.HourBankPeriod(tx, ag, "2026-11")
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
