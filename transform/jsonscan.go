package transform

import (
	"unicode/utf16"
	"unicode/utf8"
)

// A small strict JSON scanner (RFC 8259) for task_log.steps. It validates
// and walks the text in one pass, without building a tree, so a step list
// costs what its output costs whatever its size (a 100,000-element array
// included). Values are located as spans of the input and decoded only
// when needed.

// Nesting has no limit but the input's length: nested values are walked
// with a stack of their open brackets, never by recursion. (A limit of
// 1000 levels once made a valid steps array whose element held deeper
// junk count as no array at all; PostgreSQL's jsonb takes ~14,500 levels
// at its default max_stack_depth of 2 MB, more with a larger one.)

// JSON value kinds, as the first byte of the value tells them.
const (
	kindObject byte = '{'
	kindArray  byte = '['
	kindString byte = '"'
	kindNumber byte = '0'
	kindTrue   byte = 't'
	kindFalse  byte = 'f'
	kindNull   byte = 'n'
)

// span is one value of the input: s[start:end], of the given kind.
type span struct {
	start, end int
	kind       byte
	escaped    bool // a string with backslash escapes
}

func skipWS(s []byte, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanValue validates the value starting at s[i] (no leading whitespace)
// and returns its span; ok is false for invalid JSON.
func scanValue(s []byte, i int) (v span, ok bool) {
	if i >= len(s) {
		return v, false
	}
	v.start = i
	switch c := s[i]; {
	case c == '"':
		v.kind = kindString
		v.end, v.escaped, ok = scanString(s, i)
	case c == '{':
		v.kind = kindObject
		v.end, ok = scanNested(s, i)
	case c == '[':
		v.kind = kindArray
		v.end, ok = scanNested(s, i)
	case c == '-' || (c >= '0' && c <= '9'):
		v.kind = kindNumber
		v.end, ok = scanNumber(s, i)
	case c == 't':
		v.kind = kindTrue
		v.end, ok = scanLiteral(s, i, "true")
	case c == 'f':
		v.kind = kindFalse
		v.end, ok = scanLiteral(s, i, "false")
	case c == 'n':
		v.kind = kindNull
		v.end, ok = scanLiteral(s, i, "null")
	}
	return v, ok
}

func scanLiteral(s []byte, i int, lit string) (int, bool) {
	if len(s)-i < len(lit) || string(s[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// scanString validates the string whose opening quote is s[i] and returns
// the index after its closing quote. Control characters must be escaped;
// other bytes, invalid UTF-8 included, are taken as they are (repaired
// later, and counted, like any text).
func scanString(s []byte, i int) (end int, escaped, ok bool) {
	for i++; ; i++ {
		// Runs of plain bytes, four at a time: most of a steps text.
		for i+4 <= len(s) && plainStringByte[s[i]] && plainStringByte[s[i+1]] &&
			plainStringByte[s[i+2]] && plainStringByte[s[i+3]] {
			i += 4
		}
		for i < len(s) && plainStringByte[s[i]] {
			i++
		}
		if i >= len(s) {
			return i, escaped, false
		}
		switch c := s[i]; {
		case c == '"':
			return i + 1, escaped, true
		case c < 0x20:
			return i, escaped, false
		default: // '\\'
			escaped = true
			i++
			if i >= len(s) {
				return i, escaped, false
			}
			switch s[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(s)-i < 5 {
					return i, escaped, false
				}
				for _, h := range s[i+1 : i+5] {
					if hexVal(h) < 0 {
						return i, escaped, false
					}
				}
				i += 4
			default:
				return i, escaped, false
			}
		}
	}
}

// plainStringByte is true for the bytes a JSON string holds as they are:
// all but the quote, the backslash and control characters.
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func hexVal(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// scanNumber validates -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func scanNumber(s []byte, i int) (int, bool) {
	if s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '0' {
		i++
	} else if digits() == 0 {
		return i, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return i, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return i, false
		}
	}
	return i, true
}

// scanNested validates the array or object whose bracket is s[i] and
// returns the index after it. Its open brackets are kept on a stack, so
// any depth costs one byte of memory a level and no recursion.
func scanNested(s []byte, i int) (int, bool) {
	open := make([]byte, 0, 8) // '[' or '{' of every container still open
	for {
		// s[i] begins a value (an object's value, after its key, included).
		if i >= len(s) {
			return i, false
		}
		if c := s[i]; c == '[' || c == '{' {
			open = append(open, c)
			i = skipWS(s, i+1)
			if i < len(s) && s[i] == closing(c) {
				open = open[:len(open)-1]
				i++
			} else {
				if c == '{' {
					var ok bool
					if i, ok = scanKey(s, i); !ok {
						return i, false
					}
				}
				continue
			}
		} else {
			v, ok := scanValue(s, i) // a scalar: no recursion
			if !ok {
				return i, false
			}
			i = v.end
		}
		// A value ended: close containers or move to the next value.
		for {
			if len(open) == 0 {
				return i, true
			}
			i = skipWS(s, i)
			if i >= len(s) {
				return i, false
			}
			top := open[len(open)-1]
			if s[i] == closing(top) {
				open = open[:len(open)-1]
				i++
				continue
			}
			if s[i] != ',' {
				return i, false
			}
			i = skipWS(s, i+1)
			if top == '{' {
				var ok bool
				if i, ok = scanKey(s, i); !ok {
					return i, false
				}
			}
			break
		}
	}
}

func closing(open byte) byte {
	if open == '[' {
		return ']'
	}
	return '}'
}

// scanKey validates an object's key and its colon at s[i] and returns the
// index of the value after them.
func scanKey(s []byte, i int) (int, bool) {
	if i >= len(s) || s[i] != '"' {
		return i, false
	}
	end, _, ok := scanString(s, i)
	if !ok {
		return i, false
	}
	i = skipWS(s, end)
	if i >= len(s) || s[i] != ':' {
		return i, false
	}
	return skipWS(s, i+1), true
}

// stringContent returns the bytes of a valid string span, unescaped:
// without escapes, a subslice of s (no copy); else decoded into buf.
// A \u escape of a lone surrogate decodes to U+FFFD.
func stringContent(s []byte, v span, buf []byte) (content, bufOut []byte) {
	raw := s[v.start+1 : v.end-1]
	if !v.escaped {
		return raw, buf
	}
	buf = buf[:0]
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			buf = append(buf, c)
			continue
		}
		i++
		switch raw[i] {
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			var r rune
			r, i = decodeU(raw, i)
			buf = utf8.AppendRune(buf, r)
		default: // '"', '\\', '/'
			buf = append(buf, raw[i])
		}
	}
	return buf, buf
}

// decodeU decodes the \u escape whose 'u' is raw[i] (validated: four hex
// digits follow), joining a surrogate pair; it returns the rune and the
// index of the escape's last byte.
func decodeU(raw []byte, i int) (rune, int) {
	r := hex4(raw[i+1 : i+5])
	i += 4
	if utf16.IsSurrogate(r) {
		if r < 0xDC00 && len(raw)-i > 6 && raw[i+1] == '\\' && raw[i+2] == 'u' {
			if r2 := hex4(raw[i+3 : i+7]); r2 >= 0xDC00 && r2 <= 0xDFFF {
				return utf16.DecodeRune(r, r2), i + 6
			}
		}
		return utf8.RuneError, i
	}
	return r, i
}

func hex4(h []byte) rune {
	return hexVal(h[0])<<12 | hexVal(h[1])<<8 | hexVal(h[2])<<4 | hexVal(h[3])
}

// appendJSONText appends the value of the valid span v as PostgreSQL
// prints jsonb (what steps->>'name' returns for a non-string): ", "
// between elements and members, ": " after keys, strings escaped as
// PostgreSQL's escape_json does, numbers and literals as written in the
// source (jsonb's own text is already canonical). One pass over the
// tokens, whatever the nesting.
func appendJSONText(dst, s []byte, v span) []byte {
	for i := v.start; i < v.end; {
		switch c := s[i]; c {
		case ' ', '\t', '\n', '\r':
			i++
		case ',':
			dst = append(dst, ", "...)
			i++
		case ':':
			dst = append(dst, ": "...)
			i++
		case '[', ']', '{', '}':
			dst = append(dst, c)
			i++
		case '"':
			end, _, _ := scanString(s, i)
			dst = appendPGString(dst, s[i+1:end-1])
			i = end
		default: // number, true, false, null
			j := i
			for j < v.end && !isDelimiter(s[j]) {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j
		}
	}
	return dst
}

func isDelimiter(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', ':', '[', ']', '{', '}', '"':
		return true
	}
	return false
}

// appendPGString appends a JSON string, given by its raw content between
// the quotes, re-escaped as PostgreSQL's escape_json escapes: \" \\ \b \f
// \n \r \t, \u00XX for other control characters, every other character as
// itself (\/ and \u escapes of printable characters are decoded).
func appendPGString(dst, raw []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(raw); i++ {
		r := rune(raw[i])
		if r == '\\' {
			i++
			switch raw[i] {
			case 'b':
				r = '\b'
			case 'f':
				r = '\f'
			case 'n':
				r = '\n'
			case 'r':
				r = '\r'
			case 't':
				r = '\t'
			case 'u':
				r, i = decodeU(raw, i)
			default:
				r = rune(raw[i])
			}
		} else if r >= utf8.RuneSelf {
			dst = append(dst, raw[i]) // raw bytes pass through, valid or not
			continue
		}
		switch r {
		case '"':
			dst = append(dst, '\\', '"')
		case '\\':
			dst = append(dst, '\\', '\\')
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
			if r < 0x20 {
				dst = append(dst, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
			} else {
				dst = utf8.AppendRune(dst, r)
			}
		}
	}
	return append(dst, '"')
}
