package transform

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Text values reach ClickHouse as valid UTF-8 with no NUL bytes and a bounded
// length (contract section 3: "Error texts are valid UTF-8 (invalid bytes
// replaced) and cut to a bounded length with a visible marker").
//
// The marker a cut text ends with is
//
//	…[cut, N bytes in all]
//
// where N is the byte length of the whole source value. The result, marker
// included, is at most the limit: a column bounded by Limits stays bounded.
// When the limit cannot hold that marker, the marker is just "…"; when it
// cannot hold that either, the text is cut with no marker.

const (
	cutEllipsis     = "…"
	cutMarkerPrefix = cutEllipsis + "[cut, "
	cutMarkerSuffix = " bytes in all]"
	replacement     = "\uFFFD"
)

// CutText makes s valid UTF-8 and bounds it to limit bytes.
//
// s may be a prefix of the source value (the extract cuts huge texts);
// fullBytes is the byte length of the whole source value (a fullBytes below
// len(s) is taken as len(s)). When s is such a prefix, a rune the prefix
// split at its end is dropped, not reported as invalid: the split is the
// extract's doing, not the source's.
//
// Every invalid byte and every NUL byte is replaced with U+FFFD (one per
// byte, as utf8.DecodeRuneInString reports them); repaired says that the
// result holds such a replacement. Only the part of s that is kept is looked
// at, so bad bytes beyond the cut do not count.
//
// The text is cut when the source value is longer than limit, or when the
// repaired text is: it is then cut at a rune boundary and ends with the
// marker described above, limit bytes at most in all; cut says so. A limit
// of 0 or less means no limit: the text is then only repaired, and marked
// as cut when s is a prefix of the source value.
func CutText(s string, fullBytes int64, limit int) (out string, repaired, cut bool) {
	if fullBytes < int64(len(s)) {
		fullBytes = int64(len(s))
	}
	if fullBytes > int64(len(s)) {
		s = trimSplitRune(s)
	}
	if fullBytes == int64(len(s)) && (limit <= 0 || fullBytes <= int64(limit)) {
		if isClean(s) {
			return s, false, false
		}
		fixed := repair(s)
		if limit <= 0 || len(fixed) <= limit {
			return fixed, true, false
		}
		// Replacements made it longer than the limit: cut it after all.
	}
	return cutRepaired(s, fullBytes, limit)
}

// cutBytes is CutText for a byte slice that may be huge and must not be
// retained (the steps text): it copies only the part it may keep.
func cutBytes(b []byte, limit int) (out string, repaired, cut bool) {
	full := int64(len(b))
	if limit > 0 && len(b) > limit+utf8.UTFMax-1 {
		// Kept output is at most limit bytes and every kept input byte
		// yields at least one output byte, so no rune starting at or past
		// limit is kept; UTFMax-1 more bytes let the last one that may be
		// kept decode whole.
		b = b[:limit+utf8.UTFMax-1]
	}
	return CutText(string(b), full, limit)
}

// isClean reports whether s is valid UTF-8 with no NUL byte.
func isClean(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// trimSplitRune drops an incomplete UTF-8 sequence at the end of s: the
// start of a rune whose remaining bytes were cut off by the extract.
func trimSplitRune(s string) string {
	for i := len(s) - 1; i >= 0 && i >= len(s)-(utf8.UTFMax-1); i-- {
		if utf8.RuneStart(s[i]) {
			if !utf8.FullRuneInString(s[i:]) {
				return s[:i]
			}
			break
		}
	}
	return s
}

// repair returns s with every invalid byte and NUL byte replaced by U+FFFD.
func repair(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == 0 || (r == utf8.RuneError && w == 1) {
			b.WriteString(replacement)
		} else {
			b.WriteString(s[i : i+w])
		}
		i += w
	}
	return b.String()
}

// cutRepaired builds the cut, repaired text with its marker.
func cutRepaired(s string, fullBytes int64, limit int) (out string, repaired, cut bool) {
	var num [20]byte
	n := strconv.AppendInt(num[:0], fullBytes, 10)
	markerLen := len(cutMarkerPrefix) + len(n) + len(cutMarkerSuffix)
	marker := 2 // full marker
	switch {
	case limit <= 0:
		limit = len(s)*len(replacement) + markerLen // room for everything
	case markerLen <= limit:
	case len(cutEllipsis) <= limit:
		marker, markerLen = 1, len(cutEllipsis)
	default:
		marker, markerLen = 0, 0
	}
	budget := limit - markerLen

	buf := make([]byte, 0, min(limit, len(s)*len(replacement)+markerLen))
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		bad := r == 0 || (r == utf8.RuneError && w == 1)
		outW := w
		if bad {
			outW = len(replacement)
		}
		if len(buf)+outW > budget {
			break
		}
		if bad {
			buf = append(buf, replacement...)
			repaired = true
		} else {
			buf = append(buf, s[i:i+w]...)
		}
		i += w
	}
	switch marker {
	case 2:
		buf = append(buf, cutMarkerPrefix...)
		buf = append(buf, n...)
		buf = append(buf, cutMarkerSuffix...)
	case 1:
		buf = append(buf, cutEllipsis...)
	}
	return string(buf), repaired, true
}
