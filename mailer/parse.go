package mailer

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"
	"golang.org/x/text/encoding/charmap"
)

// Limits that keep hostile or broken mail from costing unbounded time or
// memory. Real mail stays far below them.
const (
	maxMIMEDepth   = 32  // nesting of multipart entities
	maxMIMEParts   = 500 // leaf and container parts per mail
	maxParseIssues = 8   // entries kept in ParseError
	maxJunkLead    = 3   // non-header lines skipped before the first header
)

// derivedIDDomain is the right-hand side of Message-IDs we make up for
// mail that has none. .invalid (RFC 2606) can never collide with a real one.
const derivedIDDomain = "derived.helpdeskd.invalid"

// Parse turns raw RFC 5322 bytes into a Message. It never fails and never
// panics: whatever cannot be decoded is recorded in ParseError and the rest
// of the mail is still read. Raw is kept as given (not copied) and Size is
// len(raw).
//
// Headers are read tolerantly (mbox "From " lines and junk before the
// header block, folding that lost its indent, bare-CR line ends, 8-bit
// bytes in any charset the mail declares) and decoded to UTF-8; Subject
// and display names are made single-line. A mail without a Message-ID
// gets one derived from a SHA-256 of its bytes (DerivedID). Text is the
// plain-text body, or the HTML body converted to text. Kind is decided by
// classifyMail.
func Parse(raw []byte) *Message {
	m := &Message{Raw: raw, Size: int64(len(raw))}
	p := &mailParser{m: m, raw: raw}
	p.guard("header", p.readHeader)
	p.guard("body", p.readBody)
	p.guard("header fields", p.readFields)
	p.guard("classify", p.classify)
	p.finish()
	return m
}

// mailParser holds the state of one Parse call.
type mailParser struct {
	m   *Message
	raw []byte
	// buf is raw with classic-Mac bare-CR line ends turned into LF; it has
	// the same length as raw, so offsets apply to both.
	buf       []byte
	hdr       textproto.Header
	bodyStart int // offset of the body in raw and buf
	// mediaType and params are the top-level Content-Type.
	mediaType string
	params    map[string]string
	// charsetHint is the first charset named by any Content-Type; a
	// multipart body whose boundary never occurs is read in it.
	charsetHint string
	// headerCharsets caches headerCharsetGuesses.
	headerCharsets []string
	parts          int
	issues         []string
}

// guard runs one stage of parsing and turns a panic inside it (ours or a
// library's) into a recorded problem, so that the later stages still run.
func (p *mailParser) guard(stage string, fn func()) {
	defer func() {
		if r := recover(); r != nil {
			p.problem("%s: internal error: %v", stage, r)
		}
	}()
	fn()
}

// problem records one thing that could not be decoded.
func (p *mailParser) problem(format string, args ...any) {
	s := strings.ToValidUTF8(fmt.Sprintf(format, args...), "\uFFFD")
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	for _, have := range p.issues {
		if have == s {
			return
		}
	}
	if len(p.issues) < maxParseIssues {
		p.issues = append(p.issues, s)
	}
}

// finish fills what every Message must have, whatever happened before:
// a body hash, a Message-ID and a Kind.
func (p *mailParser) finish() {
	m := p.m
	start := min(max(p.bodyStart, 0), len(p.raw))
	sum := sha256.Sum256(p.raw[start:])
	m.BodyHash = hex.EncodeToString(sum[:])
	if m.MessageID == "" {
		m.MessageID = deriveMessageID(p.raw)
		m.DerivedID = true
	}
	if m.Kind == "" {
		m.Kind, m.KindReason = KindNormal, "no automated-mail signal"
	}
	if !utf8.ValidString(m.Text) {
		m.Text = strings.ToValidUTF8(m.Text, "\uFFFD")
	}
	m.ParseError = strings.Join(p.issues, "; ")
}

// deriveMessageID returns the stable ID Parse gives a mail without a
// Message-ID: the same bytes always give the same ID, so a mail fetched
// twice is still recognized as a duplicate.
func deriveMessageID(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:16]) + "@" + derivedIDDomain
}

// ---------------------------------------------------------------------------
// Header block

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

