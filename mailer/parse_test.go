package mailer

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testdataMail reads one of the sample mails in testdata/mail.
func testdataMail(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "mail", name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestParseTestdata(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, m *Message)
	}{
		{"plain-reply.eml", func(t *testing.T, m *Message) {
			wantEqual(t, "MessageID", m.MessageID, "CAF=reply.42@mail.example.no")
			wantEqual(t, "From", m.From, Address{Name: "Kari Nordmann", Addr: "kari.nordmann@example.no"})
			wantEqual(t, "ReplyAddress", m.ReplyAddress().Addr, "tickets@example.no")
			wantEqual(t, "To", m.To, []Address{{Name: "Support", Addr: "support@helpdesk.example"}, {Addr: "second@example.net"}})
			wantEqual(t, "Cc", m.Cc, []Address{{Name: "Ola, the boss", Addr: "ola@example.no"}})
			wantEqual(t, "ReturnPath", m.ReturnPath, "<kari.nordmann@example.no>")
			wantEqual(t, "Subject", m.Subject, "SV: Printer on 3rd floor [#HD-000042]")
			wantEqual(t, "Date", m.Date.UTC(), time.Date(2026, 3, 3, 8, 13, 58, 0, time.UTC))
			wantEqual(t, "InReplyTo", m.InReplyTo, []string{"ack-000042@helpdesk.example"})
			wantEqual(t, "References", m.References, []string{"first.1@mail.example.no", "ack-000042@helpdesk.example"})
			wantEqual(t, "Text", m.Text, "Hei,\n\nthe printer still jams. Blåbærsyltetøy on the rollers?\n\nKari")
			wantEqual(t, "AuthResults", m.AuthResults, []string{
				"mx.helpdesk.example; dkim=pass header.d=example.no; spf=pass smtp.mailfrom=example.no",
				"relay.example.net; spf=none",
			})
			wantEqual(t, "XPriority", m.XPriority, "1 (Highest)")
			wantEqual(t, "Importance", m.Importance, "high")
			wantEqual(t, "LoopID", m.LoopID, "other-instance")
			wantEqual(t, "Kind", m.Kind, KindNormal)
			wantEqual(t, "ParseError", m.ParseError, "")
		}},
		{"html-only.eml", func(t *testing.T, m *Message) {
			wantEqual(t, "Subject", m.Subject, "Bestellung für Kunde")
			wantEqual(t, "Text", m.Text, "Bestellung\n\nGrüße & Dank,\nIhr Shop\n\n- Artikel 1\n- Artikel 2\n\n"+
				"Details: Bestellung ansehen <https://shop.example/o/1> or orders@shop.example")
		}},
		{"alternative-attachments.eml", func(t *testing.T, m *Message) {
			wantEqual(t, "From", m.From, Address{Name: "Jörg Müller", Addr: "joerg@example.de"})
			wantEqual(t, "Text", m.Text, "See the attached invoice. Grüße")
			wantEqual(t, "Attachments", m.Attachments, []Attachment{
				{ContentType: "image/png", Size: 200, Inline: true},
				{Filename: "Rechnung März.pdf", ContentType: "application/pdf", Size: 1040},
				{Filename: "notiz ä.txt", ContentType: "text/plain", Size: 24, Inline: true},
			})
			wantEqual(t, "ParseError", m.ParseError, "")
		}},
		{"encoded-words.eml", func(t *testing.T, m *Message) {
			wantEqual(t, "Subject", m.Subject, "使って / Über / テスト / café")
			wantEqual(t, "From.Name", m.From.Name, "André Dupont")
			wantContains(t, "ParseError", m.ParseError, `unknown charset "x-unknown"`)
		}},
		{"no-message-id-latin1.eml", func(t *testing.T, m *Message) {
			wantEqual(t, "DerivedID", m.DerivedID, true)
			wantEqual(t, "MessageID", m.MessageID, deriveMessageID(m.Raw))
			wantEqual(t, "Subject", m.Subject, "Grüße aus Wien")
			wantEqual(t, "Text", m.Text, "Schöne Grüße, Lena")
		}},
		{"bounce-dsn.eml", func(t *testing.T, m *Message) {
			wantEqual(t, "Kind", m.Kind, KindBounce)
			wantEqual(t, "From", m.From, Address{Name: "Mail Delivery System", Addr: "mailer-daemon@mx.example.org"})
			wantEqual(t, "ReturnPath", m.ReturnPath, "<>")
			wantContains(t, "Text", m.Text, "550 5.1.1 User unknown")
			wantEqual(t, "Attachments", m.Attachments, []Attachment{
				{ContentType: "message/delivery-status", Size: 110},
				{ContentType: "message/rfc822", Size: 84},
			})
		}},
		{"auto-reply-oof.eml", func(t *testing.T, m *Message) {
			wantEqual(t, "Kind", m.Kind, KindAutoReply)
			wantEqual(t, "KindReason", m.KindReason, "header Auto-Submitted: auto-replied")
		}},
		{"list-newsletter.eml", func(t *testing.T, m *Message) {
			wantEqual(t, "Kind", m.Kind, KindList)
		}},
		{"mac-cr.eml", func(t *testing.T, m *Message) {
			wantEqual(t, "Subject", m.Subject, "Classic Mac line ends")
			wantEqual(t, "MessageID", m.MessageID, "mac.1@example.com")
			wantEqual(t, "Text", m.Text, "line one\nline two")
			wantEqual(t, "Kind", m.Kind, KindNormal) // Auto-Submitted: no
		}},
		{"broken-headers.eml", func(t *testing.T, m *Message) {
			// Junk before the headers and lost folding indents are repaired.
			wantEqual(t, "From", m.From, Address{Name: "Broken Gateway", Addr: "gw@example.com"})
			wantEqual(t, "Subject", m.Subject, "first subject")
			wantEqual(t, "MessageID", m.MessageID, "raw-id-without-brackets@example.com")
			wantEqual(t, "InReplyTo", m.InReplyTo, []string{"orig.1@example.net"})
			wantEqual(t, "References", m.References, []string{"a@example.net", "c@example.net", "d@example.net"})
			wantEqual(t, "Text", m.Text, "café au lait")
			wantEqual(t, "Attachments", m.Attachments, []Attachment{{Filename: "data.bin", ContentType: "application/octet-stream", Size: 3}})
			for _, want := range []string{"malformed line(s) in header block", `unknown charset "x-no-such-charset"`,
				`unknown transfer encoding "x-wild-encoding"`, "closing boundary missing"} {
				wantContains(t, "ParseError", m.ParseError, want)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".eml"), func(t *testing.T) {
			raw := testdataMail(t, tt.file)
			m := Parse(raw)
			if &m.Raw[0] != &raw[0] || m.Size != int64(len(raw)) {
				t.Errorf("Raw/Size do not describe the input")
			}
			tt.check(t, m)
		})
	}
}

