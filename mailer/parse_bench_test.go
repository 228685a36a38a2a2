package mailer

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkParse measures Parse on a typical customer mail (about 5 KB,
// plain text and HTML alternatives) and on a mail with a 1 MB attachment;
// SetBytes makes the output report MB/s.
func BenchmarkParse(b *testing.B) {
	for _, bench := range []struct {
		name string
		raw  []byte
	}{
		{"typical-5KB", benchTypicalMail()},
		{"attachment-1MB", benchAttachmentMail(1 << 20)},
	} {
		b.Run(bench.name, func(b *testing.B) {
			b.SetBytes(int64(len(bench.raw)))
			b.ReportAllocs()
			for b.Loop() {
				if m := Parse(bench.raw); m.ParseError != "" {
					b.Fatal(m.ParseError)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

const benchHeader = "Return-Path: <kari@example.no>\r\n" +
	"Received: from mail.example.no (mail.example.no [192.0.2.10])\r\n\tby mx.helpdesk.example with ESMTPS; Tue, 3 Mar 2026 09:14:02 +0100\r\n" +
	"Authentication-Results: mx.helpdesk.example; dkim=pass header.d=example.no; spf=pass smtp.mailfrom=example.no\r\n" +
	"From: =?utf-8?q?Kari_Nordmann?= <kari@example.no>\r\n" +
	"To: Support <support@helpdesk.example>\r\n" +
	"Subject: =?utf-8?q?SV:_Skriveren_p=C3=A5_3._etasje?= [#HD-000042]\r\n" +
	"Date: Tue, 3 Mar 2026 09:13:58 +0100\r\n" +
	"Message-ID: <bench.1@mail.example.no>\r\n" +
	"In-Reply-To: <ack-000042@helpdesk.example>\r\n" +
	"References: <first.1@mail.example.no> <ack-000042@helpdesk.example>\r\n" +
	"MIME-Version: 1.0\r\n"

// benchTypicalMail is a reply with plain text and HTML alternatives,
// quoted text and a signature, about 5 KB.
func benchTypicalMail() []byte {
	var plain, html strings.Builder
	for i := range 18 {
		line := fmt.Sprintf("Line %d: the printer on the third floor still jams after the update; blåbær. ", i)
		plain.WriteString(line + "\r\n")
		html.WriteString("<p class=MsoNormal>" + strings.ReplaceAll(line, "å", "&aring;") + "<a href=\"https://example.no/k/" + fmt.Sprint(i) + "\">link</a></p>\r\n")
	}
	return []byte(benchHeader +
		"Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n" +
		"--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + plain.String() +
		"--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>" + html.String() + "</body></html>\r\n" +
		"--alt--\r\n")
}

// benchAttachmentMail is a short note with one attachment of size bytes,
// base64 encoded in 76-character lines.
func benchAttachmentMail(size int) []byte {
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i>>8)
	}
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	b.WriteString(benchHeader + "Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n" +
		"--mix\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe log file is attached.\r\n" +
		"--mix\r\nContent-Type: application/octet-stream; name=\"trace.bin\"\r\n" +
		"Content-Disposition: attachment; filename=\"trace.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--mix--\r\n")
	return []byte(b.String())
}

func TestBenchmarkMailsParseAsIntended(t *testing.T) {
	typical := Parse(benchTypicalMail())
	if n := len(typical.Raw); n < 4500 || n > 6000 {
		t.Errorf("typical mail is %d bytes, want about 5 KB", n)
	}
	if !strings.HasPrefix(typical.Text, "Line 0: the printer") || typical.Subject != "SV: Skriveren på 3. etasje [#HD-000042]" {
		t.Errorf("typical mail: Subject %q, Text %.40q", typical.Subject, typical.Text)
	}
	big := Parse(benchAttachmentMail(1 << 20))
	if len(big.Attachments) != 1 || big.Attachments[0].Size != 1<<20 {
		t.Errorf("attachment mail: %+v", big.Attachments)
	}
}
