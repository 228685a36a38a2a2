package mailer

import (
	"bufio"
	"bytes"
	"strings"

	"github.com/emersion/go-message/textproto"
)

// readHeader finds the header block, repairs what would stop a strict
// reader (junk lines, broken folding) and parses it with go-message.
func (p *mailParser) readHeader() {
	p.buf = normalizeBareCR(p.raw)
	clean, bodyStart, junk, found := scanHeaderBlock(p.buf)
	p.bodyStart = bodyStart
	if !found {
		if len(bytes.TrimSpace(p.buf)) > 0 {
			p.problem("no header block")
		}
		return
	}
	if junk > 0 {
		p.problem("%d malformed line(s) in header block", junk)
	}
	h, err := textproto.ReadHeader(headerReader(clean))
	if err != nil {
		p.problem("header: %v", err)
	}
	p.hdr = h
}

// headerReader wraps a repaired header block for textproto.ReadHeader,
// with a buffer that fits it: most part headers are far smaller than
// bufio's default.
func headerReader(clean []byte) *bufio.Reader {
	return bufio.NewReaderSize(bytes.NewReader(clean), max(len(clean), 16))
}

// normalizeBareCR returns b with bare CR line ends (classic Mac OS) turned
// into LF when the first line ends that way; other mail is returned as is,
// because a stray CR inside CRLF mail is content, not a line end.
func normalizeBareCR(b []byte) []byte {
	i := bytes.IndexAny(b, "\r\n")
	if i < 0 || b[i] != '\r' || (i+1 < len(b) && b[i+1] == '\n') {
		return b
	}
	out := bytes.Clone(b)
	for j := 0; j < len(out); j++ {
		if out[j] == '\r' && (j+1 == len(out) || out[j+1] != '\n') {
			out[j] = '\n'
		}
	}
	return out
}

// scanHeaderBlock returns a repaired copy of the header block of b, ready
// for textproto.ReadHeader, and the offset at which the body starts.
//
// Repairs: leading blank lines, an mbox "From " line and up to
// maxJunkLead other non-header lines before the first field are skipped;
// a non-header line inside the block is kept as a continuation of the
// field before it (the usual cause is folding that lost its indent).
// found is false when b does not start with a header block at all, in
// which case the whole input is body.
func scanHeaderBlock(b []byte) (clean []byte, bodyStart, junk int, found bool) {
	pos := 0
	for pos < len(b) {
		line, next := headerNextLine(b, pos)
		if len(bytes.TrimSpace(line)) != 0 {
			break
		}
		pos = next
	}
	if line, next := headerNextLine(b, pos); bytes.HasPrefix(line, []byte("From ")) && !isHeaderLine(line) {
		pos = next
	}
	for skipped := 0; pos < len(b); skipped++ {
		line, next := headerNextLine(b, pos)
		if isHeaderLine(line) {
			break
		}
		if skipped == maxJunkLead || len(line) == 0 {
			return nil, 0, 0, false
		}
		junk++
		pos = next
	}
	if pos >= len(b) {
		return nil, 0, 0, false
	}
	clean, bodyStart, more := scanHeaderLines(b, pos)
	return clean, bodyStart, junk + more, true
}

