package demodata

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// MutateOptions says how many changes of each kind one pass makes.
type MutateOptions struct {
	// Gen rebuilds the script model (step lists, durations, stories): Seed,
	// MinSteps, MaxSteps, Stories and StepsShare must be the generation's.
	// Scripts 0 takes the number of rows of the scripts table.
	Gen Options
	// Seed of this pass: passes with different seeds change different runs.
	Seed int64
	// Now is the platform's clock for this pass (finish times, new runs); the
	// zero time means the database's now(). When the history lies ahead of
	// it, the pass happens one minute after the last run was created.
	Now time.Time

	Finish        int // unfinished runs (pending, queued, running) that finish
	LateUpdates   int // old finished runs whose status changes (failed -> success re-run, success -> failed by triage)
	RerunDays     int // (script, old day) pairs whose runs are all re-run and rewritten
	Moved         int // runs whose started_at/finished_at move one day later
	StepRenames   int // steps renamed in the last day's runs (and in this pass's new runs)
	ScriptRenames int // scripts.name changes
	Deletes       int // runs deleted
	NewRuns       int // runs appended (ids after the greatest), created in the last hour before Now
}

// MutateSummary tells what a pass changed. Every changed or inserted
// task_log row has updated_at = Stamp.
type MutateSummary struct {
	Stamp time.Time `json:"stamp"`
	// StampForced: the history lies ahead of the database clock, so
	// updated_at was set explicitly (to a time after every existing
	// updated_at) instead of by the trigger or the column default.
	StampForced   bool               `json:"stamp_forced"`
	PassTime      time.Time          `json:"pass_time"`
	Finished      []StatusChange     `json:"finished"`
	LateUpdated   []StatusChange     `json:"late_updated"`
	Reruns        []Rerun            `json:"reruns"`
	Moved         []MovedRun         `json:"moved"`
	StepRenames   []StepRenameChange `json:"step_renames"`
	ScriptRenames []ScriptRename     `json:"script_renames"`
	Deleted       []int64            `json:"deleted"`
	NewRuns       int64              `json:"new_runs"`
	NewFirstID    int64              `json:"new_first_id,omitempty"`
	NewLastID     int64              `json:"new_last_id,omitempty"`
}

// StatusChange is a run whose status changed.
type StatusChange struct {
	ID   int64  `json:"id"`
	From string `json:"from"`
	To   string `json:"to"`
}

// Rerun is a script's day whose runs were re-run (rewritten in place).
type Rerun struct {
	ScriptID int64   `json:"script_id"`
	Day      string  `json:"day"` // UTC date of coalesce(started_at, created_at)
	IDs      []int64 `json:"ids"`
}

// MovedRun is a run moved by one day.
type MovedRun struct {
	ID   int64     `json:"id"`
	From time.Time `json:"from"` // started_at before
	To   time.Time `json:"to"`
}

// StepRenameChange is a step renamed in the runs created since Since.
type StepRenameChange struct {
	ScriptID  int64     `json:"script_id"`
	StepIndex int       `json:"step_index"`
	OldName   string    `json:"old_name"`
	NewName   string    `json:"new_name"`
	Since     time.Time `json:"since"`
	Runs      int64     `json:"runs"` // rows rewritten
}

// ScriptRename is a scripts row renamed.
type ScriptRename struct {
	ScriptID int64  `json:"script_id"`
	OldName  string `json:"old_name"`
	NewName  string `json:"new_name"`
}

