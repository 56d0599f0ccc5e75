package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/jackc/pgx/v5/pgxpool"
)

// harness is one benchmark invocation.
type harness struct {
	cfg    Config
	began  time.Time
	root   string // the repository
	tmp    string // the job binary lives here
	job    string // path of the scriptstats binary
	pg     *pgxpool.Pool
	ch     driver.Conn
	chOpts *clickhouse.Options
	chHTTP string
	res    *Results
	cpu    cpuProbe

	// databases created, dropped at the end unless kept
	pgDBs []string
	chDBs []string
}

// Run runs the whole benchmark. The results are returned even when a later
// step failed (with what was measured so far).
func Run(ctx context.Context, cfg Config) (res *Results, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	h := &harness{cfg: cfg, began: time.Now()}
	h.res = &Results{Started: h.began.UTC(), Config: summarizeConfig(cfg)}
	defer func() {
		h.close(ctx)
		h.res.Finished = time.Now().UTC()
		h.res.ElapsedSeconds = time.Since(h.began).Seconds()
		h.res.Machine.LoadAvgEnd = loadAvg()
		h.res.evaluate()
		if err != nil {
			h.res.Error = oneLine(err.Error())
		}
		if werr := h.writeOutputs(err == nil); err == nil {
			err = werr
		}
	}()
	if err := h.open(ctx); err != nil {
		return h.res, err
	}
	type size struct{ runs, days int }
	sizes := []size{{cfg.Runs, cfg.Days}}
	if cfg.BigRuns > 0 {
		sizes = append(sizes, size{cfg.BigRuns, h.cfg.BigDays})
	}
	for i, z := range sizes {
		sr, err := h.size(ctx, z.runs, z.days, i == 0)
		if sr != nil {
			h.res.Sizes = append(h.res.Sizes, *sr)
		}
		if err != nil {
			return h.res, fmt.Errorf("%s runs: %w", h.label(z.runs, z.days), err)
		}
	}
	return h.res, nil
}

func (h *harness) open(ctx context.Context) error {
	var err error
	if h.root, err = repoRoot(ctx); err != nil {
		return err
	}
	for _, p := range []*string{&h.cfg.Out, &h.cfg.MD, &h.cfg.Doc, &h.cfg.ProfileDir} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(h.root, *p)
		}
	}
	if h.pg, err = pgxpool.New(ctx, h.cfg.PGDSN); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if err := h.pg.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if h.chOpts, err = clickhouse.ParseDSN(h.cfg.CHDSN); err != nil {
		return errors.New("clickhouse dsn: cannot parse it")
	}
	h.chOpts.Auth.Database = "default"
	if h.ch, err = clickhouse.Open(h.chOpts); err != nil {
		return fmt.Errorf("clickhouse: %w", err)
	}
	if err := h.ch.Ping(ctx); err != nil {
		return fmt.Errorf("clickhouse: %w", err)
	}
	if h.chHTTP, err = h.httpURL(); err != nil {
		return err
	}
	h.res.Machine = machineInfo(ctx, h.pg, h.ch)
	h.cpu = newCPUProbe(ctx, h.pg, h.root)
	h.res.Command = commandLine()
	h.res.Revision = revision(ctx, h.root)
	h.logf("machine: %d CPUs (%s), %.1f GiB, %s, ClickHouse %s, PostgreSQL %s, load average %s",
		h.res.Machine.CPUs, h.res.Machine.CPUModel, float64(h.res.Machine.MemoryBytes)/(1<<30),
		h.res.Machine.GoVersion, h.res.Machine.ClickHouseVersion, h.res.Machine.PostgresVersion, h.res.Machine.LoadAvgStart)
	if h.tmp, err = os.MkdirTemp("", "scriptstats-bench-"); err != nil {
		return err
	}
	h.logf("building scriptstats")
	if h.job, err = buildJob(ctx, h.root, h.tmp); err != nil {
		return err
	}
	return nil
}

