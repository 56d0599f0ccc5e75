package transform

import (
	"fmt"
	"math"
	"slices"
)

// Quiet ends: what lets a pass prove that new values at the end of a long
// series changed none of its change points, from a short tail alone.
//
// Every change point DetectChanges reports comes from a candidate of the
// scan, and a candidate is a position whose scan test passed at some scale.
// Say the values before position p are unchanged, M = QuietMargin, S the
// largest scale (LargestScale), and
//
//	(a) no scan test passed at a position ≥ p − M in the old series, and
//	(b) none passes in the new series at a position ≥ p − M whose test
//	    windows reach position p or later.
//
// A scan test at i reads values[i−s, i+s), so the tests at positions
// ≥ p − M whose windows end before p are the old ones, which did not pass
// by (a); with (b), no test passes at a position ≥ p − M in the new series
// either. Whether a position < p − M is a candidate depends on the values
// within 2S + w of it (the tests within ±s at each scale, then the rule
// between scales within ±w; 2w for the scan alone), all before p: the same
// in both series, so both have the same candidates, all before p − M. The
// persistence check of a candidate reads at most w + 3·W values past it
// (placement, sample, the one-day rule's refill, round 3's samples and
// refill, all within 3·W of the placed change) and the candidates closer
// than 2·W (all before p − M, the same) with their own checks; the
// reported figures read at most W values past the change: all before p. So the new
// series has exactly the old change points, with the same figures.

// QuietMargin is M above: 1 + max(2S + w, w + 3·W) with the persistence
// check (301 at the defaults), 2w for the scan alone.
func (o ChangeOptions) QuietMargin() int {
	if o.ConfirmWindow == 0 {
		return 2 * o.Window
	}
	return 1 + max(2*o.LargestScale()+o.Window, o.Window+dayReach(o.ConfirmWindow))
}

// (a) is what a pass stores per series (the last passing test, as a run
// key: its "quiet mark", schedules/quiet.go); (b) needs the tests whose
// windows reach p: the values from p − 2S on (LastScanPass over them finds
// no passing test).

// LargestScale is the widest window of the scan: Window, or the largest
// 2^k·Window ≤ ConfirmWindow with the persistence check on.
func (o ChangeOptions) LargestScale() int {
	sc := o.scales()
	return sc[len(sc)-1]
}

// DetectChangesAndLastPass is DetectChanges, also returning the last
// position of values whose scan test passed at some scale (−1: none). Only
// positions whose test windows lie within values are tested: on a slice
// that starts after the series' start, a test at a position before the
// slice's LargestScale-th value may pass in the whole series and not be
// seen here.
func DetectChangesAndLastPass(values []float64, days []Day, opt ChangeOptions) ([]ChangePoint, int, error) {
	return detectChanges(values, days, opt)
}

// LastScanPass is the last position of values whose scan test passed at
// some scale (−1: none). (It runs DetectChanges whole: on the short tails
// it is meant for, the rest costs little.)
func LastScanPass(values []float64, opt ChangeOptions) (int, error) {
	_, last, err := detectChanges(values, nil, opt)
	return last, err
}

// LastScanPassReaching is the last position i of values whose scan test
// passed at some scale s among the tests whose windows reach position from
// (i + s > from; −1: none) — condition (b) above, with from = p. The other
// tests of a tail are old ones, which did not pass by (a): LastScanPass
// over the 2S values before p ran them all, about twice the work (a pass
// at 1M runs checks ~1,600 quiet series). Each scale scans only
// values[lo−s:], lo the first position tested at it.
func LastScanPassReaching(values []float64, from int, opt ChangeOptions) (int, error) {
	if opt.Window < 2 || opt.ConfirmWindow < 0 || (opt.ConfirmWindow > 0 && opt.ConfirmWindow < opt.Window) {
		return -1, fmt.Errorf("%w: window %d, confirm window %d", ErrChangeOptions, opt.Window, opt.ConfirmWindow)
	}
	for i, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return -1, fmt.Errorf("change detection: value %d is %v; a duration series holds finite, non-negative values", i, v)
		}
	}
	s := &changeScanner{opt: opt}
	last := -1
	var passing []candidate
	for _, sw := range opt.scales() {
		lo := max(sw, from-sw+1)
		if lo > len(values)-sw {
			continue // no test of this scale reaches from
		}
		sub := values[lo-sw:]
		passing = s.passingAt(sub, sw, slices.ContainsFunc(sub, isNegativeZero), passing[:0])
		if len(passing) > 0 {
			last = max(last, lo-sw+passing[len(passing)-1].i)
		}
	}
	return last, nil
}