// Mutate applies one pass of changes, in one transaction, through ordinary
// UPDATE, INSERT (COPY) and DELETE statements: updated_at comes from the
// reference schema's trigger (updates) and column default (inserts), unless
// the history lies ahead of the database clock (see MutateSummary). Story
// scripts keep their history: only their unfinished runs may finish.
func Mutate(ctx context.Context, pool *pgxpool.Pool, opt MutateOptions) (MutateSummary, error) {
	var sum MutateSummary
	gen := opt.Gen
	if gen.Scripts == 0 {
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM scripts").Scan(&gen.Scripts); err != nil {
			return sum, fmt.Errorf("count scripts: %w", err)
		}
	}
	gen.End = time.Unix(0, 0) // not used by the model; normalize wants one
	if err := gen.normalize(); err != nil {
		return sum, err
	}
	m := buildModel(gen)
	tx, err := pool.Begin(ctx)
	if err != nil {
		return sum, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it is a no-op

	mu := &mutator{tx: tx, m: m, gen: gen, r: newRand(opt.Seed, 5000), used: map[int64]bool{}, sum: &sum}
	for _, s := range m.scripts {
		if s.story {
			mu.storyIDs = append(mu.storyIDs, s.id)
		}
	}
	if mu.storyIDs == nil {
		mu.storyIDs = []int64{}
	}
	var dbNow time.Time
	var maxID *int64
	var maxCreated, maxUpdated *time.Time
	if err := tx.QueryRow(ctx, "SELECT now(), max(id), max(created_at), max(updated_at) FROM task_log").
		Scan(&dbNow, &maxID, &maxCreated, &maxUpdated); err != nil {
		return sum, fmt.Errorf("read task_log bounds: %w", err)
	}
	if maxID == nil {
		return sum, errors.New("task_log is empty: generate a history first")
	}
	mu.maxID = *maxID
	pass := opt.Now
	if pass.IsZero() {
		pass = dbNow
	}
	pass = pass.UTC().Truncate(time.Microsecond)
	if !pass.After(*maxCreated) {
		pass = maxCreated.Add(time.Minute)
	}
	mu.pass = pass
	sum.PassTime = pass
	sum.Stamp = dbNow
	if !dbNow.After(*maxUpdated) || dbNow.Before(pass) {
		st := pass
		if maxUpdated.After(st) {
			st = *maxUpdated
		}
		sum.Stamp, sum.StampForced = st.Add(time.Second).UTC().Truncate(time.Microsecond), true
	}
	mu.lastCreated = *maxCreated

	steps := []struct {
		n  int
		fn func(context.Context, int) error
	}{
		{opt.Finish, mu.finish},
		{opt.LateUpdates, mu.lateUpdates},
		{opt.RerunDays, mu.reruns},
		{opt.Moved, mu.move},
		{opt.Deletes, mu.deletes}, // before the step renames, which count the rows they rewrite
		{opt.StepRenames, mu.stepRenames},
		{opt.ScriptRenames, mu.scriptRenames},
		{opt.NewRuns, mu.newRuns},
	}
	for _, st := range steps {
		if st.n <= 0 {
			continue
		}
		if err := st.fn(ctx, st.n); err != nil {
			return MutateSummary{}, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return MutateSummary{}, fmt.Errorf("commit: %w", err)
	}
	return sum, nil
}

type mutator struct {
	tx          pgx.Tx
	m           *model
	gen         Options
	r           *rand.Rand
	sum         *MutateSummary
	used        map[int64]bool
	storyIDs    []int64
	maxID       int64
	pass        time.Time
	lastCreated time.Time
}

// set returns the SET clause for updated_at (empty: the trigger stamps it)
// and the args with the stamp appended when needed.
func (mu *mutator) set(args []any) (string, []any) {
	if !mu.sum.StampForced {
		return "", args
	}
	args = append(args, mu.sum.Stamp)
	return fmt.Sprintf(", updated_at = $%d", len(args)), args
}

func (mu *mutator) exec(ctx context.Context, sqlFmt string, args ...any) (int64, error) {
	extra, args := mu.set(args)
	tag, err := mu.tx.Exec(ctx, fmt.Sprintf(sqlFmt, extra), args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// probe picks up to n run ids matching cond (SQL over task_log, whose
// placeholders start at $2) by trying random ids, falling back to the
// newest matching ones. Picked ids are marked used.
func (mu *mutator) probe(ctx context.Context, n int, cond string, args ...any) ([]int64, error) {
	var picked []int64
	q := "SELECT id FROM task_log WHERE id = ANY($1) AND " + cond
	for round := 0; round < 20 && len(picked) < n; round++ {
		cands := make([]int64, 0, max(64, 4*n))
		for try := 0; len(cands) < cap(cands) && try < 4*cap(cands); try++ {
			if id := 1 + mu.r.Int64N(mu.maxID); !mu.used[id] {
				cands = append(cands, id)
			}
		}
		rows, err := mu.tx.Query(ctx, q, append([]any{cands}, args...)...)
		if err != nil {
			return nil, err
		}
		ok, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return nil, err
		}
		okSet := map[int64]bool{}
		for _, id := range ok {
			okSet[id] = true
		}
		for _, id := range cands { // in the random order, for determinism
			if okSet[id] && !mu.used[id] && len(picked) < n {
				picked = append(picked, id)
				mu.used[id] = true
			}
		}
	}
	if len(picked) < n {
		used := make([]int64, 0, len(mu.used))
		for id := range mu.used {
			used = append(used, id)
		}
		rows, err := mu.tx.Query(ctx, "SELECT id FROM task_log WHERE id <> ALL($1) AND "+cond+
			fmt.Sprintf(" ORDER BY id DESC LIMIT %d", n-len(picked)), append([]any{used}, args...)...)
		if err != nil {
			return nil, err
		}
		more, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return nil, err
		}
		for _, id := range more {
			picked = append(picked, id)
			mu.used[id] = true
		}
	}
	return picked, nil
}

func (mu *mutator) script(id int64) *script {
	if id >= 1 && id <= int64(len(mu.m.scripts)) {
		return mu.m.scripts[id-1]
	}
	return mu.m.scripts[int(uint64(id)%uint64(len(mu.m.scripts)))]
}

// outcome simulates a (re-)run of s started at started and returns the
// column values to set.
func (mu *mutator) outcome(s *script, started time.Time, withSteps, forceSuccess bool) (status string, fin time.Time, dur any, fIdx, fName, errMsg any, steps any) {
	b := builder{m: mu.m, r: mu.r}
	status, failedAt, total := b.simulate(s, started, forceSuccess)
	fin = addSec(started, total+0.3*mu.r.Float64())
	dur = total
	if failedAt >= 0 {
		fIdx, fName, errMsg = int32(failedAt), b.els[failedAt].name, b.failMsg
	}
	if withSteps {
		steps = appendSteps(nil, b.els)
	}
	return
}

// finishedOK selects old finished runs of scripts without a story ($2: the
// story scripts, $3: created before).
const finishedOK = "status IN ('success', 'failed', 'timeout') AND started_at IS NOT NULL AND isfinite(started_at) AND script_id <> ALL($2) AND created_at < $3"

func (mu *mutator) finish(ctx context.Context, n int) error {
	rows, err := mu.tx.Query(ctx, `SELECT id, script_id, status, started_at, created_at FROM task_log
		WHERE status IN ('pending', 'queued', 'running') ORDER BY id LIMIT $1`, n)
	if err != nil {
		return fmt.Errorf("finish: %w", err)
	}
	type unfinished struct {
		id, scriptID int64
		status       string
		started      *time.Time
		created      time.Time
	}
	var us []unfinished
	for rows.Next() {
		var u unfinished
		if err := rows.Scan(&u.id, &u.scriptID, &u.status, &u.started, &u.created); err != nil {
			rows.Close()
			return fmt.Errorf("finish: %w", err)
		}
		us = append(us, u)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("finish: %w", err)
	}
	for _, u := range us {
		mu.used[u.id] = true
		started := addSec(u.created, 1+5*mu.r.Float64())
		if u.started != nil {
			started = *u.started
		}
		withSteps := mu.r.Float64() < mu.gen.StepsShare
		status, fin, dur, fIdx, fName, errMsg, steps := mu.outcome(mu.script(u.scriptID), started, withSteps, false)
		if _, err := mu.exec(ctx, `UPDATE task_log SET status = $2, started_at = $3, finished_at = $4, duration = $5,
			failed_step_index = $6, failed_step_name = $7, error_message = $8, steps = $9%s WHERE id = $1`,
			u.id, status, started, fin, dur, fIdx, fName, errMsg, steps); err != nil {
			return fmt.Errorf("finish run %d: %w", u.id, err)
		}
		mu.sum.Finished = append(mu.sum.Finished, StatusChange{ID: u.id, From: u.status, To: status})
	}
	return nil
}

func (mu *mutator) lateUpdates(ctx context.Context, n int) error {
	// Two thirds failures re-run successfully, the rest successes marked
	// failed by a triage.
	before := mu.pass.Add(-48 * time.Hour)
	ids, err := mu.probe(ctx, (2*n+2)/3, finishedOK+" AND status IN ('failed', 'timeout')", mu.storyIDs, before)
	if err != nil {
		return fmt.Errorf("late updates: %w", err)
	}
	more, err := mu.probe(ctx, n-len(ids), finishedOK, mu.storyIDs, before)
	if err != nil {
		return fmt.Errorf("late updates: %w", err)
	}
	for _, id := range append(ids, more...) {
		var scriptID int64
		var status string
		var started time.Time
		var hasSteps bool
		if err := mu.tx.QueryRow(ctx, "SELECT script_id, status, started_at, steps IS NOT NULL FROM task_log WHERE id = $1", id).
			Scan(&scriptID, &status, &started, &hasSteps); err != nil {
			return fmt.Errorf("late update of run %d: %w", id, err)
		}
		to := "success"
		if status == "success" {
			to = "failed"
			msg := fmt.Sprintf("Marked as failed during triage by %s: the result was a false positive (environment misconfigured)", users[mu.r.IntN(len(users))])
			_, err = mu.exec(ctx, "UPDATE task_log SET status = 'failed', error_message = $2%s WHERE id = $1", id, msg)
		} else {
			_, fin, dur, _, _, _, steps := mu.outcome(mu.script(scriptID), started, hasSteps, true)
			_, err = mu.exec(ctx, `UPDATE task_log SET status = 'success', finished_at = $2, duration = $3, steps = $4,
				failed_step_index = NULL, failed_step_name = NULL, error_message = NULL%s WHERE id = $1`, id, fin, dur, steps)
		}
		if err != nil {
			return fmt.Errorf("late update of run %d: %w", id, err)
		}
		mu.sum.LateUpdated = append(mu.sum.LateUpdated, StatusChange{ID: id, From: status, To: to})
	}
	return nil
}

func (mu *mutator) reruns(ctx context.Context, n int) error {
	for range n {
		ids, err := mu.probe(ctx, 1, finishedOK, mu.storyIDs, mu.pass.Add(-72*time.Hour))
		if err != nil {
			return fmt.Errorf("re-run a day: %w", err)
		}
		if len(ids) == 0 {
			return nil // no old day to re-run: the summary shows fewer
		}
		var scriptID int64
		var started time.Time
		if err := mu.tx.QueryRow(ctx, "SELECT script_id, started_at FROM task_log WHERE id = $1", ids[0]).Scan(&scriptID, &started); err != nil {
			return fmt.Errorf("re-run a day: %w", err)
		}
		day := started.UTC().Truncate(24 * time.Hour)
		rows, err := mu.tx.Query(ctx, `SELECT id, started_at, steps IS NOT NULL FROM task_log
			WHERE script_id = $1 AND started_at >= $2 AND started_at < $3
			  AND status IN ('success', 'failed', 'timeout', 'cancelled') ORDER BY id`, scriptID, day, day.Add(24*time.Hour))
		if err != nil {
			return fmt.Errorf("re-run a day: %w", err)
		}
		type one struct {
			id       int64
			started  time.Time
			hasSteps bool
		}
		var runs []one
		for rows.Next() {
			var o one
			if err := rows.Scan(&o.id, &o.started, &o.hasSteps); err != nil {
				rows.Close()
				return fmt.Errorf("re-run a day: %w", err)
			}
			runs = append(runs, o)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("re-run a day: %w", err)
		}
		rr := Rerun{ScriptID: scriptID, Day: day.Format(time.DateOnly)}
		s := mu.script(scriptID)
		for _, o := range runs {
			if mu.used[o.id] && o.id != ids[0] {
				continue
			}
			mu.used[o.id] = true
			status, fin, dur, fIdx, fName, errMsg, steps := mu.outcome(s, o.started, o.hasSteps, false)
			if _, err := mu.exec(ctx, `UPDATE task_log SET status = $2, finished_at = $3, duration = $4,
				failed_step_index = $5, failed_step_name = $6, error_message = $7, steps = $8%s WHERE id = $1`,
				o.id, status, fin, dur, fIdx, fName, errMsg, steps); err != nil {
				return fmt.Errorf("re-run run %d: %w", o.id, err)
			}
			rr.IDs = append(rr.IDs, o.id)
		}
		mu.sum.Reruns = append(mu.sum.Reruns, rr)
	}
	return nil
}

func (mu *mutator) move(ctx context.Context, n int) error {
	ids, err := mu.probe(ctx, n, finishedOK, mu.storyIDs, mu.pass.Add(-48*time.Hour))
	if err != nil {
		return fmt.Errorf("move runs: %w", err)
	}
	for _, id := range ids {
		var from, to time.Time
		extra, args := mu.set([]any{id})
		if err := mu.tx.QueryRow(ctx, fmt.Sprintf(`UPDATE task_log SET started_at = started_at + interval '1 day',
			finished_at = finished_at + interval '1 day'%s WHERE id = $1
			RETURNING started_at - interval '1 day', started_at`, extra), args...).Scan(&from, &to); err != nil {
			return fmt.Errorf("move run %d: %w", id, err)
		}
		mu.sum.Moved = append(mu.sum.Moved, MovedRun{ID: id, From: from.UTC(), To: to.UTC()})
	}
	return nil
}

func (mu *mutator) stepRenames(ctx context.Context, n int) error {
	since := mu.lastCreated.Add(-24 * time.Hour)
	for range n {
		s := mu.m.pickNonStory(mu.r)
		if s.story || len(s.steps) == 0 {
			return nil
		}
		k := mu.r.IntN(len(s.steps))
		old := mu.m.stepName(s, k, mu.pass)
		name := renamed(old)
		affected, err := mu.exec(ctx, `UPDATE task_log SET
			steps = CASE WHEN jsonb_typeof(steps) = 'array' THEN
				(SELECT jsonb_agg(CASE WHEN jsonb_typeof(e) = 'object' AND e->'index' = to_jsonb($2::int)
					THEN jsonb_set(e, '{name}', to_jsonb($3::text)) ELSE e END ORDER BY o)
				 FROM jsonb_array_elements(steps) WITH ORDINALITY AS a(e, o))
				ELSE steps END,
			failed_step_name = CASE WHEN failed_step_index = $2 THEN $3 ELSE failed_step_name END%s
			WHERE script_id = $1 AND created_at >= $4
			  AND ((jsonb_typeof(steps) = 'array' AND steps @> jsonb_build_array(jsonb_build_object('index', $2::int)))
			       OR failed_step_index = $2)`, s.id, k, name, since)
		if err != nil {
			return fmt.Errorf("rename step: %w", err)
		}
		// This pass's new runs use the new name too.
		s.renameStep, s.renameTo = k, name
		mu.sum.StepRenames = append(mu.sum.StepRenames, StepRenameChange{ScriptID: s.id, StepIndex: k,
			OldName: old, NewName: name, Since: since, Runs: affected})
	}
	return nil
}

func (mu *mutator) scriptRenames(ctx context.Context, n int) error {
	for range n {
		s := mu.m.pickNonStory(mu.r)
		if s.story {
			return nil
		}
		var old string
		if err := mu.tx.QueryRow(ctx, "SELECT name FROM scripts WHERE id = $1", s.id).Scan(&old); err != nil {
			return fmt.Errorf("rename script %d: %w", s.id, err)
		}
		name := old + "-v2"
		for _, k := range kinds {
			if base, ok := strings.CutSuffix(old, "-"+k); ok {
				if nk := kinds[mu.r.IntN(len(kinds))]; nk != k {
					name = base + "-" + nk
				}
				break
			}
		}
		if _, err := mu.tx.Exec(ctx, "UPDATE scripts SET name = $2 WHERE id = $1", s.id, name); err != nil {
			return fmt.Errorf("rename script %d: %w", s.id, err)
		}
		mu.sum.ScriptRenames = append(mu.sum.ScriptRenames, ScriptRename{ScriptID: s.id, OldName: old, NewName: name})
	}
	return nil
}

func (mu *mutator) deletes(ctx context.Context, n int) error {
	ids, err := mu.probe(ctx, n, "script_id <> ALL($2) AND created_at < $3", mu.storyIDs, mu.pass.Add(-time.Hour))
	if err != nil {
		return fmt.Errorf("delete runs: %w", err)
	}
	if _, err := mu.tx.Exec(ctx, "DELETE FROM task_log WHERE id = ANY($1)", ids); err != nil {
		return fmt.Errorf("delete runs: %w", err)
	}
	slices.Sort(ids)
	mu.sum.Deleted = ids
	return nil
}

func (mu *mutator) newRuns(ctx context.Context, n int) error {
	lo := mu.lastCreated
	if h := mu.pass.Add(-time.Hour); h.After(lo) {
		lo = h
	}
	span := max(mu.pass.Sub(lo).Microseconds(), 1)
	times := make([]int64, n)
	for i := range times {
		times[i] = lo.UnixMicro() + 1 + mu.r.Int64N(span)
	}
	slices.Sort(times)
	gen := mu.gen
	gen.End = mu.pass
	gen.HugeErrorBytes = 0
	p := &plan{opt: gen, m: mu.m}
	w := &worker{p: p, r: mu.r, pt: &part{byStatus: map[string]int64{}, odd: map[string]int64{}}}
	w.b = builder{m: mu.m, r: mu.r}
	cols, width := taskLogColumns, len(taskLogColumns)
	if !mu.sum.StampForced {
		cols, width = cols[:width-1], width-1 // updated_at: the column default, now()
	}
	row := make([]any, len(taskLogColumns))
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i >= n {
			return nil, nil
		}
		var rn run
		w.makeRun(&rn, mu.maxID+1+int64(i), time.UnixMicro(times[i]).UTC(), 0)
		if mu.sum.StampForced {
			rn.updated = mu.sum.Stamp
		}
		rn.values(row)
		i++
		return row[:width], nil
	})
	copied, err := mu.tx.CopyFrom(ctx, pgx.Identifier{"task_log"}, cols, src)
	if err != nil {
		return fmt.Errorf("insert new runs: %w", err)
	}
	mu.sum.NewRuns = copied
	if copied > 0 {
		mu.sum.NewFirstID, mu.sum.NewLastID = mu.maxID+1, mu.maxID+copied
	}
	return nil
}
