package ticket

import (
	"regexp"
	"strconv"
	"strings"
)

// Tagger finds and strips case tags of one prefix in subjects.
type Tagger struct {
	prefix string
	tag    *regexp.Regexp
}

// NewTagger returns a Tagger for prefix (e.g. "HD"). Matching is lenient
// about what mail clients do to a tag: case, spaces inside the brackets and
// a missing '#' are tolerated, so "[hd-000042]" and "[# HD-42 ]" both find
// case 42.
func NewTagger(prefix string) *Tagger {
	re := regexp.MustCompile(`(?i)\[\s*#?\s*` + regexp.QuoteMeta(prefix) + `-0*([0-9]{1,12})\s*\]`)
	return &Tagger{prefix: prefix, tag: re}
}

// Prefix returns the case prefix.
func (t *Tagger) Prefix() string { return t.prefix }

// Find returns the case number of the first tag in subject.
func (t *Tagger) Find(subject string) (uint64, bool) {
	m := t.tag.FindStringSubmatch(subject)
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseUint(m[1], 10, 64)
	if err != nil || n == 0 {
		return 0, false
	}
	return n, true
}

// Case formats n with the Tagger's prefix: "HD-000042".
func (t *Tagger) Case(n uint64) string { return FormatCase(t.prefix, n) }

// replyPrefix matches the reply and forward markers mail clients put in
// front of a subject, in the languages our customers write in.
var replyPrefix = regexp.MustCompile(`(?i)^\s*(re|fwd?|fw|sv|vs|aw|wg|antw|antwort|tr|rif|odp)\s*(\[\d+\]|\(\d+\))?\s*[:：]\s*`)

// CleanSubject removes our case tags and any leading reply/forward markers,
// so an acknowledgement reads "[#HD-000042] Re: printer offline" and not
// "… Re: AW: Re: [#HD-000042] printer offline".
func (t *Tagger) CleanSubject(subject string) string {
	s := subject
	// Removing one tag can join the text around it into another.
	for t.tag.MatchString(s) {
		s = t.tag.ReplaceAllString(s, " ")
	}
	for {
		n := replyPrefix.ReplaceAllString(s, "")
		n = strings.TrimSpace(n)
		if n == s {
			break
		}
		s = n
	}
	return strings.Join(strings.Fields(s), " ")
}
