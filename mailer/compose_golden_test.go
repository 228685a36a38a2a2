package mailer

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current Compose")

// boundaryRe finds go-mail's multipart boundaries, which are random.
var boundaryRe = regexp.MustCompile(`boundary=([0-9a-f]{60})`)

// normalizeBoundaries replaces each distinct boundary of raw with a fixed
// name, numbered in order of appearance, so that multipart mail can be
// compared byte for byte.
func normalizeBoundaries(raw []byte) []byte {
	out := raw
	for i, m := range boundaryRe.FindAllSubmatch(raw, -1) {
		name := []byte("BOUNDARY" + string(rune('A'+i)))
		out = regexp.MustCompile(regexp.QuoteMeta(string(m[1]))).ReplaceAllLiteral(out, name)
	}
	return out
}

// TestComposeMatchesGolden pins the bytes of mail without an HTML part:
// adding HTML support must not change a byte of the mail we sent before.
func TestComposeMatchesGolden(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(o *Outgoing)
	}{
		{"text", func(o *Outgoing) { o.Attachments = nil }},
		{"text-attachments", func(o *Outgoing) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := fullOutgoing()
			tc.change(o)
			raw, err := Compose(o)
			if err != nil {
				t.Fatal(err)
			}
			got := normalizeBoundaries(raw)
			golden := filepath.Join("testdata", "compose-"+tc.name+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("Compose differs from %s\n--- got:\n%s\n--- want:\n%s", golden, got, want)
			}
		})
	}
}
