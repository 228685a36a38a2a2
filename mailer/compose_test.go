package mailer

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	gomsgmail "github.com/emersion/go-message/mail"
)

// parsedMail is what a mail client sees of a composed mail, read back with
// go-message (an independent parser).
type parsedMail struct {
	header      gomsgmail.Header
	keys        []string // header field names, in order, lower-case
	text        string   // decoded text/plain body, LF line endings
	attachments map[string][]byte
	attachTypes map[string]string
}

func parseComposed(t testing.TB, raw []byte) parsedMail {
	t.Helper()
	mr, err := gomsgmail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("go-message cannot read the composed mail: %v\n%s", err, raw)
	}
	defer mr.Close()
	p := parsedMail{header: mr.Header, attachments: map[string][]byte{}, attachTypes: map[string]string{}}
	for f := mr.Header.Fields(); f.Next(); {
		p.keys = append(p.keys, strings.ToLower(f.Key()))
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		body, err := io.ReadAll(part.Body)
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		switch h := part.Header.(type) {
		case *gomsgmail.InlineHeader:
			p.text += strings.ReplaceAll(string(body), "\r\n", "\n")
		case *gomsgmail.AttachmentHeader:
			name, err := h.Filename()
			if err != nil {
				t.Fatalf("attachment filename: %v", err)
			}
			ct, _, _ := h.ContentType()
			p.attachments[name] = body
			p.attachTypes[name] = ct
		}
	}
	return p
}

func fullOutgoing() *Outgoing {
	refs := []string{"first@customer.example", "second@helpdesk.example"}
	for i := range 12 { // enough to need folding
		refs = append(refs, strings.Repeat("x", 20)+string(rune('a'+i))+"@long.example")
	}
	return &Outgoing{
		From:          Address{Name: "Støtte hos Example", Addr: "support@helpdesk.example"},
		To:            []Address{{Name: "Kari Nordmann", Addr: "kari@customer.example"}},
		Cc:            []Address{{Addr: "boss@customer.example"}},
		ReplyTo:       []Address{{Name: "Support", Addr: "support@helpdesk.example"}},
		Subject:       "[#HD-000042] Re: Skriveren på 3. etasje skriver blanke ark – hjelp!",
		Text:          "Hei Kari,\n\nvi har mottatt saken din.\n.\nA line starting with a dot, and a long line: " + strings.Repeat("ærlig talt ", 20) + "\n",
		MessageID:     "hd.42.1@helpdesk.example",
		InReplyTo:     "first@customer.example",
		References:    refs,
		Date:          time.Date(2027, 1, 4, 9, 30, 0, 0, time.FixedZone("CET", 3600)),
		AutoSubmitted: AutoReplied,
		LoopID:        "inst-7f3a",
		Headers:       map[string]string{"X-Helpdeskd-Case": "HD-000042"},
		Attachments: []OutAttachment{
			{Filename: "logg.txt", ContentType: "text/plain; charset=utf-8", Data: []byte("linje 1\nlinje 2\n")},
			{Filename: "blob.bin", Data: []byte{0, 1, 2, 0xff, '\r', '\n', '.'}},
		},
	}
}

