package store

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The hand-written JSON codecs of the records the scheduler reads and
// writes for every deadline (tickets, history entries, outbox envelopes)
// share these pieces. Each writes exactly the bytes json.Marshal writes,
// and each reader takes a fast path for JSON as json.Marshal writes it
// and gives up (returns false) on anything else, leaving the decision to
// json.Unmarshal: see ticketjson.go.

// typeLayout describes the fields of struct type t and of the structs in
// them, one line each: what the codec depends on. Methods are not
// described: ticket.Ticket's types have no JSON methods but time.Time's.
func typeLayout(t reflect.Type) string {
	var b strings.Builder
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			ft := f.Type
			kind := ft.Kind().String()
			elem := ft
			switch {
			case ft == reflect.TypeFor[time.Time]():
				kind = "time.Time"
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Pointer:
				elem = ft.Elem().Elem()
				kind = "[]*" + elem.Name()
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				elem = ft.Elem()
				kind = "[]" + elem.Name()
			case ft.Kind() == reflect.Slice:
				kind = "[]" + ft.Elem().Kind().String()
			case ft.Kind() == reflect.Pointer:
				elem = ft.Elem()
				kind = "*" + elem.Name()
			}
			fmt.Fprintf(&b, "%s.%s %s %s\n", t.Name(), f.Name, kind, f.Tag)
			if elem.Kind() == reflect.Struct && elem != reflect.TypeFor[time.Time]() {
				walk(elem)
			}
		}
	}
	walk(t)
	return b.String()
}

// appendKey writes the comma before a field and its key.
func appendKey(b []byte, key string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

func appendOptString(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendString(appendKey(b, key), s)
}

// appendTime writes t as time.Time's MarshalJSON does; *ok becomes false
// where that fails (a year outside 0–9999), and json.Marshal then reports
// the error.
func appendTime(b []byte, t time.Time, ok *bool) []byte {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		*ok = false
	}
	return append(b, '"')
}

func appendOptTime(b []byte, key string, t time.Time, ok *bool) []byte {
	if t.IsZero() {
		return b
	}
	return appendTime(appendKey(b, key), t, ok)
}

