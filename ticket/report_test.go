package ticket_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

func TestAgreementReport(t *testing.T) {
	ag := hourBankAgreement(t) // Stockholm, 6 h per quarter
	sto := ag.Location()
	at := func(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, sto) }
	clock := func(p sla.Promise, start, met, breached time.Time) *ticket.Clock {
		return &ticket.Clock{Promise: p, Start: start, Met: met, Breached: breached}
	}
	var zero time.Time
	tickets := []*ticket.Ticket{
		{ID: 1, Case: "HD-000001", Subject: "Before the quarter, still open", Agreement: ag.Name, Priority: 2, State: ticket.StateOpen,
			Created: at(6, 30, 12)},
		{ID: 2, Case: "HD-000002", Subject: "Quick", Agreement: ag.Name, Priority: 1, State: ticket.StateClosed,
			Created: at(7, 1, 9), ResolvedAt: at(7, 1, 15), SLA: &ticket.SLAState{Plan: "p", Clocks: []*ticket.Clock{
				clock(sla.PromiseFirstResponse, at(7, 1, 9), at(7, 1, 10), zero),
				clock(sla.PromiseResolution, at(7, 1, 9), at(7, 1, 15), zero)}},
			TimeLog: []ticket.TimeEntry{{At: at(7, 1, 14), Engineer: "Ola", Minutes: 400}}},
		{ID: 3, Case: "HD-000003", Subject: "Slow", Agreement: ag.Name, Priority: 3, State: ticket.StateResolved,
			Created: at(8, 3, 9), ResolvedAt: at(10, 2, 9), SLA: &ticket.SLAState{Plan: "p", Clocks: []*ticket.Clock{
				clock(sla.PromiseFirstResponse, at(8, 3, 9), at(8, 3, 12), zero),
				clock(sla.PromiseResolution, at(8, 3, 9), zero, at(8, 5, 9))}}},
		{ID: 4, Case: "HD-000004", Subject: "Other agreement", Agreement: "Jotron", Priority: 1, State: ticket.StateOpen,
			Created: at(8, 3, 9)},
		{ID: 5, Case: "HD-000005", Subject: "After the quarter", Agreement: ag.Name, Priority: 4, State: ticket.StateOpen,
			Created: at(10, 1, 0)},
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "hd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx ticket.Tx) error {
		for _, tk := range tickets {
			if err := tx.PutTicket(tk); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var r *ticket.AgreementReport
	if err := db.View(func(tx ticket.Tx) (err error) {
		r, err = ticket.BuildAgreementReport(tx, ag, "2026-Q3")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if r.Opened != [5]int{0, 1, 0, 1, 0} || r.Closed != [5]int{0, 1, 0, 0, 0} {
		t.Errorf("opened %v closed %v; want cases 2 and 3 opened, 2 closed", r.Opened, r.Closed)
	}
	if fr := r.FirstResponse; fr.Met != 2 || fr.Breached != 0 || fr.Median != time.Hour || fr.Worst != 3*time.Hour {
		t.Errorf("first response %+v; want 2 met, median 1h, worst 3h", fr)
	}
	if rs := r.Resolution; rs.Met != 1 || rs.Breached != 1 || rs.Worst != 6*time.Hour {
		t.Errorf("resolution %+v; want 1 met, 1 breached, worst 6h", rs)
	}
	var open []string
	for _, c := range r.OpenAtEnd {
		open = append(open, c.Case)
	}
	if strings.Join(open, ",") != "HD-000001,HD-000003" || r.OpenAtEnd[0].Age != at(10, 1, 0).Sub(at(6, 30, 12)) {
		t.Errorf("open at the end: %v (first aged %v); want HD-000001 (aged from 30 June noon), HD-000003", open, r.OpenAtEnd)
	}
	if len(r.Hours) != 1 || r.Hours[0].Used != 400*time.Minute || r.Hours[0].Overage != 40*time.Minute {
		t.Errorf("hour bank %+v; want one quarter, 6h40m used, 40m overage", r.Hours)
	}

	text, csv, err := ticket.RenderReport(r, "en", "Example Support")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Support report 2026-Q3: Trinax Attend!",
		"(2026-07-01 – 2026-09-30)",
		"  First response: 2 met, 0 breached; median 1h, worst 3h",
		"  HD-000001  priority 2  open 92d 12h  Before the quarter, still open",
		"  2026-Q3: 6h40m of 6h used, 0m left, overage 40m",
	} {
		if !strings.Contains(text.Subject+"\n"+text.Body, want) {
			t.Errorf("report text lacks %q:\n%s\n%s", want, text.Subject, text.Body)
		}
	}
	if !strings.Contains(string(csv), "hour bank 2026-Q3,overage minutes,40\n") || !strings.Contains(string(csv), "opened,priority 1,1\n") {
		t.Errorf("CSV lacks the overage or the counts:\n%s", csv)
	}
	for _, lang := range []string{"nb", "sv"} {
		if text, _, err := ticket.RenderReport(r, lang, ""); err != nil || !strings.Contains(text.Body, "HD-000003") {
			t.Errorf("%s: report %v\n%s", lang, err, text.Body)
		}
	}
}
