package mailer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/textproto"
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
