package ticket

import (
	"regexp"
	"strings"
)

// ReplyMarker heads the part of our notifications an engineer's client
// quotes; everything from it on is cut from a reply before it is relayed.
const ReplyMarker = "-- Reply above this line to answer the customer --"

// quoteStart are lines at which mail clients start the quoted original.
var quoteStart = []*regexp.Regexp{
	regexp.MustCompile(`^-{2,}\s*Reply above this line`),
	regexp.MustCompile(`(?i)^-{3,}\s*(original message|opprinnelig melding|ursprungligt meddelande|ursprüngliche nachricht|forwarded message|videresendt melding)\s*-{3,}`),
	regexp.MustCompile(`^_{10,}$`), // Outlook's rule above the quoted header block
	regexp.MustCompile(`(?i)^(on|den|am|le|el|op)\s.{0,200}(wrote|skrev|schrieb|a écrit|escribió|schreef)\s*:?\s*$`),
	regexp.MustCompile(`(?i)^(from|fra|från|von|de):\s.*@`), // a quoted header block without a rule
}

// A quote header wrapped over two lines.
var (
	wroteStart = regexp.MustCompile(`(?i)^(on|den|am|le)\s`)
	wroteEnd   = regexp.MustCompile(`(?i)^.{0,80}(wrote|skrev|schrieb|a écrit)\s*:\s*$`)
)

// StripQuoted returns an engineer's own words from a reply: the text above
// the quoted original, without '>' lines, trimmed. Quoted text carries our
// notification (internal details) and must never reach a customer.
func StripQuoted(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	var kept []string
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, ">") {
			continue
		}
		cut := false
		for _, re := range quoteStart {
			if re.MatchString(t) {
				cut = true
				break
			}
		}
		// "On Mon, 4 Jan 2027 at 10:30, Ola <ola@x>" + newline + "wrote:"
		if !cut && i+1 < len(lines) && wroteStart.MatchString(t) && wroteEnd.MatchString(strings.TrimSpace(lines[i+1])) {
			cut = true
		}
		if cut {
			break
		}
		kept = append(kept, strings.TrimRight(l, " \t"))
	}
	return strings.TrimSpace(strings.Join(kept, "\n"))
}
