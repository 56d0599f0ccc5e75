package schedules

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// Failpoints let the reliability tests stop a pass at a chosen point, so
// that every crash window can be hit deterministically. They are read once
// from SCRIPTSTATS_FAILPOINTS, a list like
//
//	after_journal=kill;before_state=sleep:5s;mid_runs_insert=error
//
// with the actions kill (SIGKILL this process), sleep:DURATION, hang (until
// the pass is cancelled) and error. Unset (always, in production), a
// failpoint costs one map lookup.
var failpoints = parseFailpoints(os.Getenv("SCRIPTSTATS_FAILPOINTS"))

// The failpoints a pass passes through, in order.
const (
	fpAfterLock      = "after_lock"       // lock held, nothing read
	fpAfterJournal   = "after_journal"    // a batch's groups journaled, nothing else written
	fpAfterPlacesAdd = "after_places_add" // new places in run_places, runs_state not written
	fpMidRunsInsert  = "mid_runs_insert"  // runs_state written (a first load: maybe sent, not yet committed), old places still in run_places
	fpAfterBatch     = "after_batch"      // a batch of runs fully written
	fpAfterExtract   = "after_extract"    // every run read and written, groups not recomputed
	fpMidRecompute   = "mid_recompute"    // some groups written
	fpBeforeState    = "before_state"     // everything written but the watermark
	// --source logical: the state written, the slot not yet advanced.
	fpBeforeSlotAdvance = "before_slot_advance"
)

func parseFailpoints(spec string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(spec, ";") {
		name, action, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && name != "" {
			out[name] = action
		}
	}
	return out
}

// failpoint is the crash window name: the injected hook, or the action of
// SCRIPTSTATS_FAILPOINTS.
func (j *Job) failpoint(ctx context.Context, name string) error {
	if j.Failpoint != nil {
		// One call at a time: detection's change points and step health
		// pass through fpMidDetect from two goroutines, and a hook counts
		// the calls.
		j.failpointMu.Lock()
		defer j.failpointMu.Unlock()
		return j.Failpoint(ctx, name)
	}
	return failpoint(ctx, name)
}

// faultsInjected says whether crash windows are being tested: a hook is
// set, or SCRIPTSTATS_FAILPOINTS names one (groupBatchSize).
func (j *Job) faultsInjected() bool { return j.Failpoint != nil || len(failpoints) > 0 }

// failpoint acts on the named failpoint if it is set.
func failpoint(ctx context.Context, name string) error {
	action, ok := failpoints[name]
	if !ok {
		return nil
	}
	switch {
	case action == "kill":
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // never reached: SIGKILL cannot be caught
	case action == "hang":
		<-ctx.Done()
		return ctx.Err()
	case action == "error":
		return fmt.Errorf("failpoint %s", name)
	case strings.HasPrefix(action, "sleep:"):
		d, err := time.ParseDuration(strings.TrimPrefix(action, "sleep:"))
		if err != nil {
			return fmt.Errorf("failpoint %s: %w", name, err)
		}
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
