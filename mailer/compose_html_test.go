package mailer

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-message"
)

// mimePart is one entity of a composed mail as go-message reads it, with
// its body decoded from its transfer encoding.
type mimePart struct {
	contentType string
	params      map[string]string
	disposition string
	contentID   string
	encoding    string
	body        []byte
	kids        []*mimePart
}

// tree writes the structure as "multipart/mixed[text/plain,image/png]".
func (p *mimePart) tree() string {
	if len(p.kids) == 0 {
		return p.contentType
	}
	kids := make([]string, len(p.kids))
	for i, k := range p.kids {
		kids[i] = k.tree()
	}
	return p.contentType + "[" + strings.Join(kids, ",") + "]"
}

// find returns the parts, depth first, for which keep is true.
func (p *mimePart) find(keep func(*mimePart) bool) []*mimePart {
	var out []*mimePart
	if keep(p) {
		out = append(out, p)
	}
	for _, k := range p.kids {
		out = append(out, k.find(keep)...)
	}
	return out
}

func readMIME(t testing.TB, raw []byte) *mimePart {
	t.Helper()
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("go-message cannot read the composed mail: %v\n%s", err, raw)
	}
	return readEntity(t, e)
}

func readEntity(t testing.TB, e *message.Entity) *mimePart {
	t.Helper()
	p := &mimePart{encoding: e.Header.Get("Content-Transfer-Encoding")}
	var err error
	if p.contentType, p.params, err = e.Header.ContentType(); err != nil {
		t.Fatalf("content type %q: %v", e.Header.Get("Content-Type"), err)
	}
	p.disposition, _, _ = e.Header.ContentDisposition()
	p.contentID = e.Header.Get("Content-Id")
	if mr := e.MultipartReader(); mr != nil {
		for {
			kid, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("next part of %s: %v", p.contentType, err)
			}
			p.kids = append(p.kids, readEntity(t, kid))
		}
		return p
	}
	if p.body, err = io.ReadAll(e.Body); err != nil {
		t.Fatalf("read %s: %v", p.contentType, err)
	}
	return p
}

var cidRef = regexp.MustCompile(`cid:([^"'\s)>]+)`)

// pngBytes stands in for an image; Compose does not look inside.
var pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR fake image data")

func htmlOutgoing() *Outgoing {
	o := fullOutgoing()
	o.HTML = "<!DOCTYPE html>\n<html lang=\"nb\"><body><h1>Supportrapport – æøå</h1>\n" +
		"<p><img src=\"cid:chart.2026-q3@helpdeskd\" alt=\"Saker per måned\" width=\"480\" height=\"200\"></p>\n" +
		"<p>" + strings.Repeat("lang linje ", 40) + "</p></body></html>"
	o.Inline = []OutAttachment{{Filename: "chart.png", ContentType: "image/png", ContentID: "chart.2026-q3@helpdeskd", Data: pngBytes}}
	return o
}

func TestComposeHTMLBuildsTheNeededTree(t *testing.T) {
	const alt = "multipart/alternative[text/plain,text/html]"
	for _, tc := range []struct {
		name   string
		change func(o *Outgoing)
		want   string
	}{
		{"html alone is an alternative", func(o *Outgoing) { o.Inline, o.Attachments = nil, nil }, alt},
		{"inline parts wrap it in related", func(o *Outgoing) { o.Attachments = nil },
			"multipart/related[" + alt + ",image/png]"},
		{"attachments wrap it in mixed", func(o *Outgoing) { o.Inline = nil },
			"multipart/mixed[" + alt + ",text/plain,application/octet-stream]"},
		{"all levels", func(o *Outgoing) {},
			"multipart/mixed[multipart/related[" + alt + ",image/png],text/plain,application/octet-stream]"},
		{"no html is text as before", func(o *Outgoing) { o.HTML, o.Inline, o.Attachments = "", nil, nil }, "text/plain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := htmlOutgoing()
			tc.change(o)
			raw, err := Compose(o)
			if err != nil {
				t.Fatal(err)
			}
			assertWireClean(t, raw)
			if got := readMIME(t, raw).tree(); got != tc.want {
				t.Errorf("tree %s, want %s", got, tc.want)
			}
		})
	}
}

