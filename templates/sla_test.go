package templates

import (
	"strings"
	"testing"
)

// Samples of the SLA templates (see samples in templates_test.go).
func init() {
	samples["not-covered"] = func(lang string) (full, minimal any) {
		n := NotCovered{
			Case:         "HD-000042",
			Tag:          "[#HD-000042]",
			Subject:      "PBX drops calls",
			CustomerName: "Bob Smith",
			SupportName:  "Example Support",
			Expired:      true,
			Until:        map[string]string{"nb": "31. desember 2026", "sv": "31 december 2026"}[lang],
		}
		if n.Until == "" {
			n.Until = "31 December 2026"
		}
		return n, NotCovered{Case: "HD-000007", Tag: "[#HD-000007]"}
	}
	alert := func(lang string, step int) (full, minimal any) {
		a := SLAAlert{
			Case:        "HD-000042",
			Tag:         "[#HD-000042]",
			Subject:     "PBX drops calls",
			Customer:    "bob@contoso.example",
			Agreement:   "E-MetroTel Premium – Contoso",
			Plan:        "emetrotel-premium",
			Priority:    1,
			Promise:     "first response",
			Target:      "4h",
			Deadline:    "Monday 4 January 2027 10:30 EST",
			Left:        "1h",
			Step:        step,
			LastMessage: "> Emergency – System Down\n> All trunks are down since 06:00.",
			SupportName: "Example Support",
		}
		if step > 0 || lang == "sv" {
			a.Left, a.Overdue = "", "2h15m"
		}
		return a, SLAAlert{Case: "HD-000007", Tag: "[#HD-000007]", Plan: "p", Priority: 3, Promise: "resolution", Target: "nbd", Deadline: "d"}
	}
	samples["sla-warn"] = func(lang string) (full, minimal any) { return alert(lang, 0) }
	samples["sla-breach"] = func(lang string) (full, minimal any) { return alert(lang, 2) }
}

func TestNotCoveredSaysWhy(t *testing.T) {
	for _, lang := range Languages() {
		full, minimal := sample("not-covered", lang)
		expired, err := Render(lang, "not-covered", full)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(expired.Body, full.(NotCovered).Until) || !strings.Contains(expired.Body, "[#HD-000042]") {
			t.Errorf("%s: expired agreement reply lacks its end date or the case tag:\n%s", lang, expired.Body)
		}
		none, err := Render(lang, "not-covered", minimal)
		if err != nil {
			t.Fatal(err)
		}
		if none.Body == expired.Body || strings.Contains(none.Body, ";") {
			t.Errorf("%s: reply to a sender without agreement reads like the expired one:\n%s", lang, none.Body)
		}
	}
}

func TestSLAAlertShowsTheFacts(t *testing.T) {
	full, _ := sample("sla-breach", "en")
	a := full.(SLAAlert)
	r, err := Render("en", "sla-breach", a)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{a.Case, a.Customer, a.Agreement, a.Plan, a.Deadline, "by 2h15m of business time", "Escalation step 2", "All trunks are down"} {
		if !strings.Contains(r.Subject+"\n"+r.Body, want) {
			t.Errorf("breach mail lacks %q:\nSubject: %s\n\n%s", want, r.Subject, r.Body)
		}
	}
}
