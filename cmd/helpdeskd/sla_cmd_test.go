package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

func TestSLAExplain(t *testing.T) {
	example := "../../config.example.yaml"
	t.Setenv("HELPDESKD_IMAP_PASSWORD", "x") // not needed by explain, harmless
	tests := []struct {
		name  string
		args  []string
		lines []string // in order, among the output's lines
		last  string
	}{
		{
			name: "4h_on_23_December_ends_Christmas_Eve_morning",
			args: []string{"--calendar", "oslo", "--from", "2026-12-23T15:30", "--add", "4h"},
			lines: []string{
				"calendar: oslo (Europe/Oslo): Mon–Fri 08:00–16:00; holidays: Norway (no)",
				"  Wed 2026-12-23  15:30–16:00  counted 0h30m, left 3h30m  arrived 15:30",
				"  Thu 2026-12-24  08:00–11:30  counted 3h30m, left 0h00m  deadline 11:30",
			},
			last: "deadline: 2026-12-24T11:30:00+01:00",
		},
		{
			name: "an_offset_is_honoured_and_the_result_is_in_the_calendar's_zone",
			args: []string{"--calendar", "oslo", "--from", "2026-12-23T15:30:00Z", "--add", "4h"},
			lines: []string{
				"from:     2026-12-23T16:30:00+01:00 (Wednesday)",
				"  Wed 2026-12-23  arrived 16:30, after closing (16:00)",
			},
			last: "deadline: 2026-12-24T12:00:00+01:00",
		},
		{
			name: "business_days_over_Easter_name_the_holidays",
			args: []string{"--calendar", "oslo", "--from", "2027-03-26 15:30", "--add", "3bd"},
			lines: []string{
				"  Fri 2027-03-26  holiday: Langfredag; arrived 15:30 while closed; counting from Tue 08:00",
				"  Sat 2027-03-27  Saturday",
				"  Mon 2027-03-29  holiday: Andre påskedag",
			},
			last: "deadline: 2027-04-01T16:00:00+02:00",
		},
		{
			name: "plan_from_the_configuration_with_its_priority_calendar_and_warning",
			args: []string{"-c", example, "--plan", "terso", "--priority", "1", "--from", "2027-03-14T01:30"},
			lines: []string{
				"calendar: chicago-24x7 (America/Chicago): Mon–Sun 00:00–24:00",
				"plan:     terso, priority 1, first-response within 1h",
				"  Sun 2027-03-14  01:30–03:30  counted 1h00m, left 0h00m  daylight saving change: open 23h00m instead of 24h00m; arrived 01:30; deadline 03:30",
				"warn:     2027-03-14T03:00:00-05:00 (50 % of the business time)",
			},
			last: "deadline: 2027-03-14T03:30:00-05:00",
		},
		{
			name: "custom_calendar_with_closures",
			args: []string{"-c", example, "--calendar", "oslo-christmas", "--from", "2026-12-24T10:00", "--add", "3h"},
			lines: []string{
				"  Thu 2026-12-24  10:00–12:00  counted 2h00m, left 1h00m  closure: Christmas Eve from 12:00; arrived 10:00",
				"  Fri 2026-12-25  holiday: Første juledag",
			},
			last: "deadline: 2026-12-28T09:00:00+01:00",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := cli(append([]string{"sla", "explain"}, tt.args...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
			if got := lines[len(lines)-1]; got != tt.last {
				t.Errorf("last line %q, want %q\n%s", got, tt.last, out)
			}
			i := 0
			for _, l := range lines {
				if i < len(tt.lines) && l == tt.lines[i] {
					i++
				}
			}
			if i < len(tt.lines) {
				t.Errorf("output lacks, in order, %q:\n%s", tt.lines[i], out)
			}
		})
	}
}

func TestSLAExplainUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--calendar", "oslo"}, "--calendar needs --add"},
		{[]string{"--calendar", "oslo", "--plan", "x", "--add", "1h"}, "not both"},
		{[]string{"--calendar", "mars", "--add", "1h"}, `calendar "mars" is neither built in`},
		{[]string{"--calendar", "oslo", "--add", "soon"}, `--add "soon"`},
		{[]string{"--calendar", "oslo", "--add", "1h", "--from", "yesterday"}, `--from: "yesterday" is not RFC 3339`},
		{[]string{"--plan", "terso"}, "plans come from a configuration file; give it with -c"},
		{[]string{"-c", "../../config.example.yaml", "--plan", "jotron", "--priority", "7"}, "priorities are 1 to 4"},
		{nil, "give --calendar NAME --add 4h, or --plan NAME --priority N"},
	} {
		out, err := cli(append([]string{"sla", "explain"}, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) || exitCode(err) != 2 {
			t.Errorf("sla explain %v = %v (exit %d), want usage error %q\n%s", tt.args, err, exitCode(err), tt.want, out)
		}
	}
}

