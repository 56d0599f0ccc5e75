package transform

import (
	"fmt"
	"slices"
)

// The scan's cache: what lets a pass that appends a few values to a series
// scan only the tests that read them.
//
// A scan test at position i and scale s reads values[i−s:i+s] and nothing
// else: whether it passes, its p-value and its U are a function of those
// 2s values (passingAt computes them from the windows' contents alone,
// however the windows were built — but for the sign of a zero median,
// below). Of the tests, only the passing ones are read further (the
// candidates are the best passing positions; the persistence check reads
// values, not tests), and they are few. So a pass that knows the passing
// tests of a stretch values[From:To] — every test whose windows lie in it
// — takes those and computes only the tests whose windows leave it: the
// same passing tests, so the same candidates and change points, figure
// for figure (TestDetectChangesWithScanMatchesPlain).
//
// What a known test must give for that: its position and scale (where it
// is, which candidates it is compared with), p and δ (betterCandidate);
// δ = 2U/s² − 1 is computed from 2U as resultFromU computes it, so 2U (an
// integer) is kept rather than δ. The scan alone (ConfirmWindow 0)
// reports the candidates' own tests — medians, ratio — which the cache
// does not keep, and a series holding a −0 has medians whose sign depends
// on how the windows were built: both scan as before, whatever is known.

// ScanTest is one passing test of the scan: the split at Index (the first
// value after it) with Scale values on each side, its p-value, and 2U
// (U of after against before, ties counting half: an integer).
type ScanTest struct {
	Index, Scale int
	P            float64
	U2           int
}

// ScanTests are the passing scan tests of the stretch values[From:To] of
// a series: every test whose windows lie in it (From ≤ Index − Scale and
// Index + Scale ≤ To) that passes, by scale, then index. The zero value
// knows nothing.
type ScanTests struct {
	From, To int
	Tests    []ScanTest
}

// Shift is c for the same series with positions moved by d (a stretch
// cut at position −d: Shift(−a) for values[a:]).
func (c ScanTests) Shift(d int) ScanTests {
	if c.From >= c.To {
		return ScanTests{}
	}
	out := ScanTests{From: c.From + d, To: c.To + d, Tests: make([]ScanTest, len(c.Tests))}
	for k, t := range c.Tests {
		t.Index += d
		out.Tests[k] = t
	}
	return out
}

// Within is what c says of values[from:to]: the stretch cut to it, with the
// tests whose windows lie in it (the zero value when nothing is left).
func (c ScanTests) Within(from, to int) ScanTests {
	lo, hi := max(c.From, from), min(c.To, to)
	if lo >= hi {
		return ScanTests{}
	}
	out := ScanTests{From: lo, To: hi}
	for _, t := range c.Tests {
		if t.Index-t.Scale >= lo && t.Index+t.Scale <= hi {
			out.Tests = append(out.Tests, t)
		}
	}
	return out
}

// ScanDetection is what DetectChangesWithScan returns.
type ScanDetection struct {
	Changes []ChangePoint
	// LastPass is the last position whose scan test passed at some scale
	// (−1: none), as DetectChangesAndLastPass returns it.
	LastPass int
	// Tests are every passing scan test of values (From 0, To
	// len(values)), for a later call on the same series.
	Tests ScanTests
	// Taken is how many known tests the scan took (0 when it scanned in
	// full: the scan alone, a series holding a −0).
	Taken int
}

// DetectChangesWithScan is DetectChangesAndLastPass given the passing scan
// tests of a stretch of values (known; positions in values): those tests
// are taken as they are and only the others computed. known must describe
// values: a test listed that does not pass on them, or one missing,
// changes the result.
func DetectChangesWithScan(values []float64, days []Day, opt ChangeOptions, known ScanTests) (ScanDetection, error) {
	cps, last, tests, taken, err := detectChangesScan(values, days, opt, &known, true)
	if err != nil {
		return ScanDetection{LastPass: -1}, err
	}
	return ScanDetection{Changes: cps, LastPass: last, Tests: ScanTests{From: 0, To: len(values), Tests: tests}, Taken: taken}, nil
}

// check says c can describe a series of n values scanned at scales:
// a stretch within it, tests in it, at those scales, in order.
func (c *ScanTests) check(n int, scales []int) error {
	if len(c.Tests) == 0 && c.From >= c.To {
		return nil // knows nothing
	}
	if c.From < 0 || c.To > n || c.From > c.To {
		return fmt.Errorf("change detection: scan tests of values [%d, %d) for a series of %d values", c.From, c.To, n)
	}
	prev := -1
	for k, t := range c.Tests {
		sc := slices.Index(scales, t.Scale)
		ordered := k == 0 || sc > slices.Index(scales, c.Tests[k-1].Scale) || (t.Scale == c.Tests[k-1].Scale && t.Index > prev)
		if sc < 0 || !ordered || t.Index-t.Scale < c.From || t.Index+t.Scale > c.To || t.U2 < 0 || t.U2 > 2*t.Scale*t.Scale {
			return fmt.Errorf("change detection: scan test %d (position %d, scale %d) is not one of values [%d, %d) at scales %v in order", k, t.Index, t.Scale, c.From, c.To, scales)
		}
		prev = t.Index
	}
	return nil
}

// usable says the scan may take known tests with these options on a
// series (above): not the scan alone, not a series holding a −0.
func (c *ScanTests) usable(opt ChangeOptions, negZero bool) bool {
	return opt.ConfirmWindow > 0 && !negZero
}

// passingWith is passingAt for a series without −0 whose passing tests at
// scale sw with windows in known's stretch are known's: it computes the
// tests before and after them.
func (s *changeScanner) passingWith(values []float64, sw int, known *ScanTests, passing []candidate) []candidate {
	lo, hi := sw, len(values)-sw           // the positions tested at sw
	kLo, kHi := known.From+sw, known.To-sw // those known
	if kLo > kHi {
		return s.passingAt(values, sw, false, passing)
	}
	passing = s.passingBetween(values, sw, lo, kLo-1, passing)
	for _, t := range known.Tests {
		if t.Scale != sw {
			continue
		}
		u, m := float64(t.U2)/2, float64(sw)
		passing = append(passing, candidate{i: t.Index, scale: sw, t: windowTest{pass: true,
			mw: MannWhitney{U: u, P: t.P, Delta: 2*u/(m*m) - 1}, nBefore: sw, nA: sw}})
	}
	return s.passingBetween(values, sw, kHi+1, hi, passing)
}

// passingBetween appends the passing tests at scale sw of the positions
// a … b (none when b < a), reading values[a−sw:b+sw] only.
func (s *changeScanner) passingBetween(values []float64, sw, a, b int, passing []candidate) []candidate {
	if b < a {
		return passing
	}
	k := len(passing)
	passing = s.passingAt(values[a-sw:b+sw], sw, false, passing)
	for ; k < len(passing); k++ {
		passing[k].i += a - sw
	}
	return passing
}

// keepTests appends the passing tests of one scale to s.tests.
func (s *changeScanner) keepTests(passing []candidate) {
	for _, c := range passing {
		s.tests = append(s.tests, ScanTest{Index: c.i, Scale: c.scale, P: c.t.mw.P, U2: int(2 * c.t.mw.U)})
	}
}