func TestComposeRoundTripsThroughAnIndependentParser(t *testing.T) {
	o := fullOutgoing()
	raw, err := Compose(o)
	if err != nil {
		t.Fatal(err)
	}
	p := parseComposed(t, raw)

	subject, err := p.header.Subject()
	if err != nil || subject != o.Subject {
		t.Errorf("subject = %q, %v; want %q", subject, err, o.Subject)
	}
	from, err := p.header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != o.From.Name || from[0].Address != o.From.Addr {
		t.Errorf("From = %v, %v", from, err)
	}
	for key, want := range map[string][]Address{"To": o.To, "Cc": o.Cc, "Reply-To": o.ReplyTo} {
		got, err := p.header.AddressList(key)
		if err != nil || len(got) != len(want) {
			t.Errorf("%s = %v, %v", key, got, err)
			continue
		}
		for i := range got {
			if got[i].Name != want[i].Name || got[i].Address != want[i].Addr {
				t.Errorf("%s[%d] = %v, want %v", key, i, got[i], want[i])
			}
		}
	}
	if id, err := p.header.MessageID(); err != nil || id != o.MessageID {
		t.Errorf("Message-ID = %q, %v", id, err)
	}
	if irt, err := p.header.MsgIDList("In-Reply-To"); err != nil || !slices.Equal(irt, []string{o.InReplyTo}) {
		t.Errorf("In-Reply-To = %v, %v", irt, err)
	}
	if refs, err := p.header.MsgIDList("References"); err != nil || !slices.Equal(refs, o.References) {
		t.Errorf("References = %v, %v; want %v", refs, err, o.References)
	}
	if d, err := p.header.Date(); err != nil || !d.Equal(o.Date) {
		t.Errorf("Date = %v, %v; want %v", d, err, o.Date)
	}
	for key, want := range map[string]string{
		"Auto-Submitted":           "auto-replied",
		"X-Auto-Response-Suppress": "All",
		LoopHeader:                 "inst-7f3a",
		"X-Helpdeskd-Case":         "HD-000042",
		"MIME-Version":             "1.0",
	} {
		if got := p.header.Get(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if p.header.Has("Precedence") || p.header.Has("User-Agent") {
		t.Errorf("unexpected Precedence or User-Agent header: %v", p.keys)
	}
	if want := strings.ReplaceAll(o.Text, "\r\n", "\n"); p.text != want {
		t.Errorf("text = %q, want %q", p.text, want)
	}
	for _, a := range o.Attachments {
		if got, ok := p.attachments[a.Filename]; !ok || !bytes.Equal(got, a.Data) {
			t.Errorf("attachment %s = %q, want %q", a.Filename, got, a.Data)
		}
	}
	if ct := p.attachTypes["logg.txt"]; ct != "text/plain" {
		t.Errorf("logg.txt content type %q", ct)
	}
	if ct := p.attachTypes["blob.bin"]; ct != "application/octet-stream" {
		t.Errorf("blob.bin content type %q", ct)
	}
	assertWireClean(t, raw)
}

// assertWireClean checks what SMTP and old MTAs need: CRLF only, 7-bit
// header, lines within 998 octets.
func assertWireClean(t *testing.T, raw []byte) {
	t.Helper()
	head, _, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		t.Fatal("no header/body separator")
	}
	for i, b := range head {
		if b >= 0x80 {
			t.Fatalf("8-bit byte %#x in header at %d", b, i)
		}
	}
	for i, line := range bytes.Split(raw, []byte("\r\n")) {
		if bytes.ContainsAny(line, "\r\n") {
			t.Fatalf("line %d has a bare CR or LF: %q", i, line)
		}
		if len(line) > 998 {
			t.Fatalf("line %d is %d octets long", i, len(line))
		}
	}
}

func TestComposeHumanMailHasNoAutoHeaders(t *testing.T) {
	o := fullOutgoing()
	o.AutoSubmitted = ""
	o.LoopID = ""
	o.Attachments = nil
	raw, err := Compose(o)
	if err != nil {
		t.Fatal(err)
	}
	p := parseComposed(t, raw)
	for _, k := range []string{"auto-submitted", "x-auto-response-suppress", strings.ToLower(LoopHeader)} {
		if slices.Contains(p.keys, k) {
			t.Errorf("header %s present on mail written by a person", k)
		}
	}
	if ct, _, _ := p.header.ContentType(); ct != "text/plain" {
		t.Errorf("content type %q, want text/plain without attachments", ct)
	}
	if got := p.header.Get("Content-Transfer-Encoding"); got != "quoted-printable" {
		t.Errorf("Content-Transfer-Encoding %q", got)
	}
}

func TestComposeAutoGenerated(t *testing.T) {
	o := fullOutgoing()
	o.AutoSubmitted = AutoGenerated
	raw, err := Compose(o)
	if err != nil {
		t.Fatal(err)
	}
	p := parseComposed(t, raw)
	if p.header.Get("Auto-Submitted") != "auto-generated" || p.header.Get("X-Auto-Response-Suppress") != "All" {
		t.Errorf("headers %v", p.header.Map())
	}
}

func TestComposeCannotInjectHeaders(t *testing.T) {
	o := fullOutgoing()
	o.Subject = "Hello\r\nBcc: evil@attacker.example\r\n\r\nfake body"
	o.From.Name = "Eve\r\nBcc: evil@attacker.example"
	o.To[0].Name = "Mallory\nX-Injected: yes"
	o.Attachments[0].Filename = "a\r\nX-Injected: yes.txt"
	raw, err := Compose(o)
	if err != nil {
		t.Fatal(err)
	}
	p := parseComposed(t, raw)
	for _, k := range []string{"bcc", "x-injected"} {
		if slices.Contains(p.keys, k) {
			t.Fatalf("injected header %s appeared:\n%s", k, raw)
		}
	}
	if bytes.Contains(raw, []byte("\nBcc:")) || bytes.Contains(raw, []byte("\nX-Injected:")) {
		t.Fatalf("injected header line in raw mail:\n%s", raw)
	}
	if s, _ := p.header.Subject(); s != "Hello Bcc: evil@attacker.example fake body" {
		t.Errorf("subject = %q, want the line breaks turned into spaces", s)
	}
	from, _ := p.header.AddressList("From")
	if len(from) != 1 || from[0].Address != "support@helpdesk.example" || from[0].Name != "Eve Bcc: evil@attacker.example" {
		t.Errorf("From = %v", from)
	}
	assertWireClean(t, raw)
}

func TestComposeRejectsInvalidOutgoing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(o *Outgoing)
	}{
		{"missing message id", func(o *Outgoing) { o.MessageID = "" }},
		{"message id with brackets", func(o *Outgoing) { o.MessageID = "<a@b>" }},
		{"message id with line break", func(o *Outgoing) { o.MessageID = "a@b\r\nBcc: x@y" }},
		{"message id without at", func(o *Outgoing) { o.MessageID = "abc" }},
		{"message id too long", func(o *Outgoing) { o.MessageID = strings.Repeat("a", 300) + "@b" }},
		{"address too long", func(o *Outgoing) { o.To[0].Addr = strings.Repeat("a", 300) + "@b.example" }},
		{"header value too long", func(o *Outgoing) { o.Headers["X-Long"] = strings.Repeat("a", 1000) }},
		{"in-reply-to with space", func(o *Outgoing) { o.InReplyTo = "a b@c" }},
		{"reference with line break", func(o *Outgoing) { o.References = []string{"a@b\nX: y"} }},
		{"no recipients", func(o *Outgoing) { o.To = nil }},
		{"empty from", func(o *Outgoing) { o.From.Addr = "" }},
		{"from address with line break", func(o *Outgoing) { o.From.Addr = "a@b.example\r\nBcc: x@y" }},
		{"to address with display name", func(o *Outgoing) { o.To[0].Addr = "Kari <kari@customer.example>" }},
		{"cc not an address", func(o *Outgoing) { o.Cc[0].Addr = "not an address" }},
		{"zero date", func(o *Outgoing) { o.Date = time.Time{} }},
		{"unknown auto-submitted", func(o *Outgoing) { o.AutoSubmitted = "yes" }},
		{"loop id with space", func(o *Outgoing) { o.LoopID = "a b" }},
		{"header value with line break", func(o *Outgoing) { o.Headers["X-Helpdeskd-Case"] = "HD-1\r\nBcc: x@y" }},
		{"header name with colon", func(o *Outgoing) { o.Headers["X-A: b"] = "c" }},
		{"header name with line break", func(o *Outgoing) { o.Headers["X-A\r\nBcc"] = "c" }},
		{"header overrides subject", func(o *Outgoing) { o.Headers["subject"] = "other" }},
		{"header overrides loop header", func(o *Outgoing) { o.Headers[LoopHeader] = "other" }},
		{"attachment content type injection", func(o *Outgoing) { o.Attachments[0].ContentType = "text/plain\r\nX-Injected: yes" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := fullOutgoing()
			tc.change(o)
			raw, err := Compose(o)
			if !errors.Is(err, ErrInvalidOutgoing) {
				t.Fatalf("err = %v, want ErrInvalidOutgoing; mail:\n%s", err, raw)
			}
		})
	}
}