func TestComposeHTMLRoundTripsThroughGoMessage(t *testing.T) {
	o := htmlOutgoing()
	raw, err := Compose(o)
	if err != nil {
		t.Fatal(err)
	}
	root := readMIME(t, raw)
	byType := func(ct string) *mimePart {
		t.Helper()
		ps := root.find(func(p *mimePart) bool { return p.contentType == ct && p.disposition != "attachment" })
		if len(ps) != 1 {
			t.Fatalf("%d parts of type %s in %s", len(ps), ct, root.tree())
		}
		return ps[0]
	}
	html, text := byType("text/html"), byType("text/plain")
	if got, want := strings.ReplaceAll(string(html.body), "\r\n", "\n"), o.HTML+"\n"; got != want {
		t.Errorf("HTML = %q, want %q", got, want)
	}
	if html.params["charset"] != "UTF-8" || html.encoding != "quoted-printable" {
		t.Errorf("HTML part charset %q, encoding %q; want UTF-8, quoted-printable", html.params["charset"], html.encoding)
	}
	if got := strings.ReplaceAll(string(text.body), "\r\n", "\n"); got != o.Text {
		t.Errorf("text = %q, want %q", got, o.Text)
	}

	// Every cid: reference of the HTML resolves to a part of the same
	// multipart/related with those bytes.
	related := byType("multipart/related")
	refs := cidRef.FindAllStringSubmatch(string(html.body), -1)
	if len(refs) != len(o.Inline) {
		t.Fatalf("HTML has %d cid references, want %d", len(refs), len(o.Inline))
	}
	for _, ref := range refs {
		parts := related.find(func(p *mimePart) bool { return p.contentID == "<"+ref[1]+">" })
		if len(parts) != 1 {
			t.Fatalf("cid:%s resolves to %d parts in %s", ref[1], len(parts), related.tree())
		}
		img := parts[0]
		if img.contentType != "image/png" || img.disposition != "inline" || !bytes.Equal(img.body, pngBytes) {
			t.Errorf("cid:%s is %s, %s, %q", ref[1], img.contentType, img.disposition, img.body)
		}
	}
	for _, a := range o.Attachments {
		parts := root.find(func(p *mimePart) bool { return p.disposition == "attachment" && bytes.Equal(p.body, a.Data) })
		if len(parts) != 1 {
			t.Errorf("attachment %s found %d times", a.Filename, len(parts))
		}
	}
	// The headers are the same as without HTML.
	p := parseComposed(t, raw)
	if s, _ := p.header.Subject(); s != o.Subject {
		t.Errorf("subject %q", s)
	}
}

func TestComposeHTMLParsesWithOurParser(t *testing.T) {
	o := htmlOutgoing()
	raw, err := Compose(o)
	if err != nil {
		t.Fatal(err)
	}
	m := Parse(raw)
	if m.ParseError != "" {
		t.Errorf("ParseError %q", m.ParseError)
	}
	// A reader of our own mail gets the text, not the HTML converted.
	if want := tidyBodyText(o.Text); m.Text != want {
		t.Errorf("Text = %q, want %q", m.Text, want)
	}
	want := []Attachment{
		{Filename: "chart.png", ContentType: "image/png", Size: len(pngBytes), Inline: true},
		{Filename: "logg.txt", ContentType: "text/plain", Size: len(o.Attachments[0].Data)},
		{Filename: "blob.bin", ContentType: "application/octet-stream", Size: len(o.Attachments[1].Data)},
	}
	if !slices.Equal(m.Attachments, want) {
		t.Errorf("attachments %+v, want %+v", m.Attachments, want)
	}
	if m.MessageID != o.MessageID || m.LoopID != o.LoopID {
		t.Errorf("Message-ID %q, loop %q", m.MessageID, m.LoopID)
	}
}

