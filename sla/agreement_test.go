package sla

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestAgreementDeadlines asserts concrete due instants for DESIGN.md's
// agreements at arrival times that stress calendars: Easter, Christmas,
// DST weekends and year ends.
func TestAgreementDeadlines(t *testing.T) {
	x := exampleAgreements(t)
	tests := []struct {
		name    string
		plan    *Plan
		prio    int
		promise Promise
		from    string // in the priority's calendar zone
		want    string
	}{
		{"Jotron P1 on Good Friday afternoon is due Tuesday's close", x.jotron, 1, PromiseFirstResponse, "2027-03-26 15:30", "2027-03-30 16:00"},
		{"Jotron P3 on Good Friday afternoon is due Thursday after Easter", x.jotron, 3, PromiseFirstResponse, "2027-03-26 15:30", "2027-04-01 16:00"},
		{"Jotron P2 on 23 December is due the Monday after Christmas", x.jotron, 2, PromiseFirstResponse, "2026-12-23 15:30", "2026-12-28 15:30"},
		{"Jotron P1 on a Friday before a Monday holiday", x.jotron, 1, PromiseFirstResponse, "2027-05-14 10:00", "2027-05-18 10:00"},
		{"E-MetroTel Standard Friday 15:30 is due Monday 15:30", x.emtStandard, 3, PromiseFirstResponse, "2026-03-20 15:30", "2026-03-23 15:30"},
		{"E-MetroTel Standard on 23 December (no holidays in 9-5)", x.emtStandard, 1, PromiseFirstResponse, "2026-12-23 15:30", "2026-12-24 15:30"},
		{"E-MetroTel Premium 4h over the North American DST weekend", x.emtPremium, 1, PromiseFirstResponse, "2027-03-12 17:30", "2027-03-15 09:30"},
		{"E-MetroTel Premium Plus 2h across the spring-forward gap", x.emtPremiumPlus, 1, PromiseFirstResponse, "2027-03-14 01:30", "2027-03-14 04:30"},
		{"Trinax Alert! 1h late Friday", x.trinaxAlert, 1, PromiseFirstResponse, "2027-03-19 16:30", "2027-03-22 08:30"},
		{"Trinax Attend! 8h on 23 December skips Julafton and Juldagen", x.trinaxAttend, 2, PromiseFirstResponse, "2026-12-23 15:30", "2026-12-28 14:30"},
		{"Trinax Access! 16h over Swedish Easter (Skärtorsdag is a workday)", x.trinaxAccess, 3, PromiseFirstResponse, "2027-03-25 15:30", "2027-03-31 13:30"},
		{"Telekompetanse NBD on 23 December ends at Christmas Eve noon", x.telekompetanse, 1, PromiseFirstResponse, "2026-12-23 15:30", "2026-12-24 12:00"},
		{"Telekompetanse routine 5bd on 23 December ends New Year's Eve noon", x.telekompetanse, 3, PromiseFirstResponse, "2026-12-23 15:30", "2026-12-31 12:00"},
		{"Telekompetanse NBD on a Friday before Whit Monday", x.telekompetanse, 2, PromiseFirstResponse, "2027-05-14 10:00", "2027-05-18 16:00"},
		{"Terso P1 counts 24/7 across the US spring-forward gap", x.tersoPlan, 1, PromiseFirstResponse, "2027-03-14 01:30", "2027-03-14 03:30"},
		{"Terso P1 update 4h at night", x.tersoPlan, 1, PromiseUpdate, "2027-03-13 23:00", "2027-03-14 04:00"},
		{"Terso P3 on Christmas Eve waits out Christmas Day", x.tersoPlan, 3, PromiseFirstResponse, "2026-12-24 15:30", "2026-12-28 15:30"},
		{"Terso P3 skips New Year's Day observed on Friday 31 December 2027", x.tersoPlan, 3, PromiseFirstResponse, "2027-12-30 10:00", "2028-01-03 10:00"},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			loc := tt.plan.CalendarFor(tt.prio).loc
			got, ok := tt.plan.Due(tt.prio, tt.promise, at(t, loc, tt.from))
			if !ok {
				t.Fatalf("plan %s promises no %s for P%d", tt.plan.Name, tt.promise, tt.prio)
			}
			if want := at(t, loc, tt.want); !got.Equal(want) {
				t.Fatalf("due %s, want %s", got, want)
			}
		})
	}
}

