package mailer

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/textproto"
)

// classify sets Kind and KindReason from what parsing found.
func (p *mailParser) classify() {
	p.m.Kind, p.m.KindReason = classifyMail(p.m, p.hdr, p.mediaType, p.params)
}

// classifyMail decides what sort of sender a mail comes from. The first
// matching rule wins and the order matters:
//
//  1. Delivery reports are bounces whatever else they carry: MTAs mark
//     them Auto-Submitted and lists relay them with List-Id.
//  2. Auto-reply headers (RFC 3834 and the vendor ones) and the subject
//     prefixes auto-responders use. These come before the null
//     Return-Path because RFC 3834 asks auto-responders to send with one.
//  3. A null Return-Path: nobody can receive an answer, so it is treated
//     as a bounce even when it is spam dressed as normal mail.
//  4. Bounces without the standard signals, recognized by shape: Amazon
//     SES notifications and non-delivery subjects corroborated by an
//     automated sender, a DSN-like body or list headers (list managers'
//     rejections). They precede the list rule for that last reason.
//  5. Mailing-list and bulk headers (RFC 2369, RFC 2919, Precedence).
//
// The rules and their order are checked against ../shared/corpus by
// TestCorpus.
func classifyMail(m *Message, h textproto.Header, mediaType string, params map[string]string) (Kind, string) {
	reportType := strings.ToLower(params["report-type"])
	isReport := mediaType == "multipart/report"
	// The shapes below are found near the start; bounding what the
	// regular expressions scan bounds the cost of hostile mail.
	subject, text := truncateUTF8(m.Subject, 1000), truncateUTF8(m.Text, 64<<10)

	// 1. Delivery reports.
	if isReport && reportType != "disposition-notification" {
		return KindBounce, "multipart/report; report-type=" + reasonText(reportType)
	}
	if h.Has("X-Failed-Recipients") {
		return KindBounce, "header X-Failed-Recipients"
	}
	if isBounceSender(m.From) {
		return KindBounce, "From " + reasonText(fromForReason(m.From))
	}

	// 2. Auto-replies.
	if v := headerToken(h.Get("Auto-Submitted")); v != "" && v != "no" {
		return KindAutoReply, "header Auto-Submitted: " + reasonText(v)
	}
	for _, key := range []string{"X-Autoreply", "X-Autorespond"} {
		if h.Has(key) && !isNegativeHeader(h.Get(key)) {
			return KindAutoReply, "header " + key
		}
	}
	// Exchange asks others not to auto-answer with this header, and sets
	// it on its own automatic mail. Only the values that suppress
	// auto-replies count: DR/NDR/RN/NRN alone merely decline receipts.
	if v := h.Get("X-Auto-Response-Suppress"); suppressesAutoReplies(v) {
		return KindAutoReply, "header X-Auto-Response-Suppress: " + reasonText(v)
	}
	if isReport {
		return KindAutoReply, "multipart/report; report-type=disposition-notification (read receipt)"
	}
	if p := strings.ToLower(strings.TrimSpace(h.Get("Precedence"))); p == "auto_reply" || p == "auto-reply" {
		return KindAutoReply, "header Precedence: " + p
	}
	if vacationSubject.MatchString(subject) {
		return KindAutoReply, "auto-reply subject"
	}

	// 3. Null sender.
	if isNullReturnPath(m.ReturnPath) {
		return KindBounce, "null Return-Path"
	}

	// 4. Bounces by shape.
	if (h.Has("X-Amz-Sns-Message-Id") || strings.HasSuffix(m.From.Addr, "@sns.amazonaws.com")) &&
		sesNotification.MatchString(text) {
		return KindBounce, "Amazon SES notification"
	}
	if !replyPrefix.MatchString(subject) && bounceSubject.MatchString(subject) {
		switch {
		case isAutomatedSender(m.From):
			return KindBounce, "non-delivery subject from automated sender " + reasonText(fromForReason(m.From))
		case dsnBody.MatchString(text):
			return KindBounce, "non-delivery subject and delivery-status text"
		case hasMailingListHeaders(h):
			return KindBounce, "non-delivery subject from a list manager"
		}
	}

	// 5. Lists and bulk mail.
	for _, key := range mailingListHeaders {
		if h.Has(key) {
			return KindList, "header " + key
		}
	}
	switch p := strings.ToLower(strings.TrimSpace(h.Get("Precedence"))); p {
	case "bulk", "list", "junk":
		return KindList, "header Precedence: " + p
	}
	return KindNormal, "no automated-mail signal"
}

// reasonText shortens a value quoted from the mail in a KindReason.
func reasonText(s string) string {
	return singleLine(truncateUTF8(s, 80))
}

