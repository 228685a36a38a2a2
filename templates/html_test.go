package templates

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// htmlSamples gives, for every HTML template name, data with every field
// filled and a minimal value, as samples does for the text templates. Its
// own data, so that the text samples can change without the HTML goldens.
var htmlSamples = map[string]func(lang string) (full, minimal any){
	"report": func(lang string) (full, minimal any) {
		month := func(m time.Month, opened, closed int) MonthLine {
			return MonthLine{Month: MonthName(lang, m) + " 2026", Opened: opened, Closed: closed}
		}
		return AgreementReportHTML{
				AgreementReport: AgreementReport{
					Agreement: "Trinax Alert!", Period: "2026-Q3", From: "2026-07-01", To: "2026-09-30",
					ByPriority:  []PriorityCount{{1, 2, 2}, {2, 3, 2}, {3, 7, 6}, {4, 1, 1}},
					OpenedTotal: 13, ClosedTotal: 11,
					FirstResponse: PromiseLine{Met: 12, Breached: 1, Median: "35m", Worst: "2h10m"},
					Resolution:    PromiseLine{Met: 9, Breached: 1, Open: 3, Median: "1d 4h", Worst: "6d 2h"},
					OpenCases: []ReportCase{
						{Case: "HD-000031", Subject: "Växeln tappar samtal <b>igen</b> & \"alltid\"", Priority: 2, Age: "21d 6h"},
						{Case: "HD-000044", Priority: 3, Age: "2d 1h"},
					},
					Hours: []HourLine{
						{Period: "2026-Q3", Allowance: "17h", Used: "18h30m", Remaining: "0m", Overage: "1h30m", CarriedIn: "2h", CarriedFrom: "2026-Q2"},
					},
					SupportName: "Example Support",
				},
				Months:   []MonthLine{month(time.July, 5, 3), month(time.August, 6, 6), month(time.September, 2, 2)},
				ChartCID: "chart-2026-q3@helpdeskd", ChartWidth: 480, ChartHeight: 200,
				OpenedColor: "#2f6fb3", ClosedColor: "#5aa469",
			}, AgreementReportHTML{
				AgreementReport: AgreementReport{
					Agreement: "a", Period: "2026-03", From: "2026-03-01", To: "2026-03-31",
					ByPriority: []PriorityCount{{1, 0, 0}, {2, 0, 0}, {3, 0, 0}, {4, 0, 0}},
				},
				Months: []MonthLine{month(time.March, 0, 0)},
			}
	},
}

func TestRenderHTMLMatchesGolden(t *testing.T) {
	for _, lang := range Languages() {
		for _, name := range HTMLNames(lang) {
			full, minimal := htmlSamples[name](lang)
			for variant, data := range map[string]any{"full": full, "minimal": minimal} {
				t.Run(lang+"/"+name+"/"+variant, func(t *testing.T) {
					got, err := RenderHTML(lang, name, data)
					if err != nil {
						t.Fatal(err)
					}
					// .golden.html: a browser shows it as the mail does.
					golden := filepath.Join("testdata", name+"."+lang+"."+variant+".golden.html")
					if *update {
						if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
							t.Fatal(err)
						}
						return
					}
					want, err := os.ReadFile(golden)
					if err != nil {
						t.Fatalf("%v (run go test -update to create it)", err)
					}
					if got != string(want) {
						t.Errorf("render differs from %s (go test -update rewrites it)\n--- got:\n%s\n--- want:\n%s", golden, got, want)
					}
				})
			}
		}
	}
}

func TestEveryLanguageHasTheSameHTMLTemplates(t *testing.T) {
	want := HTMLNames(DefaultLanguage)
	if !slices.Contains(want, "report") {
		t.Fatalf("HTML templates %v lack report", want)
	}
	for _, lang := range Languages() {
		if got := HTMLNames(lang); !slices.Equal(got, want) {
			t.Errorf("%s has HTML templates %v, %s has %v", lang, got, DefaultLanguage, want)
		}
		for _, name := range HTMLNames(lang) {
			if _, ok := htmlSamples[name]; !ok {
				t.Errorf("HTML template %q has no sample data in htmlSamples", name)
			}
		}
	}
}

func TestReportHTMLEscapesCustomerText(t *testing.T) {
	f, _ := htmlSamples["report"]("en")
	data := f.(AgreementReportHTML)
	data.Agreement = `Evil" onload="alert(1)`
	data.OpenCases[0].Subject = `<script>alert("x")</script><img src=x onerror=alert(1)>`
	data.SupportName = "</p><a href=\"javascript:alert(1)\">click</a>"
	data.OpenedColor = "red;background:url(javascript:alert(1))"
	got, err := RenderHTML("en", "report", data)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "<img src=x", `" onload="`, "<a href", "url(javascript"} {
		if strings.Contains(got, bad) {
			t.Errorf("rendered HTML contains %q:\n%s", bad, got)
		}
	}
	if !strings.Contains(got, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Errorf("the subject is not shown escaped:\n%s", got)
	}
	if !strings.Contains(got, `style="color: ZgotmplZ"`) {
		t.Errorf("a colour that is not a colour reached the style attribute:\n%s", got)
	}
}

