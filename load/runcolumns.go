package load

import (
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/scriptstats/scriptstats/transform"
)

// runColumns holds a batch of runs_state rows column by column, in the
// order of insert_runs.sql. The driver's row-wise Append boxed every value
// of every row into an interface and took fresh pointers for the nullable
// ones (a third of the job's allocations in a full load); here the scalar
// columns go to the driver as one slice each, and the nullable values point
// into the runs themselves, which outlive the insert.
type runColumns struct {
	scriptID, runID                 []int64
	day                             []time.Time
	status, class                   []string
	orderedAt, createdAt, updatedAt []int64
	failureAt                       []int64
	startedAt, finishedAt           []*time.Time
	reportedDuration, duration      []*float64
	failedStepIndex                 []*int32
	failedStepName, errorMessage    []*string
	steps                           *stepArrays
	// The packed steps of every row (agg_steps), end to end, and where
	// each row's ends: one string for the whole batch.
	packed    []byte
	packedEnd []int
	scratch   []byte
	deleted   []uint8
}

// newRunColumns starts n rows whose step arrays go to steps (a block's
// rows of several batches share one stepArrays).
func newRunColumns(n int, steps *stepArrays) *runColumns {
	return &runColumns{
		scriptID: make([]int64, 0, n), runID: make([]int64, 0, n), day: make([]time.Time, 0, n),
		status: make([]string, 0, n), class: make([]string, 0, n),
		orderedAt: make([]int64, 0, n), createdAt: make([]int64, 0, n), updatedAt: make([]int64, 0, n),
		failureAt: make([]int64, 0, n),
		startedAt: make([]*time.Time, 0, n), finishedAt: make([]*time.Time, 0, n),
		reportedDuration: make([]*float64, 0, n), duration: make([]*float64, 0, n),
		failedStepIndex: make([]*int32, 0, n),
		failedStepName:  make([]*string, 0, n), errorMessage: make([]*string, 0, n),
		steps:     steps,
		packedEnd: make([]int, 0, n), deleted: make([]uint8, 0, n),
	}
}

// reset empties the columns for the next batch of a block, keeping their
// memory (the driver copied what appendTo and decodeInto gave it); the
// pointers into the last batch's runs are cleared so as not to keep them.
func (c *runColumns) reset() {
	clear(c.status)
	clear(c.startedAt)
	clear(c.finishedAt)
	clear(c.reportedDuration)
	clear(c.duration)
	clear(c.failedStepIndex)
	clear(c.failedStepName)
	clear(c.errorMessage)
	c.scriptID, c.runID, c.day = c.scriptID[:0], c.runID[:0], c.day[:0]
	c.status, c.class = c.status[:0], c.class[:0]
	c.orderedAt, c.createdAt, c.updatedAt, c.failureAt = c.orderedAt[:0], c.createdAt[:0], c.updatedAt[:0], c.failureAt[:0]
	c.startedAt, c.finishedAt = c.startedAt[:0], c.finishedAt[:0]
	c.reportedDuration, c.duration = c.reportedDuration[:0], c.duration[:0]
	c.failedStepIndex, c.failedStepName, c.errorMessage = c.failedStepIndex[:0], c.failedStepName[:0], c.errorMessage[:0]
	c.packed, c.packedEnd, c.deleted = c.packed[:0], c.packedEnd[:0], c.deleted[:0]
	c.steps.reset()
}

// reservePacked makes room for the packed steps of runs.
func (c *runColumns) reservePacked(runs []transform.Run) {
	n := 0
	for i := range runs {
		n += encodedStepsLen(runs[i].Steps)
	}
	c.packed = slices.Grow(c.packed, n)
}