// truncateUTF8 returns at most the first n bytes of s, cut at a rune
// boundary.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// mailingListHeaders mark mail sent through a mailing list (RFC 2369, RFC 2919,
// and ezmlm's Mailing-List).
var mailingListHeaders = []string{
	"List-Id", "List-Unsubscribe", "List-Post", "Mailing-List",
	"List-Help", "List-Subscribe", "List-Archive", "List-Owner",
}

func hasMailingListHeaders(h textproto.Header) bool {
	for _, key := range mailingListHeaders {
		if h.Has(key) {
			return true
		}
	}
	return false
}

// isBounceSender reports a From of MAILER-DAEMON or postmaster, in the
// local part or, when there is no address, as the display name.
func isBounceSender(a Address) bool {
	s := a.Addr
	if s == "" {
		s = a.Name
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[:i]
	}
	switch squashSenderName(s) {
	case "mailerdaemon", "maildaemon", "postmaster":
		return true
	}
	return false
}

// isAutomatedSender reports a sender address that no person reads.
func isAutomatedSender(a Address) bool {
	local := a.Addr
	if i := strings.LastIndexByte(local, '@'); i >= 0 {
		local = local[:i]
	}
	s := squashSenderName(local)
	for _, w := range []string{"noreply", "donotreply", "daemon", "postmaster", "bounce", "mailer"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// squashSenderName lower-cases s and drops separators, so that "MAILER-DAEMON",
// "mailer_daemon" and "post.master" compare equal to their plain forms.
func squashSenderName(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '-', '_', '.', ' ', '"':
			return -1
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

func fromForReason(a Address) string {
	if a.Addr != "" {
		return a.Addr
	}
	return a.Name
}

// isNullReturnPath reports the null reverse path "<>", allowing spaces
// and comments inside.
func isNullReturnPath(v string) bool {
	v, _ = stripHeaderComments(v)
	return strings.Join(strings.Fields(v), "") == "<>"
}

// headerToken returns the first token of a header value, lower-cased,
// without comments or parameters ("auto-generated (failure)" →
// "auto-generated").
func headerToken(v string) string {
	v, _ = stripHeaderComments(v)
	v, _, _ = strings.Cut(v, ";")
	if f := strings.Fields(v); len(f) > 0 {
		return strings.ToLower(f[0])
	}
	return ""
}

func isNegativeHeader(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "no", "false", "0":
		return true
	}
	return false
}

// suppressesAutoReplies reports an X-Auto-Response-Suppress value that
// includes All, OOF or AutoReply.
func suppressesAutoReplies(v string) bool {
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == ';' }) {
		switch strings.ToLower(f) {
		case "all", "oof", "autoreply":
			return true
		}
	}
	return false
}

var (
	// vacationSubject matches the subject prefixes of out-of-office and
	// other automatic replies (Outlook/Exchange in several languages,
	// common autoresponders).
	vacationSubject = regexp.MustCompile(`(?i)^\s*(` +
		`automatic reply|auto[- ]?reply|auto[- ]?response|autorespons|out of (the )?office( reply| autoreply)?|` +
		`automatische antwort|abwesenheitsnotiz|automatisk svar|automatiskt svar|fravær|frånvaro|` +
		`réponse automatique|respuesta automática|risposta automatica` +
		`)\s*[:：]|(?i)^\s*(out of (the )?office|abwesenheitsnotiz)\s*$`)

	// replyPrefix matches a subject a person answers or forwards; such a
	// subject says nothing about the mail being automated.
	replyPrefix = regexp.MustCompile(`(?i)^\s*(re|fw|fwd|aw|wg|sv|vs|tr|rv|antw|antwort|odp|enc|doorst)\s*(\[\d+\]|\(\d+\))?\s*[:：]`)

	// bounceSubject matches the subjects MTAs give non-delivery reports.
	bounceSubject = regexp.MustCompile(`(?i)(undeliver|returned mail|returned to sender|delivery status notification|` +
		`delivery notification|delivery (status )?report|delivery fail|delivery has failed|delivery problem|` +
		`failure notice|mail delivery|mail system error|non[- ]?delivery|could not be delivered|` +
		`mail failure|error mail report|postmaster notify|are not (a )?member|` +
		`unzustellbar|nicht zustellbar|übermittlungsstatus|non remis|` +
		`メールエラー|配信できません|配信エラー|недоставленн|не доставлен|无法投递|退信)`)

	// dsnBody matches the fields and status codes of delivery reports.
	dsnBody = regexp.MustCompile(`(?im)^\s*(final-recipient|original-recipient|diagnostic-code|remote-mta)\s*:|\b[45]\.\d{1,3}\.\d{1,3}\b`)

	// sesNotification matches the JSON Amazon SES posts through SNS.
	sesNotification = regexp.MustCompile(`"notificationType"\s*:\s*"(Bounce|Complaint|Delivery)"`)
)