func TestComposeKeepsLinesShortWithLongUnbreakableText(t *testing.T) {
	o := fullOutgoing()
	long := strings.Repeat("0", 3000)
	o.Subject = long
	o.From.Name = long
	o.To[0].Name = strings.Repeat("ø", 3000)
	o.Attachments[0].Filename = long + ".txt"
	o.Text = long
	raw, err := Compose(o)
	if err != nil {
		t.Fatal(err)
	}
	assertWireClean(t, raw)
	p := parseComposed(t, raw)
	if s, _ := p.header.Subject(); utf8.RuneCountInString(s) != maxSubject || !strings.HasSuffix(s, "…") {
		t.Errorf("subject not clipped to %d characters with a mark: %d", maxSubject, utf8.RuneCountInString(s))
	}
	if p.text != long+"\n" {
		t.Error("body text changed")
	}
	for name := range p.attachments {
		if !strings.HasSuffix(name, "….txt") || utf8.RuneCountInString(name) != maxFilename {
			if name != "blob.bin" {
				t.Errorf("attachment name %q not clipped with its extension kept", name)
			}
		}
	}
}

func TestComposeIsDeterministicWithoutAttachments(t *testing.T) {
	o := fullOutgoing()
	o.Attachments = nil
	a, err := Compose(o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Compose(o)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatalf("two composes differ:\n%s\n---\n%s", a, b)
	}
}

