package transform

import (
	"errors"
	"math"
	"slices"
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
	pooled []rankedValue
	exact  map[[2]int][]float64 // (m, n) → CDF of U
}

type rankedValue struct {
	v   float64
	inA bool
}

// statistic returns U of a against b (mid-ranks for ties) without its
// p-value.
func (t *mwTester) statistic(a, b []float64) (float64, error) {
	u, _, err := t.rankSum(a, b)
	return u, err
}

func (t *mwTester) test(a, b []float64) (MannWhitney, error) {
	u, tieTerm, err := t.rankSum(a, b)
	if err != nil {
		return MannWhitney{}, err
	}
	m, n := len(a), len(b)
	mf, nf := float64(m), float64(n)
	res := MannWhitney{U: u, Delta: 2*u/(mf*nf) - 1}
	if tieTerm == 0 && m < exactMaxSize && n < exactMaxSize {
		cdf := t.exactCDF(m, n)
		lower := min(u, mf*nf-u) // an integer without ties
		res.P = min(1, 2*cdf[int(lower)])
		res.Exact = true
		return res, nil
	}
	N := mf + nf
	sigma := math.Sqrt(mf * nf / 12 * ((N + 1) - tieTerm/(N*(N-1))))
	dev := math.Abs(u-mf*nf/2) - 0.5
	if sigma == 0 || dev <= 0 {
		res.P = 1
		return res, nil
	}
	res.P = min(1, math.Erfc(dev/sigma/math.Sqrt2))
	return res, nil
}

// rankSum returns U of a against b, #(a > b) + ½·#(a = b), computed from
// the rank sum of a with mid-ranks for ties, and the tie term Σ(t³ − t).
func (t *mwTester) rankSum(a, b []float64) (u, tieTerm float64, err error) {
	m, n := len(a), len(b)
	if m == 0 || n == 0 {
		return 0, 0, ErrEmptySample
	}
	t.pooled = t.pooled[:0]
	for _, v := range a {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, 0, ErrNotFinite
		}
		t.pooled = append(t.pooled, rankedValue{v, true})
	}
	for _, v := range b {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, 0, ErrNotFinite
		}
		t.pooled = append(t.pooled, rankedValue{v, false})
	}
	slices.SortFunc(t.pooled, func(x, y rankedValue) int {
		switch {
		case x.v < y.v:
			return -1
		case x.v > y.v:
			return 1
		}
		return 0
	})
	// Rank sum of A with mid-ranks for ties, and the tie term Σ(t³ − t).
	var rankSumA float64
	for i := 0; i < len(t.pooled); {
		j := i + 1
		for j < len(t.pooled) && t.pooled[j].v == t.pooled[i].v {
			j++
		}
		midRank := float64(i+j+1) / 2 // ranks i+1 … j
		for k := i; k < j; k++ {
			if t.pooled[k].inA {
				rankSumA += midRank
			}
		}
		if size := float64(j - i); size > 1 {
			tieTerm += size*size*size - size
		}
		i = j
	}
	return rankSumA - float64(m)*float64(m+1)/2, tieTerm, nil
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
	return cdf
}

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