// ---------------------------------------------------------------------------
// Header fields

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

// addressField parses every field named key into one list, leaving out
// entries without an address.
func (p *mailParser) addressField(key string) []Address {
	var out []Address
	for fs := p.hdr.FieldsByKey(key); fs.Next(); {
		for _, a := range p.addressList(fs.Value()) {
			if a.Addr != "" {
				out = append(out, a)
			}
		}
	}
	return out
}

// addressList parses an address list with the standard parser and, when
// that refuses it, with a lenient one that takes what a human would read
// as the address. Entries without a usable address keep their name and an
// empty Addr.
func (p *mailParser) addressList(v string) []Address {
	v = strings.TrimSpace(p.decode8bit(v))
	if v == "" {
		return nil
	}
	parser := mail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: charsetReaderFunc}}
	if list, err := parser.ParseList(v); err == nil {
		out := make([]Address, 0, len(list))
		for _, a := range list {
			// Encoded words inside quotes are not RFC 2047 but common;
			// net/mail leaves them alone.
			name := singleLine(strings.TrimSpace(p.decodeText(a.Name)))
			out = append(out, Address{Name: name, Addr: strings.ToLower(a.Address)})
		}
		return out
	}
	var out []Address
	for _, item := range splitHeaderList(v, ',') {
		if a, ok := p.lenientAddress(item); ok {
			out = append(out, a)
		}
	}
	return out
}

// lenientAddress reads one mailbox that the RFC 5322 parser refused:
// "Name <addr>" takes what is inside the angle brackets (or after an
// unclosed one), anything else is taken whole as the address with
// comments and stray brackets removed. An address must contain '@' or be
// a bare local part such as MAILER-DAEMON; otherwise only the name is kept.
func (p *mailParser) lenientAddress(s string) (Address, bool) {
	s, comment := stripHeaderComments(s)
	s = strings.TrimSpace(s)
	// A group ("undisclosed-recipients:;") lists its members after ':'.
	if i := indexHeaderList(s, ':'); i >= 0 && !strings.ContainsAny(s[:i], "<@\"") {
		s = strings.TrimSuffix(strings.TrimSpace(s[i+1:]), ";")
	}
	var name, addr string
	if i := indexHeaderList(s, '<'); i >= 0 {
		name = s[:i]
		addr = s[i+1:]
		if j := strings.IndexByte(addr, '>'); j >= 0 {
			addr = addr[:j]
		}
	} else {
		addr = mimeUnquote(strings.NewReplacer("<", "", ">", "").Replace(s))
	}
	name = strings.TrimSpace(mimeUnquote(strings.TrimSpace(name)))
	if !strings.Contains(addr, "@") && strings.Contains(comment, "@") {
		// "Name (user@example.com)": the address hides in the comment.
		name, addr = strings.TrimSpace(addr), strings.Trim(comment, " <>")
	} else if name == "" {
		name = strings.TrimSpace(comment)
	}
	name = p.decodeText(name)
	addr = strings.ToLower(strings.TrimSpace(addr))
	if !strings.Contains(addr, "@") && (!isMailDotAtom(addr) || strings.HasPrefix(addr, "=?")) {
		if name == "" {
			name = strings.TrimSpace(s)
		}
		addr = ""
	}
	if name == "" && addr == "" {
		return Address{}, false
	}
	return Address{Name: singleLine(name), Addr: addr}, true
}

// isMailDotAtom reports whether s is an RFC 5322 dot-atom: a bare local part
// such as "mailer-daemon" is one, "[??????]" is not.
func isMailDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r >= utf8.RuneSelf:
		case strings.ContainsRune("!#$%&'*+-/=?^_`{|}~.", r):
		default:
			return false
		}
	}
	return true
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

// parseMsgID returns the first message ID in v without angle brackets.
// It accepts an ID written without brackets.
func parseMsgID(v string) string {
	if ids := parseMsgIDList(v); len(ids) > 0 {
		return ids[0]
	}
	v, _ = stripHeaderComments(v)
	if f := strings.Fields(v); len(f) > 0 {
		return strings.Trim(f[0], "<>")
	}
	return ""
}