// FuzzComposeHeaders checks that no subject or display name, whatever it
// holds, can add a header field, and that readable ones survive the trip.
func FuzzComposeHeaders(f *testing.F) {
	f.Add("Hello", "Kari", "body")
	f.Add("Re: Skriveren på 3. etasje", "Åse Øvrebø", "æøå\r\n.\r\n")
	f.Add("a\r\nBcc: x@y", "b\nX-Injected: 1", "\r\n\r\n")
	f.Add(strings.Repeat("ord ", 100), strings.Repeat("n", 80), "")
	f.Fuzz(func(t *testing.T, subject, name, text string) {
		o := fullOutgoing()
		o.Attachments = nil
		o.Subject, o.From.Name, o.Text = subject, name, text
		raw, err := Compose(o)
		if err != nil {
			t.Fatalf("compose: %v", err)
		}
		assertWireClean(t, raw)
		p := parseComposed(t, raw)
		want := []string{"auto-submitted", "content-transfer-encoding", "content-type", "date",
			"in-reply-to", "message-id", "mime-version", "references", "subject",
			"x-auto-response-suppress", "x-helpdeskd-case", "x-helpdeskd-loop", "from", "to", "cc", "reply-to"}
		got := slices.Clone(p.keys)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("header fields %v, want %v\n%s", got, want, raw)
		}
		if utf8.ValidString(subject) && !strings.Contains(subject, "=?") {
			if s, err := p.header.Subject(); err != nil || s != clip(oneLine(subject), maxSubject) {
				t.Fatalf("subject = %q, %v; want %q", s, err, clip(oneLine(subject), maxSubject))
			}
		}
	})
}

func BenchmarkCompose(b *testing.B) {
	o := fullOutgoing()
	o.Attachments = nil
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compose(o); err != nil {
			b.Fatal(err)
		}
	}
}
