package ticket

import (
	"strings"

	"github.com/helpdeskd/helpdeskd/mailer"
)

// Engineer is one member of the support team.
type Engineer struct {
	Name string
	Addr string // lower-case
}

// authVerdict reads the topmost Authentication-Results header — the one our
// own MTA added; anything below it came with the mail and proves nothing —
// and reports whether it is from authservID and says the From domain is
// authentic: dmarc=pass, or dkim=pass with a signing domain aligned to the
// From domain (equal, or a parent of it: relaxed alignment).
func authVerdict(m *mailer.Message, authservID string) (ok bool, why string) {
	if len(m.AuthResults) == 0 {
		return false, "no Authentication-Results header"
	}
	top := m.AuthResults[0]
	parts := splitResinfo(top)
	if len(parts) == 0 {
		return false, "empty Authentication-Results header"
	}
	id := strings.Fields(parts[0])
	if len(id) == 0 || !strings.EqualFold(id[0], authservID) {
		return false, "topmost Authentication-Results is not from " + authservID
	}
	from := domainOf(m.From.Addr)
	for _, p := range parts[1:] {
		method, result, props := resinfo(p)
		switch {
		case method == "dmarc" && result == "pass":
			if hf := props["header.from"]; hf == "" || strings.EqualFold(hf, from) {
				return true, "dmarc=pass"
			}
		case method == "dkim" && result == "pass":
			d := strings.ToLower(props["header.d"])
			if d != "" && (d == from || strings.HasSuffix(from, "."+d)) {
				return true, "dkim=pass header.d=" + d
			}
		}
	}
	return false, "no aligned dkim=pass or dmarc=pass"
}

// splitResinfo splits an Authentication-Results value at the semicolons
// that separate results, ignoring RFC 5322 comments and quoted strings.
func splitResinfo(v string) []string {
	var out []string
	var b strings.Builder
	depth, quoted := 0, false
	for _, r := range v {
		switch {
		case quoted:
			if r == '"' {
				quoted = false
			}
		case r == '"':
			quoted = true
		case r == '(':
			depth++
			continue
		case r == ')' && depth > 0:
			depth--
			continue
		case depth > 0:
			continue
		case r == ';':
			out = append(out, strings.TrimSpace(b.String()))
			b.Reset()
			continue
		}
		if depth == 0 {
			b.WriteRune(r)
		}
	}
	if s := strings.TrimSpace(b.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// resinfo reads "dkim=pass header.d=example.com header.s=sel".
func resinfo(s string) (method, result string, props map[string]string) {
	props = map[string]string{}
	for i, f := range strings.Fields(s) {
		k, v, _ := strings.Cut(f, "=")
		k = strings.ToLower(k)
		v = strings.Trim(v, `"`)
		if i == 0 {
			method, result = k, strings.ToLower(v)
			continue
		}
		props[k] = strings.ToLower(v)
	}
	return method, result, props
}