func TestPlanWarnAndEscalation(t *testing.T) {
	x := exampleAgreements(t)
	osloLoc, chicago := x.oslo.loc, x.terso.loc
	// Jotron P1 is one business day (8 h); the default warn share is 75 %.
	warn, ok := x.jotron.Warn(1, PromiseFirstResponse, at(t, osloLoc, "2026-03-24 10:00"))
	if want := at(t, osloLoc, "2026-03-24 16:00"); !ok || !warn.Equal(want) {
		t.Errorf("Jotron warn = %s, %v; want %s", warn, ok, want)
	}
	// Terso warns at 50 %: 30 minutes into a 1 h P1 target, on 24/7 time.
	warn, _ = x.tersoPlan.Warn(1, PromiseFirstResponse, at(t, chicago, "2027-03-14 01:30"))
	if want := at(t, chicago, "2027-03-14 03:00"); !warn.Equal(want) {
		t.Errorf("Terso warn = %s, want %s", warn, want)
	}
	if _, ok := x.jotron.Warn(1, PromiseResolution, time.Now()); ok {
		t.Error("a plan without a resolution promise warned about one")
	}
	step := x.tersoPlan.Escalation.Then[0]
	if got, want := x.tersoPlan.EscalationAt(1, at(t, chicago, "2027-03-13 23:30"), step), at(t, chicago, "2027-03-14 00:30"); !got.Equal(want) {
		t.Errorf("P1 escalation at %s, want %s (24/7)", got, want)
	}
	if got, want := x.tersoPlan.EscalationAt(3, at(t, chicago, "2027-03-12 16:30"), step), at(t, chicago, "2027-03-15 08:30"); !got.Equal(want) {
		t.Errorf("P3 escalation at %s, want %s (business hours)", got, want)
	}
	if !x.terso247.AlwaysOpen() || x.terso.AlwaysOpen() {
		t.Error("AlwaysOpen: want true for 24x7 and false for office hours")
	}
	// Pausing: the budget of a business-day target is the business time
	// until its deadline.
	if b, _ := x.jotron.Budget(3, PromiseFirstResponse, at(t, osloLoc, "2026-03-24 10:00")); b != 24*time.Hour {
		t.Errorf("3bd budget = %v, want 24h of business time", b)
	}
}

func TestAgreementsFor(t *testing.T) {
	x := exampleAgreements(t)
	toronto := x.emt95.loc
	jan2026 := date(x.oslo.loc, 2026, 3, 1)
	tests := []struct {
		sender string
		at     time.Time
		want   string // agreement name; "default" for the default
		cov    Coverage
	}{
		{"Ola Nordmann <Ola@Jotron.com>", jan2026, "Jotron", Covered},
		{"ops@eu.jotron.com", jan2026, "Jotron", Covered},
		{"x@jotron.com.evil.example", jan2026, "default", NotCovered},
		{"x@notjotron.com", jan2026, "default", NotCovered},
		{"noc@fabrikam.example", jan2026, "E-MetroTel Premium Plus – Fabrikam NOC", Covered},
		{"sales@fabrikam.example", jan2026, "E-MetroTel Standard – Fabrikam", Covered},
		{"bob@tailspin.example", date(toronto, 2025, 6, 1), "E-MetroTel Premium – Tailspin", Covered},
		{"bob@tailspin.example", date(toronto, 2026, 3, 1), "E-MetroTel Premium – Tailspin", Expired},
		{"bob@tailspin.example", date(toronto, 2026, 8, 1), "E-MetroTel Premium – Tailspin renewal", Covered},
		{"amy@northwind.example", date(toronto, 2026, 12, 31), "E-MetroTel Standard – Northwind", Covered},
		{"amy@northwind.example", date(toronto, 2027, 1, 1), "E-MetroTel Standard – Northwind", Expired},
		{"lars@telekompetanse.no", date(x.oslo.loc, 2024, 6, 1), "Telekompetanse", Expired},
		{"someone@unknown.example", jan2026, "default", NotCovered},
		{"not an address", jan2026, "default", NotCovered},
	}
	for _, tt := range tests {
		ag, cov := x.indexed.For(tt.sender, tt.at)
		if ag == nil || ag.Name != tt.want || cov != tt.cov {
			name := "<nil>"
			if ag != nil {
				name = ag.Name
			}
			t.Errorf("For(%q, %s) = %q, %v; want %q, %v", tt.sender, tt.at.Format(time.DateOnly), name, cov, tt.want, tt.cov)
		}
	}
}