func TestParseWithoutMessageIDDerivesStableID(t *testing.T) {
	raw := []byte("From: a@example.com\r\nSubject: no id\r\n\r\nhello\r\n")
	first, second := Parse(raw), Parse(slices.Clone(raw))
	if !first.DerivedID || first.MessageID == "" {
		t.Fatalf("MessageID = %q, DerivedID = %v; want a derived ID", first.MessageID, first.DerivedID)
	}
	if second.MessageID != first.MessageID {
		t.Errorf("same bytes gave IDs %q and %q", first.MessageID, second.MessageID)
	}
	if !strings.HasSuffix(first.MessageID, "@derived.helpdeskd.invalid") || len(first.MessageID) != 32+len("@derived.helpdeskd.invalid") {
		t.Errorf("MessageID = %q, want <hex32>@derived.helpdeskd.invalid", first.MessageID)
	}
	other := Parse([]byte("From: a@example.com\r\nSubject: no id\r\n\r\nhello again\r\n"))
	if other.MessageID == first.MessageID {
		t.Errorf("different mails share the derived ID %q", other.MessageID)
	}
	withID := Parse([]byte("Message-ID: <x@example.com>\r\n\r\n"))
	if withID.DerivedID || withID.MessageID != "x@example.com" {
		t.Errorf("MessageID = %q (derived %v), want x@example.com", withID.MessageID, withID.DerivedID)
	}
}

