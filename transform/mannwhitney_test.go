package transform

import (
	"errors"
	"math"
	"testing"
)

// samplesWithU builds samples of m and n distinct values whose statistic
// U = #(a > b) is u: b = 0, 1, …, n−1 and each a placed between two b's so
// that the a's together sit above u of the b's.
func samplesWithU(t *testing.T, m, n, u int) (a, b []float64) {
	t.Helper()
	if u < 0 || u > m*n {
		t.Fatalf("no samples of %d and %d values with U = %d", m, n, u)
	}
	for j := range n {
		b = append(b, float64(j))
	}
	left := u
	for i := range m {
		above := min(left, n) // this a is above `above` b's
		left -= above
		a = append(a, float64(above)-0.5+float64(i)/float64(10*m)) // distinct values
	}
	return a, b
}

// TestMannWhitneyExact checks exact two-sided p-values against the
// permutation distribution of U enumerated independently (by brute force
// over all C(m+n, m) splits for m, n ≤ 5, by the integer counting
// recurrence in exact rational arithmetic for the others; /tmp/mw_check.py
// of the change that added this test). 1/10 and 1/35 are also textbook:
// with 3 + 3 values, U = 0 has probability 1/C(6,3) = 1/20, two-sided 1/10.
func TestMannWhitneyExact(t *testing.T) {
	cases := []struct {
		m, n, u int
		p       float64
	}{
		{3, 3, 0, 1.0 / 10},
		{3, 3, 9, 1.0 / 10}, // symmetric
		{4, 4, 0, 1.0 / 35},
		{4, 4, 1, 2.0 / 35},
		{5, 3, 2, 1.0 / 7},
		{7, 9, 10, 0.022902097902097903},
		{12, 12, 0, 7.39602301050679e-07}, // 2/C(24,12)
		{12, 12, 17, 0.0008579386692187876},
		{12, 12, 18, 0.0011145806676833732},
		{12, 12, 72, 1},
	}
	for _, c := range cases {
		a, b := samplesWithU(t, c.m, c.n, c.u)
		r, err := MannWhitneyU(a, b)
		if err != nil {
			t.Fatal(err)
		}
		if r.U != float64(c.u) || !r.Exact {
			t.Fatalf("m=%d n=%d: U = %v exact=%v, want U = %d exact", c.m, c.n, r.U, r.Exact, c.u)
		}
		if math.Abs(r.P-c.p) > 1e-12*max(1, c.p) && math.Abs(r.P-c.p)/c.p > 1e-9 {
			t.Errorf("m=%d n=%d U=%d: p = %.17g, want %.17g", c.m, c.n, c.u, r.P, c.p)
		}
		if wantDelta := 2*float64(c.u)/float64(c.m*c.n) - 1; math.Abs(r.Delta-wantDelta) > 1e-12 {
			t.Errorf("m=%d n=%d U=%d: δ = %v, want %v", c.m, c.n, c.u, r.Delta, wantDelta)
		}
	}
}

// TestMannWhitneyCriticalValues checks the exact test against the published
// table of critical values of U for equal samples (e.g. Zar, Biostatistical
// Analysis, Table B.11; reproduced in most statistics textbooks): U_c is the
// largest U whose two-sided p is ≤ α, so p(U_c) ≤ α < p(U_c + 1).
func TestMannWhitneyCriticalValues(t *testing.T) {
	tables := map[float64]map[int]int{
		0.05: {5: 2, 6: 5, 7: 8, 8: 13, 9: 17, 10: 23, 11: 30, 12: 37, 13: 45, 14: 55, 15: 64, 20: 127},
		0.01: {5: 0, 6: 2, 7: 4, 8: 7, 9: 11, 10: 16, 11: 21, 12: 27, 13: 34, 14: 42, 15: 51, 20: 105},
	}
	for alpha, table := range tables {
		for n, uc := range table {
			a, b := samplesWithU(t, n, n, uc)
			at, _ := MannWhitneyU(a, b)
			a, b = samplesWithU(t, n, n, uc+1)
			above, _ := MannWhitneyU(a, b)
			if !(at.P <= alpha && above.P > alpha) {
				t.Errorf("n1=n2=%d α=%v: p(U=%d) = %v, p(U=%d) = %v; the table says U=%d is the critical value",
					n, alpha, uc, at.P, uc+1, above.P, uc)
			}
		}
	}
}