// close drops what is not kept and closes the connections.
func (h *harness) close(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	if h.ch != nil && !h.cfg.KeepClickHouse {
		for _, db := range h.chDBs {
			if err := h.ch.Exec(ctx, "DROP DATABASE IF EXISTS "+quoteCH(db)+" SYNC"); err != nil {
				h.logf("drop clickhouse database %s: %v", db, err)
			}
		}
	}
	if h.pg != nil && !h.cfg.KeepData {
		for _, db := range h.pgDBs {
			if _, err := h.pg.Exec(ctx, "DROP DATABASE IF EXISTS "+quotePG(db)+" WITH (FORCE)"); err != nil {
				h.logf("drop postgres database %s: %v", db, err)
			}
		}
	}
	if h.pg != nil {
		h.pg.Close()
	}
	if h.ch != nil {
		_ = h.ch.Close()
	}
	if h.tmp != "" {
		_ = os.RemoveAll(h.tmp)
	}
}

func (h *harness) addCHDB(name string) {
	for _, d := range h.chDBs {
		if d == name {
			return
		}
	}
	h.chDBs = append(h.chDBs, name)
}

// size runs every measurement on a history of n runs.
func (h *harness) size(ctx context.Context, n, days int, main bool) (*SizeResult, error) {
	sr := &SizeResult{Runs: n, Days: days, Label: h.label(n, days), LoadAvgStart: loadAvg()}
	defer func() {
		sr.finish()
		sr.LoadAvgEnd = loadAvg()
	}()
	src, err := h.ensureData(ctx, n, days, &sr.Data)
	if err != nil {
		return sr, err
	}
	defer src.pool.Close()
	// A crashed earlier invocation may have left new runs behind.
	if err := src.trim(ctx); err != nil {
		return sr, err
	}
	chDB := h.dbName(n, days)
	h.addCHDB(chDB)
	chDSN, err := withURLPath(h.cfg.CHDSN, chDB)
	if err != nil {
		return sr, err
	}
	reps := h.cfg.Reps
	if !main && h.cfg.BigReps > 0 {
		reps = h.cfg.BigReps
	}
	for rep := 1; rep <= reps; rep++ {
		dash := rep == reps && (main || h.cfg.BigDashboards)
		r, err := h.rep(ctx, src, sr.Label, rep, chDB, chDSN, dash)
		if err != nil && ctx.Err() == nil {
			// The local stack is shared: a server restarted by someone
			// else's test fails a repetition. Try it once more.
			h.logf("%s rep %d/%d failed, retrying once in 10s: %v", sr.Label, rep, h.cfg.Reps, err)
			sr.Retries = append(sr.Retries, fmt.Sprintf("rep %d: %s", rep, oneLine(err.Error())))
			if terr := src.trim(ctx); terr != nil {
				return sr, terr
			}
			select {
			case <-ctx.Done():
				return sr, ctx.Err()
			case <-time.After(10 * time.Second):
			}
			r, err = h.rep(ctx, src, sr.Label, rep, chDB, chDSN, dash)
		}
		if err != nil {
			return sr, err
		}
		sr.Raw.add(r.raw)
		if sr.RawBy == nil {
			sr.RawBy = map[string]*Series{}
		}
		for how, secs := range r.rawBy {
			if sr.RawBy[string(how)] == nil {
				sr.RawBy[string(how)] = &Series{}
			}
			sr.RawBy[string(how)].add(secs)
		}
		sr.RawCPU = append(sr.RawCPU, r.rawCPU)
		sr.Full.add(r.full.Wall)
		sr.FullCPU = append(sr.FullCPU, r.full.CPU)
		sr.FullRSS.add(float64(r.full.MaxRSSKiB))
		sr.FullPass = r.full.Pass
		addPhases(&sr.FullPhases, r.full.Pass)
		sr.MergeWait.add(r.mergeWait.Seconds())
		sr.DashMergeWait.add(r.dashMergeWait.Seconds())
		sr.Settle.add(r.settle.Wall)
		sr.SettleRows.add(float64(r.settle.Pass.RowsExtracted))
		sr.Incremental.add(r.inc.Wall)
		sr.IncrementalCPU = append(sr.IncrementalCPU, r.inc.CPU)
		sr.IncrementalRows.add(float64(r.inc.Pass.RowsExtracted))
		sr.IncrementalRSS.add(float64(r.inc.MaxRSSKiB))
		sr.IncrementalPass = r.inc.Pass
		addPhases(&sr.IncPhases, r.inc.Pass)
		addDetection(sr, r.full.Pass, r.inc.Pass)
		sr.SameDay.add(r.inc2.Wall)
		if d := r.inc2.Pass.Detection.DurationMS; d > 0 && r.inc2.Pass.DurationMS > d {
			sr.SameDayDetect.add(d / 1000)
			sr.SameDayDetectGain.add(r.inc2.Pass.DurationMS / (r.inc2.Pass.DurationMS - d))
		}
		sr.Tables = r.tables
		sr.Backfill.add(r.backfill.Wall)
		sr.BackfillRate.add(float64(r.backfill.Pass.RowsExtracted) / r.backfill.Wall)
		sr.BackfillPass = r.backfill.Pass
		sr.FullNoDetect.add(r.full.Pass.WithoutDetectionMS() / 1000)
		sr.BackfillNoDetect.add(r.backfill.Pass.WithoutDetectionMS() / 1000)
		if dash {
			sr.Dashboards = r.dashboards
		}
	}
	if h.cfg.Logical {
		if err := h.logicalIncremental(ctx, src, sr.Label, chDB, chDSN, reps, sr); err != nil {
			return sr, fmt.Errorf("logical source: %w", err)
		}
	}
	if main && h.cfg.Profile {
		p, err := h.profile(ctx, src.dsn, n)
		if err != nil {
			return sr, fmt.Errorf("profile: %w", err)
		}
		h.res.Profile = p
	}
	return sr, nil
}

