package templates

import (
	"strings"
	"testing"
)

// Samples of the agreement report (see samples in templates_test.go).
func init() {
	samples["report"] = func(lang string) (full, minimal any) {
		return AgreementReport{
				Agreement: "Trinax Alert!", Period: "2026-Q3", From: "2026-07-01", To: "2026-09-30",
				ByPriority:  []PriorityCount{{1, 2, 2}, {2, 3, 2}, {3, 7, 6}, {4, 1, 1}},
				OpenedTotal: 13, ClosedTotal: 11,
				FirstResponse: PromiseLine{Met: 12, Breached: 1, Median: "35m", Worst: "2h10m"},
				Resolution:    PromiseLine{Met: 9, Breached: 1, Open: 3, Median: "1d 4h", Worst: "6d 2h"},
				OpenCases: []ReportCase{
					{Case: "HD-000031", Subject: "Växeln tappar samtal", Priority: 2, Age: "21d 6h"},
					{Case: "HD-000044", Priority: 3, Age: "2d 1h"},
				},
				Hours: []HourLine{
					{Period: "2026-Q3", Allowance: "17h", Used: "18h30m", Remaining: "0m", Overage: "1h30m", CarriedIn: "2h", CarriedFrom: "2026-Q2"},
				},
				SupportName: "Example Support",
			}, AgreementReport{
				Agreement: "a", Period: "2026", From: "2026-01-01", To: "2026-12-31",
				ByPriority: []PriorityCount{{1, 0, 0}, {2, 0, 0}, {3, 0, 0}, {4, 0, 0}},
			}
	}
}

func TestReportShowsOpenCasesAndOverage(t *testing.T) {
	for _, lang := range Languages() {
		full, minimal := sample("report", lang)
		r, err := Render(lang, "report", full)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"HD-000031", "21d 6h", "1h30m", "2h10m", "13", "2026-Q3"} {
			if !strings.Contains(r.Body, want) {
				t.Errorf("%s: report lacks %q:\n%s", lang, want, r.Body)
			}
		}
		m, err := Render(lang, "report", minimal)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(m.Body, "HD-") || strings.Contains(m.Body, "median") {
			t.Errorf("%s: empty report shows cases or medians:\n%s", lang, m.Body)
		}
	}
}
