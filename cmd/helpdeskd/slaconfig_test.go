package main

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/sla"
)

// TestExampleSLAConfig checks that config.example.yaml's agreements are
// DESIGN.md's, built into working sla objects.
func TestExampleSLAConfig(t *testing.T) {
	t.Setenv("HELPDESKD_IMAP_PASSWORD", "example-password")
	c, err := LoadConfig("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	ags := c.slaAgreements()
	if ags == nil || len(ags.All()) != 10 || ags.Default() == nil || ags.Default().Plan.Name != "best-effort" {
		t.Fatalf("agreements %v", ags)
	}
	toronto, _ := time.LoadLocation("America/Toronto")
	chicago, _ := time.LoadLocation("America/Chicago")
	tests := []struct {
		sender string
		at     time.Time
		want   string
		cov    sla.Coverage
	}{
		{"ola@jotron.com", time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), "Jotron", sla.Covered},
		{"amy@northwind.example", time.Date(2026, 12, 31, 23, 59, 0, 0, toronto), "E-MetroTel Standard – Northwind", sla.Covered},
		{"amy@northwind.example", time.Date(2027, 1, 1, 0, 0, 0, 0, toronto), "E-MetroTel Standard – Northwind", sla.Expired},
		{"bob@tailspin.example", time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), "E-MetroTel Premium – Tailspin", sla.Expired},
		{"noc@fabrikam.example", time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), "E-MetroTel Premium Plus – Fabrikam NOC", sla.Covered},
		{"lars@telekompetanse.no", time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC), "Telekompetanse", sla.Expired},
		{"someone@elsewhere.example", time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), "default", sla.NotCovered},
	}
	for _, tt := range tests {
		ag, cov := ags.For(tt.sender, tt.at)
		if ag == nil || ag.Name != tt.want || cov != tt.cov {
			t.Errorf("For(%s, %s) = %v, %v; want %s, %v", tt.sender, tt.at, ag, cov, tt.want, tt.cov)
		}
	}
	// Terso P1 counts around the clock in Chicago; the rest of the plan
	// keeps office hours.
	terso, _ := ags.For("x@tersosolutions.com", time.Now())
	from := time.Date(2027, 3, 14, 1, 30, 0, 0, chicago)
	if due, _ := terso.Plan.Due(1, sla.PromiseFirstResponse, from); !due.Equal(time.Date(2027, 3, 14, 3, 30, 0, 0, chicago)) {
		t.Errorf("Terso P1 due %s", due)
	}
	if due, _ := terso.Plan.Due(1, sla.PromiseUpdate, from); !due.Equal(time.Date(2027, 3, 14, 6, 30, 0, 0, chicago)) {
		t.Errorf("Terso P1 update due %s", due)
	}
	if terso.Plan.WarnShare() != 0.5 || len(terso.Plan.Escalation.Then) != 2 || terso.Plan.Escalation.Then[1].After != 4*time.Hour {
		t.Errorf("Terso escalation %+v", terso.Plan.Escalation)
	}
	// Telekompetanse closes at noon on Christmas Eve.
	tk, _ := ags.For("x@telekompetanse.no", time.Now())
	oslo := tk.Plan.Calendar.Location
	if due, _ := tk.Plan.Due(1, sla.PromiseFirstResponse, time.Date(2026, 12, 23, 15, 30, 0, 0, oslo)); !due.Equal(time.Date(2026, 12, 24, 12, 0, 0, 0, oslo)) {
		t.Errorf("Telekompetanse NBD due %s", due)
	}
	// E-MetroTel's required fields and emergency rule, by YAML anchor.
	contoso, _ := ags.For("pbx@contoso.example", time.Now())
	if len(contoso.RequiredFields) != 5 {
		t.Errorf("required fields %v", contoso.RequiredFields)
	}
	if prio, ok := contoso.DetectPriority("Emergency – System Down", "", "", ""); !ok || prio != 1 {
		t.Errorf("emergency priority %d, %v", prio, ok)
	}
	trinax, _ := ags.For("x@trinax.se", time.Now())
	if prio, _ := trinax.DetectPriority("Hög: skrivaren", "", "", ""); prio != 2 || trinax.HourBank.Hours != 15*time.Hour || trinax.HourBank.Per != sla.Quarterly {
		t.Errorf("Trinax priority %d, hour bank %+v", prio, trinax.HourBank)
	}
	// Jotron's yearly report goes out on 1 February to its own
	// recipient; Trinax Alert!'s to the CIO.
	jotron, _ := ags.For("ola@jotron.com", time.Now())
	if rs := jotron.Reports; !slices.Equal(rs.Every, []sla.Period{sla.Yearly}) || rs.YearlyOn != (sla.Date{Month: time.February, Day: 1}) ||
		!slices.Equal(jotron.ReportRecipients(), []string{"quality@jotron.com"}) {
		t.Errorf("Jotron reports %+v to %v", rs, jotron.ReportRecipients())
	}
	if got := trinax.ReportRecipients(); len(trinax.Reports.Every) != 3 || !slices.Equal(got, []string{"cio@trinax.se"}) {
		t.Errorf("Trinax reports %+v to %v", trinax.Reports, got)
	}
	groups := c.slaGroups()
	if g := groups["support-lead"]; len(g.Addresses) != 1 || g.Calendar == nil || g.Calendar.Name != "oslo" {
		t.Errorf("support-lead %+v", g)
	}
	// The daemon gets them.
	o := c.daemonOptions(nil)
	if o.Desk.Agreements != ags || len(o.Desk.EscalationGroups) != 6 {
		t.Errorf("desk options: agreements %p, groups %v", o.Desk.Agreements, o.Desk.EscalationGroups)
	}
}

