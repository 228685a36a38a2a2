package mailer

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// FuzzParse checks that Parse never panics and always returns a usable
// Message, whatever the bytes.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "mail", "*.eml"))
	if err != nil {
		f.Fatal(err)
	}
	if len(files) == 0 {
		f.Fatal("no seed mails in testdata/mail")
	}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	for _, seed := range []string{
		"",
		"\r",
		"From x\n\n",
		"Subject: =?utf-7?Q?+AAA?= =?gb2312?B?g8g=?=\r\n\r\n",
		"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n--a--",
		"Content-Type: text/html\r\n\r\n<table><a href=x><pre>\r\n",
		"Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n#86)C\r\nend\r\n",
		// Regressions found by fuzzing.
		"Content-TYpe:multipArt/;BoundArY=a\n\n--a\n\xc3", // invalid UTF-8 in a library error
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		in := slices.Clone(raw)
		m := Parse(raw)
		if strings.Contains(m.ParseError, "internal error") {
			t.Fatalf("Parse recovered from a panic: %s", m.ParseError)
		}
		if !slices.Equal(raw, in) {
			t.Fatal("Parse modified its input")
		}
		if m.MessageID == "" {
			t.Error("empty MessageID")
		}
		if !hexSHA256.MatchString(m.BodyHash) {
			t.Errorf("BodyHash = %q", m.BodyHash)
		}
		if !slices.Contains([]Kind{KindNormal, KindAutoReply, KindBounce, KindList}, m.Kind) || m.KindReason == "" {
			t.Errorf("Kind = %q (%q)", m.Kind, m.KindReason)
		}
		if m.Size != int64(len(raw)) {
			t.Errorf("Size = %d for %d bytes", m.Size, len(raw))
		}
		for what, s := range map[string]string{"Text": m.Text, "ParseError": m.ParseError, "From.Name": m.From.Name} {
			if !utf8.ValidString(s) {
				t.Errorf("%s is not valid UTF-8: %q", what, s)
			}
		}
		if !utf8.ValidString(m.Subject) || strings.ContainsAny(m.Subject, "\r\n") {
			t.Errorf("Subject = %q, want one line of valid UTF-8", m.Subject)
		}
		for _, a := range m.Attachments {
			if a.Size < 0 || a.ContentType == "" {
				t.Errorf("attachment %+v", a)
			}
		}
		again := Parse(raw)
		if again.MessageID != m.MessageID || again.BodyHash != m.BodyHash || again.Kind != m.Kind || again.Text != m.Text {
			t.Error("Parse is not deterministic")
		}
	})
}