func TestParseBodyHashCoversOnlyTheBody(t *testing.T) {
	body := "same body\r\n"
	a := Parse([]byte("From: a@example.com\r\nSubject: one\r\n\r\n" + body))
	b := Parse([]byte("Received: by relay\r\nFrom: a@example.com\r\nSubject: one\r\n\r\n" + body))
	sum := sha256.Sum256([]byte(body))
	if want := hex.EncodeToString(sum[:]); a.BodyHash != want || b.BodyHash != want {
		t.Errorf("BodyHash = %s and %s, want %s", a.BodyHash, b.BodyHash, want)
	}
	empty := sha256.Sum256(nil)
	if m := Parse([]byte("Subject: headers only\r\n")); m.BodyHash != hex.EncodeToString(empty[:]) {
		t.Errorf("headers-only BodyHash = %s, want the hash of nothing", m.BodyHash)
	}
}

func TestParseSurvivesDegenerateInput(t *testing.T) {
	deep := strings.Repeat("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n", 100)
	inputs := map[string]string{
		"empty":                   "",
		"one byte":                "x",
		"lone CR":                 "\r",
		"lone LF":                 "\n",
		"only a separator":        "\r\n\r\n",
		"mbox line only":          "From someone Mon Jan  1 00:00:00 2026\n",
		"no header block":         "just some text\nand more\n\nafter a blank line",
		"colon only":              ":",
		"header without value":    "Subject:",
		"unterminated word":       "Subject: =?utf-8?q?abc\r\n\r\n",
		"word without text":       "Subject: =?utf-8?b??=\r\n\r\n",
		"multipart no boundary":   "Content-Type: multipart/mixed\r\n\r\nbody",
		"multipart never closed":  "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi",
		"multipart no parts":      "Content-Type: multipart/mixed; boundary=x\r\n\r\nno boundary here",
		"nested too deep":         deep,
		"base64 garbage":          "Content-Transfer-Encoding: base64\r\n\r\n!!!***===a",
		"qp garbage":              "Content-Transfer-Encoding: quoted-printable\r\n\r\n=\r\n=Z=\x00=4",
		"bad content type":        "Content-Type: ;;;===\r\n\r\nbody",
		"binary":                  "\x00\xff\xfe\x01:\x80\r\n\r\n\x00",
		"very long header line":   "Subject: " + strings.Repeat("a", 200000) + "\r\n\r\nbody",
		"html without body":       "Content-Type: text/html\r\n\r\n<",
		"address list of commas":  "From: ,,,,<>,\"\r\nTo: (((\r\n\r\n",
		"encoded word in address": "From: =?utf-8?q?a,b?= <x@y>, =?bogus?q?=FF?=\r\n\r\n",
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			m := Parse([]byte(in))
			if strings.Contains(m.ParseError, "internal error") {
				t.Errorf("ParseError = %q", m.ParseError)
			}
			if m.MessageID == "" || m.BodyHash == "" || m.Kind == "" {
				t.Errorf("MessageID %q, BodyHash %q, Kind %q: all must be set", m.MessageID, m.BodyHash, m.Kind)
			}
		})
	}
}

func TestParseLimitsMIMENesting(t *testing.T) {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=b0\r\n\r\n")
	for i := range 40 {
		b.WriteString("--b" + strconv.Itoa(i) + "\r\nContent-Type: multipart/mixed; boundary=b" + strconv.Itoa(i+1) + "\r\n\r\n")
	}
	b.WriteString("--b40\r\nContent-Type: text/plain\r\n\r\ndeep text\r\n")
	m := Parse([]byte(b.String()))
	wantContains(t, "ParseError", m.ParseError, "MIME nesting deeper than 32")
	if strings.Contains(m.Text, "deep text") {
		t.Errorf("text below the nesting limit was read: %q", m.Text)
	}
}