// TestMannWhitneyPublishedExamples are examples with published outputs.
func TestMannWhitneyPublishedExamples(t *testing.T) {
	cases := []struct {
		name  string
		a, b  []float64
		u, p  float64
		exact bool
	}{
		// R's ?wilcox.test (Hollander & Wolfe, permeability constants):
		// wilcox.test(x, y, alternative = "g") prints W = 35, p-value =
		// 0.1272; the distribution is symmetric, so two-sided is 0.2544
		// (exactly 2·0.1272061272…).
		{"R wilcox.test example", []float64{0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46},
			[]float64{1.15, 0.88, 0.90, 0.74, 1.21}, 35, 0.2544122544122544, true},
		// scipy.stats.mannwhitneyu docs (males vs females): U1 = 17,
		// method="exact" p = 0.1111…, method="asymptotic" p = 0.11134688…
		// (here exact, as R; both samples < 50 values, no ties).
		{"scipy docs example", []float64{19, 22, 16, 29, 24}, []float64{20, 11, 17, 12}, 17, 1.0 / 9, true},
		// Ties: normal approximation, by hand: U = 4.5 (pairs), N = 10,
		// ties {2,2,2} and {3,3} give Σ(t³−t) = 24 + 6 = 30,
		// σ² = 25/12·(11 − 30/90) = 22.2222, z = (|4.5 − 12.5| − 0.5)/4.7140
		// = 1.59099, p = 2·(1 − Φ(1.59099)) = 0.110492 (R prints W = 4.5,
		// p-value = 0.1105 with a ties warning).
		{"ties", []float64{1, 2, 2, 3, 4}, []float64{2, 3, 5, 6, 6}, 4.5, 0.11049202405566808, false},
		{"many ties", []float64{3, 3, 3, 4, 5, 6, 7, 8}, []float64{1, 1, 2, 2, 3, 3, 3, 4, 4}, 60.5, 0.017802465011187204, false},
		{"all tied", []float64{5, 5, 5}, []float64{5, 5}, 3, 1, false},
	}
	for _, c := range cases {
		r, err := MannWhitneyU(c.a, c.b)
		if err != nil {
			t.Fatal(err)
		}
		if r.U != c.u || r.Exact != c.exact || math.Abs(r.P-c.p) > 1e-12 {
			t.Errorf("%s: U = %v p = %.17g exact = %v, want U = %v p = %.17g exact = %v", c.name, r.U, r.P, r.Exact, c.u, c.p, c.exact)
		}
	}
}

// TestMannWhitneyLargeSamples: from 50 values on, the normal approximation
// with continuity correction is used even without ties. 0…59 against
// 30.5…89.5: U = 435 (pairs counted by hand: a value k of A is above
// max(0, k − 30) of B's … summed = Σ_{k=31}^{59} (k − 30) = 435),
// σ = sqrt(3600·121/12) = 190.526, z = (1800 − 435 − 0.5)/190.526 = 7.1617,
// p = erfc(7.1617/√2) = 7.96e-13.
func TestMannWhitneyLargeSamples(t *testing.T) {
	var a, b []float64
	for v := range 60 {
		a = append(a, float64(v))
		b = append(b, float64(v)+30.5)
	}
	r, _ := MannWhitneyU(a, b)
	if r.Exact || r.U != 435 || math.Abs(r.P-7.964332670470494e-13)/7.964332670470494e-13 > 1e-9 {
		t.Errorf("U = %v p = %v exact = %v, want U = 435 p = 7.9643e-13 normal", r.U, r.P, r.Exact)
	}
	if math.Abs(r.Delta-(-0.7583333333333333)) > 1e-12 {
		t.Errorf("δ = %v, want −0.758333 (2·435/3600 − 1)", r.Delta)
	}
}

func TestMannWhitneyBadInput(t *testing.T) {
	if _, err := MannWhitneyU(nil, []float64{1}); !errors.Is(err, ErrEmptySample) {
		t.Errorf("empty sample: err = %v, want ErrEmptySample", err)
	}
	if _, err := MannWhitneyU([]float64{1, math.NaN()}, []float64{1}); !errors.Is(err, ErrNotFinite) {
		t.Errorf("NaN: err = %v, want ErrNotFinite", err)
	}
	if _, err := MannWhitneyU([]float64{1}, []float64{math.Inf(1)}); !errors.Is(err, ErrNotFinite) {
		t.Errorf("Inf: err = %v, want ErrNotFinite", err)
	}
}

func TestMedian(t *testing.T) {
	cases := []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{math.MaxFloat64, math.MaxFloat64}, math.MaxFloat64},
	}
	for _, c := range cases {
		in := append([]float64(nil), c.in...)
		got, ok := Median(in)
		if !ok || got != c.want {
			t.Errorf("Median(%v) = %v, %v; want %v", c.in, got, ok, c.want)
		}
		for i := range in {
			if in[i] != c.in[i] {
				t.Errorf("Median modified its input: %v", in)
			}
		}
	}
	if _, ok := Median(nil); ok {
		t.Error("Median(nil) ok, want none")
	}
}

// TestMannWhitneyExactCDF: the distribution of U for 3 + 3 values is the
// coefficients of the Gaussian binomial [6 choose 3]_q, 1 1 2 3 3 3 3 2 1 1
// (of C(6,3) = 20 splits), listed in any table of the null distribution.
func TestMannWhitneyExactCDF(t *testing.T) {
	counts := []float64{1, 1, 2, 3, 3, 3, 3, 2, 1, 1}
	cdf := MannWhitneyExactCDF(3, 3)
	if len(cdf) != len(counts) {
		t.Fatalf("len = %d, want %d", len(cdf), len(counts))
	}
	var sum float64
	for u, c := range counts {
		sum += c
		if math.Abs(cdf[u]-sum/20) > 1e-15 {
			t.Errorf("P(U ≤ %d) = %v, want %v", u, cdf[u], sum/20)
		}
	}
	if MannWhitneyExactCDF(0, 3) != nil {
		t.Error("m = 0: want nil")
	}
}
