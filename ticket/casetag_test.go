package ticket

import "testing"

func TestTaggerFind(t *testing.T) {
	tg := NewTagger("HD")
	tests := []struct {
		name    string
		subject string
		want    uint64
		ok      bool
	}{
		{"plain tag", "[#HD-000042] printer offline", 42, true},
		{"behind reply prefixes", "Re: AW: SV: VS: Antw: [#HD-000042] printer offline", 42, true},
		{"at the end", "printer offline [#HD-000007]", 7, true},
		{"lower case and spaces", "re: [# hd-000042 ] x", 42, true},
		{"without hash", "Re: [HD-000042]", 42, true},
		{"first of two", "[#HD-000002] fwd [#HD-000003]", 2, true},
		{"other prefix", "[#XY-000042] hello", 0, false},
		{"zero is no case", "[#HD-000000] hello", 0, false},
		{"no brackets", "HD-000042 hello", 0, false},
		{"no tag", "Hello", 0, false},
		{"too many digits", "[#HD-1234567890123]", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tg.Find(tc.subject)
			if got != tc.want || ok != tc.ok {
				t.Errorf("Find(%q) = %d, %v; want %d, %v", tc.subject, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestTaggerCleanSubject(t *testing.T) {
	tg := NewTagger("HD")
	tests := []struct{ in, want string }{
		{"Re: AW: [#HD-000042] printer offline", "printer offline"},
		{"SV: VS: Fwd: printer  offline", "printer offline"},
		{"RE[2]: Antw: help", "help"},
		{"Reboot needed", "Reboot needed"},
		{"Svar needed", "Svar needed"},
		{"[#HD-000042]", ""},
	}
	for _, tc := range tests {
		if got := tg.CleanSubject(tc.in); got != tc.want {
			t.Errorf("CleanSubject(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzTagger(f *testing.F) {
	for _, s := range []string{"[#HD-000042] x", "Re: [hd-1]", "[#HD-", "[# HD-99999999999999999999]", "\xff[#HD-000001]"} {
		f.Add(s)
	}
	tg := NewTagger("HD")
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := tg.Find(s)
		if ok && n == 0 {
			t.Fatalf("Find(%q) reported case 0", s)
		}
		if ok {
			// A found tag, re-rendered, is found again with the same number.
			if m, ok2 := tg.Find(Tag(tg.Case(n))); !ok2 || m != n {
				t.Fatalf("round trip of %d gave %d, %v", n, m, ok2)
			}
		}
		clean := tg.CleanSubject(s)
		if _, ok := tg.Find(clean); ok {
			t.Fatalf("CleanSubject(%q) = %q still has a tag", s, clean)
		}
	})
}