// parseMsgIDList returns the message IDs in v without angle brackets, in
// order. It skips junk around and between them; when there are no
// bracketed IDs it takes bare tokens that look like IDs (contain '@').
func parseMsgIDList(v string) []string {
	var ids []string
	rest := v
	for {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			break
		}
		rest = rest[i+1:]
		j := strings.IndexAny(rest, "<>")
		if j < 0 {
			break
		}
		if rest[j] == '<' { // unclosed: start again at the next '<'
			rest = rest[j:]
			continue
		}
		id := strings.Join(strings.Fields(rest[:j]), "")
		rest = rest[j+1:]
		if id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		return ids
	}
	v, _ = stripHeaderComments(v)
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		f = strings.Trim(f, `<>"'`)
		if strings.Contains(f, "@") {
			ids = append(ids, f)
		}
	}
	return ids
}

// dateLayouts are tried when net/mail cannot read a Date header.
var dateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04 -0700",
	"Mon, 2 Jan 06 15:04:05 -0700",
	"2 Jan 2006 15:04:05 -0700",
	"2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04:05",
	"Mon 2 Jan 2006 15:04:05 -0700",
	"Mon Jan 2 15:04:05 2006",
	"Mon Jan 2 15:04:05 MST 2006",
	"Mon Jan 2 15:04:05 -0700 2006",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05",
	time.RFC3339,
}

// parseMailDate reads a Date header, tolerating the usual deviations.
func parseMailDate(v string) (time.Time, bool) {
	if t, err := mail.ParseDate(v); err == nil {
		return t, true
	}
	v, _ = stripHeaderComments(v)
	v = strings.Join(strings.Fields(strings.ReplaceAll(v, ",", ", ")), " ")
	v = strings.ReplaceAll(v, " ,", ",")
	if t, err := mail.ParseDate(v); err == nil {
		return t, true
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// ---------------------------------------------------------------------------
// Header text decoding

// singleLine replaces control characters, line breaks included, by spaces:
// encoded words can smuggle CR and LF into a decoded header, and a
// subject or name must never span lines where it is logged or reused in a
// reply.
func singleLine(s string) string {
	if !strings.ContainsFunc(s, isHeaderControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isHeaderControl(r) {
			return ' '
		}
		return r
	}, s)
}

func isHeaderControl(r rune) bool {
	return r < 0x20 && r != '\t' || r == 0x7f
}

// decodeText decodes an unstructured header value: raw 8-bit bytes first
// (UTF-8 if valid, else the mail's charset), then RFC 2047 encoded words.
func (p *mailParser) decodeText(v string) string {
	return decodeEncodedWords(p.decode8bit(v), p.decodeWordBytes)
}

// decodeWordBytes converts the bytes of encoded words to UTF-8.
func (p *mailParser) decodeWordBytes(cs string, b []byte) string {
	s, err := decodeCharset(cs, b)
	if err != nil {
		p.problem("header: %v", err)
	}
	return s
}

// decode8bit turns raw 8-bit header bytes into UTF-8. Valid UTF-8 is
// taken as is. Otherwise the charsets the mail declares anywhere (parts,
// embedded messages, HTML meta tags) are the best guesses: multi-byte ones
// first, because their decoders reject bytes that do not fit, then
// single-byte ones, then Windows-1252, which maps every byte. For the
// 7-bit ISO-2022 family, whose text cannot hold 8-bit bytes, the matching
// 8-bit encodings are tried (Japanese mailers put Shift_JIS in headers of
// ISO-2022-JP mail).
func (p *mailParser) decode8bit(v string) string {
	if utf8.ValidString(v) {
		return v
	}
	if p.headerCharsets == nil {
		p.headerCharsets = headerCharsetGuesses(p.buf)
	}
	for _, cs := range p.headerCharsets {
		if s, err := decodeCharset(cs, []byte(v)); err == nil && !strings.ContainsRune(s, utf8.RuneError) {
			return s
		}
	}
	return decodeWindows1252([]byte(v))
}

// headerCharsetGuesses lists the charsets to try, in order, for raw 8-bit
// header text of the mail b; see decode8bit.
func headerCharsetGuesses(b []byte) []string {
	var multi, single []string
	seen := map[string]bool{}
	for _, name := range declaredCharsets(b, 64) {
		if seen[name] || isUTF8Label(name) || isASCIILabel(name) {
			continue
		}
		seen[name] = true
		switch {
		case strings.HasPrefix(name, "iso-2022-jp"):
			multi = append(multi, "shift_jis", "euc-jp")
		case strings.HasPrefix(name, "iso-2022-kr"):
			multi = append(multi, "euc-kr")
		case strings.HasPrefix(name, "iso-2022-cn"), name == "hz-gb-2312":
			multi = append(multi, "gbk")
		case multiByteCharsets[name]:
			multi = append(multi, name)
		default:
			single = append(single, name)
		}
	}
	return append(append(multi, single...), "windows-1252")
}

// declaredCharsets returns up to limit charset names declared in b as
// "charset=NAME" (MIME parameters, HTML meta tags), in order, normalized.
// A hand-written scan: a case-insensitive regexp is slow on large mail.
func declaredCharsets(b []byte, limit int) []string {
	var out []string
	for len(out) < limit {
		i := bytes.IndexAny(b, "cC")
		if i < 0 {
			break
		}
		b = b[i+1:]
		if len(b) < 6 || !bytes.EqualFold(b[:6], []byte("harset")) {
			continue
		}
		rest := bytes.TrimLeft(b[6:], " \t")
		if len(rest) == 0 || rest[0] != '=' {
			continue
		}
		rest = bytes.TrimLeft(rest[1:], " \t\"'")
		n := 0
		for n < len(rest) && n < 64 && isCharsetNameByte(rest[n]) {
			n++
		}
		if n > 0 {
			out = append(out, normalizeCharsetName(string(rest[:n])))
		}
	}
	return out
}

func isCharsetNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._:-", c) >= 0
}

