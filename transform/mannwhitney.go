package transform

import (
	"errors"
	"math"
	"slices"
	"sync"
)

// ErrEmptySample is returned by MannWhitneyU when a sample has no values.
var ErrEmptySample = errors.New("mann-whitney: a sample is empty")

// ErrNotFinite is returned by MannWhitneyU when a value is NaN or infinite.
var ErrNotFinite = errors.New("mann-whitney: a value is NaN or infinite")

// exactMaxSize is the sample size from which the exact distribution is no
// longer used: both samples below it and no ties → exact (R's
// wilcox.test rule, n < 50).
const exactMaxSize = 50

// MannWhitney is the result of a two-sided Mann–Whitney U test of sample A
// against sample B.
type MannWhitney struct {
	// U is the statistic of A: #(a > b) + ½·#(a = b) over all pairs, R's W
	// and scipy's U1 for x = A.
	U float64
	// P is the two-sided p-value, in (0, 1].
	P float64
	// Exact says P is from the exact permutation distribution of U (no
	// ties, both samples < 50 values); else it is the normal approximation
	// with tie and continuity corrections.
	Exact bool
	// Delta is Cliff's δ = (#(a > b) − #(a < b)) / (|A|·|B|) = 2U/(|A||B|) − 1,
	// in [−1, 1]; positive when A tends to be larger.
	Delta float64
}

// MannWhitneyU runs the two-sided Mann–Whitney U test of a against b. It
// gives the figures of R's wilcox.test(a, b) with its defaults
// (exact = NULL, correct = TRUE) and of scipy.stats.mannwhitneyu(a, b,
// alternative="two-sided") with method="exact" when there are no ties and
// both samples have fewer than 50 values, method="asymptotic" and
// use_continuity=True otherwise:
//
//   - exact: p = min(1, 2·P(U' ≤ min(U, mn − U))), U' following the
//     permutation distribution of U under H0 (the distribution is symmetric
//     about mn/2);
//   - normal: z = (|U − mn/2| − ½) / σ with
//     σ² = mn/12 · ((N + 1) − Σ(t³ − t) / (N(N − 1))), N = m + n, t the sizes
//     of the groups of tied values; p = min(1, 2·(1 − Φ(z))). When every value
//     is tied σ = 0 and p = 1 (R gives NaN there; no evidence of a
//     difference is p = 1).
//
// The samples are not modified.
func MannWhitneyU(a, b []float64) (MannWhitney, error) {
	var t mwTester
	return t.test(a, b)
}

// mwTester runs tests reusing its buffers and the exact distributions it
// has computed; the zero value is ready. Not for concurrent use.
type mwTester struct {
	sortedA, sortedB []float64
	exact            map[[2]int][]float64 // (m, n) → CDF of U
}

// sortCopies returns sorted copies of a and b in the tester's buffers,
// or an error for an empty sample or a value that is not finite.
func (t *mwTester) sortCopies(a, b []float64) (sa, sb []float64, err error) {
	if len(a) == 0 || len(b) == 0 {
		return nil, nil, ErrEmptySample
	}
	for _, v := range a {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, nil, ErrNotFinite
		}
	}
	for _, v := range b {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, nil, ErrNotFinite
		}
	}
	t.sortedA = append(t.sortedA[:0], a...)
	t.sortedB = append(t.sortedB[:0], b...)
	slices.Sort(t.sortedA)
	slices.Sort(t.sortedB)
	return t.sortedA, t.sortedB, nil
}

func (t *mwTester) test(a, b []float64) (MannWhitney, error) {
	sa, sb, err := t.sortCopies(a, b)
	if err != nil {
		return MannWhitney{}, err
	}
	return t.testSorted(sa, sb), nil
}

// statistic returns U of a against b without its p-value.
func (t *mwTester) statistic(a, b []float64) (float64, error) {
	sa, sb, err := t.sortCopies(a, b)
	if err != nil {
		return 0, err
	}
	u, _ := uSorted(sa, sb)
	return u, nil
}

// uSorted returns U of a against b, #(a > b) + ½·#(a = b), and the tie
// term Σ(t³ − t) over the groups of equal values of both, merging the two
// sorted (ascending, finite, non-empty) samples: U equals the rank sum of
// a with mid-ranks minus m(m+1)/2.
func uSorted(a, b []float64) (u, tieTerm float64) {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var v float64
		switch {
		case j == len(b) || (i < len(a) && a[i] <= b[j]):
			v = a[i]
		default:
			v = b[j]
		}
		bBelow := j
		ca, cb := 0, 0
		for i < len(a) && a[i] == v {
			i++
			ca++
		}
		for j < len(b) && b[j] == v {
			j++
			cb++
		}
		u += float64(ca) * (float64(bBelow) + float64(cb)/2)
		if size := float64(ca + cb); size > 1 {
			tieTerm += size*size*size - size
		}
	}
	return u, tieTerm
}

