package main

import (
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