func (c *runColumns) addRun(r *transform.Run) {
	c.scriptID = append(c.scriptID, r.ScriptID)
	c.day = append(c.day, r.Day.Time())
	c.runID = append(c.runID, r.ID)
	c.status = append(c.status, r.Status)
	c.class = append(c.class, statusClassNames[r.Class])
	c.orderedAt = append(c.orderedAt, r.OrderedAt.UnixMicro())
	c.createdAt = append(c.createdAt, r.CreatedAt.UnixMicro())
	c.updatedAt = append(c.updatedAt, r.UpdatedAt.UnixMicro())
	c.failureAt = append(c.failureAt, transform.ClampMicro(r.FinishedOrLatest()).UnixMicro())
	c.startedAt = append(c.startedAt, timeAt(&r.StartedAt))
	c.finishedAt = append(c.finishedAt, timeAt(&r.FinishedAt))
	c.reportedDuration = append(c.reportedDuration, floatAt(&r.ReportedDuration))
	c.duration = append(c.duration, floatAt(&r.Duration))
	c.failedStepIndex = append(c.failedStepIndex, int32At(&r.FailedStepIndex))
	c.failedStepName = append(c.failedStepName, strAt(&r.FailedStepName))
	c.errorMessage = append(c.errorMessage, strAt(&r.ErrorMessage))
	c.steps.addRun(r.Steps)
	c.scratch = encodeSteps(c.scratch, r.Steps)
	c.packed = append(c.packed, c.scratch...)
	c.packedEnd = append(c.packedEnd, len(c.packed))
	c.deleted = append(c.deleted, 0)
}

func (c *runColumns) addTombstone(g Location) {
	c.scriptID = append(c.scriptID, g.Key.ScriptID)
	c.day = append(c.day, g.Key.Day.Time())
	c.runID = append(c.runID, g.RunID)
	c.status = append(c.status, "")
	c.class = append(c.class, "unfinished")
	c.orderedAt = append(c.orderedAt, 0)
	c.createdAt = append(c.createdAt, 0)
	c.updatedAt = append(c.updatedAt, 0)
	c.failureAt = append(c.failureAt, 0)
	c.startedAt = append(c.startedAt, nil)
	c.finishedAt = append(c.finishedAt, nil)
	c.reportedDuration = append(c.reportedDuration, nil)
	c.duration = append(c.duration, nil)
	c.failedStepIndex = append(c.failedStepIndex, nil)
	c.failedStepName = append(c.failedStepName, nil)
	c.errorMessage = append(c.errorMessage, nil)
	c.steps.addRun(nil)
	c.packedEnd = append(c.packedEnd, len(c.packed))
	c.deleted = append(c.deleted, 1)
}

// appendTo hands every column but the step arrays to the batch, as whole
// slices (the driver's reflection-free path for scalar columns). The step
// arrays go to the batch in one piece, before it is sent
// (stepArrays.decodeInto).
func (c *runColumns) appendTo(batch driver.Batch, version uint64) error {
	versions := make([]uint64, len(c.runID))
	for i := range versions {
		versions[i] = version
	}
	all := string(c.packed)
	aggSteps := make([]string, len(c.packedEnd))
	from := 0
	for i, end := range c.packedEnd {
		aggSteps[i] = all[from:end]
		from = end
	}
	whole := []any{
		c.scriptID, c.day, c.runID, c.status, c.class,
		c.orderedAt, c.createdAt, c.updatedAt, c.failureAt,
		c.startedAt, c.finishedAt, c.reportedDuration, c.duration,
		c.failedStepIndex, c.failedStepName, c.errorMessage,
		nil, nil, nil, nil, nil, // the step arrays
		aggSteps, versions, c.deleted,
	}
	for i, v := range whole {
		if v == nil {
			continue
		}
		if err := batch.Column(i).Append(v); err != nil {
			return fmt.Errorf("column %d: %w", i, err)
		}
	}
	return nil
}

// firstStepColumn is the position of step_index in insert_runs.sql; the
// other step arrays follow it.
const firstStepColumn = 16

// Pointers into transform's nullable values, nil when not valid: no copy.

func strAt(v *transform.NullString) *string {
	if !v.Valid {
		return nil
	}
	return &v.String
}

func floatAt(v *transform.NullFloat) *float64 {
	if !v.Valid {
		return nil
	}
	return &v.Float64
}

func int32At(v *transform.NullInt32) *int32 {
	if !v.Valid {
		return nil
	}
	return &v.Int32
}

func timeAt(v *transform.NullTime) *time.Time {
	if !v.Valid {
		return nil
	}
	return &v.Time
}