// multiByteCharsets are the 8-bit CJK encodings seen in mail.
var multiByteCharsets = map[string]bool{
	"gbk": true, "gb2312": true, "gb18030": true, "x-gbk": true, "cp936": true,
	"big5": true, "big5-hkscs": true, "x-big5": true, "cp950": true,
	"shift_jis": true, "shift-jis": true, "sjis": true, "x-sjis": true, "cp932": true, "windows-31j": true,
	"euc-jp": true, "x-euc-jp": true, "euc-kr": true, "ks_c_5601-1987": true, "cp949": true, "euc-tw": true,
}

// decodeEncodedWords decodes the RFC 2047 encoded words in s. It is more
// lenient than mime.WordDecoder, as mail in the wild requires: unknown
// charsets do not fail the whole value, whitespace inside a word is kept,
// and the bytes of adjacent words in one charset are joined before
// conversion, because mailers split multi-byte characters across words.
// Whitespace between adjacent encoded words is dropped.
func decodeEncodedWords(s string, conv func(charset string, b []byte) string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	var b strings.Builder
	var pendCS string
	var pend []byte
	havePend, prevWord := false, false
	flush := func() {
		if havePend {
			b.WriteString(conv(pendCS, pend))
			pend, havePend = pend[:0], false
		}
	}
	for len(s) > 0 {
		j := strings.Index(s, "=?")
		if j < 0 {
			flush()
			b.WriteString(s)
			break
		}
		cs, data, n, ok := parseEncodedWord(s[j:])
		if !ok {
			flush()
			b.WriteString(s[:j+2])
			s, prevWord = s[j+2:], false
			continue
		}
		if lit := s[:j]; !prevWord || strings.Trim(lit, " \t\r\n") != "" {
			flush()
			b.WriteString(lit)
		}
		if havePend && !strings.EqualFold(pendCS, cs) {
			flush()
		}
		pendCS, havePend = cs, true
		pend = append(pend, data...)
		s, prevWord = s[j+n:], true
	}
	flush()
	return b.String()
}

