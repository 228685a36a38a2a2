package mailer

import (
	"bytes"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/textproto"
)

// readBody walks the MIME tree: it picks the readable text and lists the
// attachments.
func (p *mailParser) readBody() {
	p.mediaType, p.params = p.contentType(p.hdr)
	if cs := p.params["charset"]; cs != "" {
		p.charsetHint = cs
	}
	body := p.buf[min(p.bodyStart, len(p.buf)):]
	t := p.walk(p.hdr, p.mediaType, p.params, body, 0)
	p.m.Text = tidyBodyText(t.resolve())
}

// partText is the readable text of a MIME subtree. HTML is converted only
// when it is chosen: most mail carries a plain-text alternative, and the
// conversion costs more than the rest of parsing.
type partText struct {
	text     string
	html     string // HTML source not yet converted
	fromHTML bool
}

func (t *partText) resolve() string {
	if t.html != "" {
		t.text, t.html = htmlToText(t.html), ""
	}
	return t.text
}

func (t *partText) empty() bool { return strings.TrimSpace(t.resolve()) == "" }

// walk handles one entity whose header is h and whose raw body is body.
func (p *mailParser) walk(h textproto.Header, mt string, params map[string]string, body []byte, depth int) partText {
	if strings.HasPrefix(mt, "multipart/") {
		if depth >= maxMIMEDepth {
			p.problem("MIME nesting deeper than %d", maxMIMEDepth)
			return partText{}
		}
		if b := params["boundary"]; b != "" {
			return p.walkMultipart(mt, b, body, depth)
		}
		p.problem("%s without boundary", mt)
		mt = "text/plain"
	}

	disp, dparams := p.disposition(h)
	filename := dparams["filename"]
	if filename == "" {
		filename = params["name"]
	}
	filename = strings.TrimSpace(p.decodeText(filename))

	if (mt == "text/plain" || mt == "text/html") && disp != "attachment" && filename == "" {
		data := p.transferDecode(h, body)
		if mt == "text/html" {
			return partText{html: p.htmlCharset(data, params["charset"]), fromHTML: true}
		}
		return partText{text: p.textCharset(data, params["charset"])}
	}
	p.m.Attachments = append(p.m.Attachments, Attachment{
		Filename:    filename,
		ContentType: mt,
		Size:        p.decodedSize(h, body),
		Inline:      disp == "inline" || (disp == "" && h.Has("Content-Id")),
	})
	return partText{}
}

// walkMultipart walks the parts of a multipart body and combines their
// text: one alternative (plain text preferred) or all inline texts in
// order.
//
// Parts are split here rather than with textproto.MultipartReader: that
// reader copies every part and gives up on the first part header it cannot
// parse, while the sub-slices taken here keep memory at the size of the
// mail however deep the nesting, and part headers get the same repairs as
// the top-level header before go-message's textproto reads them.
func (p *mailParser) walkMultipart(mt, boundary string, body []byte, depth int) partText {
	parts, closed := splitMultipart(body, boundary)
	if len(parts) == 0 {
		// Nothing matched the boundary: the body is best shown as text.
		p.problem("multipart: boundary %q not found", boundary)
		return partText{text: p.textCharset(body, p.charsetHint)}
	}
	if !closed {
		p.problem("multipart: closing boundary missing (truncated mail?)")
	}
	var kids []partText
	for _, part := range parts {
		if p.parts >= maxMIMEParts {
			p.problem("more than %d MIME parts", maxMIMEParts)
			break
		}
		p.parts++
		h, data := p.readPartHeader(part)
		kmt, kparams := p.contentType(h)
		if cs := kparams["charset"]; cs != "" && p.charsetHint == "" {
			p.charsetHint = cs
		}
		kids = append(kids, p.walk(h, kmt, kparams, data, depth+1))
	}
	switch mt {
	case "multipart/alternative":
		for i := range kids {
			if !kids[i].fromHTML && !kids[i].empty() {
				return kids[i]
			}
		}
		for i := range kids {
			if !kids[i].empty() {
				return kids[i]
			}
		}
		return partText{}
	case "multipart/signed":
		if len(kids) > 0 {
			return kids[0]
		}
		return partText{}
	}
	var texts []string
	fromHTML := true
	for i := range kids {
		if !kids[i].empty() {
			texts = append(texts, strings.TrimRight(kids[i].text, " \t\r\n"))
			fromHTML = fromHTML && kids[i].fromHTML
		}
	}
	return partText{text: strings.Join(texts, "\n\n"), fromHTML: fromHTML && len(texts) > 0}
}

// splitMultipart returns the parts of a multipart body as sub-slices of
// body (RFC 2046, section 5.1.1): the text between delimiter lines
// "--boundary", without the line break that belongs to the next delimiter.
// closed reports whether the close delimiter "--boundary--" was found;
// without it the last part runs to the end. Preamble and epilogue are
// dropped.
func splitMultipart(body []byte, boundary string) (parts [][]byte, closed bool) {
	delim := []byte("--" + boundary)
	start := -1 // start of the current part, -1 before the first delimiter
	for pos := 0; pos < len(body); {
		i := bytes.Index(body[pos:], delim)
		if i < 0 {
			break
		}
		at := pos + i
		pos = at + len(delim)
		if at > 0 && body[at-1] != '\n' {
			continue // not at the start of a line
		}
		rest := body[pos:]
		isClose := bytes.HasPrefix(rest, []byte("--"))
		if isClose {
			rest = rest[2:]
		}
		line, next := headerNextLine(rest, 0)
		if len(bytes.Trim(line, " \t")) != 0 {
			continue // a longer boundary that starts with ours
		}
		if start >= 0 {
			end := at
			if end > start && body[end-1] == '\n' {
				end--
				if end > start && body[end-1] == '\r' {
					end--
				}
			}
			parts = append(parts, body[start:end])
		}
		if isClose {
			return parts, true
		}
		pos = len(body) - len(rest) + next
		start = pos
	}
	if start >= 0 {
		last := body[start:]
		// The line break that would precede the missing delimiter.
		if end := len(last); end > 0 && last[end-1] == '\n' {
			last = bytes.TrimSuffix(last[:end-1], []byte{'\r'})
		}
		parts = append(parts, last)
	}
	return parts, false
}

