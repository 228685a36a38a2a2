package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/ticket"
)

func TestReportAgreementPrint(t *testing.T) {
	t.Setenv("HELPDESKD_IMAP_PASSWORD", "x")
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	db := hoursDB(t,
		&ticket.Ticket{ID: 1, Case: "HD-000001", Subject: "Växeln tappar samtal", Agreement: "Trinax Alert!", Priority: 2,
			State: ticket.StateOpen, Created: at, TimeLog: []ticket.TimeEntry{{At: at, Engineer: "Ola", Minutes: 990}}},
	)
	run := func(args ...string) (string, error) {
		root := newRootCmd()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(append([]string{"report", "-c", "../../config.example.yaml", "--file", db}, args...))
		err := root.Execute()
		return out.String(), err
	}
	out, err := run("--agreement", "Trinax Alert!", "--period", "2026-Q4", "--print")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Subject: Supportrapport 2026-Q4: Trinax Alert!", // the agreement's language, sv
		"HD-000001  prioritet 2  öppet 59d 14h  Växeln tappar samtal",
		"2026-Q4: 16h30m av 15h förbrukat, 0m kvar, övertid 1h30m",
		"--- report-2026-Q4.csv ---\nsection,key,value\n",
		"hour bank 2026-Q4,overage minutes,90\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report --print lacks %q:\n%s", want, out)
		}
	}
	// --html: the HTML part as a page, the chart inline for a browser.
	page, err := run("--agreement", "Trinax Alert!", "--period", "2026-Q4", "--print", "--html")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<!DOCTYPE html>", `<html lang="sv">`, `src="data:image/png;base64,iVBORw0KGgo`, "Växeln tappar samtal"} {
		if !strings.Contains(page, want) {
			t.Errorf("report --print --html lacks %q:\n%.600s", want, page)
		}
	}
	if strings.Contains(page, "cid:") {
		t.Errorf("report --print --html still refers to cid: parts, which a browser cannot show")
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--agreement", "Trinax Alert!", "--period", "2026-Q4", "--send", "--html"}, "--html goes with --print"},
		{[]string{"--agreement", "Trinax Alert!", "--print"}, "--period is required"},
		{[]string{"--agreement", "Trinax Alert!", "--period", "2026-Q4"}, "needs one of --print"},
		{[]string{"--agreement", "Nobody", "--period", "2026-Q4", "--print"}, `no agreement "Nobody"`},
		{[]string{"--agreement", "Trinax Alert!", "--period", "2026-Q5", "--print"}, "want 2026, 2026-Q4 or 2026-03"},
	} {
		if _, err := run(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("report %v: err = %v, want one saying %q", tc.args, err, tc.want)
		}
	}
}

// With no daemon running, --send queues in store.path (here through the
// environment); admin_agreements_test.go sends through the daemon.
func TestReportAgreementSendQueuesOneMailEachTime(t *testing.T) {
	t.Setenv("HELPDESKD_IMAP_PASSWORD", "x")
	db := hoursDB(t)
	t.Setenv("HELPDESKD_STORE_PATH", db)
	for i := 1; i <= 2; i++ {
		root := newRootCmd()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetArgs([]string{"report", "-c", "../../config.example.yaml", "--agreement", "Telekompetanse", "--period", "2026-Q3", "--send"})
		if err := root.Execute(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "queued the 2026-Q3 report of Telekompetanse to drift@telekompetanse.no") {
			t.Errorf("--send printed %q", out.String())
		}
		st, err := openOffline(db)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		err = st.Outbox(func(env mailer.Envelope, _ bool) error {
			if env.Purpose == "report" && strings.Join(env.To, ",") == "drift@telekompetanse.no" {
				n++
			}
			return nil
		})
		st.Close()
		if err != nil || n != i {
			t.Errorf("after --send #%d: %d report mails in the outbox (%v), want %d", i, n, err, i)
		}
	}
}
