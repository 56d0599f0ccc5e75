package transform

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCutText(t *testing.T) {
	tests := []struct {
		name          string
		s             string
		full          int64
		limit         int
		want          string
		repaired, cut bool
	}{
		{"clean", "hello", 5, 10, "hello", false, false},
		{"clean, full below len", "hello", 0, 10, "hello", false, false},
		{"exactly the limit", "hello", 5, 5, "hello", false, false},
		{"invalid byte", "a\xffb", 3, 100, "a\uFFFDb", true, false},
		{"NUL byte", "a\x00b", 3, 100, "a\uFFFDb", true, false},
		{"each invalid byte replaced", "\xc3\x28", 2, 100, "\uFFFD(", true, false},
		{"valid multibyte kept", "日本語", 9, 100, "日本語", false, false},
		// The marker for 9 bytes is 3+6+1+14 = 24 bytes > 8: the marker is
		// "…", leaving 5 bytes, one rune of 3.
		{"short marker", "日本語", 9, 8, "日…", false, true},
		// The marker for 100 bytes is 3+6+3+14 = 26 bytes: a limit of 32
		// leaves 6 bytes, two runes of 3; 31 leaves 5, one rune.
		{"cut 32", "日本語", 100, 32, "日本…[cut, 100 bytes in all]", false, true},
		{"cut 31", "日本語", 100, 31, "日…[cut, 100 bytes in all]", false, true},
		// The source was longer than what the extract gave us.
		{"prefix, longer source", "abc", 10485760, 4096, "abc…[cut, 10485760 bytes in all]", false, true},
		// A prefix split inside "€" (e2 82 ac): the split rune is dropped.
		{"prefix split rune", "ab\xe2\x82", 100, 50, "ab…[cut, 100 bytes in all]", false, true},
		// The whole value ends in an incomplete rune: that is invalid.
		{"whole value, incomplete rune", "ab\xe2\x82", 4, 50, "ab\uFFFD\uFFFD", true, false},
		// 4 bytes repair to 12 > 10: cut after all; the 24-byte marker does
		// not fit, "…" does, leaving 7 bytes: two replacements.
		{"repair grows past limit", "\xff\xff\xff\xff", 4, 10, "\uFFFD\uFFFD…", true, true},
		{"no marker fits", "abcdef", 6, 2, "ab", false, true},
		{"no limit", "abc", 3, 0, "abc", false, false},
		{"no limit, prefix", "abc", 5, 0, "abc…[cut, 5 bytes in all]", false, true},
		{"no limit, repair", "a\xff", 2, -1, "a\uFFFD", true, false},
		{"bad bytes past the cut not counted", "abcdefghijklmnopqrstuvwxyz0123456789\xff", 37, 30, "abcde…[cut, 37 bytes in all]", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, repaired, cut := CutText(tc.s, tc.full, tc.limit)
			if got != tc.want || repaired != tc.repaired || cut != tc.cut {
				t.Errorf("CutText(%q, %d, %d) = %q, %v, %v; want %q, %v, %v",
					tc.s, tc.full, tc.limit, got, repaired, cut, tc.want, tc.repaired, tc.cut)
			}
			if tc.limit > 0 && len(got) > tc.limit {
				t.Errorf("len %d > limit %d", len(got), tc.limit)
			}
			if !utf8.ValidString(got) || strings.IndexByte(got, 0) >= 0 {
				t.Errorf("result %q is not clean", got)
			}
		})
	}
}

func TestCutText10MB(t *testing.T) {
	// 10 MiB of "é" (2 bytes each). The marker "…[cut, 10485760 bytes in
	// all]" is 3+6+8+14 = 31 bytes, leaving 4065 of 4096: 2032 runes (4064
	// bytes), 4095 bytes in all.
	s := strings.Repeat("é", 5<<20)
	got, repaired, cut := CutText(s, int64(len(s)), 4096)
	want := strings.Repeat("é", 2032) + "…[cut, 10485760 bytes in all]"
	if got != want || repaired || !cut {
		t.Fatalf("got %d bytes ending %q, %v, %v; want 4095 bytes", len(got), got[len(got)-40:], repaired, cut)
	}
	if len(got) != 4095 {
		t.Fatalf("len = %d, want 4095", len(got))
	}
}

func TestCutBytesLongSlice(t *testing.T) {
	// cutBytes copies only a prefix: the result must be as if it had the
	// whole slice, including a multibyte rune right at the boundary.
	b := []byte(strings.Repeat("a", 5) + "€" + strings.Repeat("b", 1000))
	// full 1008 bytes; marker 3+6+4+14 = 27; limit 35 leaves 8: "aaaaa€".
	got, repaired, cut := cutBytes(b, 35)
	if want := "aaaaa€…[cut, 1008 bytes in all]"; got != want || repaired || !cut {
		t.Fatalf("got %q, %v, %v; want %q", got, repaired, cut, want)
	}
	got, _, _ = cutBytes(b, 34) // 7 bytes: "€" no longer fits
	if want := "aaaaa…[cut, 1008 bytes in all]"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