func TestSLAConfigWithoutAgreementsHasNoSLA(t *testing.T) {
	c := validConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.slaAgreements() != nil {
		t.Error("a configuration without agreements turned SLAs on")
	}
}

func TestSLAConfigProblemsNameTheirKeys(t *testing.T) {
	const base = `
calendars:
  - {name: office, time_zone: Europe/Oslo, hours: mon-fri 08:00-16:00}
plans:
  - {name: p, calendar: office, priorities: {all: {first_response: 4h}}, escalation: {warn: [lead]}}
agreements:
  - {name: A, customers: [a.example], plan: p}
sla:
  groups:
    lead: {addresses: [lead@example.com]}
`
	tests := []struct {
		name string
		yaml string // replaces base when it starts with "calendars:"; else appended after edits
		edit [2]string
		want []string
	}{
		{name: "valid", want: nil},
		{name: "calendar_needs_zone_and_hours", edit: [2]string{"{name: office, time_zone: Europe/Oslo, hours: mon-fri 08:00-16:00}", "{name: office}"},
			want: []string{
				`calendars[0].time_zone: required without base, e.g. "Europe/Oslo"`,
				`calendars[0].hours: required without base, e.g. "mon-fri 08:00-16:00"`,
				`plans[0].calendar: calendar "office" is neither built in (oslo, 9-5, 7-7, 24x7) nor under calendars`,
				`agreements[0].plan: "p" is not a plan under plans`,
			}},
		{name: "bad_zone_hours_holidays_and_closure", edit: [2]string{"hours: mon-fri 08:00-16:00}", "hours: mon-fri 16:00-08:00, holidays: [xx], closures: [{date: 12-32}]}"},
			want: []string{
				`calendars[0].hours: interval "16:00-08:00" must start before it ends`,
				`calendars[0].holidays[0]: "xx" is not a holiday set; use one of ` + strings.Join(sla.HolidaySets(), ", "),
				`calendars[0].closures[0].date: date "12-32": want YYYY-MM-DD, or MM-DD for every year`,
				`plans[0].calendar: calendar "office" is neither built in (oslo, 9-5, 7-7, 24x7) nor under calendars`,
				`agreements[0].plan: "p" is not a plan under plans`,
			}},
		{name: "builtin_name_taken", edit: [2]string{"{name: office,", "{name: oslo,"},
			want: []string{
				`calendars[0].name: "oslo" is a built-in calendar; give yours another name, e.g. "oslo-custom"`,
				`plans[0].calendar: calendar "office" is neither built in (oslo, 9-5, 7-7, 24x7) nor under calendars`,
				`agreements[0].plan: "p" is not a plan under plans`,
			}},
		{name: "bad_targets_and_priorities", edit: [2]string{"priorities: {all: {first_response: 4h}}", "priorities: {all: {first_response: soon}, 5: {update: 1h}}"},
			want: []string{
				`plans[0].priorities[1].first_response: "soon": want business hours like "4h" or "1h30m", business days like "3bd", or "nbd"`,
				`plans[0].priorities[2].first_response: "soon": want business hours like "4h" or "1h30m", business days like "3bd", or "nbd"`,
				`plans[0].priorities[3].first_response: "soon": want business hours like "4h" or "1h30m", business days like "3bd", or "nbd"`,
				`plans[0].priorities[4].first_response: "soon": want business hours like "4h" or "1h30m", business days like "3bd", or "nbd"`,
				`plans[0].priorities[5]: priorities are "1" (most urgent) to "4", or "all"`,
				`agreements[0].plan: "p" is not a plan under plans`,
			}},
		{name: "unknown_escalation_group", edit: [2]string{"warn: [lead]", "warn: [lead, boss]"},
			want: []string{`plans[0].escalation.warn[1]: "boss" is neither an address nor a group under sla.groups`}},
		{name: "agreement_problems", edit: [2]string{"{name: A, customers: [a.example], plan: p}", "{name: A, customers: [com], plan: p, valid_until: 31.12.2026, language: de, priority_rules: [{pattern: '(', priority: 1}]}"},
			want: []string{
				`agreements[0].valid_until: "31.12.2026" is not a date; write YYYY-MM-DD (the last day the agreement is valid)`,
				`agreements[0].language: "de" is not a language we have mail texts in; use one of en, nb, sv`,
				"agreements[0].priority_rules[0].pattern: \"(\" is not a regular expression (error parsing regexp: missing closing ): `(`); e.g. \"(?i)system down\"",
				`agreements[0]: "A": customer "com": domain "com" has no dot; a top-level domain alone would cover too much`,
			}},
		{name: "hour_bank_and_reports", edit: [2]string{"plan: p}", "plan: p, hour_bank: {hours: 15h, per: week}, reports: {every: [daily]}}"},
			want: []string{
				`agreements[0]: "A": hour bank 15h0m0s per "week": want positive hours per month, quarter or year`,
				`agreements[0]: "A": report period "daily": want month, quarter or year`,
			}},
		{name: "report_day_and_recipients", edit: [2]string{"plan: p}", "plan: p, reports: {every: [month], yearly_on: 4-1, to: [cio at a.example]}}"},
			want: []string{
				`agreements[0].reports.yearly_on: "4-1" is not a day of the year; write MM-DD within Q1, e.g. "02-01"`,
				`agreements[0]: "A": reports to[0] "cio at a.example" is not a mail address; write name@example.com or "Name <name@example.com>"`,
			}},
		{name: "report_day_outside_q1_without_yearly_report", edit: [2]string{"plan: p}", "plan: p, reports: {every: [month], yearly_on: 04-01}}"},
			want: []string{
				`agreements[0]: "A": reports yearly_on 04-01 is not in Q1: the yearly report goes out between 01-01 and 03-31 of the next year`,
				`agreements[0]: "A": reports yearly_on 04-01 without a yearly report; add year to every, or drop yearly_on`,
			}},
		{name: "overlapping_agreements", edit: [2]string{"plan: p}\n", "plan: p}\n  - {name: B, customers: [x@a.example, a.example], plan: p, valid_from: 2026-01-01}\n"},
			want: []string{`agreements: "A" and "B" both cover a.example for overlapping periods; end one before the other starts`}},
		{name: "unknown_default_plan", edit: [2]string{"sla:\n", "sla:\n  default_plan: gold\n"},
			want: []string{`sla.default_plan: "gold" is not a plan under plans; "" leaves senders without agreement uncovered`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y := base
			if tt.edit[0] != "" {
				if !strings.Contains(y, tt.edit[0]) {
					t.Fatalf("edit %q not in base", tt.edit[0])
				}
				y = strings.Replace(y, tt.edit[0], tt.edit[1], 1)
			}
			c := load(t, minimalYAML+y)
			err := c.Validate()
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Validate:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestSLAConfigUnknownKeyInAnEntry(t *testing.T) {
	_, err := LoadConfig(writeConfig(t, minimalYAML+"calendars:\n  - {name: x, base: oslo, timezone: Europe/Oslo}\n"))
	if err == nil || !strings.Contains(err.Error(), "calendars[0]") || !strings.Contains(err.Error(), "timezone") {
		t.Fatalf("LoadConfig = %v, want an error naming calendars[0] and the unknown key", err)
	}
}

// The list form of reports, from before yearly_on, to and html, still
// reads: as the cadences.
func TestSLAConfigReportsListIsShortForEvery(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, minimalYAML+`
calendars:
  - {name: office, base: oslo}
plans:
  - {name: p, calendar: office, priorities: {all: {first_response: 4h}}}
agreements:
  - {name: A, customers: [a.example], plan: p, contacts: [boss@a.example], reports: [month, year]}
  - {name: B, customers: [b.example], plan: p, reports: [fortnight]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "fortnight") {
		t.Fatalf("Validate = %v, want an error naming the bad cadence fortnight", err)
	}
	cfg, err = LoadConfig(writeConfig(t, minimalYAML+`
calendars:
  - {name: office, base: oslo}
plans:
  - {name: p, calendar: office, priorities: {all: {first_response: 4h}}}
agreements:
  - {name: A, customers: [a.example], plan: p, contacts: [boss@a.example], reports: [month, year]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Agreements[0].Reports; !slices.Equal(got.Every, []string{"month", "year"}) || got.YearlyOn != "" || got.To != nil {
		t.Errorf("reports: [month, year] read as %+v, want every: [month, year]", got)
	}
}