func TestAgreementsAddressLapseFallsBackToDomain(t *testing.T) {
	x := exampleAgreements(t)
	old := &Agreement{Name: "personal", Customers: []string{"ceo@jotron.com"}, Plan: x.jotron, ValidUntil: date(x.oslo.loc, 2025, 1, 1)}
	a, err := NewAgreements(append([]*Agreement{old}, x.list...), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ag, cov := a.For("ceo@jotron.com", date(x.oslo.loc, 2026, 1, 1)); ag.Name != "Jotron" || cov != Covered {
		t.Errorf("For = %s, %v; want the domain's agreement", ag.Name, cov)
	}
	if ag, cov := a.For("nobody@nowhere.example", date(x.oslo.loc, 2026, 1, 1)); ag != nil || cov != NotCovered {
		t.Errorf("without a default For = %v, %v; want nil, not covered", ag, cov)
	}
}

func TestNewAgreementsRejects(t *testing.T) {
	x := exampleAgreements(t)
	re := regexp.MustCompile(`x`)
	tests := []struct {
		name string
		list []*Agreement
		want []string // substrings of the error
	}{
		{"overlapping periods for one customer", []*Agreement{
			{Name: "A", Customers: []string{"acme.example"}, Plan: x.jotron},
			{Name: "B", Customers: []string{"@ACME.example"}, Plan: x.jotron, ValidFrom: date(time.UTC, 2026, 1, 1)},
		}, []string{`"A" and "B" both cover @ACME.example`}},
		{"no plan, no customers", []*Agreement{{Name: "C"}}, []string{`"C": no plan`, `"C": no customers`}},
		{"bad customers", []*Agreement{{Name: "D", Plan: x.jotron, Customers: []string{"com", "a b@x.example", "x@"}}}, []string{`customer "com"`, `customer "a b@x.example"`, `customer "x@"`}},
		{"bad dates and rules", []*Agreement{{Name: "E", Plan: x.jotron, Customers: []string{"e.example"},
			ValidFrom: date(time.UTC, 2026, 1, 1), ValidUntil: date(time.UTC, 2025, 1, 1),
			PriorityRules: []PriorityRule{{Pattern: re, Priority: 9}, {Priority: 1}}, DefaultPriority: 5,
			HourBank: HourBank{Hours: time.Hour, Per: "fortnight"}}},
			[]string{"valid_from 2026-01-01 is not before valid_until 2025-01-01", "priority rule 1: priority 9", "priority rule 2 has no pattern", "default priority 5", `hour bank 1h0m0s per "fortnight"`}},
		{"bad plan", []*Agreement{{Name: "F", Customers: []string{"f.example"}, Plan: &Plan{Name: "p", WarnAt: 1.5,
			Priorities: map[int]PriorityTargets{7: {}, 1: {FirstResponse: Days(0)}},
			Escalation: Escalation{Then: []EscalationStep{{After: time.Hour}, {After: time.Minute, To: []string{"x"}}}}}}},
			[]string{"no calendar", "warn_at 1.5", "priority 7", "priority 1 first-response: 0 business days must be from 1 to 1000", "step 1 (after 1h0m0s) tells nobody", "step 2 (after 1m0s) comes before step 1"}},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			_, err := NewAgreements(tt.list, nil)
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrInvalidAgreement) && !errors.Is(err, ErrInvalidPlan) {
				t.Errorf("error %v wraps neither ErrInvalidAgreement nor ErrInvalidPlan", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestDetectPriority(t *testing.T) {
	x := exampleAgreements(t)
	emt := x.byName["E-MetroTel Premium – Contoso"]
	trinax := x.byName["Trinax Alert!"]
	terso := x.byName["Terso"]
	jotron := x.byName["Jotron"]
	tests := []struct {
		name                 string
		ag                   *Agreement
		subject, body        string
		xPriority, important string
		want                 int // 0: nothing detected
	}{
		{"E-MetroTel en dash", emt, "Emergency – System Down at Acme", "", "", "", 1},
		{"E-MetroTel hyphen, capitals", emt, "EMERGENCY - SYSTEM DOWN", "", "", "", 1},
		{"E-MetroTel em dash", emt, "Re: Emergency—System down", "", "", "", 1},
		{"E-MetroTel colon", emt, "emergency: system down", "", "", "", 1},
		{"E-MetroTel in the body", emt, "Help", "Hi,\nEmergency - System Down since 09:00\n", "", "", 1},
		{"E-MetroTel no dash", emt, "Emergency System Down", "", "", "", 1},
		{"E-MetroTel not an emergency", emt, "System down? Not an emergency", "", "", "", 0},
		{"E-MetroTel ignores headers", emt, "Question", "", "1 (Highest)", "high", 0},
		{"Trinax Kritisk in subject", trinax, "Kritisk: larm ur funktion", "", "", "", 1},
		{"Trinax Hög in a body line", trinax, "Fråga", "Hej!\nPrioritet: Hög\n", "", "", 2},
		{"Trinax number in a body line", trinax, "Fråga", "prio=4\n", "", "", 4},
		{"Trinax Normal in subject", trinax, "[Normal] fråga om rapport", "", "", "", 3},
		{"Trinax Låg in subject", trinax, "LÅG: ny användare", "", "", "", 4},
		{"Trinax normal in running text is not a priority", trinax, "Fråga", "Allt fungerar normalt, normal drift.", "", "", 0},
		{"Trinax Högt is not Hög", trinax, "Högtalare saknas", "", "", "", 0},
		{"Terso rule", terso, "Outage in DC2", "", "", "", 1},
		{"Terso trusts X-Priority", terso, "Question", "", "1 (Highest)", "", 1},
		{"Terso X-Priority 5 is 4", terso, "Question", "", "5 (Lowest)", "", 4},
		{"Terso Importance", terso, "Question", "", "", "High", 2},
		{"Terso nothing", terso, "Question", "", "", "", 0},
		{"Jotron does not trust headers", jotron, "Question", "", "1", "high", 0},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			got, ok := tt.ag.DetectPriority(tt.subject, tt.body, tt.xPriority, tt.important)
			if ok != (tt.want != 0) || got != tt.want {
				t.Fatalf("DetectPriority = %d, %v; want %d", got, ok, tt.want)
			}
		})
	}
	if p := jotron.Priority(); p != 3 {
		t.Errorf("default priority %d, want 3", p)
	}
}

func TestPeriodBounds(t *testing.T) {
	loc := mustZone(t, "Europe/Stockholm")
	tm := time.Date(2026, 8, 15, 12, 0, 0, 0, loc)
	for _, tt := range []struct {
		p          Period
		start, end string
	}{
		{Monthly, "2026-08-01 00:00", "2026-09-01 00:00"},
		{Quarterly, "2026-07-01 00:00", "2026-10-01 00:00"},
		{Yearly, "2026-01-01 00:00", "2027-01-01 00:00"},
	} {
		s, e := tt.p.Bounds(tm)
		if !s.Equal(at(t, loc, tt.start)) || !e.Equal(at(t, loc, tt.end)) {
			t.Errorf("%s bounds = %s – %s", tt.p, s, e)
		}
	}
}