func TestComposeHTMLIsDeterministicApartFromBoundaries(t *testing.T) {
	o := htmlOutgoing()
	a, err := Compose(o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Compose(o)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(normalizeBoundaries(a), normalizeBoundaries(b)) {
		t.Fatalf("two composes differ:\n%s\n---\n%s", a, b)
	}
}

func TestComposeRejectsInvalidHTMLParts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(o *Outgoing)
	}{
		{"inline without html", func(o *Outgoing) { o.HTML = "" }},
		{"html not utf-8", func(o *Outgoing) { o.HTML += "\xff\xfe" }},
		{"content id missing", func(o *Outgoing) { o.Inline[0].ContentID = "" }},
		{"content id without at", func(o *Outgoing) { o.Inline[0].ContentID = "chart" }},
		{"content id with brackets", func(o *Outgoing) { o.Inline[0].ContentID = "<chart@x>" }},
		{"content id header injection", func(o *Outgoing) {
			o.Inline[0].ContentID = "a@b>\r\nX-Injected: yes"
			o.HTML += `<img src="cid:a@b>\r\nX-Injected: yes">`
		}},
		{"content id with space", func(o *Outgoing) { o.Inline[0].ContentID = "a b@c" }},
		{"content id needing url escape", func(o *Outgoing) {
			o.Inline[0].ContentID = "a%20b@c"
			o.HTML += `<img src="cid:a%20b@c">`
		}},
		{"content id too long", func(o *Outgoing) {
			o.Inline[0].ContentID = strings.Repeat("a", 300) + "@b"
			o.HTML += `<img src="cid:` + o.Inline[0].ContentID + `">`
		}},
		{"content id twice", func(o *Outgoing) { o.Inline = append(o.Inline, o.Inline[0]) }},
		{"inline part not referenced", func(o *Outgoing) {
			o.Inline = append(o.Inline, OutAttachment{Filename: "x.png", ContentID: "unused@helpdeskd", Data: pngBytes})
		}},
		{"inline content type injection", func(o *Outgoing) { o.Inline[0].ContentType = "image/png\r\nX-Injected: yes" }},
		{"attachment with content id", func(o *Outgoing) { o.Attachments[0].ContentID = "chart.2026-q3@helpdeskd" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := htmlOutgoing()
			tc.change(o)
			raw, err := Compose(o)
			if !errors.Is(err, ErrInvalidOutgoing) {
				t.Fatalf("err = %v, want ErrInvalidOutgoing; mail:\n%s", err, raw)
			}
		})
	}
}

// FuzzComposeHTML checks that no HTML or Content-ID, whatever it holds,
// can add a header field or break the MIME tree: Compose either refuses
// it or the HTML and the inline part arrive as given.
func FuzzComposeHTML(f *testing.F) {
	f.Add("<p>Hei</p>", "chart@helpdeskd")
	f.Add("<p>æøå – \r\n.\r\n--boundary\r\n</p>", "a.b-c_d+e@f.example")
	f.Add("<img src=\"cid:x@y\">\r\n\r\nBcc: x@y", "x@y>\r\nBcc: evil@example.com")
	f.Add(strings.Repeat("<td>", 300), "@")
	f.Add("\xff", "a@b")
	f.Fuzz(func(t *testing.T, html, cid string) {
		o := fullOutgoing()
		o.Attachments = nil
		o.HTML = html + `<img src="cid:` + cid + `">`
		o.Inline = []OutAttachment{{Filename: "chart.png", ContentType: "image/png", ContentID: cid, Data: pngBytes}}
		raw, err := Compose(o)
		if err != nil {
			if !errors.Is(err, ErrInvalidOutgoing) {
				t.Fatalf("error %v does not wrap ErrInvalidOutgoing", err)
			}
			return
		}
		assertWireClean(t, raw)
		root := readMIME(t, raw)
		if got, want := root.tree(), "multipart/related[multipart/alternative[text/plain,text/html],image/png]"; got != want {
			t.Fatalf("tree %s, want %s\n%s", got, want, raw)
		}
		// Quoted-printable text has CRLF line ends: any CR, LF or
		// CRLF of the HTML arrives as one.
		lines := strings.NewReplacer("\r\n", "\n", "\r", "\n")
		if got, want := lines.Replace(string(root.kids[0].kids[1].body)), lines.Replace(o.HTML+"\n"); got != want {
			t.Fatalf("HTML = %q, want %q", got, want)
		}
		if img := root.kids[1]; img.contentID != "<"+cid+">" || !bytes.Equal(img.body, pngBytes) {
			t.Fatalf("inline part %q, %q", img.contentID, img.body)
		}
		p := parseComposed(t, raw)
		for _, k := range p.keys {
			if k == "bcc" || k == "x-injected" {
				t.Fatalf("header %s appeared:\n%s", k, raw)
			}
		}
	})
}

func BenchmarkComposeHTML(b *testing.B) {
	o := htmlOutgoing()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compose(o); err != nil {
			b.Fatal(err)
		}
	}
}
