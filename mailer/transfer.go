package mailer

import (
	"bytes"
	"strings"

	"github.com/emersion/go-message/textproto"
)

// decodedSize is the length transferDecode would return, computed
// without decoding base64, the usual encoding of large attachments.
func (p *mailParser) decodedSize(h textproto.Header, body []byte) int {
	if transferEncoding(h) != "base64" {
		return len(p.transferDecode(h, body))
	}
	n, junk := 0, 0
	for _, c := range body {
		if base64Values[c] != 0xff {
			n++
		} else if !isBase64Filler(c) {
			junk++
		}
	}
	if junk > 0 {
		p.problem("bad base64: %d byte(s) outside the alphabet skipped", junk)
	}
	if n%4 == 1 { // a lone trailing sextet carries no byte
		n--
	}
	return n * 3 / 4
}

// transferEncoding returns the normalized Content-Transfer-Encoding.
func transferEncoding(h textproto.Header) string {
	cte, _ := stripHeaderComments(h.Get("Content-Transfer-Encoding"))
	return strings.ToLower(strings.Trim(strings.TrimSpace(cte), `"`))
}

// transferDecode undoes the Content-Transfer-Encoding of a leaf body.
// The decoders are lenient: bad bytes are skipped, not fatal.
func (p *mailParser) transferDecode(h textproto.Header, body []byte) []byte {
	switch cte := transferEncoding(h); cte {
	case "", "7bit", "8bit", "binary", "7-bit", "8-bit":
		return body
	case "base64":
		out, junk := decodeBase64Lenient(body)
		if junk > 0 {
			p.problem("bad base64: %d byte(s) outside the alphabet skipped", junk)
		}
		return out
	case "quoted-printable":
		return decodeQuotedPrintable(body)
	case "x-uuencode", "uuencode", "x-uue", "uue":
		return decodeUU(body)
	default:
		p.problem("unknown transfer encoding %q", cte)
		return body
	}
}

// decodeBase64Lenient decodes base64 ignoring line breaks, whitespace,
// padding and any byte outside the alphabet; junk counts the bytes of the
// last kind. A trailing lone sextet, which carries no whole byte, is
// dropped.
func decodeBase64Lenient(b []byte) (out []byte, junk int) {
	clean := make([]byte, 0, len(b))
	for _, c := range b {
		if base64Values[c] != 0xff {
			clean = append(clean, c)
		} else if !isBase64Filler(c) {
			junk++
		}
	}
	if len(clean)%4 == 1 {
		clean = clean[:len(clean)-1]
	}
	out = make([]byte, len(clean)*3/4)
	var acc uint32
	n, o := 0, 0
	for _, c := range clean {
		acc = acc<<6 | uint32(base64Values[c])
		n++
		if n == 4 {
			out[o], out[o+1], out[o+2] = byte(acc>>16), byte(acc>>8), byte(acc)
			o, n, acc = o+3, 0, 0
		}
	}
	switch n {
	case 2:
		out[o] = byte(acc >> 4)
		o++
	case 3:
		out[o], out[o+1] = byte(acc>>10), byte(acc>>2)
		o += 2
	}
	return out[:o], junk
}

// isBase64Filler reports the bytes base64 text legitimately holds besides
// its alphabet: padding and line breaks.
func isBase64Filler(c byte) bool {
	return c == '=' || c == '\r' || c == '\n' || c == ' ' || c == '\t'
}

// base64Values maps a byte to its base64 value, 0xff when not in the
// standard alphabet.
var base64Values = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// decodeQuotedPrintable decodes quoted-printable (RFC 2045, section 6.7)
// leniently: soft line breaks with trailing whitespace, lower-case hex and
// control bytes are accepted; an '=' not followed by hex is kept.
func decodeQuotedPrintable(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		line, rest, hasNL := bytes.Cut(b, []byte{'\n'})
		b = rest
		eol := ""
		if hasNL {
			eol = "\n"
			if bytes.HasSuffix(line, []byte{'\r'}) {
				eol = "\r\n"
			}
		}
		line = bytes.TrimRight(line, " \t\r")
		soft := bytes.HasSuffix(line, []byte{'='})
		if soft {
			line = line[:len(line)-1]
		}
		for i := 0; i < len(line); i++ {
			if c := line[i]; c == '=' && i+2 < len(line) && isHexDigit(line[i+1]) && isHexDigit(line[i+2]) {
				out = append(out, hexDigitValue(line[i+1])<<4|hexDigitValue(line[i+2]))
				i += 2
			} else {
				out = append(out, c)
			}
		}
		if !soft {
			out = append(out, eol...)
		}
	}
	return out
}

// decodeUU decodes uuencoded data (Content-Transfer-Encoding:
// x-uuencode): the lines between "begin" and "end", or all lines when
// there is no begin line.
func decodeUU(b []byte) []byte {
	var out []byte
	inside := !bytes.Contains(b, []byte("begin "))
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		line = bytes.TrimRight(line, "\r")
		switch {
		case !inside:
			inside = bytes.HasPrefix(line, []byte("begin "))
			continue
		case bytes.Equal(bytes.TrimSpace(line), []byte("end")):
			return out
		case len(line) == 0:
			continue
		}
		n := int((line[0] - ' ') & 63)
		var group [4]byte
		for i, g := 1, 0; i < len(line) && n > 0; i++ {
			group[g] = (line[i] - ' ') & 63
			g++
			if g == 4 || i == len(line)-1 {
				dec := [3]byte{group[0]<<2 | group[1]>>4, group[1]<<4 | group[2]>>2, group[2]<<6 | group[3]}
				take := min(n, 3)
				out = append(out, dec[:take]...)
				n -= take
				g, group = 0, [4]byte{}
			}
		}
	}
	return out
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexDigitValue(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
