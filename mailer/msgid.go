package mailer

import (
	"net/mail"
	"strings"
	"time"
)

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