func TestParseSubject(t *testing.T) {
	tests := []struct {
		name, header, want string
	}{
		{"plain", "Subject: Hello", "Hello"},
		{"folding whitespace is kept", "Subject: Hello\r\n\t  world", "Hello\t  world"},
		{"outer whitespace is trimmed", "Subject:   Hello  ", "Hello"},
		{"space inside an encoded word is kept", "Subject: =?utf-8?Q?_Hello_?=", " Hello "},
		{"adjacent words are joined", "Subject: =?utf-8?q?a?= =?utf-8?q?b?=\r\n =?utf-8?q?c?=", "abc"},
		{"text between words is kept", "Subject: =?utf-8?q?a?= x =?utf-8?q?b?=", "a x b"},
		{"multi-byte character split across words", "Subject: =?utf-8?B?5L2/44E=?= =?utf-8?B?o+OBpg==?=", "使って"},
		{"mixed charsets", "Subject: =?iso-8859-1?q?caf=E9?= =?windows-1251?B?0eXw4+Xp?=", "caféСергей"},
		{"lower-case encoding letter", "Subject: =?UTF-8?b?w6Q=?=", "ä"},
		{"language suffix", "Subject: =?utf-8*de?q?=C3=A4?=", "ä"},
		{"UTF-7 word", "Subject: =?utf-7?Q?+ANw-bermittlung?=", "Übermittlung"},
		{"UTF-7 word with whitespace inside", "Subject: =?unicode-1-1-utf-7?Q?+ANw-ber  \r\n\t(x)?=", "Über  \t(x)"},
		{"ISO-2022-JP word", "Subject: =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=", "テスト"},
		{"GB2312 label with GBK characters", "Subject: =?gb2312?B?g8iRqg==?=", "內應"},
		{"windows-1258", "Subject: =?windows-1258?Q?R=E9clamation?=", "Réclamation"},
		{"unknown charset keeps the bytes", "Subject: =?x-klingon?Q?caf=C3=A9?=", "café"},
		{"invalid word is literal", "Subject: =?utf-8?x?abc?= and =?", "=?utf-8?x?abc?= and =?"},
		{"raw UTF-8", "Subject: Grüße", "Grüße"},
		{"encoded line break becomes a space", "Subject: =?utf-8?q?a=0D=0Ab?=", "a  b"},
		{"duplicate subject: the first wins", "Subject: one\r\nSubject: two", "one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Parse([]byte(tt.header + "\r\n\r\nbody\r\n"))
			wantEqual(t, "Subject", m.Subject, tt.want)
		})
	}
}

func TestParseRaw8BitSubjectUsesDeclaredCharset(t *testing.T) {
	tests := []struct {
		name    string
		subject string
		ctype   string
		want    string
	}{
		{"latin-1 text", "Gr\xfc\xdfe", "text/plain; charset=iso-8859-1", "Grüße"},
		{"no declaration falls back to Windows-1252", "Gr\xfc\x9ce", "text/plain", "Grüœe"},
		{"GBK bytes in a gb2312 mail", "\xd7\xaa\xb7\xa2", "text/plain; charset=gb2312", "转发"},
		{"Shift_JIS bytes in an ISO-2022-JP mail", "\x83c\x81[\x83\x8b", "text/html; charset=iso-2022-jp", "ツール"},
		{"valid UTF-8 is never reinterpreted", "Gr\xc3\xbc\xc3\x9fe", "text/plain; charset=iso-8859-1", "Grüße"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Parse([]byte("Subject: " + tt.subject + "\r\nContent-Type: " + tt.ctype + "\r\n\r\nbody\r\n"))
			wantEqual(t, "Subject", m.Subject, tt.want)
		})
	}
}

func TestParseAddresses(t *testing.T) {
	tests := []struct {
		name, from string
		want       Address
	}{
		{"name and address", `"Doe, Jane" <Jane.Doe@Example.COM>`, Address{Name: "Doe, Jane", Addr: "jane.doe@example.com"}},
		{"bare address", "jane@example.com", Address{Addr: "jane@example.com"}},
		{"encoded name", "=?utf-8?q?J=C3=B6rg?= <j@example.de>", Address{Name: "Jörg", Addr: "j@example.de"}},
		{"encoded word with a comma", "=?iso-8859-1?Q?B=FCrling,=20Andreas?= <a@example.de>", Address{Name: "Bürling, Andreas", Addr: "a@example.de"}},
		{"encoded word in quotes", `"=?utf-8?q?J=C3=B6rg?=" <j@example.de>`, Address{Name: "Jörg", Addr: "j@example.de"}},
		{"local part only with comment", "MAILER-DAEMON (Mail Delivery System)", Address{Name: "Mail Delivery System", Addr: "mailer-daemon"}},
		{"local part only in brackets", "Mail Delivery Subsystem <MAILER-DAEMON>", Address{Name: "Mail Delivery Subsystem", Addr: "mailer-daemon"}},
		{"empty angle address", "MAILER-DAEMON <>", Address{Name: "MAILER-DAEMON"}},
		{"spaces in the address", `"x" <power quadrant@example.com>`, Address{Name: "x", Addr: "power quadrant@example.com"}},
		{"unbalanced bracket", `"Lottery Transfer"@example.com>`, Address{Addr: `"lottery transfer"@example.com`}},
		{"quoted address only", `"jane@example.com"`, Address{Addr: "jane@example.com"}},
		{"address in a comment", "=?iso-8859-2?Q?Namedy=F1ski?= (hans@example.com)", Address{Name: "Namedyński", Addr: "hans@example.com"}},
		{"trailing dot in domain", `"C" <c@example.com.>`, Address{Name: "C", Addr: "c@example.com."}},
		{"second mailbox when the first is empty", `"A" <>, "B" <b@example.com>`, Address{Name: "B", Addr: "b@example.com"}},
		{"not an address", "[??????]", Address{Name: "[??????]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Parse([]byte("From: " + tt.from + "\r\n\r\n"))
			wantEqual(t, "From", m.From, tt.want)
		})
	}
	t.Run("duplicate From: the first with an address wins", func(t *testing.T) {
		m := Parse([]byte("From: [??????]\r\nFrom: Real <real@example.com>\r\n\r\n"))
		wantEqual(t, "From", m.From, Address{Name: "Real", Addr: "real@example.com"})
	})
	t.Run("lists drop entries without address", func(t *testing.T) {
		m := Parse([]byte("To: undisclosed-recipients:;\r\nCc: a@example.com, \"B\" <>, c@example.com\r\n\r\n"))
		wantEqual(t, "To", len(m.To), 0)
		wantEqual(t, "Cc", m.Cc, []Address{{Addr: "a@example.com"}, {Addr: "c@example.com"}})
	})
}

