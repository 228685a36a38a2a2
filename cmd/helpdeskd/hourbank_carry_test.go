package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/ticket"
)

// carryYAML is an agreement with a carrying hour bank; valid_from is
// appended by the tests that want it.
const carryYAML = `
plans:
  - {name: p, calendar: 24x7, priorities: {all: {first_response: 4h}}}
agreements:
  - {name: A, customers: [a.example], plan: p, hour_bank: {hours: 6h, per: quarter, carry_over: true}`

func TestCarryOverConfig(t *testing.T) {
	t.Run("without_valid_from_is_an_error_naming_both_keys", func(t *testing.T) {
		err := load(t, minimalYAML+carryYAML+"}\n").Validate()
		want := `agreements[0]: "A": hour bank carry_over needs valid_from, the agreement's first day: unused hours carry over period by period from the period that contains it`
		if err == nil || err.Error() != want {
			t.Errorf("Validate = %v\nwant %s", err, want)
		}
	})
	t.Run("check-config_refuses_it", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "hd.yaml")
		yaml := strings.Replace(minimalYAML, "/tmp/helpdeskd.db", filepath.Join(dir, "hd.db"), 1) + carryYAML + "}\n"
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := cliStatus("check-config", "-c", path)
		if code == 0 || !strings.Contains(stderr, "carry_over needs valid_from") {
			t.Errorf("check-config exit %d, stderr:\n%s\nwant a failure saying carry_over needs valid_from", code, stderr)
		}
	})
	t.Run("with_valid_from_reaches_the_agreement", func(t *testing.T) {
		c := load(t, minimalYAML+carryYAML+", valid_from: 2026-10-01}\n")
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		ag, err := configuredAgreement(c, "A")
		if err != nil {
			t.Fatal(err)
		}
		if !ag.HourBank.CarryOver || ag.HourBank.Hours != 6*time.Hour || ag.ValidFrom.IsZero() {
			t.Errorf("hour bank %+v from %s; want 6h per quarter carrying over from 2026-10-01", ag.HourBank, ag.ValidFrom)
		}
	})
}

// TestHoursCommandShowsCarryOver runs hours on config.example.yaml's Kund
// B: 6h per quarter, carrying over from valid_from 2026-10-01.
func TestHoursCommandShowsCarryOver(t *testing.T) {
	t.Setenv("HELPDESKD_IMAP_PASSWORD", "x")
	const name = "Trinax Attend! – Kund B"
	utc := func(s string) time.Time {
		at, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	db := hoursDB(t, &ticket.Ticket{ID: 1, Case: "HD-000001", Subject: "Nätverket är nere", Agreement: name, State: ticket.StateOpen,
		TimeLog: []ticket.TimeEntry{
			{At: utc("2026-11-02T09:00:00Z"), Engineer: "Ola", Minutes: 240}, // 2026-Q4: 2h of 6h left
			{At: utc("2026-12-31T22:30:00Z"), Engineer: "Siri", Minutes: 60}, // 23:30 in Stockholm: still 2026-Q4
			{At: utc("2027-02-01T09:00:00Z"), Engineer: "Ola", Minutes: 90},
		}})
	f := hoursFlags{config: "../../config.example.yaml", agreement: name, period: "2027-Q1", file: db}
	var out bytes.Buffer
	if err := runHours(&out, f, time.Time{}); err != nil {
		t.Fatal(err)
	}
	// 23:30 on 31 December in Stockholm is 2026-Q4: 5h used there, so 1h
	// carries into 2027-Q1.
	want := `Agreement:  Trinax Attend! – Kund B
Period:     2027-Q1 (2027-01-01 – 2027-03-31, Europe/Stockholm)
Allowance:  7h = 6h per quarter + 1h carried over from 2026-Q4 (used first, expire at the end of 2027-Q1)
Used:       1h30m (21%; warn at 80%)
Remaining:  5h30m
Overage:    0m

WHEN              CASE       ENGINEER  TIME   SUBJECT
2027-02-01 10:00  HD-000001  Ola       1h30m  Nätverket är nere
`
	if got := out.String(); got != want {
		t.Errorf("hours 2027-Q1 printed\n%s\nwant\n%s", got, want)
	}

	for _, tc := range []struct {
		period, carried, from string
	}{
		{"2027-Q1", "3600000000000", `"2026-Q4"`},
		{"2026-Q4", "", ""}, // the first period: nothing carried in, and JSON says nothing of it
	} {
		out.Reset()
		g := f
		g.period, g.json = tc.period, true
		if err := runHours(&out, g, time.Time{}); err != nil {
			t.Fatal(err)
		}
		var got map[string]json.RawMessage
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("%s --json: %v\n%s", tc.period, err, out.String())
		}
		if string(got["CarriedIn"]) != tc.carried || string(got["CarriedFrom"]) != tc.from {
			t.Errorf("%s --json: CarriedIn %s, CarriedFrom %s; want %q, %q", tc.period, got["CarriedIn"], got["CarriedFrom"], tc.carried, tc.from)
		}
	}

	out.Reset()
	f.period = "2026-Q4"
	if err := runHours(&out, f, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Allowance:  6h per quarter\n") || strings.Contains(out.String(), "carried") {
		t.Errorf("2026-Q4, the first period, shows a carry-over:\n%s", out.String())
	}
}
