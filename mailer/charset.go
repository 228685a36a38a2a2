package mailer

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding/charmap"
)

// decodeCharset converts b from the named charset to UTF-8 with the
// decoders of go-message's charset package (golang.org/x/text), plus
// UTF-7, which they lack. An unknown charset returns an error and b read
// as UTF-8 when valid, else as Windows-1252, so the text is never lost.
func decodeCharset(cs string, b []byte) (string, error) {
	name := normalizeCharsetName(cs)
	switch {
	case name == "" || isASCIILabel(name):
		if utf8.Valid(b) {
			return string(b), nil
		}
		return decodeWindows1252(b), nil
	case isUTF8Label(name):
		if utf8.Valid(b) {
			return string(b), nil
		}
		return strings.ToValidUTF8(string(b), "\uFFFD"), nil
	case isUTF7Label(name):
		return decodeUTF7(b), nil
	}
	for _, n := range charsetCandidates(name) {
		r, err := charset.Reader(n, bytes.NewReader(b))
		if err != nil {
			continue
		}
		if out, err := io.ReadAll(r); err == nil {
			return strings.ToValidUTF8(string(out), "\uFFFD"), nil
		}
	}
	fallback := string(b)
	if !utf8.Valid(b) {
		fallback = decodeWindows1252(b)
	}
	return fallback, fmt.Errorf("unknown charset %q", cs)
}

// charsetReaderFunc lets net/mail's encoded-word decoder use decodeCharset.
func charsetReaderFunc(cs string, input io.Reader) (io.Reader, error) {
	b, err := io.ReadAll(input)
	if err != nil {
		return nil, err
	}
	s, err := decodeCharset(cs, b)
	if err != nil {
		return nil, err
	}
	return strings.NewReader(s), nil
}

// charsetAliases maps labels seen in mail that x/text does not know to
// the charset meant (or its superset).
var charsetAliases = map[string]string{
	"iso-2022-jp-1":  "iso-2022-jp",
	"iso-2022-jp-2":  "iso-2022-jp",
	"iso-2022-jp-3":  "iso-2022-jp",
	"iso-2022-jp-ms": "iso-2022-jp",
	"cp932":          "shift_jis",
	"windows-31j":    "shift_jis",
	"sjis":           "shift_jis",
	"x-sjis":         "shift_jis",
	"gb2312":         "gbk", // GB2312 mail routinely carries GBK characters
	"x-gbk":          "gbk",
	"cp936":          "gbk",
	"cp949":          "euc-kr",
	"ks_c_5601":      "euc-kr",
	"x-euc-jp":       "euc-jp",
	"x-mac-roman":    "macintosh",
	"latin-1":        "iso-8859-1",
	"iso-gb2312":     "gbk",
}

// charsetCandidates lists the labels to try for name, most specific first.
func charsetCandidates(name string) []string {
	out := []string{name}
	if a, ok := charsetAliases[name]; ok {
		out = []string{a, name}
	}
	trimmed := strings.TrimPrefix(name, "x-")
	for _, n := range []string{trimmed, strings.ReplaceAll(trimmed, "-", ""), strings.ReplaceAll(trimmed, "_", "-")} {
		if n != name {
			out = append(out, n)
		}
	}
	return out
}

func normalizeCharsetName(cs string) string {
	return strings.ToLower(strings.Trim(cs, " \t\"';"))
}

func isASCIILabel(name string) bool {
	switch name {
	case "us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", "us", "csascii", "iso-ir-6", "cp367", "ibm367", "7bit", "default":
		return true
	}
	return false
}

func isUTF8Label(name string) bool {
	switch name {
	case "utf-8", "utf8", "x-utf-8", "unicode-1-1-utf-8", "x-utf_8j":
		return true
	}
	return false
}

func isUTF7Label(name string) bool {
	switch name {
	case "utf-7", "utf7", "x-utf-7", "unicode-1-1-utf-7", "csunicode11utf7":
		return true
	}
	return false
}

// decodeWindows1252 reads bytes as Windows-1252, the superset of
// ISO-8859-1 that mail mislabelled as ASCII almost always is.
func decodeWindows1252(b []byte) string {
	out, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(out)
}

// decodeUTF7 decodes UTF-7 (RFC 2152): "+" starts modified base64 of
// UTF-16, ended by "-" or any byte outside the alphabet; "+-" is "+".
func decodeUTF7(b []byte) string {
	var sb strings.Builder
	for i := 0; i < len(b); {
		c := b[i]
		if c != '+' {
			if c >= utf8.RuneSelf {
				sb.WriteRune(utf8.RuneError)
			} else {
				sb.WriteByte(c)
			}
			i++
			continue
		}
		i++
		if i < len(b) && b[i] == '-' {
			sb.WriteByte('+')
			i++
			continue
		}
		var units []uint16
		var acc uint32
		bits := 0
		for ; i < len(b) && base64Values[b[i]] != 0xff; i++ {
			acc = acc<<6 | uint32(base64Values[b[i]])
			bits += 6
			if bits >= 16 {
				bits -= 16
				units = append(units, uint16(acc>>bits))
				acc &= 1<<bits - 1
			}
		}
		sb.WriteString(string(utf16.Decode(units)))
		if i < len(b) && b[i] == '-' {
			i++
		}
	}
	return sb.String()
}