// slaSections is the SLA part of config.example.yaml.
func slaSections(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	i := strings.Index(s, "\ncalendars:")
	if i < 0 {
		t.Fatal("config.example.yaml has no calendars section")
	}
	return s[i:]
}

func TestSLARespond(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "hd.db")
	cfgPath := writeConfig(t, strings.Replace(minimalYAML, "/tmp/helpdeskd.db", dbPath, 1)+slaSections(t))
	cfg, err := loadValid(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	oslo, _ := time.LoadLocation("Europe/Oslo")
	arrival := time.Date(2026, 11, 24, 10, 0, 0, 0, oslo)

	// A Jotron ticket, taken in by a desk built from the same configuration.
	db, err := store.Open(dbPath, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.daemonOptions(slog.New(slog.DiscardHandler)).Desk
	o.Store, o.Now, o.Logger = db, func() time.Time { return arrival }, slog.New(slog.DiscardHandler)
	desk, err := ticket.NewDesk(o)
	if err != nil {
		t.Fatal(err)
	}
	raw := fmt.Sprintf("From: ola@jotron.com\r\nTo: support@example.com\r\nSubject: Radio\r\nMessage-ID: <r1@jotron.com>\r\nDate: %s\r\n\r\nHei\r\n", arrival.Format(time.RFC1123Z))
	if _, err := desk.Receive(context.Background(), []byte(raw)); err != nil {
		t.Fatal(err)
	}

	// While the database is open elsewhere, respond says what to do.
	_, err = cli("sla", "respond", "-c", cfgPath, "HD-000001")
	if err == nil || !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), "stop the daemon first") {
		t.Errorf("respond on a locked database = %v", err)
	}
	db.Close()

	out, err := cli("sla", "respond", "-c", cfgPath, "[#HD-000001]", "--at", "2026-11-25T09:00:00+01:00")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if want := "HD-000001: response recorded at 2026-11-25T09:00:00+01:00\n  first-response  met 2026-11-25T09:00:00+01:00 (due 2026-11-27T10:00:00+01:00)\n"; out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
	db, err = store.Open(dbPath, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tk *ticket.Ticket
	var next ticket.Deadline
	var hasNext bool
	if err := db.View(func(tx ticket.Tx) (err error) {
		if tk, err = tx.Ticket(1); err != nil {
			return err
		}
		next, hasNext, err = tx.NextDeadline()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if c := tk.SLA.Clocks[0]; c.Promise != sla.PromiseFirstResponse || c.Met.IsZero() || tk.State != ticket.StateOpen {
		t.Errorf("ticket after respond: state %s, clock %+v", tk.State, c)
	}
	if hasNext {
		t.Errorf("a met promise left a deadline: %+v", next)
	}
	db.Close()

	if _, err := cli("sla", "respond", "-c", cfgPath, "HD-000009"); err == nil || !strings.Contains(err.Error(), "case HD-000009: no such case") {
		t.Errorf("respond to an unknown case = %v", err)
	}
	if _, err := cli("sla", "respond", "-c", cfgPath, "printer"); err == nil || exitCode(err) != 2 {
		t.Errorf("respond to %q = %v", "printer", err)
	}
}