func addPhases(p *[4]Series, s PassSummary) {
	if s.SetupMS+s.LoadMS+s.RecomputeMS == 0 {
		return // a job that does not log them
	}
	p[0].add(s.SetupMS)
	p[1].add(s.LoadMS)
	p[2].add(s.RecomputeMS)
	if s.RelinkMS > 0 { // logged apart since the tenth round
		p[3].add(s.RelinkMS)
	}
}

// addDetection adds the detection figures of a repetition's passes (a job
// without detection logs none).
func addDetection(sr *SizeResult, full, inc PassSummary) {
	if full.Detection.DurationMS > 0 {
		sr.FullDetect.add(full.Detection.DurationMS / 1000)
	}
	if d := inc.Detection.DurationMS; d > 0 && inc.DurationMS > d {
		sr.IncDetect.add(d / 1000)
		sr.IncDetectRuns.add(float64(inc.Detection.RunsRead))
		sr.IncDetectGain.add(inc.DurationMS / (inc.DurationMS - d))
	}
}

// repResult is what one repetition measured.
type repResult struct {
	raw               float64 // the fastest raw move of the repetition
	rawCPU            CPUUse
	rawBy             map[rawBaseline]float64
	full, settle, inc jobRun
	// inc2: a second pass of NewRuns new runs right after inc — a later
	// pass of the same day (inc is the first of a day when the history
	// ends on an earlier one: its change tails move their cut).
	inc2          jobRun
	mergeWait     time.Duration // waited after the full load for the merges to end
	dashMergeWait time.Duration // waited after the backfill, before the questions
	backfill      jobRun
	tables        []TableBytes
	dashboards    []QuestionResult
}

