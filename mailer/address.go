package mailer

import (
	"mime"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// addressField parses every field named key into one list, leaving out
// entries without an address.
func (p *mailParser) addressField(key string) []Address {
	var out []Address
	for fs := p.hdr.FieldsByKey(key); fs.Next(); {
		for _, a := range p.addressList(fs.Value()) {
			if a.Addr != "" {
				out = append(out, a)
			}
		}
	}
	return out
}

// addressList parses an address list with the standard parser and, when
// that refuses it, with a lenient one that takes what a human would read
// as the address. Entries without a usable address keep their name and an
// empty Addr.
func (p *mailParser) addressList(v string) []Address {
	v = strings.TrimSpace(p.decode8bit(v))
	if v == "" {
		return nil
	}
	parser := mail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: charsetReaderFunc}}
	if list, err := parser.ParseList(v); err == nil {
		out := make([]Address, 0, len(list))
		for _, a := range list {
			// Encoded words inside quotes are not RFC 2047 but common;
			// net/mail leaves them alone.
			name := singleLine(strings.TrimSpace(p.decodeText(a.Name)))
			out = append(out, Address{Name: name, Addr: strings.ToLower(a.Address)})
		}
		return out
	}
	var out []Address
	for _, item := range splitHeaderList(v, ',') {
		if a, ok := p.lenientAddress(item); ok {
			out = append(out, a)
		}
	}
	return out
}

// lenientAddress reads one mailbox that the RFC 5322 parser refused:
// "Name <addr>" takes what is inside the angle brackets (or after an
// unclosed one), anything else is taken whole as the address with
// comments and stray brackets removed. An address must contain '@' or be
// a bare local part such as MAILER-DAEMON; otherwise only the name is kept.
func (p *mailParser) lenientAddress(s string) (Address, bool) {
	s, comment := stripHeaderComments(s)
	s = strings.TrimSpace(s)
	// A group ("undisclosed-recipients:;") lists its members after ':'.
	if i := indexHeaderList(s, ':'); i >= 0 && !strings.ContainsAny(s[:i], "<@\"") {
		s = strings.TrimSuffix(strings.TrimSpace(s[i+1:]), ";")
	}
	var name, addr string
	if i := indexHeaderList(s, '<'); i >= 0 {
		name = s[:i]
		addr = s[i+1:]
		if j := strings.IndexByte(addr, '>'); j >= 0 {
			addr = addr[:j]
		}
	} else {
		addr = mimeUnquote(strings.NewReplacer("<", "", ">", "").Replace(s))
	}
	name = strings.TrimSpace(mimeUnquote(strings.TrimSpace(name)))
	if !strings.Contains(addr, "@") && strings.Contains(comment, "@") {
		// "Name (user@example.com)": the address hides in the comment.
		name, addr = strings.TrimSpace(addr), strings.Trim(comment, " <>")
	} else if name == "" {
		name = strings.TrimSpace(comment)
	}
	name = p.decodeText(name)
	addr = strings.ToLower(strings.TrimSpace(addr))
	if !strings.Contains(addr, "@") && (!isMailDotAtom(addr) || strings.HasPrefix(addr, "=?")) {
		if name == "" {
			name = strings.TrimSpace(s)
		}
		addr = ""
	}
	if name == "" && addr == "" {
		return Address{}, false
	}
	return Address{Name: singleLine(name), Addr: addr}, true
}

// isMailDotAtom reports whether s is an RFC 5322 dot-atom: a bare local part
// such as "mailer-daemon" is one, "[??????]" is not.
func isMailDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r >= utf8.RuneSelf:
		case strings.ContainsRune("!#$%&'*+-/=?^_`{|}~.", r):
		default:
			return false
		}
	}
	return true
}
