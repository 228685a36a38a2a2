package templates

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current templates")

// samples gives, for every template name, data in a language with every
// field filled and a minimal value. A template without samples fails
// TestEveryTemplateHasSamples, so new templates cannot skip the goldens.
var samples = map[string]func(lang string) (full, minimal any){
	"ack": func(lang string) (full, minimal any) {
		a := Ack{
			Case:         "HD-000042",
			Tag:          "[#HD-000042]",
			Subject:      "Printer on floor 3 prints blank pages",
			CustomerName: "Kari Nordmann",
			SupportName:  "Example Support",
		}
		switch lang {
		case "nb":
			a.ResponseBy = "mandag 4. januar 2027 kl. 10.30 CET, innen 4 arbeidstimer"
			a.MissingFields = []string{"sluttkunde", "vert-ID"}
		case "sv":
			a.ResponseBy = "måndag 4 januari 2027 kl. 10.30 CET, inom 4 arbetstimmar"
			a.MissingFields = []string{"slutkund", "värd-ID"}
		default:
			a.ResponseBy = "Monday 4 January 2027 10:30 CET, within 4 business hours"
			a.MissingFields = []string{"End Customer", "Host ID"}
		}
		a.Truncated = true
		return a, Ack{Case: "HD-000007", Tag: "[#HD-000007]"}
	},
}

// sample returns the data of template name in lang.
func sample(name, lang string) (full, minimal any) { return samples[name](lang) }

