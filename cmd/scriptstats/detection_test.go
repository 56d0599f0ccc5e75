package main

import (
	"testing"

	"github.com/scriptstats/scriptstats/deploy/demodata"
	"github.com/scriptstats/scriptstats/transform"
)

// detectionHistory has a few scripts with long series (a thousand runs
// each) and the demo stories: a step that slows the whole run by 40 % from
// a known day, a step breaking, a flaky step.
func detectionHistory(seed int64) demodata.Options {
	return demodata.Options{Scripts: 8, Days: 30, Runs: 8000, Seed: seed, StepsShare: 0.8,
		MinSteps: 3, MaxSteps: 6, Stories: true}
}

// TestDetectionMatchesSourceAcrossPasses: after a first load, incremental
// passes with late updates, moves and new runs, deletes and a backfill, and
// passes killed at a failpoint followed by more source changes,
// duration_changes and step_health equal the definitions applied to the
// series read from the source by independent SQL.
func TestDetectionMatchesSourceAcrossPasses(t *testing.T) {
	t.Parallel()
	e := newPrivateCHEnv(t)
	e.generate(detectionHistory(7))
	e.migrate()
	e.must("run")
	opt := transform.DefaultChangeOptions()
	check := func(stage string) {
		t.Helper()
		if n, _ := assertDetectionMatchesSource(t, stage, e.pool, e.ch, e.tz, opt); n == 0 {
			t.Fatalf("%s: no change point at all; the regression story must show", stage)
		}
	}
	check("initial load")
	e.mutate(3, 0)
	e.mustPass("run")
	check("incremental pass after late updates, moves and new runs")
	e.mutate(2, 10)
	from, to := e.dayRange()
	e.mustPass("backfill", "--from", from, "--to", to)
	check("backfill after deletes")
	for _, fp := range []string{"mid_detect", "before_state", "after_extract", "after_journal"} {
		e.mutate(2, 0)
		r := e.cli([]string{"SCRIPTSTATS_FAILPOINTS=" + fp + "=kill"}, "run")
		if !r.killed {
			t.Fatalf("killed at %s: the failpoint was not reached: %s", fp, r)
		}
		e.settleCH()
		e.mutate(1, 0)
		e.mustPass("run")
		check("pass after one killed at " + fp + " and more source changes")
	}
}

// TestDetectionChangeWindowFlag: --change-window sets w of the scan.
func TestDetectionChangeWindowFlag(t *testing.T) {
	t.Parallel()
	pgDSN, chDSN, _ := freshDatabases(t)
	e := newJobEnv(t, pgDSN, chDSN)
	e.generate(detectionHistory(11))
	e.extra = []string{"--change-window", "20"}
	e.migrate()
	e.must("run")
	opt := transform.DefaultChangeOptions()
	opt.Window = 20
	assertDetectionMatchesSource(t, "first load with --change-window 20", e.pool, e.ch, e.tz, opt)
	r := e.cli(nil, "run", "--change-window", "1")
	if r.code == 0 {
		t.Fatalf("--change-window 1 accepted: %s", r)
	}
}
