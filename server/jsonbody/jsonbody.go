// Package jsonbody builds every JSON answer that carries a value, the AWS
// layer's and the services' own, with one builder: it sizes the answer
// exactly before writing it, so that no partial copy of a secret is left
// behind in a buffer that grew, and escapes strings byte for byte as
// encoding/json does without first copying a value into a string that
// could not be wiped.
package jsonbody

import (
	"encoding/base64"
	"strconv"
	"time"
	"unicode/utf8"
)

// Builder builds an answer in two passes over the same code: the first
// measures, the second writes into a buffer of exactly that size, so that
// no partial copy of a secret is left behind in a buffer that grew.
type Builder struct {
	b     []byte
	n     int
	write bool
}

func Build(build func(*Builder)) []byte {
	var measure Builder
	build(&measure)
	out := Builder{b: make([]byte, 0, measure.n), write: true}
	build(&out)
	return out.b
}

func (o *Builder) Raw(s string) {
	if o.write {
		o.b = append(o.b, s...)
	}
	o.n += len(s)
}

func (o *Builder) RawBytes(s []byte) {
	if o.write {
		o.b = append(o.b, s...)
	}
	o.n += len(s)
}

// str writes a string that is not secret.
func (o *Builder) Str(s string) { o.Secret([]byte(s)) }

// secret writes a secret's bytes as a JSON string.
func (o *Builder) Secret(b []byte) {
	if o.write {
		o.b = AppendString(o.b, b)
	}
	o.n += StringLen(b)
}

func (o *Builder) Base64(b []byte) {
	if o.write {
		o.b = append(o.b, '"')
		o.b = base64.StdEncoding.AppendEncode(o.b, b)
		o.b = append(o.b, '"')
	}
	o.n += 2 + base64.StdEncoding.EncodedLen(len(b))
}

// list writes the elements 0 to n-1 that keep accepts (nil: all), each
// by write, separated by commas.
func (o *Builder) List(n int, keep func(int) bool, write func(int)) {
	first := true
	for i := range n {
		if keep == nil || keep(i) {
			o.Comma(&first)
			write(i)
		}
	}
}

// comma writes the comma before every member of a list but the first.
func (o *Builder) Comma(first *bool) {
	if !*first {
		o.Raw(",")
	}
	*first = false
}

// member writes `,"name":"value"`, or nothing when value is empty: the
// services leave absent members out.
func (o *Builder) Member(name, value string, first *bool) {
	if value == "" {
		return
	}
	o.Comma(first)
	o.Raw(`"` + name + `":`)
	o.Str(value)
}

// epochSeconds writes a time as this protocol does: seconds since the
// epoch, with milliseconds.
func (o *Builder) EpochSeconds(name string, ms int64, first *bool) {
	o.Comma(first)
	o.Raw(`"` + name + `":`)
	o.RawBytes(strconv.AppendFloat(nil, float64(ms)/1000, 'f', -1, 64))
}

// strOrNull writes s as a JSON string, or null when it is empty (the
// SDK's nil *string), as the AWS layer writes absent members.
func (o *Builder) StrOrNull(s string) {
	if s == "" {
		o.Raw("null")
		return
	}
	o.Str(s)
}

// awsDate writes a date as the AWS layer does: a JSON string in UTC with
// exactly three fractional digits, or null for the SDK's nil *time.Time.
func (o *Builder) AWSDate(t time.Time) {
	if t.IsZero() {
		o.Raw("null")
		return
	}
	var buf [32]byte
	o.RawBytes(t.UTC().AppendFormat(append(buf[:0], '"'), `2006-01-02T15:04:05.000Z"`))
}

const hexDigits = "0123456789abcdef"

// jsonEscape says how an ASCII byte is written inside a JSON string, as
// encoding/json writes it with HTML escaping on: 0 for as is, a letter for
// a two-character escape (\n), 'u' for \u00XX.
var jsonEscape = func() (t [utf8.RuneSelf]byte) {
	for c := range t {
		if c < 0x20 {
			t[c] = 'u'
		}
	}
	t['"'], t['\\'] = '"', '\\'
	t['\b'], t['\f'], t['\n'], t['\r'], t['\t'] = 'b', 'f', 'n', 'r', 't'
	t['<'], t['>'], t['&'] = 'u', 'u', 'u'
	return t
}()

// AppendString appends src as a JSON string, byte for byte as
// json.Marshal(string(src)) would, without first copying src into a string
// that could not be wiped: invalid UTF-8 becomes \ufffd, <, > and & and
// U+2028 and U+2029 are escaped.
func AppendString(dst, src []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(src); {
		c := src[i]
		if c < utf8.RuneSelf {
			esc := jsonEscape[c]
			if esc == 0 {
				i++
				continue
			}
			dst = append(dst, src[start:i]...)
			if esc == 'u' {
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			} else {
				dst = append(dst, '\\', esc)
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(src[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, src[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, src[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, src[start:]...)
	return append(dst, '"')
}

// StringLen is len(AppendString(nil, src)).
func StringLen(src []byte) int {
	n := 2
	for i := 0; i < len(src); {
		c := src[i]
		if c < utf8.RuneSelf {
			switch jsonEscape[c] {
			case 0:
				n++
			case 'u':
				n += 6
			default:
				n += 2
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(src[i:])
		switch {
		case r == utf8.RuneError && size == 1, r == '\u2028' || r == '\u2029':
			n += 6
		default:
			n += size
		}
		i += size
	}
	return n
}