func appendStrings(b []byte, list []string) []byte {
	if list == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// appendString is encoding/json's appendString with HTML escaping, as
// json.Marshal writes strings.
func appendString(dst []byte, src string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(src); {
		if b := src[i]; b < utf8.RuneSelf {
			if b >= ' ' && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, src[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(src[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, src[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, src[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, src[start:]...)
	return append(dst, '"')
}

// Reading. Each method returns false where the fast path gives up; the
// caller then hands the whole ticket to json.Unmarshal.

type jsonReader struct {
	b []byte
	i int
}

func (r *jsonReader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// next skips white space and returns the next byte (0 at the end).
func (r *jsonReader) next() byte {
	r.ws()
	if r.i < len(r.b) {
		return r.b[r.i]
	}
	return 0
}

func (r *jsonReader) eat(c byte) bool {
	if r.next() == c {
		r.i++
		return true
	}
	return false
}

// null consumes a null literal if one comes next.
func (r *jsonReader) null() bool {
	if r.next() == 'n' && bytes.HasPrefix(r.b[r.i:], []byte("null")) {
		r.i += 4
		return true
	}
	return false
}

// end reports whether only white space is left.
func (r *jsonReader) end() bool {
	r.ws()
	return r.i == len(r.b)
}

// object reads an object, calling member for each key with the reader
// at its value; bit gives each key's place in seen, so that a repeated
// key (json.Unmarshal lets the last one win, even a null) gives up.
func (r *jsonReader) object(member func(key []byte) (bit uint64, ok bool)) bool {
	if !r.eat('{') {
		return false
	}
	if r.eat('}') {
		return true
	}
	var seen uint64
	for {
		key, ok := r.key()
		if !ok || !r.eat(':') {
			return false
		}
		bit, ok := member(key)
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
		if r.eat('}') {
			return true
		}
		if !r.eat(',') {
			return false
		}
	}
}

// key reads an object key without escapes. It shares the input's bytes.
func (r *jsonReader) key() ([]byte, bool) {
	if r.next() != '"' {
		return nil, false
	}
	start := r.i + 1
	for j := start; j < len(r.b); j++ {
		switch c := r.b[j]; {
		case c == '"':
			r.i = j + 1
			return r.b[start:j], true
		case c == '\\' || c < ' ':
			return nil, false
		}
	}
	return nil, false
}

// str reads a string value. A null leaves it empty, as json.Unmarshal
// leaves a field it is given null for.
func (r *jsonReader) str(dst *string) bool {
	if r.null() {
		return true
	}
	if r.next() != '"' {
		return false
	}
	start := r.i + 1
	j := start
	plain := true
	for ; j < len(r.b); j++ {
		c := r.b[j]
		if c == '"' {
			break
		}
		if c == '\\' {
			plain = false
			j++ // the escaped byte; checked below
			continue
		}
		if c < ' ' {
			return false
		}
		if c >= utf8.RuneSelf {
			plain = false
		}
	}
	if j >= len(r.b) {
		return false
	}
	raw := r.b[start:j]
	r.i = j + 1
	if plain {
		*dst = string(raw)
		return true
	}
	s, ok := unescape(raw)
	*dst = s
	return ok
}

// unescape decodes the body of a JSON string. It gives up on invalid
// UTF-8 and on surrogate escapes, which json.Unmarshal replaces.
func unescape(raw []byte) (string, bool) {
	var b strings.Builder
	b.Grow(len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\':
			if i+1 >= len(raw) {
				return "", false
			}
			switch e := raw[i+1]; e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				if i+6 > len(raw) {
					return "", false
				}
				v, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 16)
				if err != nil || strings.ContainsAny(string(raw[i+2:i+6]), "+-_") || (v >= 0xD800 && v < 0xE000) {
					return "", false
				}
				b.WriteRune(rune(v))
				i += 6
				continue
			default:
				return "", false
			}
			i += 2
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			i++
		default:
			rn, size := utf8.DecodeRune(raw[i:])
			if rn == utf8.RuneError && size == 1 {
				return "", false
			}
			b.Write(raw[i : i+size])
			i += size
		}
	}
	return b.String(), true
}

// integer reads a plain integer literal: what json.Marshal writes for Go
// integers. Fractions and exponents give up (json.Unmarshal refuses them
// for integer fields).
func (r *jsonReader) integer() (neg bool, digits []byte, ok bool) {
	r.ws()
	if r.i < len(r.b) && r.b[r.i] == '-' {
		neg = true
		r.i++
	}
	d := r.i
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		r.i++
	}
	digits = r.b[d:r.i]
	switch {
	case len(digits) == 0, len(digits) > 1 && digits[0] == '0':
		return false, nil, false
	case r.i < len(r.b) && (r.b[r.i] == '.' || r.b[r.i] == 'e' || r.b[r.i] == 'E'):
		return false, nil, false
	}
	return neg, digits, true
}

func (r *jsonReader) int64(dst *int64, max int64) bool {
	if r.null() {
		return true
	}
	neg, digits, ok := r.integer()
	if !ok {
		return false
	}
	var v int64
	if len(digits) > 18 { // may overflow
		n, err := strconv.ParseInt(string(r.b[r.i-len(digits)-btoi(neg):r.i]), 10, 64)
		if err != nil {
			return false
		}
		v = n
	} else {
		for _, c := range digits {
			v = v*10 + int64(c-'0')
		}
		if neg {
			v = -v
		}
	}
	if v > max || v < -max-1 {
		return false
	}
	*dst = v
	return true
}

func (r *jsonReader) int(dst *int) bool {
	var v int64
	if !r.int64(&v, math.MaxInt) {
		return false
	}
	*dst = int(v)
	return true
}

func (r *jsonReader) uint64(dst *uint64) bool {
	if r.null() {
		return true
	}
	neg, digits, ok := r.integer()
	if !ok || neg {
		return false
	}
	var v uint64
	if len(digits) > 19 { // may overflow
		n, err := strconv.ParseUint(string(digits), 10, 64)
		if err != nil {
			return false
		}
		v = n
	} else {
		for _, c := range digits {
			v = v*10 + uint64(c-'0')
		}
	}
	*dst = v
	return true
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (r *jsonReader) duration(dst *time.Duration) bool {
	v := int64(*dst)
	if !r.int64(&v, math.MaxInt64) {
		return false
	}
	*dst = time.Duration(v)
	return true
}

// time reads a time as json.Unmarshal does: the literal goes to
// time.Time's UnmarshalJSON.
func (r *jsonReader) time(dst *time.Time) bool {
	if r.null() {
		return true
	}
	if r.next() != '"' {
		return false
	}
	end := bytes.IndexByte(r.b[r.i+1:], '"')
	if end < 0 {
		return false
	}
	lit := r.b[r.i : r.i+end+2]
	if bytes.IndexByte(lit, '\\') >= 0 {
		return false
	}
	r.i += end + 2
	return dst.UnmarshalJSON(lit) == nil
}

// array reads an array (a null leaves the slice nil), calling elem for
// each element with the reader at it.
func (r *jsonReader) array(isNull *bool, elem func() bool) bool {
	if r.null() {
		*isNull = true
		return true
	}
	if !r.eat('[') {
		return false
	}
	if r.eat(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if r.eat(']') {
			return true
		}
		if !r.eat(',') {
			return false
		}
	}
}

func (r *jsonReader) strings(dst *[]string) bool {
	var isNull bool
	list := []string{}
	ok := r.array(&isNull, func() bool {
		var s string
		if !r.str(&s) {
			return false
		}
		list = append(list, s)
		return true
	})
	if ok && !isNull {
		*dst = list
	}
	return ok
}

func appendOptInt(b []byte, key string, n int) []byte {
	if n == 0 {
		return b
	}
	return strconv.AppendInt(appendKey(b, key), int64(n), 10)
}

func appendOptTrue(b []byte, key string, v bool) []byte {
	if !v {
		return b
	}
	return append(appendKey(b, key), "true"...)
}

// uint32 reads an integer that fits a uint32.
func (r *jsonReader) uint32(dst *uint32) bool {
	var v uint64
	if !r.uint64(&v) || v > math.MaxUint32 {
		return false
	}
	*dst = uint32(v)
	return true
}

// bool reads true or false; a null leaves it false.
func (r *jsonReader) bool(dst *bool) bool {
	if r.null() {
		return true
	}
	r.ws()
	switch {
	case bytes.HasPrefix(r.b[r.i:], []byte("true")):
		*dst = true
		r.i += 4
	case bytes.HasPrefix(r.b[r.i:], []byte("false")):
		*dst = false
		r.i += 5
	default:
		return false
	}
	return true
}
