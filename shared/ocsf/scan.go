package ocsf

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// This file is the grammar half of the walk: checking JSON as encoding/json
// and jsontext do (invalid UTF-8 and duplicate names accepted, nesting up
// to 10,000 levels), with the common cases (a string's bytes, a newline's
// indentation) eight bytes at a time. Every function returns the index
// just past what it checked, or -1 when b does not hold it whole and valid.

// maxDepth is the nesting jsontext (and encoding/json) allow in one value.
const maxDepth = 10000

func (w *walker) at(i int) byte { return at(w.b, i) }

func at(b []byte, i int) byte {
	if uint(i) < uint(len(b)) {
		return b[i]
	}
	return 0
}

// members reads the object at i (its '{'), depth its depth, giving the
// value of each member whose key matches one of names to f (with the
// name's index; f returns the index past the value or -1) and checking
// the others. It returns the index past the '}', or -1.
func (w *walker) members(i, depth int, names []string, f func(field, i int) int) int {
	if depth > maxDepth {
		return -1
	}
	b := w.b
	i = space(b, i+1)
	if w.at(i) == '}' {
		return i + 1
	}
	for {
		if w.at(i) != '"' {
			return -1
		}
		k := w.stringEnd(i)
		if k < 0 {
			return -1
		}
		field := -1
		if names != nil {
			field = w.match(b[i:k], names, w.plain(b[i:k]))
		}
		k = space(b, k)
		if w.at(k) != ':' {
			return -1
		}
		v := space(b, k+1)
		if field >= 0 && w.wrong == "" {
			i = f(field, v)
		} else {
			i = w.value(v, depth)
		}
		if i < 0 {
			return -1
		}
		i = space(b, i)
		switch w.at(i) {
		case ',':
			i = space(b, i+1)
		case '}':
			return i + 1
		default:
			return -1
		}
	}
}

// elements reads the array at i like members, giving each element to f
// with its position.
func (w *walker) elements(i, depth int, f func(n, i int) int) int {
	if depth > maxDepth {
		return -1
	}
	b := w.b
	i = space(b, i+1)
	if w.at(i) == ']' {
		return i + 1
	}
	for n := 0; ; n++ {
		if f != nil && w.wrong == "" {
			i = f(n, i)
		} else {
			i = w.value(i, depth)
		}
		if i < 0 {
			return -1
		}
		i = space(b, i)
		switch w.at(i) {
		case ',':
			i = space(b, i+1)
		case ']':
			return i + 1
		default:
			return -1
		}
	}
}

// value checks the value at i, in a container of depth depth, and returns
// the index past it (or -1).
func (w *walker) value(i, depth int) int {
	switch w.at(i) {
	case '"':
		return w.stringEnd(i)
	case '{':
		return w.members(i, depth+1, nil, nil)
	case '[':
		return w.elements(i, depth+1, nil)
	case 't':
		return w.literal(i, "true")
	case 'f':
		return w.literal(i, "false")
	case 'n':
		return w.literal(i, "null")
	default:
		return w.number(i)
	}
}

func (w *walker) literal(i int, lit string) int {
	if len(w.b)-i < len(lit) || string(w.b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// number checks the number at i: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (w *walker) number(i int) int {
	b := w.b
	if w.at(i) == '-' {
		i++
	}
	switch c := w.at(i); {
	case c == '0':
		i++
	case '1' <= c && c <= '9':
		i = digits(b, i+1)
	default:
		return -1
	}
	if w.at(i) == '.' {
		if j := digits(b, i+1); j > i+1 {
			i = j
		} else {
			return -1
		}
	}
	if c := w.at(i); c == 'e' || c == 'E' {
		i++
		if c := w.at(i); c == '+' || c == '-' {
			i++
		}
		if j := digits(b, i); j > i {
			i = j
		} else {
			return -1
		}
	}
	if i >= len(b) && !w.final {
		return -1 // more digits may follow
	}
	return i
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// space skips whitespace from i.
func space(b []byte, i int) int {
	if i < len(b) && b[i] > ' ' {
		return i // the common case, kept inlinable
	}
	return spaces(b, i)
}

// spaces skips whitespace from i, a newline's indentation eight bytes at a
// time.
func spaces(b []byte, i int) int {
	for i+9 <= len(b) && isSpace(b[i]) {
		x := binary.LittleEndian.Uint64(b[i+1:])
		n := bits.TrailingZeros64(x^allSpaces) / 8 // spaces after b[i]
		i += 1 + n
		if n < 8 && byte(x>>(8*n)) > ' ' {
			return i // (the byte after them, at hand, is no whitespace)
		}
	}
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

const (
	ones      = 0x0101010101010101
	highs     = 0x8080808080808080
	allSpaces = ' ' * ones
)

// stringEnd checks the string at i and returns the index past its closing
// quote (or -1). Eight bytes at a time, it looks for the quote, a
// backslash or a control character (which JSON does not allow unescaped);
// w.escaped says whether it had an escape.
func (w *walker) stringEnd(i int) int {
	end, escaped := stringEnd(w.b, i)
	w.escaped = escaped
	return end
}

func stringEnd(b []byte, i int) (int, bool) {
	i++
	escaped := false
	for {
		for i+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[i:])
			if m := stops(x); m != 0 {
				z := bits.TrailingZeros64(m)
				i += z / 8
				if byte(x>>(z&^7)) == '"' { // the end, the byte at hand
					return i + 1, escaped
				}
				break
			}
			i += 8
		}
		for i < len(b) && b[i] >= 0x20 && b[i] != '"' && b[i] != '\\' {
			i++
		}
		if i >= len(b) {
			return -1, escaped
		}
		switch b[i] {
		case '"':
			return i + 1, escaped
		case '\\':
			escaped = true
			switch at(b, i+1) {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || !hex4(b[i+2:i+6]) {
					return -1, escaped
				}
				i += 6
			default:
				return -1, escaped
			}
		default:
			return -1, escaped // a control character
		}
	}
}

// stops marks, in its high bit, each of the eight bytes of x that is '"' or
// '\\' or below 0x20 (exact for the first one marked, which is all that is
// used).
func stops(x uint64) uint64 {
	q, e := x^('"'*ones), x^('\\'*ones)
	return ((q-ones)&^q | (e-ones)&^e | (x-0x20*ones)&^x) & highs
}

// plain reports whether the string s (stringEnd's last) has no escape and
// no byte over 0x7F.
func (w *walker) plain(s []byte) bool {
	if w.escaped {
		return false
	}
	for len(s) >= 8 {
		if binary.LittleEndian.Uint64(s)&highs != 0 {
			return false
		}
		s = s[8:]
	}
	for _, c := range s {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func hex4(h []byte) bool {
	for _, c := range h {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
