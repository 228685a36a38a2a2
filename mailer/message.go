package mailer

import "time"

// Kind says what sort of sender a mail comes from, which decides whether we
// may answer it automatically.
type Kind string

// The kinds of inbound mail. Only KindNormal mail is ever acknowledged.
const (
	KindNormal    Kind = "normal"
	KindAutoReply Kind = "auto-reply"
	KindBounce    Kind = "bounce"
	KindList      Kind = "list"
)

// LoopHeader is the header helpdeskd puts on every mail it sends. Its value
// is the instance's loop ID; a mail that comes back carrying our own value is
// a loop and is dropped on intake.
const LoopHeader = "X-Helpdeskd-Loop"

// Address is one mailbox. Addr is the bare address, lower-cased; Name the
// decoded display name, if any.
type Address struct {
	Name string `json:"name,omitempty"`
	Addr string `json:"addr"`
}

// Attachment describes one attachment or inline non-text part. The bytes
// stay in the raw mail.
type Attachment struct {
	Filename    string `json:"filename,omitempty"`
	ContentType string `json:"content_type"`
	Size        int    `json:"size"`
	Inline      bool   `json:"inline,omitempty"`
}

// Message is an inbound mail in normalized form. Parse never fails: what it
// could not understand is recorded in ParseError and the raw bytes are kept.
type Message struct {
	// MessageID without angle brackets. When the mail has none, a stable
	// ID is derived from a hash of its content and DerivedID is set.
	MessageID string
	DerivedID bool

	From       Address
	ReplyTo    []Address
	To         []Address
	Cc         []Address
	ReturnPath string // as written, "<>" for a null sender, "" when absent
	Subject    string // decoded to UTF-8, unfolded
	Date       time.Time
	InReplyTo  []string // message IDs without angle brackets
	References []string // message IDs without angle brackets, oldest first

	// Text is the readable body: the text/plain part when there is one,
	// else the HTML part converted to text.
	Text        string
	Attachments []Attachment

	Kind       Kind
	KindReason string // the header or rule that decided Kind, for logs

	// LoopID is the value of our LoopHeader when present.
	LoopID string
	// AuthResults holds the Authentication-Results header values, topmost
	// (most recently added) first.
	AuthResults []string
	// Priority hints as written: X-Priority and Importance header values.
	XPriority  string
	Importance string

	// ParseError records what could not be decoded (unknown charset,
	// broken MIME, …). The mail is still usable.
	ParseError string

	// Raw is the mail as received. BodyHash is the hex SHA-256 of the bytes
	// after the header block; with MessageID it identifies a mail for
	// deduplication.
	Raw      []byte
	BodyHash string
	// Truncated is set when the mail was larger than the intake limit and
	// only its first bytes were fetched; the full mail stays in IMAP.
	Truncated bool
	Size      int64 // size reported by the server, or len(Raw)
}

// ReplyAddress is where an answer to m should go: the first Reply-To
// address when present, else From.
func (m *Message) ReplyAddress() Address {
	if len(m.ReplyTo) > 0 && m.ReplyTo[0].Addr != "" {
		return m.ReplyTo[0]
	}
	return m.From
}
