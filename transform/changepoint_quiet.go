package transform

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