func TestReportHTMLShowsEveryFigure(t *testing.T) {
	for _, lang := range Languages() {
		full, minimal := htmlSamples["report"](lang)
		got, err := RenderHTML(lang, "report", full)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			`<img src="cid:chart-2026-q3@helpdeskd" width="480" height="200" alt="`,
			`style="color: #2f6fb3"`, `style="color: #5aa469"`,
			"HD-000031", "HD-000044", "21d 6h", "2h10m", "6d 2h", "1h30m", "18h30m", "2026-Q2",
			MonthName(lang, time.July) + " 2026", MonthName(lang, time.September) + " 2026",
			`<html lang="` + lang + `">`,
		} {
			if !strings.Contains(got, want) {
				t.Errorf("%s: report lacks %q", lang, want)
			}
		}
		for _, row := range []string{
			`<tr><td>` + MonthName(lang, time.July) + ` 2026</td><td class="n">5</td><td class="n">3</td></tr>`,
			`<tr><td>` + MonthName(lang, time.August) + ` 2026</td><td class="n">6</td><td class="n">6</td></tr>`,
			`<th class="n">13</th><th class="n">11</th></tr>`,
			`<td class="n">9</td><td class="n">1</td><td class="n">3</td><td class="n">1d 4h</td><td class="n">6d 2h</td></tr>`,
		} {
			if !strings.Contains(got, row) {
				t.Errorf("%s: report lacks the row %s", lang, row)
			}
		}
		m, err := RenderHTML(lang, "report", minimal)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"<img", "HD-", "&#9632;", "<small>"} {
			if strings.Contains(m, bad) {
				t.Errorf("%s: minimal report contains %q:\n%s", lang, bad, m)
			}
		}
		if !strings.Contains(m, MonthName(lang, time.March)+" 2026") {
			t.Errorf("%s: minimal report lacks its month:\n%s", lang, m)
		}
	}
}

func TestRenderHTMLLanguageFallbackAndErrors(t *testing.T) {
	full, _ := htmlSamples["report"]("en")
	render := func(lang string) string {
		t.Helper()
		s, err := RenderHTML(lang, "report", full)
		if err != nil {
			t.Fatalf("RenderHTML(%q): %v", lang, err)
		}
		return s
	}
	for lang, want := range map[string]string{"xx": "en", "": "en", "nb-NO": "nb", "nn": "nb", "SV_se": "sv"} {
		if got := render(lang); !strings.Contains(got, `<html lang="`+want+`">`) {
			t.Errorf("RenderHTML(%q) did not pick %s", lang, want)
		}
	}
	if _, err := RenderHTML("en", "no-such", full); !errors.Is(err, ErrNoTemplate) {
		t.Errorf("unknown template: err = %v, want ErrNoTemplate", err)
	}
	if _, err := RenderHTML("en", "report", map[string]any{"Period": "2026"}); err == nil {
		t.Error("rendering with missing keys succeeded")
	}
}

func TestMonthNames(t *testing.T) {
	for _, tc := range []struct {
		lang       string
		m          time.Month
		name, abbr string
	}{
		{"en", time.May, "May", "May"},
		{"nb", time.May, "mai", "mai"},
		{"sv", time.May, "maj", "maj"},
		{"nb-NO", time.December, "desember", "des"},
		{"sv", time.October, "oktober", "okt"},
		{"de", time.March, "March", "Mar"},
	} {
		if got := MonthName(tc.lang, tc.m); got != tc.name {
			t.Errorf("MonthName(%q, %v) = %q, want %q", tc.lang, tc.m, got, tc.name)
		}
		if got := MonthAbbr(tc.lang, tc.m); got != tc.abbr {
			t.Errorf("MonthAbbr(%q, %v) = %q, want %q", tc.lang, tc.m, got, tc.abbr)
		}
	}
	for _, lang := range Languages() {
		for m := time.January; m <= time.December; m++ {
			for _, c := range MonthAbbr(lang, m) {
				if c > 0x7e {
					t.Errorf("%s: abbreviation of %v is not ASCII: %q", lang, m, MonthAbbr(lang, m))
				}
			}
		}
	}
	if got := MonthName("en", 13); got == "" {
		t.Error("month 13 gives an empty name")
	}
}