// parseEncodedWord reads "=?charset?enc?text?=" at the start of s and
// returns the charset, the decoded bytes and the length of the word.
func parseEncodedWord(s string) (charset string, data []byte, n int, ok bool) {
	rest := s[2:]
	q := strings.IndexByte(rest, '?')
	if q <= 0 || q > 64 || len(rest) < q+3 || rest[q+2] != '?' {
		return "", nil, 0, false
	}
	charset, enc := rest[:q], rest[q+1]
	if strings.ContainsAny(charset, " \t\r\n=") {
		return "", nil, 0, false
	}
	if i := strings.IndexByte(charset, '*'); i >= 0 { // RFC 2231 language
		charset = charset[:i]
	}
	text := rest[q+3:]
	end := strings.IndexByte(text, '?')
	if end < 0 || end+1 >= len(text) || text[end+1] != '=' {
		return "", nil, 0, false
	}
	text = text[:end]
	switch enc {
	case 'B', 'b':
		data, _ = decodeBase64Lenient([]byte(text))
	case 'Q', 'q':
		data = decodeQEncoding(text)
	default:
		return "", nil, 0, false
	}
	return charset, data, 2 + q + 3 + end + 2, true
}

// decodeQEncoding decodes the Q encoding of RFC 2047 ("_" is a space).
// Invalid escapes are kept literally.
func decodeQEncoding(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '_':
			out = append(out, ' ')
		case c == '=' && i+2 < len(s) && isHexDigit(s[i+1]) && isHexDigit(s[i+2]):
			out = append(out, hexDigitValue(s[i+1])<<4|hexDigitValue(s[i+2]))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// Body

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

// decodedSize is the length transferDecode would return, computed
// without decoding base64, the usual encoding of large attachments.
func (p *mailParser) decodedSize(h textproto.Header, body []byte) int {
	if transferEncoding(h) != "base64" {
		return len(p.transferDecode(h, body))
	}
	n, junk := 0, 0
	for _, c := range body {
		if base64Values[c] != 0xff {
			n++
		} else if !isBase64Filler(c) {
			junk++
		}
	}
	if junk > 0 {
		p.problem("bad base64: %d byte(s) outside the alphabet skipped", junk)
	}
	if n%4 == 1 { // a lone trailing sextet carries no byte
		n--
	}
	return n * 3 / 4
}

// transferEncoding returns the normalized Content-Transfer-Encoding.
func transferEncoding(h textproto.Header) string {
	cte, _ := stripHeaderComments(h.Get("Content-Transfer-Encoding"))
	return strings.ToLower(strings.Trim(strings.TrimSpace(cte), `"`))
}

// transferDecode undoes the Content-Transfer-Encoding of a leaf body.
// The decoders are lenient: bad bytes are skipped, not fatal.
func (p *mailParser) transferDecode(h textproto.Header, body []byte) []byte {
	switch cte := transferEncoding(h); cte {
	case "", "7bit", "8bit", "binary", "7-bit", "8-bit":
		return body
	case "base64":
		out, junk := decodeBase64Lenient(body)
		if junk > 0 {
			p.problem("bad base64: %d byte(s) outside the alphabet skipped", junk)
		}
		return out
	case "quoted-printable":
		return decodeQuotedPrintable(body)
	case "x-uuencode", "uuencode", "x-uue", "uue":
		return decodeUU(body)
	default:
		p.problem("unknown transfer encoding %q", cte)
		return body
	}
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

// ---------------------------------------------------------------------------
// Transfer encodings

// decodeBase64Lenient decodes base64 ignoring line breaks, whitespace,
// padding and any byte outside the alphabet; junk counts the bytes of the
// last kind. A trailing lone sextet, which carries no whole byte, is
// dropped.
func decodeBase64Lenient(b []byte) (out []byte, junk int) {
	clean := make([]byte, 0, len(b))
	for _, c := range b {
		if base64Values[c] != 0xff {
			clean = append(clean, c)
		} else if !isBase64Filler(c) {
			junk++
		}
	}
	if len(clean)%4 == 1 {
		clean = clean[:len(clean)-1]
	}
	out = make([]byte, len(clean)*3/4)
	var acc uint32
	n, o := 0, 0
	for _, c := range clean {
		acc = acc<<6 | uint32(base64Values[c])
		n++
		if n == 4 {
			out[o], out[o+1], out[o+2] = byte(acc>>16), byte(acc>>8), byte(acc)
			o, n, acc = o+3, 0, 0
		}
	}
	switch n {
	case 2:
		out[o] = byte(acc >> 4)
		o++
	case 3:
		out[o], out[o+1] = byte(acc>>10), byte(acc>>2)
		o += 2
	}
	return out[:o], junk
}

// isBase64Filler reports the bytes base64 text legitimately holds besides
// its alphabet: padding and line breaks.
func isBase64Filler(c byte) bool {
	return c == '=' || c == '\r' || c == '\n' || c == ' ' || c == '\t'
}

// base64Values maps a byte to its base64 value, 0xff when not in the
// standard alphabet.
var base64Values = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// decodeQuotedPrintable decodes quoted-printable (RFC 2045, section 6.7)
// leniently: soft line breaks with trailing whitespace, lower-case hex and
// control bytes are accepted; an '=' not followed by hex is kept.
func decodeQuotedPrintable(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		line, rest, hasNL := bytes.Cut(b, []byte{'\n'})
		b = rest
		eol := ""
		if hasNL {
			eol = "\n"
			if bytes.HasSuffix(line, []byte{'\r'}) {
				eol = "\r\n"
			}
		}
		line = bytes.TrimRight(line, " \t\r")
		soft := bytes.HasSuffix(line, []byte{'='})
		if soft {
			line = line[:len(line)-1]
		}
		for i := 0; i < len(line); i++ {
			if c := line[i]; c == '=' && i+2 < len(line) && isHexDigit(line[i+1]) && isHexDigit(line[i+2]) {
				out = append(out, hexDigitValue(line[i+1])<<4|hexDigitValue(line[i+2]))
				i += 2
			} else {
				out = append(out, c)
			}
		}
		if !soft {
			out = append(out, eol...)
		}
	}
	return out
}

// decodeUU decodes uuencoded data (Content-Transfer-Encoding:
// x-uuencode): the lines between "begin" and "end", or all lines when
// there is no begin line.
func decodeUU(b []byte) []byte {
	var out []byte
	inside := !bytes.Contains(b, []byte("begin "))
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		line = bytes.TrimRight(line, "\r")
		switch {
		case !inside:
			inside = bytes.HasPrefix(line, []byte("begin "))
			continue
		case bytes.Equal(bytes.TrimSpace(line), []byte("end")):
			return out
		case len(line) == 0:
			continue
		}
		n := int((line[0] - ' ') & 63)
		var group [4]byte
		for i, g := 1, 0; i < len(line) && n > 0; i++ {
			group[g] = (line[i] - ' ') & 63
			g++
			if g == 4 || i == len(line)-1 {
				dec := [3]byte{group[0]<<2 | group[1]>>4, group[1]<<4 | group[2]>>2, group[2]<<6 | group[3]}
				take := min(n, 3)
				out = append(out, dec[:take]...)
				n -= take
				g, group = 0, [4]byte{}
			}
		}
	}
	return out
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexDigitValue(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// ---------------------------------------------------------------------------
// Charsets

// decodeCharset converts b from the named charset to UTF-8 with the
// decoders of go-message's charset package (golang.org/x/text), plus
// UTF-7, which they lack. An unknown charset returns an error and b read
// as UTF-8 when valid, else as Windows-1252, so the text is never lost.
func decodeCharset(cs string, b []byte) (string, error) {
	name := normalizeCharsetName(cs)
	switch {
	case name == "" || isASCIILabel(name):
		if utf8.Valid(b) {
			return string(b), nil
		}
		return decodeWindows1252(b), nil
	case isUTF8Label(name):
		if utf8.Valid(b) {
			return string(b), nil
		}
		return strings.ToValidUTF8(string(b), "\uFFFD"), nil
	case isUTF7Label(name):
		return decodeUTF7(b), nil
	}
	for _, n := range charsetCandidates(name) {
		r, err := charset.Reader(n, bytes.NewReader(b))
		if err != nil {
			continue
		}
		if out, err := io.ReadAll(r); err == nil {
			return strings.ToValidUTF8(string(out), "\uFFFD"), nil
		}
	}
	fallback := string(b)
	if !utf8.Valid(b) {
		fallback = decodeWindows1252(b)
	}
	return fallback, fmt.Errorf("unknown charset %q", cs)
}

// charsetReaderFunc lets net/mail's encoded-word decoder use decodeCharset.
func charsetReaderFunc(cs string, input io.Reader) (io.Reader, error) {
	b, err := io.ReadAll(input)
	if err != nil {
		return nil, err
	}
	s, err := decodeCharset(cs, b)
	if err != nil {
		return nil, err
	}
	return strings.NewReader(s), nil
}

// charsetAliases maps labels seen in mail that x/text does not know to
// the charset meant (or its superset).
var charsetAliases = map[string]string{
	"iso-2022-jp-1":  "iso-2022-jp",
	"iso-2022-jp-2":  "iso-2022-jp",
	"iso-2022-jp-3":  "iso-2022-jp",
	"iso-2022-jp-ms": "iso-2022-jp",
	"cp932":          "shift_jis",
	"windows-31j":    "shift_jis",
	"sjis":           "shift_jis",
	"x-sjis":         "shift_jis",
	"gb2312":         "gbk", // GB2312 mail routinely carries GBK characters
	"x-gbk":          "gbk",
	"cp936":          "gbk",
	"cp949":          "euc-kr",
	"ks_c_5601":      "euc-kr",
	"x-euc-jp":       "euc-jp",
	"x-mac-roman":    "macintosh",
	"latin-1":        "iso-8859-1",
	"iso-gb2312":     "gbk",
}

// charsetCandidates lists the labels to try for name, most specific first.
func charsetCandidates(name string) []string {
	out := []string{name}
	if a, ok := charsetAliases[name]; ok {
		out = []string{a, name}
	}
	trimmed := strings.TrimPrefix(name, "x-")
	for _, n := range []string{trimmed, strings.ReplaceAll(trimmed, "-", ""), strings.ReplaceAll(trimmed, "_", "-")} {
		if n != name {
			out = append(out, n)
		}
	}
	return out
}

func normalizeCharsetName(cs string) string {
	return strings.ToLower(strings.Trim(cs, " \t\"';"))
}

func isASCIILabel(name string) bool {
	switch name {
	case "us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", "us", "csascii", "iso-ir-6", "cp367", "ibm367", "7bit", "default":
		return true
	}
	return false
}

func isUTF8Label(name string) bool {
	switch name {
	case "utf-8", "utf8", "x-utf-8", "unicode-1-1-utf-8", "x-utf_8j":
		return true
	}
	return false
}

func isUTF7Label(name string) bool {
	switch name {
	case "utf-7", "utf7", "x-utf-7", "unicode-1-1-utf-7", "csunicode11utf7":
		return true
	}
	return false
}

// decodeWindows1252 reads bytes as Windows-1252, the superset of
// ISO-8859-1 that mail mislabelled as ASCII almost always is.
func decodeWindows1252(b []byte) string {
	out, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(out)
}

// decodeUTF7 decodes UTF-7 (RFC 2152): "+" starts modified base64 of
// UTF-16, ended by "-" or any byte outside the alphabet; "+-" is "+".
func decodeUTF7(b []byte) string {
	var sb strings.Builder
	for i := 0; i < len(b); {
		c := b[i]
		if c != '+' {
			if c >= utf8.RuneSelf {
				sb.WriteRune(utf8.RuneError)
			} else {
				sb.WriteByte(c)
			}
			i++
			continue
		}
		i++
		if i < len(b) && b[i] == '-' {
			sb.WriteByte('+')
			i++
			continue
		}
		var units []uint16
		var acc uint32
		bits := 0
		for ; i < len(b) && base64Values[b[i]] != 0xff; i++ {
			acc = acc<<6 | uint32(base64Values[b[i]])
			bits += 6
			if bits >= 16 {
				bits -= 16
				units = append(units, uint16(acc>>bits))
				acc &= 1<<bits - 1
			}
		}
		sb.WriteString(string(utf16.Decode(units)))
		if i < len(b) && b[i] == '-' {
			i++
		}
	}
	return sb.String()
}
