package mailer

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// singleLine replaces control characters, line breaks included, by spaces:
// encoded words can smuggle CR and LF into a decoded header, and a
// subject or name must never span lines where it is logged or reused in a
// reply.
func singleLine(s string) string {
	if !strings.ContainsFunc(s, isHeaderControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isHeaderControl(r) {
			return ' '
		}
		return r
	}, s)
}

func isHeaderControl(r rune) bool {
	return r < 0x20 && r != '\t' || r == 0x7f
}

// decodeText decodes an unstructured header value: raw 8-bit bytes first
// (UTF-8 if valid, else the mail's charset), then RFC 2047 encoded words.
func (p *mailParser) decodeText(v string) string {
	return decodeEncodedWords(p.decode8bit(v), p.decodeWordBytes)
}

// decodeWordBytes converts the bytes of encoded words to UTF-8.
func (p *mailParser) decodeWordBytes(cs string, b []byte) string {
	s, err := decodeCharset(cs, b)
	if err != nil {
		p.problem("header: %v", err)
	}
	return s
}

// decode8bit turns raw 8-bit header bytes into UTF-8. Valid UTF-8 is
// taken as is. Otherwise the charsets the mail declares anywhere (parts,
// embedded messages, HTML meta tags) are the best guesses: multi-byte ones
// first, because their decoders reject bytes that do not fit, then
// single-byte ones, then Windows-1252, which maps every byte. For the
// 7-bit ISO-2022 family, whose text cannot hold 8-bit bytes, the matching
// 8-bit encodings are tried (Japanese mailers put Shift_JIS in headers of
// ISO-2022-JP mail).
func (p *mailParser) decode8bit(v string) string {
	if utf8.ValidString(v) {
		return v
	}
	if p.headerCharsets == nil {
		p.headerCharsets = headerCharsetGuesses(p.buf)
	}
	for _, cs := range p.headerCharsets {
		if s, err := decodeCharset(cs, []byte(v)); err == nil && !strings.ContainsRune(s, utf8.RuneError) {
			return s
		}
	}
	return decodeWindows1252([]byte(v))
}

// headerCharsetGuesses lists the charsets to try, in order, for raw 8-bit
// header text of the mail b; see decode8bit.
func headerCharsetGuesses(b []byte) []string {
	var multi, single []string
	seen := map[string]bool{}
	for _, name := range declaredCharsets(b, 64) {
		if seen[name] || isUTF8Label(name) || isASCIILabel(name) {
			continue
		}
		seen[name] = true
		switch {
		case strings.HasPrefix(name, "iso-2022-jp"):
			multi = append(multi, "shift_jis", "euc-jp")
		case strings.HasPrefix(name, "iso-2022-kr"):
			multi = append(multi, "euc-kr")
		case strings.HasPrefix(name, "iso-2022-cn"), name == "hz-gb-2312":
			multi = append(multi, "gbk")
		case multiByteCharsets[name]:
			multi = append(multi, name)
		default:
			single = append(single, name)
		}
	}
	return append(append(multi, single...), "windows-1252")
}

// declaredCharsets returns up to limit charset names declared in b as
// "charset=NAME" (MIME parameters, HTML meta tags), in order, normalized.
// A hand-written scan: a case-insensitive regexp is slow on large mail.
func declaredCharsets(b []byte, limit int) []string {
	var out []string
	for len(out) < limit {
		i := bytes.IndexAny(b, "cC")
		if i < 0 {
			break
		}
		b = b[i+1:]
		if len(b) < 6 || !bytes.EqualFold(b[:6], []byte("harset")) {
			continue
		}
		rest := bytes.TrimLeft(b[6:], " \t")
		if len(rest) == 0 || rest[0] != '=' {
			continue
		}
		rest = bytes.TrimLeft(rest[1:], " \t\"'")
		n := 0
		for n < len(rest) && n < 64 && isCharsetNameByte(rest[n]) {
			n++
		}
		if n > 0 {
			out = append(out, normalizeCharsetName(string(rest[:n])))
		}
	}
	return out
}

func isCharsetNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._:-", c) >= 0
}

// multiByteCharsets are the 8-bit CJK encodings seen in mail.
var multiByteCharsets = map[string]bool{
	"gbk": true, "gb2312": true, "gb18030": true, "x-gbk": true, "cp936": true,
	"big5": true, "big5-hkscs": true, "x-big5": true, "cp950": true,
	"shift_jis": true, "shift-jis": true, "sjis": true, "x-sjis": true, "cp932": true, "windows-31j": true,
	"euc-jp": true, "x-euc-jp": true, "euc-kr": true, "ks_c_5601-1987": true, "cp949": true, "euc-tw": true,
}

// decodeEncodedWords decodes the RFC 2047 encoded words in s. It is more
// lenient than mime.WordDecoder, as mail in the wild requires: unknown
// charsets do not fail the whole value, whitespace inside a word is kept,
// and the bytes of adjacent words in one charset are joined before
// conversion, because mailers split multi-byte characters across words.
// Whitespace between adjacent encoded words is dropped.
func decodeEncodedWords(s string, conv func(charset string, b []byte) string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	var b strings.Builder
	var pendCS string
	var pend []byte
	havePend, prevWord := false, false
	flush := func() {
		if havePend {
			b.WriteString(conv(pendCS, pend))
			pend, havePend = pend[:0], false
		}
	}
	for len(s) > 0 {
		j := strings.Index(s, "=?")
		if j < 0 {
			flush()
			b.WriteString(s)
			break
		}
		cs, data, n, ok := parseEncodedWord(s[j:])
		if !ok {
			flush()
			b.WriteString(s[:j+2])
			s, prevWord = s[j+2:], false
			continue
		}
		if lit := s[:j]; !prevWord || strings.Trim(lit, " \t\r\n") != "" {
			flush()
			b.WriteString(lit)
		}
		if havePend && !strings.EqualFold(pendCS, cs) {
			flush()
		}
		pendCS, havePend = cs, true
		pend = append(pend, data...)
		s, prevWord = s[j+n:], true
	}
	flush()
	return b.String()
}

// parseEncodedWord reads "=?charset?enc?text?=" at the start of s and
// returns the charset, the decoded bytes and the length of the word.
func parseEncodedWord(s string) (charset string, data []byte, n int, ok bool) {
	rest := s[2:]
	q := strings.IndexByte(rest, '?')
	if q <= 0 || q > 64 || len(rest) < q+3 || rest[q+2] != '?' {
		return "", nil, 0, false
	}
	charset, enc := rest[:q], rest[q+1]
	if strings.ContainsAny(charset, " \t\r\n=") {
		return "", nil, 0, false
	}
	if i := strings.IndexByte(charset, '*'); i >= 0 { // RFC 2231 language
		charset = charset[:i]
	}
	text := rest[q+3:]
	end := strings.IndexByte(text, '?')
	if end < 0 || end+1 >= len(text) || text[end+1] != '=' {
		return "", nil, 0, false
	}
	text = text[:end]
	switch enc {
	case 'B', 'b':
		data, _ = decodeBase64Lenient([]byte(text))
	case 'Q', 'q':
		data = decodeQEncoding(text)
	default:
		return "", nil, 0, false
	}
	return charset, data, 2 + q + 3 + end + 2, true
}

// decodeQEncoding decodes the Q encoding of RFC 2047 ("_" is a space).
// Invalid escapes are kept literally.
func decodeQEncoding(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '_':
			out = append(out, ' ')
		case c == '=' && i+2 < len(s) && isHexDigit(s[i+1]) && isHexDigit(s[i+2]):
			out = append(out, hexDigitValue(s[i+1])<<4|hexDigitValue(s[i+2]))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return out
}
