package mailer

import (
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	const person = "From: Jane Customer <jane@customer.example>\r\n"
	const report = "Content-Type: multipart/report; report-type=%s; boundary=r\r\n"
	tests := []struct {
		name       string
		header     string
		body       string
		kind       Kind
		reasonPart string
	}{
		{"ordinary customer mail", person + "Subject: Printer broken", "It jams.", KindNormal, "no automated-mail signal"},

		// Bounces by the standard signals.
		{"delivery status report", person + strings.Replace(report, "%s", "delivery-status", 1), "--r--", KindBounce, "report-type=delivery-status"},
		{"feedback report", person + strings.Replace(report, "%s", "feedback-report", 1), "--r--", KindBounce, "feedback-report"},
		{"X-Failed-Recipients", person + "X-Failed-Recipients: a@b.example", "", KindBounce, "X-Failed-Recipients"},
		{"From MAILER-DAEMON", "From: MAILER-DAEMON@mx.example.org", "", KindBounce, "From mailer-daemon@mx.example.org"},
		{"From postmaster", "From: Postmaster <postmaster@example.org>", "", KindBounce, "postmaster"},
		{"From post_master", "From: post_master@example.org", "", KindBounce, "post_master"},
		{"MAILER-DAEMON as the only name", "From: MAILER-DAEMON <>", "", KindBounce, "From MAILER-DAEMON"},
		{"null Return-Path", person + "Return-Path: <>", "", KindBounce, "null Return-Path"},
		{"null Return-Path with space", person + "Return-Path: < >", "", KindBounce, "null Return-Path"},

		// Auto-replies.
		{"Auto-Submitted auto-replied", person + "Auto-Submitted: auto-replied", "", KindAutoReply, "Auto-Submitted: auto-replied"},
		{"Auto-Submitted with comment", person + "Auto-Submitted: auto-generated (ticket system)", "", KindAutoReply, "auto-generated"},
		{"Auto-Submitted no is a person", person + "Auto-Submitted: no", "", KindNormal, ""},
		{"X-Autoreply", person + "X-Autoreply: yes", "", KindAutoReply, "X-Autoreply"},
		{"X-Autorespond", person + "X-Autorespond: vacation", "", KindAutoReply, "X-Autorespond"},
		{"X-Auto-Response-Suppress All", person + "X-Auto-Response-Suppress: All", "", KindAutoReply, "X-Auto-Response-Suppress"},
		{"X-Auto-Response-Suppress OOF", person + "X-Auto-Response-Suppress: DR, OOF", "", KindAutoReply, "X-Auto-Response-Suppress"},
		// Outlook and CRM tools decline receipts on ordinary mail; that
		// does not make the mail automatic.
		{"X-Auto-Response-Suppress receipts only", person + "X-Auto-Response-Suppress: DR, RN, NRN", "", KindNormal, ""},
		{"read receipt", person + strings.Replace(report, "%s", "disposition-notification", 1), "--r--", KindAutoReply, "read receipt"},
		{"Precedence auto_reply", person + "Precedence: auto_reply", "", KindAutoReply, "Precedence"},
		{"Outlook automatic reply subject", person + "Subject: Automatic reply: [#HD-000042] Printer", "", KindAutoReply, "subject"},
		{"Norwegian automatic reply subject", person + "Subject: Automatisk svar: Printer", "", KindAutoReply, "subject"},
		{"out of office subject", person + "Subject: Out of Office", "", KindAutoReply, "subject"},
		{"customer writing about the office", person + "Subject: Out of office hours support?", "", KindNormal, ""},
		// RFC 3834 asks auto-responders to use a null sender.
		{"auto-reply with null Return-Path", person + "Return-Path: <>\r\nAuto-Submitted: auto-replied", "", KindAutoReply, "Auto-Submitted"},

		// Bounces by shape.
		{"DSN subject from a no-reply sender", "From: no-reply@mail.example.jp\r\nSubject: Delivery Status Notification (Failure)", "", KindBounce, "automated sender"},
		{"DSN subject with a status code in the text", person + "Subject: Undeliverable: Nyaan", "Remote server said: 550 5.1.1 user unknown", KindBounce, "delivery-status text"},
		{"DSN subject from a list manager", "From: list-admin@example.org\r\nMailing-List: contact help@example.org\r\nSubject: You x@y are not member", "", KindBounce, "list manager"},
		{"DSN subject from a person", person + "Subject: Mail delivery failed for my order?", "Can you check?", KindNormal, ""},
		{"person forwarding a bounce", person + "Subject: Fwd: Returned mail: see transcript for details", "Final-Recipient: rfc822; x@y", KindNormal, ""},
		{"Amazon SES notification", "From: SES <no-reply@sns.amazonaws.com>\r\nX-Amz-Sns-Message-Id: 1", `{"notificationType":"Bounce","bounce":{}}`, KindBounce, "Amazon SES"},

		// Lists.
		{"List-Id", person + "List-Id: <news.example.com>", "", KindList, "List-Id"},
		{"List-Unsubscribe", person + "List-Unsubscribe: <mailto:u@example.com>", "", KindList, "List-Unsubscribe"},
		{"List-Post", person + "List-Post: <mailto:l@example.com>", "", KindList, "List-Post"},
		{"Mailing-List", person + "Mailing-List: contact l-help@example.com", "", KindList, "Mailing-List"},
		{"Precedence bulk", person + "Precedence: bulk", "", KindList, "Precedence: bulk"},
		{"Precedence junk", person + "Precedence: junk", "", KindList, "Precedence: junk"},
		{"Precedence list", person + "Precedence: LIST", "", KindList, "Precedence: list"},

		// Order: the first matching rule wins.
		{"bounce relayed by a list", "From: MAILER-DAEMON@x.example\r\nList-Id: <l.example>", "", KindBounce, "From"},
		{"report beats Auto-Submitted", person + "Auto-Submitted: auto-replied\r\n" + strings.Replace(report, "%s", "delivery-status", 1), "--r--", KindBounce, "multipart/report"},
		{"auto-reply beats Precedence bulk", person + "Auto-Submitted: auto-generated\r\nPrecedence: bulk", "", KindAutoReply, "Auto-Submitted"},
		{"null Return-Path beats list", person + "Return-Path: <>\r\nList-Id: <l.example>", "", KindBounce, "null Return-Path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Parse([]byte(tt.header + "\r\n\r\n" + tt.body + "\r\n"))
			if m.Kind != tt.kind {
				t.Errorf("Kind = %s (%s), want %s", m.Kind, m.KindReason, tt.kind)
			}
			if !strings.Contains(m.KindReason, tt.reasonPart) {
				t.Errorf("KindReason = %q, want it to contain %q", m.KindReason, tt.reasonPart)
			}
		})
	}
}

func TestClassifyLooksOnlyAtTopLevelHeaders(t *testing.T) {
	// A forwarded newsletter carries List-Id inside the attached message;
	// the mail itself is a person's.
	raw := "From: jane@customer.example\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n" +
		"--x\r\nContent-Type: text/plain\r\n\r\nsee below\r\n" +
		"--x\r\nContent-Type: message/rfc822\r\n\r\nList-Id: <news.example>\r\nPrecedence: bulk\r\n\r\nnews\r\n--x--\r\n"
	if m := Parse([]byte(raw)); m.Kind != KindNormal {
		t.Errorf("Kind = %s (%s), want normal", m.Kind, m.KindReason)
	}
}
