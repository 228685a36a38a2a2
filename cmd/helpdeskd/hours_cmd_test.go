package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// hoursDB writes tickets with logged work to a fresh database file.
func hoursDB(t *testing.T, tickets ...*ticket.Ticket) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hd.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx ticket.Tx) error {
		for _, tk := range tickets {
			if err := tx.PutTicket(tk); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestHoursCommand(t *testing.T) {
	t.Setenv("HELPDESKD_IMAP_PASSWORD", "x")
	utc := func(s string) time.Time {
		at, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	db := hoursDB(t,
		&ticket.Ticket{ID: 1, Case: "HD-000001", Subject: "Växeln tappar samtal", Agreement: "Trinax Alert!", State: ticket.StateOpen,
			TimeLog: []ticket.TimeEntry{
				{At: utc("2026-09-30T21:59:00Z"), Engineer: "Ola", Minutes: 60},  // 23:59 in Stockholm: Q3
				{At: utc("2026-09-30T22:00:00Z"), Engineer: "Ola", Minutes: 600}, // 00:00 on 1 October: Q4
				{At: utc("2026-11-02T09:00:00Z"), Engineer: "Siri", Minutes: 390},
			}},
		&ticket.Ticket{ID: 2, Case: "HD-000002", Subject: "Other customer", Agreement: "Jotron",
			TimeLog: []ticket.TimeEntry{{At: utc("2026-11-02T09:00:00Z"), Engineer: "Ola", Minutes: 120}}},
	)
	f := hoursFlags{config: "../../config.example.yaml", agreement: "Trinax Alert!", period: "2026-Q4", file: db}
	var out bytes.Buffer
	if err := runHours(&out, f, time.Time{}); err != nil {
		t.Fatal(err)
	}
	want := `Agreement:  Trinax Alert!
Period:     2026-Q4 (2026-10-01 – 2026-12-31, Europe/Stockholm)
Allowance:  15h per quarter
Used:       16h30m (110%; warn at 80%)
Remaining:  0m
Overage:    1h30m

WHEN              CASE       ENGINEER  TIME   SUBJECT
2026-10-01 00:00  HD-000001  Ola       10h    Växeln tappar samtal
2026-11-02 10:00  HD-000001  Siri      6h30m  Växeln tappar samtal
`
	if got := out.String(); got != want {
		t.Errorf("hours 2026-Q4 printed\n%s\nwant\n%s", got, want)
	}

	out.Reset()
	f.period = ""
	if err := runHours(&out, f, utc("2026-08-01T12:00:00Z")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Period:     2026-Q3") || !strings.Contains(out.String(), "Used:       1h (6%") {
		t.Errorf("hours without --period at 1 August did not show Q3 with 1h:\n%s", out.String())
	}

	for _, tc := range []struct {
		name string
		mod  func(*hoursFlags)
		want string
	}{
		{"unknown agreement", func(f *hoursFlags) { f.agreement = "Nobody" }, `no agreement "Nobody"`},
		{"agreement without a bank", func(f *hoursFlags) { f.agreement = "Jotron" }, "has none"},
		{"period of another length", func(f *hoursFlags) { f.period = "2026-11" }, "is per quarter"},
		{"no agreement given", func(f *hoursFlags) { f.agreement = "" }, "--agreement is required"},
	} {
		g := f
		tc.mod(&g)
		if err := runHours(&out, g, utc("2026-08-01T12:00:00Z")); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}

func TestAgreementContactsAndWarnLevelAreRead(t *testing.T) {
	t.Setenv("HELPDESKD_IMAP_PASSWORD", "x")
	cfg, err := LoadConfig("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ag, err := configuredAgreement(cfg, "Trinax Alert!")
	if err != nil {
		t.Fatal(err)
	}
	if ag.WarnPercent() != 80 || ag.HourBankWarn != 80 {
		t.Errorf("Trinax Alert! warn %d%%, want the configured 80%%", ag.HourBankWarn)
	}
	if ag, err = configuredAgreement(cfg, "Telekompetanse"); err != nil || strings.Join(ag.Contacts, ",") != "drift@telekompetanse.no" {
		t.Errorf("Telekompetanse contacts %v (%v); want [drift@telekompetanse.no]", ag.Contacts, err)
	}
	cfg.Agreements[0].Contacts = []string{"not an address"}
	err = cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "agreements[0].contacts[0]") {
		t.Errorf("a bad contact: Validate = %v, want an error naming agreements[0].contacts[0]", err)
	}
}