// readPartHeader splits a MIME part into its header, read with
// go-message's textproto after the repairs of scanHeaderBlock, and its
// body. A part that starts with a blank line has an empty header; one
// that does not start with a header line at all is all body.
func (p *mailParser) readPartHeader(part []byte) (textproto.Header, []byte) {
	line, next := headerNextLine(part, 0)
	if len(line) == 0 {
		return textproto.Header{}, part[min(next, len(part)):]
	}
	if !isHeaderLine(line) {
		p.problem("MIME part without header")
		return textproto.Header{}, part
	}
	clean, bodyStart, junk := scanHeaderLines(part, 0)
	if junk > 0 {
		p.problem("%d malformed line(s) in a MIME part header", junk)
	}
	h, err := textproto.ReadHeader(headerReader(clean))
	if err != nil {
		p.problem("MIME part header: %v", err)
	}
	return h, part[bodyStart:]
}

// contentType returns the media type and parameters of h. A missing or
// unreadable Content-Type means text/plain (RFC 2045, section 5.2).
func (p *mailParser) contentType(h textproto.Header) (string, map[string]string) {
	v := h.Get("Content-Type")
	if strings.TrimSpace(v) == "" {
		return "text/plain", map[string]string{}
	}
	mt, params, err := parseParamHeader(v)
	if err != nil || !strings.Contains(mt, "/") {
		p.problem("malformed Content-Type %q", v)
		if !strings.Contains(mt, "/") {
			mt = "text/plain"
		}
	}
	return mt, params
}

// disposition returns the Content-Disposition type ("inline",
// "attachment" or "") and its parameters.
func (p *mailParser) disposition(h textproto.Header) (string, map[string]string) {
	v := h.Get("Content-Disposition")
	if strings.TrimSpace(v) == "" {
		return "", map[string]string{}
	}
	d, params, _ := parseParamHeader(v)
	return d, params
}

// parseParamHeader parses a "value; key=val" header (Content-Type,
// Content-Disposition) with mime.ParseMediaType, which knows RFC 2231,
// and falls back to a lenient reading of what it refuses (unquoted
// spaces, duplicate or 8-bit parameters).
func parseParamHeader(v string) (string, map[string]string, error) {
	value, params, err := mime.ParseMediaType(v)
	if err == nil {
		return value, params, nil
	}
	items := splitHeaderList(v, ';')
	value = strings.ToLower(strings.TrimSpace(items[0]))
	value, _ = stripHeaderComments(value)
	value = strings.TrimSpace(value)
	params = map[string]string{}
	for _, item := range items[1:] {
		k, val, ok := strings.Cut(item, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		val = mimeUnquote(strings.TrimSpace(val))
		if base, ok := strings.CutSuffix(k, "*"); ok { // RFC 2231 charset''value
			if cs, enc, ok := cutRFC2231(val); ok {
				k, val = base, enc
				if s, err := decodeCharset(cs, percentDecodeBytes(enc)); err == nil {
					val = s
				}
			}
		}
		if _, dup := params[k]; !dup && k != "" {
			params[k] = val
		}
	}
	return value, params, err
}

// cutRFC2231 splits "charset'lang'value".
func cutRFC2231(v string) (charset, value string, ok bool) {
	cs, rest, ok := strings.Cut(v, "'")
	if !ok {
		return "", "", false
	}
	_, value, ok = strings.Cut(rest, "'")
	return cs, value, ok
}

// percentDecodeBytes decodes %XX escapes, keeping invalid ones literally.
func percentDecodeBytes(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHexDigit(s[i+1]) && isHexDigit(s[i+2]) {
			out = append(out, hexDigitValue(s[i+1])<<4|hexDigitValue(s[i+2]))
			i += 2
			continue
		}
		out = append(out, s[i])
	}
	return out
}

// textCharset converts a text body to UTF-8, recording unknown charsets;
// the fallback keeps valid UTF-8 and reads anything else as Windows-1252.
func (p *mailParser) textCharset(data []byte, cs string) string {
	if name := normalizeCharsetName(cs); name == "" || isASCIILabel(name) {
		// Undeclared or mislabelled 8-bit text: the same guesses as for
		// raw header bytes.
		return p.decode8bit(string(data))
	}
	s, err := decodeCharset(cs, data)
	if err != nil {
		p.problem("body: %v", err)
	}
	return s
}

// htmlCharset converts an HTML body to UTF-8. Without a declared charset
// and with bytes that are not UTF-8, the document's own <meta> charset is
// honoured, as browsers do.
func (p *mailParser) htmlCharset(data []byte, cs string) string {
	if strings.TrimSpace(cs) == "" && !utf8.Valid(data) {
		if name := htmlMetaCharset(data); name != "" {
			cs = name
		}
	}
	return p.textCharset(data, cs)
}

// tidyBodyText normalizes line ends to LF and trims blank lines and trailing
// whitespace around the text.
func tidyBodyText(s string) string {
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	s = strings.TrimRight(s, " \t\n")
	for {
		line, rest, ok := strings.Cut(s, "\n")
		if !ok || strings.TrimSpace(line) != "" {
			break
		}
		s = rest
	}
	return s
}