func TestRenderMatchesGolden(t *testing.T) {
	for _, lang := range Languages() {
		for _, name := range Names(lang) {
			full, minimal := sample(name, lang)
			for variant, data := range map[string]any{"full": full, "minimal": minimal} {
				t.Run(lang+"/"+name+"/"+variant, func(t *testing.T) {
					r, err := Render(lang, name, data)
					if err != nil {
						t.Fatal(err)
					}
					got := "Subject: " + r.Subject + "\n\n" + r.Body
					golden := filepath.Join("testdata", name+"."+lang+"."+variant+".golden")
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

func TestEveryLanguageHasTheSameTemplates(t *testing.T) {
	langs := Languages()
	if !slices.Equal(langs, []string{"en", "nb", "sv"}) {
		t.Fatalf("Languages() = %v, want [en nb sv]", langs)
	}
	want := Names(DefaultLanguage)
	if len(want) == 0 {
		t.Fatal("no templates in the default language")
	}
	for _, lang := range langs {
		if got := Names(lang); !slices.Equal(got, want) {
			t.Errorf("%s has templates %v, %s has %v", lang, got, DefaultLanguage, want)
		}
	}
}

func TestEveryTemplateHasSamples(t *testing.T) {
	for _, name := range Names(DefaultLanguage) {
		if _, ok := samples[name]; !ok {
			t.Errorf("template %q has no full and minimal sample data in samples", name)
		}
	}
}

func TestTemplateFilesStartWithSubjectAndBlankLine(t *testing.T) {
	for _, lang := range Languages() {
		for _, name := range Names(lang) {
			src, err := files.ReadFile(lang + "/" + name + ".tmpl")
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.SplitN(string(src), "\n", 3)
			if len(lines) < 3 || !strings.HasPrefix(lines[0], "Subject: ") || lines[1] != "" {
				t.Errorf("%s/%s.tmpl: want a first line \"Subject: …\" and a blank second line", lang, name)
			}
		}
	}
}

func TestRenderMinimalLeavesNoEmptyPlaceholders(t *testing.T) {
	for _, lang := range Languages() {
		_, minimal := sample("ack", lang)
		r, err := Render(lang, "ack", minimal)
		if err != nil {
			t.Fatal(err)
		}
		if r.Subject == "[#HD-000007] Re: " || strings.HasSuffix(r.Subject, "Re:") {
			t.Errorf("%s: empty customer subject gives %q, want a neutral subject", lang, r.Subject)
		}
		for _, bad := range []string{"  ,", "Hello ,", "Hei ,", "Hej ,", "<no value>", "\n\n\n"} {
			if strings.Contains(r.Body, bad) {
				t.Errorf("%s: body contains %q:\n%s", lang, bad, r.Body)
			}
		}
		if !strings.Contains(r.Body, "HD-000007") || !strings.Contains(r.Body, "[#HD-000007]") {
			t.Errorf("%s: body lacks the case number or tag:\n%s", lang, r.Body)
		}
	}
}

func TestRenderFull(t *testing.T) {
	for _, lang := range Languages() {
		f, _ := sample("ack", lang)
		full := f.(Ack)
		r, err := Render(lang, "ack", full)
		if err != nil {
			t.Fatal(err)
		}
		if want := "[#HD-000042] Re: " + full.Subject; r.Subject != want {
			t.Errorf("%s: subject %q, want %q", lang, r.Subject, want)
		}
		for _, s := range append([]string{full.ResponseBy, full.CustomerName, full.SupportName}, full.MissingFields...) {
			if !strings.Contains(r.Body, s) {
				t.Errorf("%s: body lacks %q:\n%s", lang, s, r.Body)
			}
		}
	}
}

func TestRenderLanguageSelection(t *testing.T) {
	_, data := sample("ack", "en")
	render := func(lang string) Rendered {
		t.Helper()
		r, err := Render(lang, "ack", data)
		if err != nil {
			t.Fatalf("Render(%q): %v", lang, err)
		}
		return r
	}
	en, nb, sv := render("en"), render("nb"), render("sv")
	if en == nb || en == sv || nb == sv {
		t.Fatal("languages render the same text")
	}
	for _, tc := range []struct {
		lang string
		want Rendered
	}{
		{"xx", en},
		{"", en},
		{"nb-NO", nb},
		{"no", nb},
		{"nn", nb},
		{"SV_se", sv},
	} {
		if got := render(tc.lang); got != tc.want {
			t.Errorf("Render(%q) did not pick the expected language; got subject %q", tc.lang, got.Subject)
		}
	}
}

func TestRenderUnknownTemplateIsErrNoTemplate(t *testing.T) {
	_, err := Render("en", "does-not-exist", Ack{})
	if !errors.Is(err, ErrNoTemplate) {
		t.Fatalf("err = %v, want ErrNoTemplate", err)
	}
}

func TestRenderMissingKeyIsError(t *testing.T) {
	if _, err := Render("en", "ack", map[string]any{"Case": "HD-1"}); err == nil {
		t.Fatal("rendering with missing keys succeeded")
	}
	type notAck struct{ Case string }
	if _, err := Render("en", "ack", notAck{Case: "HD-1"}); err == nil {
		t.Fatal("rendering with a struct lacking fields succeeded")
	}
}

func TestRenderSubjectStaysOnOneLine(t *testing.T) {
	f, _ := sample("ack", "en")
	a := f.(Ack)
	a.Subject = "first\r\nBcc: evil@example.com\n\tsecond"
	r, err := Render("en", "ack", a)
	if err != nil {
		t.Fatal(err)
	}
	if want := "[#HD-000042] Re: first Bcc: evil@example.com second"; r.Subject != want {
		t.Fatalf("subject %q, want %q", r.Subject, want)
	}
}

func TestParseRejectsMalformedFiles(t *testing.T) {
	for _, src := range []string{
		"",
		"no subject line\n\nbody",
		"Subject: x\nbody without blank line",
		"Subject: only a subject",
		"Subject: {{.Broken\n\nbody",
	} {
		if _, err := parse("test.tmpl", src); err == nil {
			t.Errorf("parse(%q) succeeded", src)
		}
	}
}

func BenchmarkRenderAck(b *testing.B) {
	data, _ := sample("ack", "nb")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render("nb", "ack", data); err != nil {
			b.Fatal(err)
		}
	}
}
