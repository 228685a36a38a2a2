package store

import (
	"encoding/json"
	"reflect"
	"strconv"

	"github.com/helpdeskd/helpdeskd/ticket"
)

// History entries are written and read by hand like tickets (see
// ticketjson.go): the scheduler reads the customer's last message for
// every escalation mail, and intake writes an entry per mail.

// marshalEntry is json.Marshal(e).
func marshalEntry(e *ticket.Entry) ([]byte, error) {
	if entryCodecOff == "" {
		if b, ok := appendEntry(make([]byte, 0, 256+len(e.Text)+len(e.Text)/8), e); ok {
			return b, nil
		}
	}
	return json.Marshal(e)
}

// unmarshalEntry is json.Unmarshal(data, e) for a zero e.
func unmarshalEntry(data []byte, e *ticket.Entry) error {
	if entryCodecOff == "" {
		r := jsonReader{b: data}
		if r.entry(e) && r.end() {
			return nil
		}
		*e = ticket.Entry{}
	}
	return json.Unmarshal(data, e)
}

var entryCodecOff = func() string {
	if got := typeLayout(reflect.TypeFor[ticket.Entry]()); got != entryCodecLayout {
		return "ticket.Entry changed:\n" + got
	}
	return ""
}()

const entryCodecLayout = `Entry.Seq uint32 json:"seq"
Entry.Direction string json:"direction"
Entry.MessageID string json:"message_id"
Entry.From string json:"from"
Entry.To []string json:"to,omitempty"
Entry.Subject string json:"subject"
Entry.Date time.Time json:"date"
Entry.Received time.Time json:"received"
Entry.Kind string json:"kind,omitempty"
Entry.Purpose string json:"purpose,omitempty"
Entry.Text string json:"text"
Entry.Attachments int json:"attachments,omitempty"
Entry.ParseError string json:"parse_error,omitempty"
Entry.Truncated bool json:"truncated,omitempty"
Entry.RawKey string json:"raw_key,omitempty"
Entry.Note bool json:"note,omitempty"
Entry.Author string json:"author,omitempty"
`

func appendEntry(b []byte, e *ticket.Entry) ([]byte, bool) {
	ok := true
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, uint64(e.Seq), 10)
	b = appendKey(b, "direction")
	b = appendString(b, string(e.Direction))
	b = appendKey(b, "message_id")
	b = appendString(b, e.MessageID)
	b = appendKey(b, "from")
	b = appendString(b, e.From)
	if len(e.To) > 0 {
		b = appendKey(b, "to")
		b = appendStrings(b, e.To)
	}
	b = appendKey(b, "subject")
	b = appendString(b, e.Subject)
	b = appendKey(b, "date")
	b = appendTime(b, e.Date, &ok)
	b = appendKey(b, "received")
	b = appendTime(b, e.Received, &ok)
	b = appendOptString(b, "kind", e.Kind)
	b = appendOptString(b, "purpose", e.Purpose)
	b = appendKey(b, "text")
	b = appendString(b, e.Text)
	b = appendOptInt(b, "attachments", e.Attachments)
	b = appendOptString(b, "parse_error", e.ParseError)
	b = appendOptTrue(b, "truncated", e.Truncated)
	b = appendOptString(b, "raw_key", e.RawKey)
	b = appendOptTrue(b, "note", e.Note)
	b = appendOptString(b, "author", e.Author)
	return append(b, '}'), ok
}

func (r *jsonReader) entry(e *ticket.Entry) bool {
	if r.null() {
		return false // leaves e as it was; rare enough to leave to json
	}
	return r.object(func(key []byte) (uint64, bool) {
		switch string(key) {
		case "seq":
			return 1 << 0, r.uint32(&e.Seq)
		case "direction":
			var s string
			ok := r.str(&s)
			e.Direction = ticket.Direction(s)
			return 1 << 1, ok
		case "message_id":
			return 1 << 2, r.str(&e.MessageID)
		case "from":
			return 1 << 3, r.str(&e.From)
		case "to":
			return 1 << 4, r.strings(&e.To)
		case "subject":
			return 1 << 5, r.str(&e.Subject)
		case "date":
			return 1 << 6, r.time(&e.Date)
		case "received":
			return 1 << 7, r.time(&e.Received)
		case "kind":
			return 1 << 8, r.str(&e.Kind)
		case "purpose":
			return 1 << 9, r.str(&e.Purpose)
		case "text":
			return 1 << 10, r.str(&e.Text)
		case "attachments":
			return 1 << 11, r.int(&e.Attachments)
		case "parse_error":
			return 1 << 12, r.str(&e.ParseError)
		case "truncated":
			return 1 << 13, r.bool(&e.Truncated)
		case "raw_key":
			return 1 << 14, r.str(&e.RawKey)
		case "note":
			return 1 << 15, r.bool(&e.Note)
		case "author":
			return 1 << 16, r.str(&e.Author)
		}
		return 0, false
	})
}