// rep is one repetition: the raw move, then into a new ClickHouse
// database migrate, the full load, an incremental pass with nothing new, n
// new runs at the source and the measured incremental pass (then, with
// dash, the dashboard questions). The new runs are deleted at the end.
func (h *harness) rep(ctx context.Context, src *source, label string, rep int, chDB, chDSN string, dash bool) (r repResult, err error) {
	n := src.n
	h.quiet(ctx, label+" raw move")
	defer func() {
		if terr := src.trim(ctx); err == nil {
			err = terr
		}
	}()
	// Every raw baseline, one after the other; the repetition's raw move
	// is the fastest of them (issue 12).
	r.rawBy = map[rawBaseline]float64{}
	for _, how := range rawBaselines {
		if how != rawGo {
			h.quiet(ctx, label+" raw move "+string(how))
		}
		secs, cpu, err := h.rawMoveBy(ctx, how, src, n)
		if err != nil {
			return r, fmt.Errorf("raw move: %w", err)
		}
		r.rawBy[how] = secs
		if r.raw == 0 || secs < r.raw {
			r.raw, r.rawCPU = secs, cpu
		}
		h.logf("%s rep %d/%d: raw move %s %.1fs (%.0f rows/s)", label, rep, h.cfg.Reps, how, secs, float64(n)/secs)
	}

	if err := h.ch.Exec(ctx, "DROP DATABASE IF EXISTS "+quoteCH(chDB)+" SYNC"); err != nil {
		return r, fmt.Errorf("drop %s: %w", chDB, err)
	}
	if _, err := h.runJob(ctx, src.dsn, chDSN, "migrate"); err != nil {
		return r, err
	}
	h.quiet(ctx, label+" full load")
	run := append([]string{"run"}, h.cfg.JobArgs...)
	if r.full, err = h.runJob(ctx, src.dsn, chDSN, run...); err != nil {
		return r, err
	}
	if p := r.full.Pass; p.Mode != "full" || p.RowsExtracted != int64(n) {
		return r, fmt.Errorf("full load: mode %q, %d rows extracted, want full and %d", p.Mode, p.RowsExtracted, n)
	}
	h.logf("%s rep %d/%d: full load %.1fs (%.0f rows/s), peak RSS %d MiB, %d groups; CPU s job %.1f, PostgreSQL %.1f, ClickHouse %.1f, machine %.1f",
		label, rep, h.cfg.Reps, r.full.Wall, float64(n)/r.full.Wall, r.full.MaxRSSKiB>>10, r.full.Pass.GroupsRecomputed,
		r.full.CPU.Client, r.full.CPU.Postgres, r.full.CPU.ClickHouse, r.full.CPU.Machine)

	if r.tables, err = h.tableBytes(ctx, chDB); err != nil {
		return r, err
	}

	// A CronJob's passes run long after the first load, on merged parts:
	// right after a load of millions of runs, ClickHouse is still merging
	// its parts for minutes, and a pass measured then pays for those merges
	// (CPU on 2 cores) and reads FINAL over unmerged parts.
	if r.mergeWait, err = h.waitMerges(ctx, chDB); err != nil {
		return r, err
	}
	if r.mergeWait > time.Second {
		h.logf("%s rep %d/%d: waited %.0fs for ClickHouse's merges of the load to end", label, rep, h.cfg.Reps, r.mergeWait.Seconds())
	}
	h.quiet(ctx, label+" incremental")

	// The first incremental pass after a full load re-reads the whole
	// table when a transaction (of any database of the cluster) was in
	// progress at the full load's snapshot and has completed since: the
	// watermark cannot date it yet (schedules/watermark.go). One pass with
	// nothing new reaches the steady state a CronJob runs in.
	if r.settle, err = h.runJob(ctx, src.dsn, chDSN, run...); err != nil {
		return r, err
	}
	h.logf("%s rep %d/%d: first incremental pass (nothing new) %.2fs, %d rows read",
		label, rep, h.cfg.Reps, r.settle.Wall, r.settle.Pass.RowsExtracted)

	if r.inc, err = h.newRunsPass(ctx, src, chDSN, run, int64(rep), "incremental pass"); err != nil {
		return r, err
	}
	h.logf("%s rep %d/%d: incremental %.2fs (%d rows read, %d groups), peak RSS %d MiB",
		label, rep, h.cfg.Reps, r.inc.Wall, r.inc.Pass.RowsExtracted, r.inc.Pass.GroupsRecomputed, r.inc.MaxRSSKiB>>10)
	if r.inc2, err = h.newRunsPass(ctx, src, chDSN, run, 500+int64(rep), "second incremental pass"); err != nil {
		return r, err
	}
	h.logf("%s rep %d/%d: incremental, a second pass of the same day %.2fs (%d rows read), detection %.2fs",
		label, rep, h.cfg.Reps, r.inc2.Wall, r.inc2.Pass.RowsExtracted, r.inc2.Pass.Detection.DurationMS/1000)

	// backfill of every day of the history (issue 12: ≥ 0.8 × the full
	// load's rate): reads the whole source again and rewrites every run.
	h.quiet(ctx, label+" backfill")
	today := time.Now().UTC()
	bf := []string{"backfill", "--from", today.AddDate(0, 0, -(src.gen.Days + 2)).Format(time.DateOnly),
		"--to", today.AddDate(0, 0, 1).Format(time.DateOnly)}
	if r.backfill, err = h.runJob(ctx, src.dsn, chDSN, append(bf, h.cfg.JobArgs...)...); err != nil {
		return r, err
	}
	if p := r.backfill.Pass; p.RowsExtracted < int64(n) {
		return r, fmt.Errorf("backfill: %d rows extracted, want >= %d", p.RowsExtracted, n)
	}
	h.logf("%s rep %d/%d: backfill of every day %.1fs (%.0f rows/s), peak RSS %d MiB",
		label, rep, h.cfg.Reps, r.backfill.Wall, float64(r.backfill.Pass.RowsExtracted)/r.backfill.Wall, r.backfill.MaxRSSKiB>>10)

	if dash {
		// The same for the questions: a backfill of every day rewrites
		// every group in INSERTs of a few thousand, and the trend asked
		// two seconds later read ~20 unmerged parts of groups_for_views
		// (docs/performance.md, "The trend at 1M, sixth round").
		if r.dashMergeWait, err = h.waitMerges(ctx, chDB); err != nil {
			return r, err
		}
		if r.dashMergeWait > time.Second {
			h.logf("%s rep %d/%d: waited %.0fs for ClickHouse's merges of the backfill to end", label, rep, h.cfg.Reps, r.dashMergeWait.Seconds())
		}
		h.quiet(ctx, label+" dashboards")
		if r.dashboards, err = h.dashboards(ctx, src, chDSN, label); err != nil {
			return r, fmt.Errorf("dashboards: %w", err)
		}
	}
	return r, nil
}

