package sla

import (
	"regexp"
	"testing"
	"time"
)

// The agreements of DESIGN.md expressed as plans and agreements, for the
// tests in agreement_test.go and as the model for config.example.yaml.
// Customer addresses other than jotron.com are made-up resellers and
// customers on example domains.

type examples struct {
	// calendars
	oslo, osloChristmas, emt95, emt77, emt247, trinax, terso, terso247 *Calendar
	// plans
	jotron, emtStandard, emtPremium, emtPremiumPlus, trinaxAlert, trinaxAttend, trinaxAccess, telekompetanse, tersoPlan, bestEffort *Plan
	// agreements
	list    []*Agreement
	deflt   *Agreement
	byName  map[string]*Agreement
	indexed *Agreements
}

func same(tg Target) PriorityTargets { return PriorityTargets{FirstResponse: tg} }

func allPriorities(pt PriorityTargets) map[int]PriorityTargets {
	return map[int]PriorityTargets{1: pt, 2: pt, 3: pt, 4: pt}
}

func date(loc *time.Location, y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

func exampleAgreements(t testing.TB) *examples {
	t.Helper()
	x := &examples{byName: map[string]*Agreement{}}
	toronto := mustZone(t, "America/Toronto")
	chicago := mustZone(t, "America/Chicago")

	// Jotron: Mon–Fri 08–16 Norwegian time, national holidays off;
	// response within 1–3 business days by priority; yearly case report.
	x.oslo = builtin(t, "oslo", nil)
	x.jotron = &Plan{
		Name:     "jotron",
		Calendar: x.oslo,
		Priorities: map[int]PriorityTargets{
			1: same(Days(1)),
			2: same(Days(2)),
			3: same(Days(3)),
			4: same(Days(3)),
		},
		Escalation: Escalation{Warn: []string{"support-lead"}, Breach: []string{"support-manager"}},
	}

	// E-MetroTel: three tiers for resellers, who must name the end
	// customer, system type, host ID, software release and call scenario.
	// "24 h" on a 9–5 weekday calendar is one business day (same time the
	// next business day), which is what a customer reading "24 h" expects.
	x.emt95 = builtin(t, "9-5", toronto)
	x.emt77 = builtin(t, "7-7", toronto)
	x.emt247 = builtin(t, "24x7", toronto)
	x.emtStandard = &Plan{Name: "emetrotel-standard", Calendar: x.emt95, Priorities: allPriorities(same(Days(1)))}
	x.emtPremium = &Plan{Name: "emetrotel-premium", Calendar: x.emt77, Priorities: allPriorities(same(Hours(4 * time.Hour)))}
	x.emtPremiumPlus = &Plan{Name: "emetrotel-premium-plus", Calendar: x.emt247, Priorities: allPriorities(same(Hours(2 * time.Hour))),
		Escalation: Escalation{Warn: []string{"emt-oncall"}, Breach: []string{"emt-oncall", "emt-manager"}, Then: []EscalationStep{{After: time.Hour, To: []string{"emt-director"}}}}}
	emtFields := []string{"End Customer Name", "System Type", "Host ID", "Software Release", "Call Scenario"}
	emtRules := []PriorityRule{{Pattern: regexp.MustCompile(`(?i)emergency\s*[-–—:]*\s*system\s+down`), Priority: 1}}
	emt := func(name string, plan *Plan, customers []string, from, until time.Time) *Agreement {
		return &Agreement{Name: name, Customers: customers, Plan: plan, Language: "en", ValidFrom: from, ValidUntil: until,
			RequiredFields: emtFields, PriorityRules: emtRules}
	}

	// Trinax: Alert!/Attend!/Access! answer within 1 h / 8 h / 16 h of
	// 08–17 Swedish business hours; priority words 1 Kritisk, 2 Hög,
	// 3 Normal, 4 Låg; hour banks; monthly, quarterly and yearly reports.
	week, err := ParseWeek("mon-fri 08:00-17:00")
	if err != nil {
		t.Fatal(err)
	}
	x.trinax, err = NewCalendar(CalendarSpec{Name: "trinax", Location: mustZone(t, "Europe/Stockholm"), Week: week, Holidays: []string{"se"}})
	if err != nil {
		t.Fatal(err)
	}
	x.trinaxAlert = &Plan{Name: "trinax-alert", Calendar: x.trinax, Priorities: allPriorities(same(Hours(time.Hour)))}
	x.trinaxAttend = &Plan{Name: "trinax-attend", Calendar: x.trinax, Priorities: allPriorities(same(Hours(8 * time.Hour)))}
	x.trinaxAccess = &Plan{Name: "trinax-access", Calendar: x.trinax, Priorities: allPriorities(same(Hours(16 * time.Hour)))}
	var trinaxRules []PriorityRule
	for prio, word := range []string{1: "kritisk", 2: "hög", 3: "normal", 4: "låg"} {
		if word == "" {
			continue
		}
		trinaxRules = append(trinaxRules,
			PriorityRule{Pattern: regexp.MustCompile(`(?i)\b` + word + `\b`), Priority: prio, SubjectOnly: true},
			PriorityRule{Pattern: regexp.MustCompile(`(?im)^\s*prio(?:ritet|rity)?\s*[:=]\s*(?:` + string(rune('0'+prio)) + `|` + word + `)\b`), Priority: prio})
	}
	trinax := func(name string, plan *Plan, customers []string, bank HourBank) *Agreement {
		return &Agreement{Name: name, Customers: customers, Plan: plan, Language: "sv", PriorityRules: trinaxRules,
			HourBank: bank, Reports: ReportSchedule{Every: []Period{Monthly, Quarterly, Yearly}}}
	}

	// Telekompetanse: routine requests within 5 business days, urgent ones
	// by the next business day (NBD); closed from 12:00 on Christmas Eve
	// and New Year's Eve.
	x.osloChristmas = osloChristmas(t)
	x.telekompetanse = &Plan{Name: "telekompetanse", Calendar: x.osloChristmas, Priorities: map[int]PriorityTargets{
		1: same(NBD), 2: same(NBD), 3: same(Days(5)), 4: same(Days(5)),
	}}

	// Terso: high priority 24/7, non-urgent mail within one business day,
	// with an escalation chain.
	week, _ = ParseWeek("mon-fri 08:00-17:00")
	x.terso, err = NewCalendar(CalendarSpec{Name: "terso", Location: chicago, Week: week, Holidays: []string{"us"}})
	if err != nil {
		t.Fatal(err)
	}
	x.terso247 = builtin(t, "24x7", chicago)
	x.tersoPlan = &Plan{
		Name:     "terso",
		Calendar: x.terso,
		Priorities: map[int]PriorityTargets{
			1: {FirstResponse: Hours(time.Hour), Update: Hours(4 * time.Hour), Calendar: x.terso247},
			2: same(Days(1)), 3: same(Days(1)), 4: same(Days(1)),
		},
		WarnAt: 0.5,
		Escalation: Escalation{
			Warn:   []string{"terso-oncall"},
			Breach: []string{"terso-oncall", "support-lead"},
			Then:   []EscalationStep{{After: time.Hour, To: []string{"support-manager"}}, {After: 4 * time.Hour, To: []string{"cto"}}},
		},
	}

	// Senders no agreement names: best effort, 3 business days.
	x.bestEffort = &Plan{Name: "best-effort", Calendar: x.oslo, Priorities: allPriorities(same(Days(3)))}
	x.deflt = &Agreement{Name: "default", Plan: x.bestEffort, Language: "en"}

	oslo := x.oslo.loc
	x.list = []*Agreement{
		{Name: "Jotron", Customers: []string{"jotron.com"}, Plan: x.jotron, Language: "nb", Reports: ReportSchedule{Every: []Period{Yearly}, YearlyOn: Date{Month: time.February, Day: 1}}},
		emt("E-MetroTel Standard – Northwind", x.emtStandard, []string{"northwind.example"}, date(toronto, 2025, 1, 1), date(toronto, 2027, 1, 1)),
		emt("E-MetroTel Premium – Contoso", x.emtPremium, []string{"contoso.example"}, time.Time{}, time.Time{}),
		emt("E-MetroTel Standard – Fabrikam", x.emtStandard, []string{"fabrikam.example"}, time.Time{}, time.Time{}),
		emt("E-MetroTel Premium Plus – Fabrikam NOC", x.emtPremiumPlus, []string{"noc@fabrikam.example"}, time.Time{}, time.Time{}),
		emt("E-MetroTel Premium – Tailspin", x.emtPremium, []string{"@tailspin.example"}, date(toronto, 2024, 1, 1), date(toronto, 2026, 1, 1)),
		emt("E-MetroTel Premium – Tailspin renewal", x.emtPremium, []string{"tailspin.example"}, date(toronto, 2026, 7, 1), time.Time{}),
		trinax("Trinax Alert!", x.trinaxAlert, []string{"trinax.se"}, HourBank{Hours: 15 * time.Hour, Per: Quarterly}),
		trinax("Trinax Attend! – Kund B", x.trinaxAttend, []string{"kundb.example"}, HourBank{Hours: 6 * time.Hour, Per: Quarterly}),
		trinax("Trinax Access! – Kund C", x.trinaxAccess, []string{"kundc.example"}, HourBank{Hours: 4 * time.Hour, Per: Yearly}),
		{Name: "Telekompetanse", Customers: []string{"telekompetanse.no"}, Plan: x.telekompetanse, Language: "nb",
			ValidFrom: date(oslo, 2025, 1, 1)},
		{Name: "Terso", Customers: []string{"tersosolutions.com"}, Plan: x.tersoPlan, Language: "en",
			PriorityRules:        []PriorityRule{{Pattern: regexp.MustCompile(`(?i)\b(?:urgent|down|outage)\b`), Priority: 1, SubjectOnly: true}},
			TrustPriorityHeaders: true},
	}
	for _, ag := range x.list {
		x.byName[ag.Name] = ag
	}
	x.indexed, err = NewAgreements(x.list, x.deflt)
	if err != nil {
		t.Fatal(err)
	}
	return x
}