// testSorted is the test of sorted samples (ascending, finite, non-empty):
// U and the tie term by one merge, then the p-value (resultFromU).
func (t *mwTester) testSorted(a, b []float64) MannWhitney {
	u, tieTerm := uSorted(a, b)
	return t.resultFromU(u, tieTerm, len(a), len(b))
}

// MannWhitneyExactCDF returns the CDF of U for samples of m and n values
// without ties under H0: cdf[u] = P(U ≤ u), u = 0 … mn. It is what the
// exact test reads; a SQL implementation of the reference windows can
// carry it as a table (ClickHouse's mannWhitneyUTest only has the normal
// approximation). m and n must be positive.
func MannWhitneyExactCDF(m, n int) []float64 {
	if m <= 0 || n <= 0 {
		return nil
	}
	var t mwTester
	return slices.Clone(t.exactCDF(m, n))
}

// exactCDF returns the CDF of U for samples of m and n values under H0,
// cdf[u] = P(U ≤ u), u = 0 … mn, computing it once per (m, n).
//
// The standard recurrence on the sample sizes: the largest of the m + n
// values is from A with probability i/(i+j), and then it is above all j
// values of B (U gains j), or from B with probability j/(i+j):
// P_{i,j}(u) = i/(i+j)·P_{i−1,j}(u − j) + j/(i+j)·P_{i,j−1}(u), with
// P_{0,j} = P_{i,0} = δ(u). Probabilities rather than counts keep every
// term positive and in range (C(98, 49) overflows an int64).
func (t *mwTester) exactCDF(m, n int) []float64 {
	key := [2]int{m, n}
	if cdf, ok := t.exact[key]; ok {
		return cdf
	}
	if cdf, ok := exactCDFs.Load(key); ok {
		if t.exact == nil {
			t.exact = make(map[[2]int][]float64)
		}
		t.exact[key] = cdf.([]float64)
		return cdf.([]float64)
	}
	// prev[j] is P_{i−1,j}, cur[j] is P_{i,j}, each of length (i)·j + 1.
	prev := make([][]float64, n+1)
	for j := range prev {
		prev[j] = []float64{1} // P_{0,j}
	}
	cur := make([][]float64, n+1)
	for i := 1; i <= m; i++ {
		cur[0] = []float64{1} // P_{i,0}
		for j := 1; j <= n; j++ {
			p := make([]float64, i*j+1)
			wa := float64(i) / float64(i+j)
			wb := float64(j) / float64(i+j)
			for u, q := range prev[j] { // P_{i−1,j}, shifted by j
				p[u+j] += wa * q
			}
			for u, q := range cur[j-1] { // P_{i,j−1}
				p[u] += wb * q
			}
			cur[j] = p
		}
		prev, cur = cur, prev
	}
	pmf := prev[n]
	cdf := make([]float64, len(pmf))
	var sum float64
	for u, q := range pmf {
		sum += q
		cdf[u] = min(sum, 1)
	}
	if t.exact == nil {
		t.exact = make(map[[2]int][]float64)
	}
	t.exact[key] = cdf
	if m < exactMaxSize && n < exactMaxSize {
		exactCDFs.Store(key, cdf)
	}
	return cdf
}

// exactCDFs caches the exact distributions across testers: each
// DetectChanges call has its own tester, and computing the CDF of (48, 48)
// costs more than scanning a short series. The CDFs are never modified
// once stored. It keeps the sizes below exactMaxSize, the only ones the
// test reads: at most 49·49 distributions (in practice the few sizes the
// windows use).
var exactCDFs sync.Map // [2]int → []float64

// Median is the median of values: the middle value of the sorted values,
// or the mean of the two middle ones for an even count (R's median,
// ClickHouse's quantileExactInclusive(0.5)). ok is false for no values.
// values is not modified.
func Median(values []float64) (median float64, ok bool) {
	if len(values) == 0 {
		return 0, false
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	return medianSorted(sorted), true
}

// medianSorted is the median of sorted (non-empty, ascending).
func medianSorted(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	lo, hi := sorted[n/2-1], sorted[n/2]
	return lo + (hi-lo)/2 // no overflow for values near MaxFloat64
}