// newRunsPass adds NewRuns new runs (seed) to the source and runs one
// measured incremental pass.
func (h *harness) newRunsPass(ctx context.Context, src *source, chDSN string, run []string, seed int64, what string) (jobRun, error) {
	if err := src.addRuns(ctx, h.cfg.NewRuns, seed); err != nil {
		return jobRun{}, err
	}
	jr, err := h.runJob(ctx, src.dsn, chDSN, run...)
	if err != nil {
		return jr, err
	}
	if p := jr.Pass; p.Mode != "incremental" || p.RunsLoaded < int64(h.cfg.NewRuns) {
		return jr, fmt.Errorf("%s: mode %q, %d runs loaded, want incremental and >= %d", what, p.Mode, p.RunsLoaded, h.cfg.NewRuns)
	}
	return jr, nil
}

// label names a history: "4M", or "4M/360d" when its days are not -days.
func (h *harness) label(n, days int) string {
	if days == h.cfg.Days {
		return sizeLabel(n)
	}
	return fmt.Sprintf("%s/%dd", sizeLabel(n), days)
}

// quiet waits for the machine to be idle (-quiet-wait) and notes waits.
func (h *harness) quiet(ctx context.Context, what string) {
	if h.cfg.QuietWait <= 0 {
		return
	}
	waited, cores := h.cpu.waitQuiet(ctx, h.cfg.QuietWait)
	if waited > 3*time.Second {
		h.logf("%s: waited %.0fs for the machine to be idle (%.2f cores busy now)", what, waited.Seconds(), cores)
	}
	if waited >= h.cfg.QuietWait {
		h.res.BusyStarts = append(h.res.BusyStarts, fmt.Sprintf("%s: %.2f cores busy", what, cores))
	}
}

// repoRoot is the directory of the main module's go.mod.
func repoRoot(ctx context.Context) (string, error) {
	out, err := goCommand(ctx, "", "env", "GOMOD")
	if err != nil {
		return "", err
	}
	mod := strings.TrimSpace(out)
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run from inside the scriptstats repository (go env GOMOD is empty)")
	}
	root := filepath.Dir(mod)
	// From the tooling module (deploy/go.mod) the repository is its parent.
	if filepath.Base(root) == "deploy" {
		if _, err := os.Stat(filepath.Join(root, "..", "go.mod")); err == nil {
			root = filepath.Dir(root)
		}
	}
	return root, nil
}

// waitMerges waits, up to -merge-wait, until ClickHouse has no merge of
// database db running (twice in a row, a second apart), and returns how
// long it waited; it notes in the results when the wait ran out.
func (h *harness) waitMerges(ctx context.Context, db string) (time.Duration, error) {
	if h.cfg.MergeWait <= 0 {
		return 0, nil
	}
	start := time.Now()
	idle := 0
	for idle < 2 {
		var running uint64
		qctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"db": db}))
		if err := h.ch.QueryRow(qctx, "SELECT count() FROM system.merges WHERE database = {db:String}").Scan(&running); err != nil {
			return 0, fmt.Errorf("read system.merges: %w", err)
		}
		if running == 0 {
			idle++
		} else {
			idle = 0
		}
		if idle >= 2 {
			break
		}
		if time.Since(start) >= h.cfg.MergeWait {
			h.res.BusyStarts = append(h.res.BusyStarts, fmt.Sprintf("%s: merges still running after %s", db, h.cfg.MergeWait))
			break
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return time.Since(start), nil
}
