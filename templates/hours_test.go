package templates

import (
	"strings"
	"testing"
)

// Samples of the hour bank templates (see samples in templates_test.go).
func init() {
	samples["hours-warn"] = func(lang string) (full, minimal any) {
		return HourBankNotice{
				Agreement: "Trinax Alert!", Period: "2026-Q4", Allowance: "15h", Used: "16h30m",
				Remaining: "0m", Overage: "1h30m", Percent: 110, Over: true, SupportName: "Example Support",
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
