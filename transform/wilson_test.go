package transform

import (
	"math"
	"testing"
)

// TestWilson checks the interval against published values, to the 4
// decimals they are printed with: the two examples, and Newcombe
// (1998), "Two-sided confidence intervals for the single proportion:
// comparison of seven methods", Statistics in Medicine 17:857–872, Table I,
// method 3 (score interval without continuity correction): 81/263, 15/148,
// 0/20, 1/29. 5/10 and 10/10 are by hand: p = 0.5, z²/n = 0.38416,
// centre = 0.5, half = 1.96·sqrt(0.025 + 0.0096040)/1.38416 = 0.26340.
func TestWilson(t *testing.T) {
	cases := []struct {
		k, n      int64
		low, high float64
	}{
		{0, 10, 0, 0.2775},
		{95, 100, 0.8882, 0.9785},
		{81, 263, 0.2553, 0.3662},
		{15, 148, 0.0624, 0.1605},
		{0, 20, 0, 0.1611},
		{1, 29, 0.0061, 0.1718},
		{5, 10, 0.2366, 0.7634},
		{10, 10, 0.7225, 1},
	}
	for _, c := range cases {
		iv, ok := Wilson(c.k, c.n)
		if !ok {
			t.Fatalf("Wilson(%d, %d): no interval", c.k, c.n)
		}
		if math.Abs(iv.Low-c.low) > 0.00005 || math.Abs(iv.High-c.high) > 0.00005 {
			t.Errorf("Wilson(%d, %d) = [%.6f, %.6f], want [%.4f, %.4f]", c.k, c.n, iv.Low, iv.High, c.low, c.high)
		}
		if iv.Low < 0 || iv.High > 1 {
			t.Errorf("Wilson(%d, %d) = [%v, %v] not clamped to [0, 1]", c.k, c.n, iv.Low, iv.High)
		}
	}
	// Clamping: 0/n's computed low is (c − h) = 0 up to rounding and must be
	// exactly 0, n/n's high exactly 1.
	if iv, _ := Wilson(0, 7); iv.Low != 0 {
		t.Errorf("Wilson(0, 7).Low = %v, want exactly 0", iv.Low)
	}
	if iv, _ := Wilson(7, 7); iv.High != 1 {
		t.Errorf("Wilson(7, 7).High = %v, want exactly 1", iv.High)
	}
	for _, bad := range [][2]int64{{0, 0}, {1, 0}, {-1, 5}, {6, 5}} {
		if _, ok := Wilson(bad[0], bad[1]); ok {
			t.Errorf("Wilson(%d, %d) gave an interval, want none", bad[0], bad[1])
		}
	}
}