func TestParseMessageIDs(t *testing.T) {
	tests := []struct {
		name, header string
		id           string
		inReplyTo    []string
	}{
		{"bracketed", "Message-ID: <a@b>\r\nIn-Reply-To: <c@d>", "a@b", []string{"c@d"}},
		{"without brackets", "Message-ID: a@b\r\nIn-Reply-To: c@d", "a@b", []string{"c@d"}},
		{"comment and junk", "Message-ID: (x) <a@b> (y)\r\nIn-Reply-To: Your mail of Monday <c@d>", "a@b", []string{"c@d"}},
		{"several", "Message-ID: <a@b>\r\nIn-Reply-To: <c@d> <e@f>", "a@b", []string{"c@d", "e@f"}},
		{"folded inside", "Message-ID: <a\r\n @b>", "a@b", nil},
		{"empty In-Reply-To", "Message-ID: <a@b>\r\nIn-Reply-To: ", "a@b", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Parse([]byte(tt.header + "\r\n\r\n"))
			wantEqual(t, "MessageID", m.MessageID, tt.id)
			wantEqual(t, "InReplyTo", m.InReplyTo, tt.inReplyTo)
		})
	}
}

func TestParseDate(t *testing.T) {
	want := time.Date(2026, 3, 3, 8, 13, 58, 0, time.UTC)
	for _, v := range []string{
		"Tue, 3 Mar 2026 09:13:58 +0100",
		"Tue, 3 Mar 2026 09:13:58 +0100 (CET)",
		"3 Mar 2026 09:13:58 +0100",
		"Tue 3 Mar 2026 09:13:58 +0100",
		"Tue,  3 Mar 2026 09:13:58 +0100",
	} {
		t.Run(v, func(t *testing.T) {
			m := Parse([]byte("Date: " + v + "\r\n\r\n"))
			wantEqual(t, "Date", m.Date.UTC(), want)
			wantEqual(t, "ParseError", m.ParseError, "")
		})
	}
	m := Parse([]byte("Date: Wed, 05 Sep 2018 29:24:05 +0700\r\n\r\n"))
	if !m.Date.IsZero() {
		t.Errorf("impossible Date parsed as %v", m.Date)
	}
	wantContains(t, "ParseError", m.ParseError, "unparsable Date")
}

