package schedules

import (
	"fmt"
	"testing"

	"github.com/scriptstats/scriptstats/transform"
)

// runWithSteps is a run of n steps with names of ~20 bytes, as demodata
// writes them.
func runWithSteps(id int64, n int) transform.Run {
	r := transform.Run{ID: id, ScriptID: 1, Status: "success", Class: transform.StatusSuccess}
	for i := range n {
		r.Steps = append(r.Steps, transform.Step{Index: int32(i),
			Name:   transform.NullString{String: fmt.Sprintf("step number %08d", i), Valid: true},
			Status: transform.StepSuccess})
	}
	return r
}

// A batch is cut by --batch-size for runs of a few steps and by batchBytes
// for runs of many: 20,000 runs of 45 steps would hold ~115 MB.
func TestBatchFullByRunsOrBytes(t *testing.T) {
	fill := func(steps int) int {
		var b runBatch
		for id := int64(1); ; id++ {
			r := runWithSteps(id, steps)
			b.runs = append(b.runs, r)
			b.bytes += runBytes(&r)
			if b.full(20_000) {
				return len(b.runs)
			}
		}
	}
	if n := fill(6); n != 20_000 {
		t.Errorf("runs of 6 steps: batch of %d runs, want 20000 (--batch-size)", n)
	}
	// 320 + 7 ("success") + 45 × (96 + 20 + 7) = 5,862 bytes a run: the
	// 5,725th reaches 32 MiB (33,554,432 / 5,862 = 5,724.1).
	if n := fill(45); n != 5_725 {
		t.Errorf("runs of 45 steps: batch of %d runs, want 5725 (32 MiB)", n)
	}
	var b runBatch
	r := runWithSteps(1, 45)
	b.runs, b.bytes = append(b.runs, r), runBytes(&r)
	b.reset()
	if b.bytes != 0 || len(b.runs) != 0 {
		t.Errorf("reset batch: %d runs, %d bytes", len(b.runs), b.bytes)
	}
}
