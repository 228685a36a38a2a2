package templates

import (
	"strings"
	"testing"
)

// Samples of the hour bank templates (see samples in templates_test.go).
func init() {
	samples["hours-warn"] = func(lang string) (full, minimal any) {
		return HourBankNotice{
				Agreement: "Trinax Alert!", Period: "2026-Q4", Allowance: "18h", Used: "19h30m",
				Remaining: "0m", Overage: "1h30m", CarriedIn: "3h", CarriedFrom: "2026-Q3",
				Percent: 108, Over: true, SupportName: "Example Support",
			}, HourBankNotice{
				Agreement: "a", Period: "2026", Allowance: "4h", Used: "3h12m", Remaining: "48m", Percent: 80,
			}
	}
}

func TestHourBankNoticeSaysOverageOnlyWhenOver(t *testing.T) {
	for _, lang := range Languages() {
		full, minimal := sample("hours-warn", lang)
		over, err := Render(lang, "hours-warn", full)
		if err != nil {
			t.Fatal(err)
		}
		warn, err := Render(lang, "hours-warn", minimal)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(over.Body, "1h30m") || !strings.Contains(over.Subject, "Trinax Alert!") {
			t.Errorf("%s: overage mail lacks the overage or agreement:\n%s\n%s", lang, over.Subject, over.Body)
		}
		if !strings.Contains(warn.Subject, "80") || strings.Contains(warn.Body, "1h30m") {
			t.Errorf("%s: warn mail lacks the level or shows an overage:\n%s\n%s", lang, warn.Subject, warn.Body)
		}
	}
}

func TestHourBankNoticeShowsCarryOverOnlyWhenCarried(t *testing.T) {
	for _, lang := range Languages() {
		full, _ := sample("hours-warn", lang)
		carried := full.(HourBankNotice)
		r, err := Render(lang, "hours-warn", carried)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(r.Body, " 18h, ") || !strings.Contains(r.Body, "3h") || !strings.Contains(r.Body, "2026-Q3") {
			t.Errorf("%s: allowance line lacks the 3h carried over from 2026-Q3:\n%s", lang, r.Body)
		}
		plain := carried
		plain.CarriedIn, plain.CarriedFrom = "", ""
		if r, err = Render(lang, "hours-warn", plain); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(r.Body, " 18h\n") || strings.Contains(r.Body, "2026-Q3") {
			t.Errorf("%s: nothing carried, yet the allowance line says more than 18h:\n%s", lang, r.Body)
		}
	}
}