func TestParseBody(t *testing.T) {
	tests := []struct {
		name    string
		mail    string
		text    string
		atts    []Attachment
		problem string // part of ParseError, when one is expected
	}{
		{
			name: "plain text is preferred over HTML",
			mail: "Content-Type: multipart/alternative; boundary=x\r\n\r\n--x\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n" +
				"--x\r\nContent-Type: text/plain\r\n\r\nplain\r\n--x--\r\n",
			text: "plain",
		},
		{
			name: "empty plain alternative falls back to HTML",
			mail: "Content-Type: multipart/alternative; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\n \r\n" +
				"--x\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--x--\r\n",
			text: "html",
		},
		{
			name: "inline texts of a mixed mail are joined",
			mail: "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\nfirst\r\n--x\r\nContent-Type: text/plain\r\n\r\nsecond\r\n--x--\r\n",
			text: "first\n\nsecond",
		},
		{
			name: "signed mail shows the signed part",
			mail: "Content-Type: multipart/signed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nsigned text\r\n" +
				"--x\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--x--\r\n",
			text: "signed text",
			atts: []Attachment{{Filename: "smime.p7s", ContentType: "application/pkcs7-signature", Size: 3}},
		},
		{
			name: "text attachment is not body text",
			mail: "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nbody\r\n" +
				"--x\r\nContent-Type: text/plain\r\nContent-Disposition: attachment\r\n\r\nlog line\r\n--x--\r\n",
			text: "body",
			atts: []Attachment{{ContentType: "text/plain", Size: 8}},
		},
		{
			name: "uuencoded attachment",
			mail: "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: application/msword; name=a.txt\r\n" +
				"Content-Transfer-Encoding: x-uuencode\r\n\r\n,2&5L;&\\@6F%M;6%D\r\n`\r\n--x--\r\n",
			atts: []Attachment{{Filename: "a.txt", ContentType: "application/msword", Size: 12}},
		},
		{
			name: "whole mail is one attachment",
			mail: "Content-Type: application/pdf; name=\"x.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n",
			atts: []Attachment{{Filename: "x.pdf", ContentType: "application/pdf", Size: 5}},
		},
		{
			name: "quoted-printable soft breaks and bad escapes",
			mail: "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
				"a=C3=A4=  \r\nb =3d =ZZ =\r\nc\r\n",
			text: "aäb = =ZZ c",
		},
		{
			name:    "base64 with junk and missing padding",
			mail:    "Content-Transfer-Encoding: base64\r\n\r\naGVs\r\n bG8g\r\n*d29y!bGQ\r\n",
			text:    "hello world",
			problem: "bad base64: 2 byte(s) outside the alphabet skipped",
		},
		{
			name: "charset from an HTML meta tag",
			mail: "Content-Type: text/html\r\n\r\n<meta charset=\"windows-1251\"><p>\xd1\xe5\xf0\xe3\xe5\xe9</p>",
			text: "Сергей",
		},
		{
			name: "a longer boundary starting with ours is content",
			mail: "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nkeep\n--bb\nthis\n--b \t\n\nnext\n--b--\nepilogue\n",
			text: "keep\n--bb\nthis\n\nnext",
		},
		{
			name: "delimiter must start a line",
			mail: "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nsee x--b\r\n--b--\r\n",
			text: "see x--b",
		},
		{
			name: "part header with a lost folding indent",
			mail: "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: multipart/alternative;\r\nboundary=\"i\"\r\n\r\n" +
				"--i\r\nContent-Type: text/plain\r\n\r\nrepaired\r\n--i--\r\n--o--\r\n",
			text: "repaired",
		},
		{
			name: "part that does not start with a header is text",
			mail: "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\njust words\r\n--b--\r\n",
			text: "just words",
		},
		{
			name:    "boundary that never occurs leaves the body as text",
			mail:    "Content-Type: multipart/mixed; boundary=missing\r\n\r\njust text\r\n",
			text:    "just text",
			problem: `multipart: boundary "missing" not found`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Parse([]byte(tt.mail))
			wantEqual(t, "Text", m.Text, tt.text)
			wantEqual(t, "Attachments", m.Attachments, tt.atts)
			if tt.problem != "" {
				wantContains(t, "ParseError", m.ParseError, tt.problem)
			}
		})
	}
}

func TestParseLimitsMIMEParts(t *testing.T) {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=b\r\n\r\n")
	for range 600 {
		b.WriteString("--b\r\nContent-Type: application/octet-stream\r\n\r\nx\r\n")
	}
	b.WriteString("--b--\r\n")
	m := Parse([]byte(b.String()))
	if len(m.Attachments) != maxMIMEParts {
		t.Errorf("%d attachments, want the first %d", len(m.Attachments), maxMIMEParts)
	}
	wantContains(t, "ParseError", m.ParseError, "more than 500 MIME parts")
}