// scanHeaderLines copies the header lines of b from pos up to the blank
// line that ends them, indenting lines that are not header lines so that
// they continue the field before them. It returns the offset after the
// blank line (or len(b)) and the number of lines it repaired.
func scanHeaderLines(b []byte, pos int) (clean []byte, bodyStart, junk int) {
	var out bytes.Buffer
	for pos < len(b) {
		line, next := headerNextLine(b, pos)
		pos = next
		if len(line) == 0 {
			return out.Bytes(), pos, junk
		}
		if line[0] != ' ' && line[0] != '\t' && !isHeaderLine(line) {
			out.WriteByte(' ')
			junk++
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes(), len(b), junk
}

// headerNextLine returns the line starting at pos without its line end, and
// the offset of the line after it.
func headerNextLine(b []byte, pos int) (line []byte, next int) {
	i := bytes.IndexByte(b[pos:], '\n')
	if i < 0 {
		line, next = b[pos:], len(b)
	} else {
		line, next = b[pos:pos+i], pos+i+1
	}
	line, _ = bytes.CutSuffix(line, []byte{'\r'})
	return line, next
}

// isHeaderLine reports whether line starts a header field: a non-empty
// name of printable ASCII without spaces, then a colon.
func isHeaderLine(line []byte) bool {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return false
	}
	name := bytes.TrimRight(line[:i], " \t")
	if len(name) == 0 {
		return false
	}
	for _, c := range name {
		if c < 33 || c > 126 {
			return false
		}
	}
	return true
}

// rawFieldValue returns the value of the first field named key exactly as
// written, unfolded the RFC 5322 way (line breaks removed, the folding
// whitespace kept) and trimmed.
func rawFieldValue(h textproto.Header, key string) (string, bool) {
	fs := h.FieldsByKey(key)
	if !fs.Next() {
		return "", false
	}
	raw, err := fs.Raw()
	if err != nil {
		return fs.Value(), true
	}
	if i := bytes.IndexByte(raw, ':'); i >= 0 {
		raw = raw[i+1:]
	}
	// Byte-wise: the value may hold 8-bit bytes that are not UTF-8 yet.
	v := make([]byte, 0, len(raw))
	for _, c := range raw {
		if c != '\r' && c != '\n' {
			v = append(v, c)
		}
	}
	return string(bytes.Trim(v, " \t")), true
}

// readFields decodes the header fields the rest of helpdeskd looks at.
func (p *mailParser) readFields() {
	m, h := p.m, p.hdr
	if v, ok := rawFieldValue(h, "Subject"); ok {
		m.Subject = singleLine(p.decodeText(v))
	}
	m.MessageID = parseMsgID(h.Get("Message-Id"))
	m.InReplyTo = parseMsgIDList(h.Get("In-Reply-To"))
	m.References = parseMsgIDList(h.Get("References"))

	for fs := h.FieldsByKey("From"); fs.Next(); {
		for _, a := range p.addressList(fs.Value()) {
			if m.From.Addr == "" && a.Addr != "" {
				m.From = a
			} else if m.From.Addr == "" && m.From.Name == "" {
				m.From.Name = a.Name
			}
		}
		if m.From.Addr != "" {
			break
		}
	}
	m.ReplyTo = p.addressField("Reply-To")
	m.To = p.addressField("To")
	m.Cc = p.addressField("Cc")
	m.ReturnPath = strings.TrimSpace(h.Get("Return-Path"))

	if v := h.Get("Date"); v != "" {
		if t, ok := parseMailDate(v); ok {
			m.Date = t
		} else {
			p.problem("unparsable Date %q", v)
		}
	}
	m.LoopID = strings.TrimSpace(h.Get(LoopHeader))
	for fs := h.FieldsByKey("Authentication-Results"); fs.Next(); {
		m.AuthResults = append(m.AuthResults, fs.Value())
	}
	m.XPriority = strings.TrimSpace(h.Get("X-Priority"))
	m.Importance = strings.TrimSpace(h.Get("Importance"))
}

// stripHeaderComments removes RFC 5322 comments (parenthesized, nestable) that
// are outside quoted strings, and returns the text of the first one.
func stripHeaderComments(s string) (rest, first string) {
	var b, c strings.Builder
	depth, quoted, seen := 0, false, false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\\' && i+1 < len(s) && (quoted || depth > 0):
			if depth > 0 {
				if !seen {
					c.WriteByte(s[i+1])
				}
			} else {
				b.WriteByte(ch)
				b.WriteByte(s[i+1])
			}
			i++
		case quoted:
			b.WriteByte(ch)
			quoted = ch != '"'
		case ch == '(':
			if depth > 0 && !seen {
				c.WriteByte(ch)
			}
			depth++
		case ch == ')' && depth > 0:
			depth--
			if depth > 0 && !seen {
				c.WriteByte(ch)
			}
			if depth == 0 {
				seen = seen || c.Len() > 0
				b.WriteByte(' ')
			}
		case depth > 0:
			if !seen {
				c.WriteByte(ch)
			}
		default:
			b.WriteByte(ch)
			quoted = ch == '"'
		}
	}
	return b.String(), c.String()
}

// splitHeaderList splits s at sep where sep is not inside a quoted string,
// angle brackets or a comment.
func splitHeaderList(s string, sep byte) []string {
	var out []string
	start := 0
	walkHeaderList(s, func(i int) {
		if s[i] == sep {
			out = append(out, s[start:i])
			start = i + 1
		}
	})
	return append(out, s[start:])
}

// indexHeaderList is strings.IndexByte that ignores quoted strings, angle
// brackets and comments.
func indexHeaderList(s string, c byte) int {
	at := -1
	walkHeaderList(s, func(i int) {
		if at < 0 && s[i] == c {
			at = i
		}
	})
	return at
}

// walkHeaderList calls fn for every byte index of s that is outside quoted
// strings, comments and angle brackets (the opening '<' itself is outside).
func walkHeaderList(s string, fn func(i int)) {
	quoted, depth, angle := false, 0, false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\\' && (quoted || depth > 0):
			i++
		case quoted:
			quoted = ch != '"'
		case depth > 0:
			if ch == '(' {
				depth++
			} else if ch == ')' {
				depth--
			}
		case angle:
			angle = ch != '>'
		case ch == '=' && strings.HasPrefix(s[i:], "=?"):
			// An encoded word is opaque: "=?iso-8859-1?Q?B=FCrling,_A?="
			// holds a comma that separates nothing.
			fn(i)
			if _, _, n, ok := parseEncodedWord(s[i:]); ok {
				i += n - 1
			}
		default:
			fn(i)
			switch ch {
			case '"':
				quoted = true
			case '(':
				depth = 1
			case '<':
				angle = true
			}
		}
	}
}

// mimeUnquote removes the quotes of a quoted string and its backslash escapes.
func mimeUnquote(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	s = s[1 : len(s)-1]
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
