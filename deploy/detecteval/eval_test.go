package main

import (
	"math"
	"testing"

	"github.com/scriptstats/scriptstats/transform"
)

// TestHeldOutTargets runs a small evaluation on a seed never used while
// tuning (2001) and checks the targets of contract 2b (see targetMisses).
// `make detect-eval` runs the full one (seeds 1001–1005, 200 series per
// kind per seed).
func TestHeldOutTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("the evaluation takes seconds; skipped with -short")
	}
	sc, err := evaluate(2001, 2001, 60, transform.DefaultChangeOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", sc.table())
	if miss := sc.targetMisses(); len(miss) > 0 {
		t.Errorf("targets not met: %v", miss)
	}
	// The evaluator itself must be able to fail: the reference method alone
	// raises changes on spikes and stable series.
	ref := transform.DefaultChangeOptions()
	ref.ConfirmWindow = 0
	sc, err = evaluate(2001, 2001, 60, ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.targetMisses()) == 0 {
		t.Errorf("the reference method alone meets every target here; the evaluation shows nothing:\n%s", sc.table())
	}
}

// TestScoring checks the hit rule on a hand-made case: planted shifts at 30
// and 80, change points at 32 (a hit, 2 away), 77 (3 away: no hit, a false
// change) and 50 (a false change).
func TestScoring(t *testing.T) {
	var k kindScore
	k.add(plantedSeries{changes: []int{30, 80}, sigma: 0.05},
		[]transform.ChangePoint{{Index: 32}, {Index: 50}, {Index: 77}})
	if k.planted != 2 || k.hits != 1 || k.found != 3 || k.trueChanges != 1 || k.extras != 2 || k.quietPlanted != 2 || k.quietHits != 1 {
		t.Errorf("score = %+v, want 2 planted, 1 hit, 3 found, 1 true, 2 extra", k)
	}
}

// TestHealthPlanted: the states the definition cannot miss — broken since
// a known run, newly failing, all successes — are classified as planted,
// with the planted since.
func TestHealthPlanted(t *testing.T) {
	scores := evaluateHealth(2001, 2001, 50)
	for _, kind := range []string{"broken", "newly_failing", "healthy"} {
		if s := scores[kind]; s.right != s.steps || s.sinceRight != s.steps {
			t.Errorf("%s: %d of %d as planted, %d with the planted since", kind, s.right, s.steps, s.sinceRight)
		}
	}
}

// TestTCPDF1 checks the F-measure against the examples of TCPD's own
// metrics (its f_measure docstring), each also worked by hand: with
// annotators {}, {10}, {50} and the prediction 10, precision 1 (0 and 10
// matched), recall (1 + 1 + 1/2)/3 = 5/6, F1 10/11; with no prediction,
// precision 1, recall (1 + 1/2 + 1/2)/3, F1 0.8; and 1.0 for
// predictions 10, 20 against {10, 20}, {11, 20}, {10}, {0, 5} (5 takes 10,
// within the margin, in the union).
func TestTCPDF1(t *testing.T) {
	cases := []struct {
		ann  map[string][]int
		pred []int
		want float64
	}{
		{map[string][]int{"1": {}, "2": {10}, "3": {50}}, []int{10}, 10.0 / 11},
		{map[string][]int{"1": {}, "2": {10}, "3": {50}}, nil, 0.8},
		{map[string][]int{"1": {10, 20}, "2": {11, 20}, "3": {10}, "4": {0, 5}}, []int{10, 20}, 1},
		{map[string][]int{"1": {100}}, []int{50}, 2 * (1.0 / 2) * (1.0 / 2) / 1},
	}
	for _, c := range cases {
		if got := tcpdF1(c.ann, c.pred); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("F1(%v, %v) = %v, want %v", c.ann, c.pred, got, c.want)
		}
	}
	// TCPD's true_positives examples: {1, 10, 20, 23} against {3, 8, 20}
	// and {1, 3, 8, 20}: 3 each.
	for _, x := range [][]int{{3, 8, 20}, {1, 3, 8, 20}, {1, 3, 5, 8, 20}} {
		if got := tcpdTruePositives([]int{1, 10, 20, 23}, x); got != 3 {
			t.Errorf("true positives of %v = %d, want 3", x, got)
		}
	}
}
