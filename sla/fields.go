package sla

import (
	"strings"
	"unicode"
)

// MissingFields returns the fields of required that text does not fill in,
// in the order given. A field is present when some line reads "Field name:
// value" with a non-empty value. Matching is forgiving about how people
// write forms: case, spacing, hyphens and "+" in the name ("End-Customer
// name", "HostID"), a parenthesised remark after it ("Host ID (from
// license)"), list bullets, quote marks and markdown bold before it, and
// ":", "：", "=" or a spaced " - " as the separator. A value of only
// punctuation ("-", "?", "<>") does not count.
func MissingFields(required []string, text string) []string {
	if len(required) == 0 {
		return nil
	}
	want := make([]string, len(required))
	found := make([]bool, len(required))
	for i, f := range required {
		want[i] = fieldKey(trimLabelPrefix(f))
	}
	left := len(required)
	for line := range strings.Lines(text) {
		label, ok := filledLabel(line)
		if !ok {
			continue
		}
		key := fieldKey(label)
		for i := range want {
			if !found[i] && want[i] == key && key != "" {
				found[i] = true
				left--
			}
		}
		if left == 0 {
			return nil
		}
	}
	var missing []string
	for i, f := range required {
		if !found[i] {
			missing = append(missing, f)
		}
	}
	return missing
}

// filledLabel returns the label of a "label: value" line whose value is
// not empty.
func filledLabel(line string) (string, bool) {
	s := trimLabelPrefix(line)
	sepAt, sepLen := -1, 0
	for _, sep := range []string{":", "：", "="} {
		if i := strings.Index(s, sep); i > 0 && (sepAt < 0 || i < sepAt) {
			sepAt, sepLen = i, len(sep)
		}
	}
	if sepAt < 0 {
		for _, sep := range []string{" - ", " – ", " — ", "\t"} {
			if i := strings.Index(s, sep); i > 0 && (sepAt < 0 || i < sepAt) {
				sepAt, sepLen = i, len(sep)
			}
		}
	}
	if sepAt < 0 {
		return "", false
	}
	value := s[sepAt+sepLen:]
	if !strings.ContainsFunc(value, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
		return "", false
	}
	return s[:sepAt], true
}

// trimLabelPrefix removes what may precede a label on a line: spaces,
// quote marks, bullets, markdown emphasis and list numbering.
func trimLabelPrefix(s string) string {
	s = strings.TrimLeftFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(">*-•·#_", r)
	})
	return strings.TrimLeftFunc(stripNumbering(s), unicode.IsSpace)
}

// stripNumbering removes "1." or "2)" list numbering.
func stripNumbering(s string) string {
	i := 0
	for i < len(s) && i < 3 && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i > 0 && i < len(s) && (s[i] == '.' || s[i] == ')') {
		return s[i+1:]
	}
	return s
}

// fieldKey reduces a field name to its lower-case letters and digits,
// leaving out parenthesised remarks: "End-Customer Name (company)" and
// "endcustomername" have the same key.
func fieldKey(s string) string {
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(' || r == '[':
			depth++
		case (r == ')' || r == ']') && depth > 0:
			depth--
		case depth == 0 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}