func TestDecodeCharset(t *testing.T) {
	tests := []struct {
		name, charset, in, want string
		unknown                 bool
	}{
		{"utf-8", "UTF-8", "Grüße", "Grüße", false},
		{"quoted label", `"iso-8859-1"`, "Gr\xfc\xdfe", "Grüße", false},
		{"ascii label with 8-bit bytes", "us-ascii", "Gr\xfc\xdfe", "Grüße", false},
		{"windows-1258", "windows-1258", "R\xe9clamation", "Réclamation", false},
		{"gb2312 label, GBK text", "gb2312", "\x83\xc8\x91\xaa", "內應", false},
		{"iso-2022-jp", "ISO-2022-JP", "\x1b$B%F%9%H\x1b(B", "テスト", false},
		{"iso-2022-jp-2 alias", "iso-2022-jp-2", "\x1b$B%F%9%H\x1b(B", "テスト", false},
		{"utf-7", "utf-7", "Hi +AOQA9gD8- and +- sign", "Hi äöü and + sign", false},
		{"utf-7 surrogate pair", "UTF-7", "+2D3eAA-", "😀", false},
		{"unknown, UTF-8 bytes kept", "x-martian", "café", "café", true},
		{"unknown, other bytes as Windows-1252", "x-martian", "caf\xe9", "café", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeCharset(tt.charset, []byte(tt.in))
			wantEqual(t, "text", got, tt.want)
			if (err != nil) != tt.unknown {
				t.Errorf("err = %v, want unknown=%v", err, tt.unknown)
			}
		})
	}
}

func TestHTMLToText(t *testing.T) {
	tests := []struct {
		name, html, want string
	}{
		{"paragraphs and breaks", "<p>one</p><p>two<br>three</p>", "one\n\ntwo\nthree"},
		{"whitespace collapses", "<div>  a \n\t b  </div>", "a b"},
		{"entities are decoded", "<p>&lt;tag&gt; &amp; &eacute;&nbsp;x &#8364;</p>", "<tag> & é x €"},
		{"scripts, styles and head are dropped", "<head><title>t</title><style>x{}</style></head><body><script>bad()</script>ok</body>", "ok"},
		{"link shows its URL", `<a href="https://example.com/x">the page</a>`, "the page <https://example.com/x>"},
		{"link whose text is its URL", `<a href="https://example.com/">https://example.com/</a>`, "https://example.com/"},
		{"mailto link with the address as text", `<a href="mailto:a@example.com">a@example.com</a>`, "a@example.com"},
		{"javascript link shows no URL", `<a href="javascript:x()">click</a>`, "click"},
		{"image-only link is dropped", `<a href="https://t.example/"><img src="x.png"></a>text`, "text"},
		{"lists", "<ul><li>a</li><li>b</li></ul>", "- a\n- b"},
		{"table cells", "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"},
		{"pre keeps whitespace", "<pre>a  b\n  c</pre>", "a  b\n  c"},
		{"gmail blank line", "<div>Hi</div><div><br></div><div>there</div>", "Hi\n\nthere"},
		{"outlook paragraphs", `<p class=MsoNormal>Hi<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p><p class=MsoNormal>there</p>`, "Hi\n\nthere"},
		{"many blank lines collapse", "a<br><br><br><br><br>b", "a\n\nb"},
		{"comments are dropped", "a<!-- hidden -->b", "ab"},
		{"broken markup", "<p>unclosed <b>bold <i>text", "unclosed bold text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantEqual(t, "text", htmlToText(tt.html), tt.want)
		})
	}
}

func TestHTMLToTextDeepNesting(t *testing.T) {
	html := strings.Repeat("<div>", 100000) + "deep" + strings.Repeat("</div>", 100000)
	if got := htmlToText(html); got != "deep" {
		t.Errorf("text = %.40q, want %q", got, "deep")
	}
}

func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !equalValues(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func wantContains(t *testing.T, what, got, sub string) {
	t.Helper()
	if !strings.Contains(got, sub) {
		t.Errorf("%s = %q, want it to contain %q", what, got, sub)
	}
}

// equalValues is reflect.DeepEqual that also holds a nil slice equal to
// an empty one and compares times as instants.
func equalValues(got, want any) bool {
	if g, ok := got.(time.Time); ok {
		w, ok := want.(time.Time)
		return ok && g.Equal(w)
	}
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	if gv.Kind() == reflect.Slice && wv.Kind() == reflect.Slice && gv.Len() == 0 && wv.Len() == 0 {
		return true
	}
	return reflect.DeepEqual(got, want)
}
