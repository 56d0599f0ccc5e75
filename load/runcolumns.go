package load

import (
	"fmt"
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
	stepIndex                       [][]int32
	stepName, stepError             [][]*string
	stepStatus                      [][]string
	stepDuration                    [][]*float64
	// The packed steps of every row (agg_steps), end to end, and where
	// each row's ends: one string for the whole batch.
	packed      []byte
	packedEnd   []int
	scratch     []byte
	deleted     []uint8
	idxArena    []int32
	strArena    []*string
	statusArena []string
	floatArena  []*float64
}

func newRunColumns(n int) *runColumns {
	return &runColumns{
		scriptID: make([]int64, 0, n), runID: make([]int64, 0, n), day: make([]time.Time, 0, n),
		status: make([]string, 0, n), class: make([]string, 0, n),
		orderedAt: make([]int64, 0, n), createdAt: make([]int64, 0, n), updatedAt: make([]int64, 0, n),
		failureAt: make([]int64, 0, n),
		startedAt: make([]*time.Time, 0, n), finishedAt: make([]*time.Time, 0, n),
		reportedDuration: make([]*float64, 0, n), duration: make([]*float64, 0, n),
		failedStepIndex: make([]*int32, 0, n),
		failedStepName:  make([]*string, 0, n), errorMessage: make([]*string, 0, n),
		stepIndex: make([][]int32, 0, n), stepName: make([][]*string, 0, n), stepError: make([][]*string, 0, n),
		stepStatus: make([][]string, 0, n), stepDuration: make([][]*float64, 0, n),
		packedEnd: make([]int, 0, n), deleted: make([]uint8, 0, n),
	}
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
	n := len(r.Steps)
	idx, names, statuses, durs, errs := c.take(n)
	for j := range r.Steps {
		st := &r.Steps[j]
		idx[j] = st.Index
		names[j] = strAt(&st.Name)
		statuses[j] = st.Status
		durs[j] = floatAt(&st.Duration)
		errs[j] = strAt(&st.Error)
	}
	c.stepIndex = append(c.stepIndex, idx)
	c.stepName = append(c.stepName, names)
	c.stepStatus = append(c.stepStatus, statuses)
	c.stepDuration = append(c.stepDuration, durs)
	c.stepError = append(c.stepError, errs)
	c.scratch = encodeSteps(c.scratch, r.Steps)
	c.packed = append(c.packed, c.scratch...)
	c.packedEnd = append(c.packedEnd, len(c.packed))
	c.deleted = append(c.deleted, 0)
}

// take returns the step slices of one row, cut from arenas shared by the
// batch (one allocation per few thousand steps instead of five per run).
func (c *runColumns) take(n int) ([]int32, []*string, []string, []*float64, []*string) {
	if n == 0 {
		return []int32{}, []*string{}, []string{}, []*float64{}, []*string{}
	}
	const chunk = 4096
	if len(c.idxArena) < n {
		size := max(n, chunk)
		c.idxArena = make([]int32, size)
		c.statusArena = make([]string, size)
		c.floatArena = make([]*float64, size)
	}
	if len(c.strArena) < 2*n {
		c.strArena = make([]*string, max(2*n, 2*chunk))
	}
	idx := c.idxArena[:n:n]
	statuses := c.statusArena[:n:n]
	durs := c.floatArena[:n:n]
	names := c.strArena[:n:n]
	errs := c.strArena[n : 2*n : 2*n]
	c.idxArena, c.statusArena, c.floatArena = c.idxArena[n:], c.statusArena[n:], c.floatArena[n:]
	c.strArena = c.strArena[2*n:]
	return idx, names, statuses, durs, errs
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
	c.stepIndex = append(c.stepIndex, []int32{})
	c.stepName = append(c.stepName, []*string{})
	c.stepStatus = append(c.stepStatus, []string{})
	c.stepDuration = append(c.stepDuration, []*float64{})
	c.stepError = append(c.stepError, []*string{})
	c.packedEnd = append(c.packedEnd, len(c.packed))
	c.deleted = append(c.deleted, 1)
}

// appendTo hands the columns to the batch: scalar columns as whole slices,
// the step arrays row by row (the driver's reflection-free path for a
// one-level array).
func (c *runColumns) appendTo(batch driver.Batch, version uint64) error {
	versions := make([]uint64, len(c.runID))
	for i := range versions {
		versions[i] = version
	}
	whole := []any{
		c.scriptID, c.day, c.runID, c.status, c.class,
		c.orderedAt, c.createdAt, c.updatedAt, c.failureAt,
		c.startedAt, c.finishedAt, c.reportedDuration, c.duration,
		c.failedStepIndex, c.failedStepName, c.errorMessage,
	}
	for i, v := range whole {
		if err := batch.Column(i).Append(v); err != nil {
			return fmt.Errorf("column %d: %w", i, err)
		}
	}
	arrays := []func(i int) any{
		func(i int) any { return c.stepIndex[i] },
		func(i int) any { return c.stepName[i] },
		func(i int) any { return c.stepStatus[i] },
		func(i int) any { return c.stepDuration[i] },
		func(i int) any { return c.stepError[i] },
	}
	for k, at := range arrays {
		col := batch.Column(len(whole) + k)
		for i := range c.runID {
			if err := col.AppendRow(at(i)); err != nil {
				return fmt.Errorf("column %d, run %d: %w", len(whole)+k, c.runID[i], err)
			}
		}
	}
	all := string(c.packed)
	aggSteps := make([]string, len(c.packedEnd))
	from := 0
	for i, end := range c.packedEnd {
		aggSteps[i] = all[from:end]
		from = end
	}
	rest := []any{aggSteps, versions, c.deleted}
	for k, v := range rest {
		if err := batch.Column(len(whole) + len(arrays) + k).Append(v); err != nil {
			return fmt.Errorf("column %d: %w", len(whole)+len(arrays)+k, err)
		}
	}
	return nil
}

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
