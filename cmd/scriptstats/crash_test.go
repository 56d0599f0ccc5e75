package main

import (
	"fmt"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// crashFailpoints are the failpoints of a pass (schedules/failpoint.go)
// past the lock, in the order a pass reaches them.
var crashFailpoints = []string{"after_journal", "after_places_add", "mid_runs_insert", "after_batch", "after_extract", "mid_recompute", "mid_relink", "before_state"}

// passCommand returns the command of an incremental pass or of a backfill
// over every day.
func (e *jobEnv) passCommand(mode string) (string, []string) {
	if mode == "backfill" {
		from, to := e.dayRange()
		return "backfill", []string{"--from", from, "--to", to}
	}
	return "run", nil
}

// crashHistory is big enough for more than 2000 groups (mid_recompute
// fires after each 2000 recomputed groups) and for many batches of 200.
func crashHistory() (runs int) {
	if soakMode() {
		return 20000
	}
	return 4000
}

// TestCrashAtEveryFailpoint kills a pass with SIGKILL at each failpoint,
// for an incremental pass and for a backfill; after the next clean pass,
// verify over all days finds nothing and the views equal the PostgreSQL
// recomputation.
func TestCrashAtEveryFailpoint(t *testing.T) {
	t.Parallel()
	e := newPrivateCHEnv(t)
	opt := smallHistory(21, crashHistory())
	opt.Days = 40
	e.generate(opt)
	e.migrate()
	e.must("run")
	e.checkAll("initial load")
	kills, cycles := 0, 1
	if soakMode() {
		cycles = 5
	}
	for cycle := 0; cycle < cycles; cycle++ {
		for _, mode := range []string{"incremental", "backfill"} {
			for _, fp := range crashFailpoints {
				stage := fmt.Sprintf("%s killed at %s (cycle %d)", mode, fp, cycle+1)
				deletes := 0
				if mode == "backfill" {
					deletes = 5 // only a backfill finds deletions
				}
				e.mutate(2, deletes)
				if mode == "incremental" {
					share := 0.3
					if fp == "mid_recompute" {
						share = 1 // every group: more than 2000
					}
					e.touch(share)
				}
				cmd, more := e.passCommand(mode)
				r := e.cli([]string{"SCRIPTSTATS_FAILPOINTS=" + fp + "=kill"}, cmd, more...)
				if !r.killed {
					t.Fatalf("%s: the failpoint was not reached (the pass must die there): %s", stage, r)
				}
				kills++
				e.settleCH()
				after := e.snapshotCH()
				e.mustPass(cmd, more...)
				if after.State == e.jobState() {
					t.Fatalf("%s: the clean pass did not write a new state", stage)
				}
				e.checkAll(stage)
			}
		}
	}
	t.Logf("failpoint kills: %d, all recovered by the next pass (private ClickHouse restarts: %d)", kills, e.chAborts)
}

// TestCrashAtRandomMoments kills incremental passes and backfills at
// random moments (three in a row: the pass, then the passes recovering it),
// then checks after a clean pass. SCRIPTSTATS_SOAK=1 (make soak) runs many
// more.
func TestCrashAtRandomMoments(t *testing.T) {
	t.Parallel()
	rng, _ := relRand(t)
	e := newPrivateCHEnv(t)
	runs := 2000
	if soakMode() {
		runs = 20000
	}
	opt := smallHistory(31, runs)
	opt.Days = 20
	e.generate(opt)
	e.migrate()
	e.must("run")
	target := 20
	if soakMode() {
		target = 150
		if n, err := strconv.Atoi(getenv("SCRIPTSTATS_SOAK_KILLS")); err == nil && n > 0 {
			target = n
		}
	}
	total, lockRaces := 0, 0
	for _, mode := range []string{"incremental", "backfill"} {
		cmd, more := e.passCommand(mode)
		// How long a pass of this kind takes: the kills spread over it
		// (updated with every clean pass).
		e.mutate(3, 0)
		e.touch(0.3)
		span := e.mustPass(cmd, more...).elapsed
		kills, trials, attempts := 0, 0, 0
		for kills < target && trials < 4*target {
			trials++
			deletes := 0
			if mode == "backfill" {
				deletes = 3
			}
			e.mutate(3, deletes)
			if mode == "incremental" {
				e.touch(0.3)
			}
			cmd, more = e.passCommand(mode)
			// Three passes in a row killed at random moments: the pass,
			// the pass recovering it, and the one recovering that.
			for k := 0; k < 3; k++ {
				attempts++
				p := e.start(nil, cmd, more...)
				time.Sleep(time.Duration(rng.Int64N(int64(span))))
				p.signal(syscall.SIGKILL)
				r := p.wait()
				revived := false
				if r.killed {
					e.settleCH()
				} else if r.code != 0 {
					revived = e.reviveCH(5 * time.Second) // it failed: the server may be dying
				}
				switch {
				case r.killed:
					kills++
				case r.code == exitLocked:
					// The previous killed pass's session was still ending
					// (its backend frees the lock as it exits, a few ms
					// after the kill).
					lockRaces++
					time.Sleep(100 * time.Millisecond)
				case r.code != 0 && !revived:
					t.Fatalf("%s pass (not killed) failed: %s", mode, r)
				}
			}
			span = e.mustPass(cmd, more...).elapsed
			e.checkAll(fmt.Sprintf("%s, trial %d (%d kills so far)", mode, trials, kills))
		}
		if kills < target {
			t.Fatalf("%s: only %d kills landed in %d trials", mode, kills, trials)
		}
		t.Logf("%s: %d random kills (of %d attempts; the others came after the pass ended) in %d trials, all recovered", mode, kills, attempts, trials)
		total += kills
	}
	t.Logf("random kills: %d in all, runs lost or doubled: 0; a pass right after a kill found the lock still held %d times; the private ClickHouse (chDB) died with a killed client %d times and was restarted", total, lockRaces, e.chAborts)
}

// TestCrashDuringFirstLoad kills a first load at each failpoint of its
// load phase, one after the other. Its runs_state INSERT is open across
// its batches (load.RunBlock) and dies uncommitted with the process (the
// private server's chDB engine may abort with it and is started again);
// the next pass is a first pass again, starts from empty tables, and the
// views equal the PostgreSQL recomputation.
func TestCrashDuringFirstLoad(t *testing.T) {
	t.Parallel()
	e := newPrivateCHEnv(t)
	opt := smallHistory(29, 3000)
	opt.Days = 20
	e.generate(opt)
	e.migrate()
	for _, fp := range []string{"after_places_add", "mid_runs_insert", "after_batch", "after_extract"} {
		var r binResult
		for attempt := 0; attempt < 20; attempt++ {
			r = e.cli([]string{"SCRIPTSTATS_FAILPOINTS=" + fp + "=kill"}, "run")
			if r.code != exitLocked {
				break
			}
			time.Sleep(100 * time.Millisecond) // the killed pass's session is ending
		}
		if !r.killed {
			t.Fatalf("first load at %s: the failpoint was not reached (the pass must die there): %s", fp, r)
		}
		e.settleCH()
	}
	e.mustPass("run")
	e.checkAll("a first load after four killed ones")
	t.Logf("private ClickHouse restarts: %d", e.chAborts)
}

// TestBackfillKilledWithItsBlockOpen: a backfill writes its runs in one
// open INSERT (load.RunBlock) and removes the old places of its moved runs
// from run_places only once that INSERT is committed. Killed after its
// batch, with the INSERT open (nothing of it committed), the moved runs are
// still live at their old places in runs_state, so run_places must still
// name those places: the next pass that reads the runs (here an
// incremental one, which has no stale-run scan) tombstones them there.
// Removing the places before the commit leaves each moved run live twice.
func TestBackfillKilledWithItsBlockOpen(t *testing.T) {
	t.Parallel()
	e := newPrivateCHEnv(t)
	opt := smallHistory(41, 2000)
	opt.Days = 10
	e.generate(opt)
	e.migrate()
	e.must("run")
	e.checkAll("initial load")
	// Move 20 finished runs a day back: each has a new place and an old one.
	e.exec(`UPDATE task_log SET started_at = started_at - interval '1 day', created_at = created_at - interval '1 day',
		finished_at = finished_at - interval '1 day', updated_at = clock_timestamp()
		WHERE id IN (SELECT id FROM task_log WHERE started_at IS NOT NULL AND finished_at IS NOT NULL ORDER BY id DESC LIMIT 20)`)
	batch := e.batch
	e.batch = 1_000_000 // one batch: the kill comes after it, its INSERT still open
	cmd, more := e.passCommand("backfill")
	r := e.cli([]string{"SCRIPTSTATS_FAILPOINTS=after_batch=kill"}, cmd, more...)
	if !r.killed {
		t.Fatalf("the backfill was not killed at after_batch: %s", r)
	}
	e.settleCH()
	e.batch = batch
	e.mustPass("run")
	e.checkAll("an incremental pass after a backfill killed with its block open")
}
