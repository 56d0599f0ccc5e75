package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Series is the samples of one measurement and their median, min and max.
type Series struct {
	Samples []float64 `json:"samples"`
	Median  float64   `json:"median"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
}

func (s *Series) add(v float64) {
	s.Samples = append(s.Samples, v)
	sorted := slices.Sorted(slices.Values(s.Samples))
	n := len(sorted)
	s.Min, s.Max = sorted[0], sorted[n-1]
	if n%2 == 1 {
		s.Median = sorted[n/2]
	} else {
		s.Median = (sorted[n/2-1] + sorted[n/2]) / 2
	}
}

// per returns the series of x/v for each sample v (e.g. rows per second).
func (s Series) per(x float64) Series {
	var out Series
	for _, v := range s.Samples {
		out.add(x / v)
	}
	return out
}

// Results is everything one invocation measured (docs/bench-results.json).
type Results struct {
	Started        time.Time      `json:"started"`
	Finished       time.Time      `json:"finished"`
	ElapsedSeconds float64        `json:"elapsed_seconds"`
	Command        string         `json:"command"`
	Revision       string         `json:"revision"` // git commit of the measured tree, "+dirty" with local changes
	Machine        Machine        `json:"machine"`
	Config         ConfigSummary  `json:"config"`
	Sizes          []SizeResult   `json:"sizes"`
	Profile        *ProfileResult `json:"profile,omitempty"`
	Goals          []Goal         `json:"goals"`
	Error          string         `json:"error,omitempty"`       // the invocation failed: the figures are partial
	BusyStarts     []string       `json:"busy_starts,omitempty"` // measurements started on a busy machine after -quiet-wait
}

// Machine describes where the figures were taken.
type Machine struct {
	CPUs              int    `json:"cpus"`
	CPUModel          string `json:"cpu_model"`
	MemoryBytes       int64  `json:"memory_bytes"`
	Kernel            string `json:"kernel"`
	GoVersion         string `json:"go_version"`
	ClickHouseVersion string `json:"clickhouse_version"`
	PostgresVersion   string `json:"postgres_version"`
	LoadAvgStart      string `json:"load_average_start"`
	LoadAvgEnd        string `json:"load_average_end"`
}

// ConfigSummary is the invocation's settings.
type ConfigSummary struct {
	Runs       int      `json:"runs"`
	BigRuns    int      `json:"big_runs"`
	Reps       int      `json:"reps"`
	QueryReps  int      `json:"query_reps"`
	NewRuns    int      `json:"new_runs"`
	Scripts    int      `json:"scripts"`
	Days       int      `json:"days"`
	BigDays    int      `json:"big_days"`
	QuietWaitS float64  `json:"quiet_wait_s"`
	StepsShare float64  `json:"steps_share"`
	MinSteps   int      `json:"min_steps"`
	MaxSteps   int      `json:"max_steps"`
	Seed       int64    `json:"seed"`
	JobFlags   []string `json:"job_flags,omitempty"`
	JobEnv     []string `json:"job_env,omitempty"`
}

func summarizeConfig(c Config) ConfigSummary {
	return ConfigSummary{Runs: c.Runs, BigRuns: c.BigRuns, Reps: c.Reps, QueryReps: c.QueryReps, NewRuns: c.NewRuns,
		Scripts: c.Scripts, Days: c.Days, BigDays: c.BigDays, QuietWaitS: c.QuietWait.Seconds(), StepsShare: c.StepsShare, MinSteps: c.MinSteps, MaxSteps: c.MaxSteps,
		Seed: c.Seed, JobFlags: c.JobArgs, JobEnv: c.JobEnv}
}

// DataResult describes the source history of one size.
type DataResult struct {
	Database      string  `json:"postgres_database"`
	Reused        bool    `json:"reused"`
	Seconds       float64 `json:"generation_seconds"` // when generated (now or by the invocation that made it)
	RowsPerSecond float64 `json:"generation_rows_per_second"`
	WithSteps     int64   `json:"runs_with_steps"`
	DatabaseBytes int64   `json:"postgres_database_bytes"`
}

// SizeResult is every figure of one history size.
type SizeResult struct {
	Runs    int        `json:"runs"`
	Days    int        `json:"days"`
	Label   string     `json:"label"`
	Data    DataResult `json:"data"`
	Raw     Series     `json:"raw_move_seconds"`
	RawRate Series     `json:"raw_move_rows_per_second"`
	RawCPU  []CPUUse   `json:"raw_move_cpu"`
	// RawBy is each raw baseline's seconds (go, psql, chtable); Raw is the
	// fastest of them in each repetition.
	RawBy           map[string]*Series `json:"raw_move_seconds_by,omitempty"`
	Full            Series             `json:"full_load_seconds"`
	FullRate        Series             `json:"full_load_rows_per_second"`
	FullToRaw       float64            `json:"full_to_raw_ratio"` // median rows/s of the full load / of the raw move
	FullRSS         Series             `json:"full_load_max_rss_kib"`
	FullCPU         []CPUUse           `json:"full_load_cpu"`
	FullPass        PassSummary        `json:"full_load_pass"`
	FullPhases      [4]Series          `json:"full_load_phases_ms"`       // setup, load, recompute, relink (the pass's own figures)
	Settle          Series             `json:"first_incremental_seconds"` // the pass right after the full load, nothing new
	SettleRows      Series             `json:"first_incremental_rows_read"`
	MergeWait       Series             `json:"merge_wait_seconds"`           // waited after the full load for ClickHouse's merges to end (-merge-wait)
	DashMergeWait   Series             `json:"dashboard_merge_wait_seconds"` // waited after the backfill, before the dashboard questions
	Incremental     Series             `json:"incremental_seconds"`
	IncrementalRows Series             `json:"incremental_rows_read"`
	IncrementalRSS  Series             `json:"incremental_max_rss_kib"`
	IncrementalCPU  []CPUUse           `json:"incremental_cpu"`
	IncrementalPass PassSummary        `json:"incremental_pass"`
	IncPhases       [4]Series          `json:"incremental_phases_ms"`
	IncToFull       float64            `json:"incremental_to_full_ratio"`
	// Detection (issue 10), from the passes' logs: its seconds in the full
	// load and in the incremental pass, and the incremental pass ÷ the same
	// pass without detection (its duration less detection.duration).
	FullDetect    Series `json:"full_load_detection_seconds"`
	IncDetect     Series `json:"incremental_detection_seconds"`
	IncDetectRuns Series `json:"incremental_detection_runs_read"`
	IncDetectGain Series `json:"incremental_with_to_without_detection"`
	// The same for a second pass of new runs right after it: a later pass
	// of the same day (the first moves the change tails' cut when the
	// history ends on an earlier day).
	SameDay           Series `json:"same_day_incremental_seconds"`
	SameDayDetect     Series `json:"same_day_incremental_detection_seconds"`
	SameDayDetectGain Series `json:"same_day_incremental_with_to_without_detection"`
	// --source logical (issue 13): the same incremental pass read from a
	// replication slot, -reps times after one logical first pass.
	LogicalIncremental     Series       `json:"logical_incremental_seconds"`
	LogicalIncrementalRows Series       `json:"logical_incremental_rows_read"`
	LogicalIncrementalRSS  Series       `json:"logical_incremental_max_rss_kib"`
	LogicalIncPhases       [4]Series    `json:"logical_incremental_phases_ms"`
	Tables                 []TableBytes `json:"clickhouse_tables_after_full_load"`
	Backfill               Series       `json:"backfill_seconds"`            // backfill of every day, after the incremental pass
	BackfillRate           Series       `json:"backfill_rows_per_second"`    // rows read ÷ seconds
	BackfillToFull         float64      `json:"backfill_to_full_load_ratio"` // median rates
	BackfillPass           PassSummary  `json:"backfill_pass"`               // the last repetition's pass log
	// The passes' own durations less their detection (the pass log),
	// seconds: what the load path costs.
	FullNoDetect     Series           `json:"full_load_without_detection_seconds"`
	BackfillNoDetect Series           `json:"backfill_without_detection_seconds"`
	Retries          []string         `json:"retried_reps,omitempty"`
	Dashboards       []QuestionResult `json:"dashboards,omitempty"`
	LoadAvgStart     string           `json:"load_average_start"`
	LoadAvgEnd       string           `json:"load_average_end"`
}

func (s *SizeResult) finish() {
	s.RawRate = s.Raw.per(float64(s.Runs))
	s.FullRate = s.Full.per(float64(s.Runs))
	if s.RawRate.Median > 0 {
		s.FullToRaw = s.FullRate.Median / s.RawRate.Median
	}
	if s.Full.Median > 0 {
		s.IncToFull = s.Incremental.Median / s.Full.Median
	}
	if s.FullRate.Median > 0 {
		s.BackfillToFull = s.BackfillRate.Median / s.FullRate.Median
	}
}

// QuestionResult is one dashboard question at one size.
type QuestionResult struct {
	Name           string     `json:"name"`
	Title          string     `json:"title"`
	ClickHouseMS   Series     `json:"clickhouse_ms"`
	PostgresMS     Series     `json:"postgres_ms"`
	Speedup        float64    `json:"postgres_to_clickhouse"` // median PostgreSQL / median ClickHouse
	RowsClickHouse int        `json:"rows_clickhouse"`
	RowsPostgres   int        `json:"rows_postgres"`
	Match          bool       `json:"results_match"`
	MatchNote      string     `json:"match_note,omitempty"`
	Params         dashParams `json:"params"`
}

func (q *QuestionResult) finish() {
	if q.ClickHouseMS.Median > 0 {
		q.Speedup = q.PostgresMS.Median / q.ClickHouseMS.Median
	}
}

// ProfileResult is the profiled full load.
type ProfileResult struct {
	Runs        int               `json:"runs"`
	WallSeconds float64           `json:"wall_seconds"`
	MaxRSSKiB   int64             `json:"max_rss_kib"`
	Runtime     RuntimeStats      `json:"runtime"`
	Dir         string            `json:"dir"`
	Files       map[string]string `json:"files"`
	Listings    []Listing         `json:"listings"`
}

// Listing is one `go tool pprof -top` output.
type Listing struct {
	Name string `json:"name"`
	Text string `json:"text"`
}

// Goal is one target of issue 4 and whether the figures meet it.
type Goal struct {
	What     string `json:"what"`
	Target   string `json:"target"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
}

// Goals of issues 4 and 12.
const (
	goalFullToRaw     = 0.6
	goalIncRatio      = 1.2
	goalRSSMiB        = 512
	goalRSSSame       = 1.1 // "the same at both sizes": within 10%
	goalDashboardMS   = 100
	goalDashboardGain = 20
	// issue 12
	goalRunVsPreviousMS = 50
	goalRunCompareMS    = 30
	goalDetectionViewMS = 200
	goalBackfillToFull  = 0.8
	// issue 10: an incremental pass with detection ≤ 1.2 × one without
	goalDetectionCost = 1.2
)

func (r *Results) evaluate() {
	r.Goals = nil
	add := func(what, target, measured string, met bool) {
		r.Goals = append(r.Goals, Goal{What: what, Target: target, Measured: measured, Met: met})
	}
	for _, s := range r.Sizes {
		if s.Raw.Median > 0 {
			add(fmt.Sprintf("full load rows/s ÷ raw move rows/s (%s)", s.Label), fmt.Sprintf("≥ %.1f", goalFullToRaw),
				fmt.Sprintf("%.2f (%.0f ÷ %.0f rows/s)", s.FullToRaw, s.FullRate.Median, s.RawRate.Median), s.FullToRaw >= goalFullToRaw)
		}
	}
	for _, s := range r.Sizes {
		if s.Backfill.Median > 0 {
			add(fmt.Sprintf("backfill rows/s ÷ full load rows/s (%s)", s.Label), fmt.Sprintf("≥ %.1f", goalBackfillToFull),
				fmt.Sprintf("%.2f (%.0f ÷ %.0f rows/s)", s.BackfillToFull, s.BackfillRate.Median, s.FullRate.Median), s.BackfillToFull >= goalBackfillToFull)
		}
	}
	for _, s := range r.Sizes {
		if g := s.IncDetectGain; len(g.Samples) > 0 {
			add(fmt.Sprintf("incremental pass with detection ÷ without (%s)", s.Label), fmt.Sprintf("≤ %.1f", goalDetectionCost),
				fmt.Sprintf("%.2f (each pass's duration ÷ its duration less detection.duration; detection %.2f s)", g.Median,
					s.IncDetect.Median), g.Median <= goalDetectionCost)
		}
		if g := s.SameDayDetectGain; len(g.Samples) > 0 {
			add(fmt.Sprintf("the same, a second pass of the same day (%s)", s.Label), fmt.Sprintf("≤ %.1f", goalDetectionCost),
				fmt.Sprintf("%.2f (pass %.2f s; detection %.2f s)", g.Median, s.SameDay.Median, s.SameDayDetect.Median), g.Median <= goalDetectionCost)
		}
	}
	if len(r.Sizes) == 2 {
		a, b := r.Sizes[0], r.Sizes[1]
		ratio := b.Incremental.Median / a.Incremental.Median
		add(fmt.Sprintf("incremental pass time %s ÷ %s", b.Label, a.Label), fmt.Sprintf("≤ %.1f", goalIncRatio),
			fmt.Sprintf("%.2f (%.2f s ÷ %.2f s)", ratio, b.Incremental.Median, a.Incremental.Median), ratio <= goalIncRatio)
	}
	for _, s := range r.Sizes {
		mib := s.FullRSS.Max / 1024
		add(fmt.Sprintf("peak RSS of the full load (%s)", s.Label), fmt.Sprintf("≤ %d MiB", goalRSSMiB),
			fmt.Sprintf("%.0f MiB (max of %d)", mib, len(s.FullRSS.Samples)), mib <= goalRSSMiB)
	}
	if len(r.Sizes) == 2 {
		a, b := r.Sizes[0], r.Sizes[1]
		ratio := b.FullRSS.Median / a.FullRSS.Median
		add(fmt.Sprintf("peak RSS %s ÷ %s (the same at both sizes)", b.Label, a.Label), fmt.Sprintf("≤ %.1f", goalRSSSame),
			fmt.Sprintf("%.2f (%.0f ÷ %.0f MiB)", ratio, b.FullRSS.Median/1024, a.FullRSS.Median/1024), ratio <= goalRSSSame)
	}
	for _, s := range r.Sizes {
		for _, q := range s.Dashboards {
			limit, gain := float64(goalDashboardMS), float64(goalDashboardGain)
			switch q.Name {
			case "run_vs_previous": // issue 12: < 50 ms at 4M and faster than PostgreSQL
				limit, gain = goalRunVsPreviousMS, 1
			case "run_vs_previous_script":
				gain = 1
			case "run_compare": // issue 12: < 30 ms at 4M; no OLTP point lookup is beaten
				limit, gain = goalRunCompareMS, 0
			case "duration_changes", "step_health", "success_rate_drops": // issue 10: < 200 ms at 4M; no PostgreSQL side
				limit, gain = goalDetectionViewMS, 0
			}
			add(fmt.Sprintf("%s on ClickHouse (%s)", q.Name, s.Label), fmt.Sprintf("< %.0f ms", limit),
				fmt.Sprintf("%.1f ms", q.ClickHouseMS.Median), q.ClickHouseMS.Median < limit)
			if gain > 0 {
				add(fmt.Sprintf("%s PostgreSQL ÷ ClickHouse (%s)", q.Name, s.Label), fmt.Sprintf("≥ %.0f×", gain),
					fmt.Sprintf("%s (%.1f ÷ %.1f ms)", times(q.Speedup), q.PostgresMS.Median, q.ClickHouseMS.Median), q.Speedup >= gain)
			}
		}
	}
}

// writeOutputs writes the JSON and the Markdown; the region of the doc
// only when the invocation succeeded.
func (h *harness) writeOutputs(ok bool) error {
	r := h.res
	if h.cfg.Out != "" {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		if err := writeFile(h.cfg.Out, append(b, '\n')); err != nil {
			return err
		}
	}
	md := r.Markdown()
	if h.cfg.MD != "" {
		head := "<!-- Generated by `make bench` (deploy/bench); do not edit. -->\n\n"
		if err := writeFile(h.cfg.MD, []byte(head+md)); err != nil {
			return err
		}
	}
	if h.cfg.Doc != "" && ok {
		if err := replaceRegion(h.cfg.Doc, md); err != nil {
			return err
		}
	}
	return nil
}

// render writes cfg.MD and cfg.Doc from the results in cfg.Render.
func render(cfg Config) error {
	b, err := os.ReadFile(cfg.Render)
	if err != nil {
		return err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%s: %w", cfg.Render, err)
	}
	r.evaluate()
	h := &harness{cfg: cfg, res: &r}
	h.cfg.Out = ""
	return h.writeOutputs(r.Error == "")
}

func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

const (
	regionBegin = "<!-- bench:begin -->"
	regionEnd   = "<!-- bench:end -->"
)

// replaceRegion replaces what lies between the markers in a Markdown file;
// a file without them is left alone.
func replaceRegion(path, md string) error {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	s := string(b)
	i, j := strings.Index(s, regionBegin), strings.Index(s, regionEnd)
	if i < 0 || j < i {
		return nil
	}
	out := s[:i+len(regionBegin)] + "\n<!-- Generated by `make bench`; edit outside the markers. -->\n\n" + md + "\n" + s[j:]
	return os.WriteFile(path, []byte(out), 0o644)
}

// Markdown renders the results as the tables docs/performance.md shows.
func (r *Results) Markdown() string {
	var b strings.Builder
	m := r.Machine
	if r.Error != "" {
		fmt.Fprintf(&b, "**The invocation failed; the figures are partial.** %s\n\n", r.Error)
	}
	fmt.Fprintf(&b, "Measured %s (%.1f min) on revision %s, `%s`.\n\n", r.Started.Format("2006-01-02 15:04 MST"),
		r.ElapsedSeconds/60, r.Revision, r.Command)
	b.WriteString("| machine | |\n|---|---|\n")
	fmt.Fprintf(&b, "| CPU | %d × %s |\n", m.CPUs, m.CPUModel)
	fmt.Fprintf(&b, "| memory | %.1f GiB |\n", float64(m.MemoryBytes)/(1<<30))
	fmt.Fprintf(&b, "| kernel | %s |\n", m.Kernel)
	fmt.Fprintf(&b, "| Go | %s |\n", m.GoVersion)
	fmt.Fprintf(&b, "| ClickHouse | %s |\n", m.ClickHouseVersion)
	fmt.Fprintf(&b, "| PostgreSQL | %s |\n", m.PostgresVersion)
	fmt.Fprintf(&b, "| load average (1, 5, 15 min) at start / end | %s / %s |\n", m.LoadAvgStart, m.LoadAvgEnd)
	c := r.Config
	fmt.Fprintf(&b, "\nData: demodata, %d scripts, %d days, %.0f%% of runs with %d–%d steps, seed %d. "+
		"Medians of the repetitions (%s; min–max in brackets); dashboard latencies: medians of %d after a warm-up.\n",
		c.Scripts, c.Days, c.StepsShare*100, c.MinSteps, c.MaxSteps, c.Seed, repsOf(r.Sizes), c.QueryReps)
	if len(r.BusyStarts) > 0 {
		fmt.Fprintf(&b, "Started on a busy machine after waiting %.0f s: %s.\n", c.QuietWaitS, strings.Join(r.BusyStarts, "; "))
	}
	if len(c.JobEnv) > 0 {
		fmt.Fprintf(&b, "Job environment: `%s`.\n", strings.Join(c.JobEnv, " "))
	}
	if len(c.JobFlags) > 0 {
		fmt.Fprintf(&b, "Job flags: `%s`.\n", strings.Join(c.JobFlags, " "))
	}

	if len(r.Goals) > 0 {
		b.WriteString("\n#### Goals (issues 4 and 12)\n\n| goal | target | measured | |\n|---|---|---|---|\n")
		for _, g := range r.Goals {
			mark := "**not met**"
			if g.Met {
				mark = "met"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", g.What, g.Target, g.Measured, mark)
		}
	}

	b.WriteString("\n#### Loads\n\n| | " + joinSizes(r.Sizes, func(s SizeResult) string { return s.Label + " runs" }) + " |\n")
	b.WriteString("|---|" + strings.Repeat("---|", len(r.Sizes)) + "\n")
	row := func(name string, f func(s SizeResult) string) {
		fmt.Fprintf(&b, "| %s | %s |\n", name, joinSizes(r.Sizes, f))
	}
	row("source data generated (demodata)", func(s SizeResult) string {
		d := s.Data
		how := fmt.Sprintf("%.0f s, %s runs/s", d.Seconds, kilo(d.RowsPerSecond))
		if d.Reused {
			how += " (earlier invocation)"
		}
		return fmt.Sprintf("%d days; %s; %.1f GB in PostgreSQL", s.Days, how, float64(d.DatabaseBytes)/1e9)
	})
	for _, b := range []struct{ how, what string }{
		{"go", "raw move: pgx COPY → HTTP INSERT (the harness), rows/s"},
		{"psql", "raw move: `psql \\copy … | curl … FORMAT TSV`, rows/s"},
		{"chtable", "raw move: ClickHouse `INSERT … SELECT … FROM postgresql(…)`, rows/s"},
	} {
		row(b.what, func(s SizeResult) string {
			if s.RawBy[b.how] == nil {
				return "–"
			}
			return rate(s.RawBy[b.how].per(float64(s.Runs)))
		})
	}
	row("raw move, the fastest of the three in each repetition, rows/s", func(s SizeResult) string { return rate(s.RawRate) })
	row("raw move (fastest), s", func(s SizeResult) string { return secs(s.Raw) })
	row("full load (`scriptstats run`), rows/s", func(s SizeResult) string { return rate(s.FullRate) })
	row("full load, s", func(s SizeResult) string { return secs(s.Full) })
	row("raw move CPU s: harness / PostgreSQL / ClickHouse / machine busy of available", func(s SizeResult) string { return cpuRow(s.RawCPU) })
	row("full load CPU s: job / PostgreSQL / ClickHouse / machine busy of available", func(s SizeResult) string { return cpuRow(s.FullCPU) })
	row("full load phases (the pass's log), s: setup / extract + load runs / recompute groups / relink (beside the recompute and detection in a first load)", func(s SizeResult) string {
		return phases(s.FullPhases, 1000, "%.1f")
	})
	row("full load ÷ raw move", func(s SizeResult) string { return fmt.Sprintf("%.2f", s.FullToRaw) })
	row(fmt.Sprintf("incremental pass after %d new runs, --source logical, s", c.NewRuns), func(s SizeResult) string {
		if len(s.LogicalIncremental.Samples) == 0 {
			return "–"
		}
		return secs2(s.LogicalIncremental)
	})
	row("incremental, logical ÷ cursor (medians)", func(s SizeResult) string {
		if s.LogicalIncremental.Median == 0 || s.Incremental.Median == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f", s.LogicalIncremental.Median/s.Incremental.Median)
	})
	row("incremental --source logical phases, ms: setup / read + load runs / recompute groups / relink", func(s SizeResult) string {
		return phases(s.LogicalIncPhases, 1, "%.0f")
	})
	row("backfill of every day (after the incremental pass), rows/s", func(s SizeResult) string { return rate(s.BackfillRate) })
	row("backfill ÷ full load (rows/s)", func(s SizeResult) string { return fmt.Sprintf("%.2f", s.BackfillToFull) })
	row("without detection (the pass log: duration − detection.duration; detection runs beside the relink there, so a lower bound), s: full load / backfill; full load ÷ raw move, backfill ÷ full load", func(s SizeResult) string {
		if s.FullNoDetect.Median == 0 || s.Raw.Median == 0 {
			return "–"
		}
		out := fmt.Sprintf("%.1f / %.1f; %.2f", s.FullNoDetect.Median, s.BackfillNoDetect.Median, s.Raw.Median/s.FullNoDetect.Median)
		if s.BackfillNoDetect.Median > 0 {
			out += fmt.Sprintf(", %.2f", s.FullNoDetect.Median/s.BackfillNoDetect.Median)
		}
		return out
	})
	row("ClickHouse bytes per run after the full load (compressed): all tables / per-run tables", func(s SizeResult) string {
		var all, perRun uint64
		for _, t := range s.Tables {
			all += t.Compressed
			switch t.Table {
			case "runs_state", "runs_by_id", "run_links", "run_places":
				perRun += t.Compressed
			}
		}
		if all == 0 {
			return "–"
		}
		return fmt.Sprintf("%.0f / %.0f", float64(all)/float64(s.Runs), float64(perRun)/float64(s.Runs))
	})
	row("full load peak RSS, MiB", func(s SizeResult) string { return mib(s.FullRSS) })
	row("full load: groups recomputed", func(s SizeResult) string { return strconv.FormatInt(s.FullPass.GroupsRecomputed, 10) })
	row("waited for ClickHouse's merges to end (-merge-wait), s: after the full load / after the backfill, before the questions", func(s SizeResult) string {
		return secs2(s.MergeWait) + " / " + secs2(s.DashMergeWait)
	})
	row("first pass after the full load (nothing new), s", func(s SizeResult) string { return secs2(s.Settle) })
	row("first pass after the full load: rows read (min–max)", func(s SizeResult) string {
		return fmt.Sprintf("%.0f (%.0f–%.0f)", s.SettleRows.Median, s.SettleRows.Min, s.SettleRows.Max)
	})
	row(fmt.Sprintf("incremental pass after %d new runs, s", c.NewRuns), func(s SizeResult) string { return secs2(s.Incremental) })
	row("incremental: rows read (min–max), groups recomputed (last)", func(s SizeResult) string {
		return fmt.Sprintf("%.0f (%.0f–%.0f), %d", s.IncrementalRows.Median, s.IncrementalRows.Min, s.IncrementalRows.Max,
			s.IncrementalPass.GroupsRecomputed)
	})
	row("incremental phases (the pass's log), ms: setup / read + load runs / recompute groups / relink", func(s SizeResult) string {
		return phases(s.IncPhases, 1, "%.0f")
	})
	row("incremental ÷ full load", func(s SizeResult) string { return fmt.Sprintf("%.2f%%", 100*s.IncToFull) })
	row("detection in the full load (the pass's log), s", func(s SizeResult) string { return secs2(s.FullDetect) })
	row("detection in the incremental pass, s; runs it read", func(s SizeResult) string {
		if len(s.IncDetect.Samples) == 0 {
			return "–"
		}
		return fmt.Sprintf("%s; %.0f", secs2(s.IncDetect), s.IncDetectRuns.Median)
	})
	row("incremental pass with detection ÷ without (its duration less detection's)", func(s SizeResult) string {
		if len(s.IncDetectGain.Samples) == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f (%.2f–%.2f)", s.IncDetectGain.Median, s.IncDetectGain.Min, s.IncDetectGain.Max)
	})
	row(fmt.Sprintf("a second incremental pass of %d new runs, the same day: s; detection s; with ÷ without detection", c.NewRuns), func(s SizeResult) string {
		if len(s.SameDay.Samples) == 0 {
			return "–"
		}
		return fmt.Sprintf("%s; %s; %.2f (%.2f–%.2f)", secs2(s.SameDay), secs2(s.SameDayDetect), s.SameDayDetectGain.Median,
			s.SameDayDetectGain.Min, s.SameDayDetectGain.Max)
	})
	row("incremental peak RSS, MiB", func(s SizeResult) string { return mib(s.IncrementalRSS) })
	for _, s := range r.Sizes {
		for _, why := range s.Retries {
			fmt.Fprintf(&b, "\n%s: retried %s", s.Label, why)
		}
	}

	for _, s := range r.Sizes {
		if len(s.Dashboards) == 0 {
			continue
		}
		p := s.Dashboards[0].Params
		fmt.Fprintf(&b, "\n#### Dashboard questions, %s runs\n\nScript %d (the busiest), days %s..%s, runs %d and %d. "+
			"Client-side latency (query sent to last row read): clickhouse-go on the public views, pgx on task_log "+
			"(SQL in deploy/bench/queries).\n\n",
			s.Label, p.Script, p.From.Format(dayFmt), p.To.Format(dayFmt), p.RunA, p.RunB)
		b.WriteString("| question | ClickHouse, ms | PostgreSQL, ms | PostgreSQL ÷ ClickHouse | rows | same answer |\n|---|---|---|---|---|---|\n")
		for _, q := range s.Dashboards {
			same := "yes"
			if !q.Match {
				same = "**no**: " + q.MatchNote
			}
			pgMS, gain := ms(q.PostgresMS), times(q.Speedup)
			if len(q.PostgresMS.Samples) == 0 { // a ClickHouse-only question (the detection views)
				pgMS, gain, same = "–", "–", "–"
			}
			fmt.Fprintf(&b, "| %s: %s | %s | %s | %s | %d | %s |\n", q.Name, q.Title, ms(q.ClickHouseMS), pgMS,
				gain, q.RowsClickHouse, same)
		}
	}

	if p := r.Profile; p != nil {
		rt := p.Runtime
		fmt.Fprintf(&b, "\n#### Profile of one full load, %s runs\n\n"+
			"In-process (`bench profile-run`: schedules.Job.Run built as `scriptstats run` builds it, batch size %d): "+
			"%.1f s (%.1f s extract + normalize + insert runs, %.1f s recompute groups from the stored runs), "+
			"peak RSS %d MiB, peak live heap %d MiB, Go runtime mapped %d MiB at most, "+
			"%.1f GB allocated in %s objects, %d GC cycles (%.0f ms of pauses). Profiles: `%s`.\n",
			sizeLabel(p.Runs), jobBatchSize, rt.Seconds, rt.LoadSeconds, rt.RecomputeSeconds,
			p.MaxRSSKiB>>10, rt.PeakHeapBytes>>20, rt.PeakGoMemBytes>>20,
			float64(rt.TotalAlloc)/1e9, kilo(float64(rt.Mallocs)), rt.NumGC, rt.GCPauseTotalMS, relPath(p.Dir))
		for _, l := range p.Listings {
			fmt.Fprintf(&b, "\n`%s`:\n\n```text\n%s\n```\n", l.Name, l.Text)
		}
	}
	return b.String()
}

// phases shows the medians of setup, load and recompute, divided by div.
func phases(p [4]Series, div float64, format string) string {
	if len(p[0].Samples) == 0 {
		return "–"
	}
	f := func(s Series) string { return fmt.Sprintf(format, s.Median/div) }
	out := f(p[0]) + " / " + f(p[1]) + " / " + f(p[2])
	if len(p[3].Samples) > 0 {
		out += " / " + f(p[3])
	}
	return out
}

// cpuRow shows the median of each CPU figure over the repetitions.
func cpuRow(uses []CPUUse) string {
	if len(uses) == 0 {
		return "–"
	}
	var wall, client, pg, ch, machine Series
	for _, u := range uses {
		wall.add(u.Wall)
		client.add(u.Client)
		pg.add(u.Postgres)
		ch.add(u.ClickHouse)
		machine.add(u.Machine)
	}
	var others Series
	for _, u := range uses {
		others.add(max(0, u.Machine-u.Client-u.Postgres-u.ClickHouse))
	}
	return fmt.Sprintf("%.1f / %.1f / %.1f / %.1f of %.1f (other processes %.1f)", client.Median, pg.Median, ch.Median,
		machine.Median, float64(runtime.NumCPU())*wall.Median, others.Median)
}

// times formats a ratio: 12.3×, or 0.02× below 1.
func times(x float64) string {
	if x < 1 {
		return fmt.Sprintf("%.2f×", x)
	}
	return fmt.Sprintf("%.1f×", x)
}

func joinSizes(sizes []SizeResult, f func(SizeResult) string) string {
	parts := make([]string, len(sizes))
	for i, s := range sizes {
		parts[i] = f(s)
	}
	return strings.Join(parts, " | ")
}

func rate(s Series) string {
	return fmt.Sprintf("%s (%s–%s)", kilo(s.Median), kilo(s.Min), kilo(s.Max))
}
func secs(s Series) string  { return fmt.Sprintf("%.1f (%.1f–%.1f)", s.Median, s.Min, s.Max) }
func secs2(s Series) string { return fmt.Sprintf("%.2f (%.2f–%.2f)", s.Median, s.Min, s.Max) }
func ms(s Series) string {
	f := func(v float64) string {
		if v >= 100 {
			return fmt.Sprintf("%.0f", v)
		}
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%s (%s–%s)", f(s.Median), f(s.Min), f(s.Max))
}
func mib(s Series) string {
	return fmt.Sprintf("%.0f (%.0f–%.0f)", s.Median/1024, s.Min/1024, s.Max/1024)
}

// kilo formats 12345 as 12.3k and 1234567 as 1.23M.
func kilo(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func sizeLabel(n int) string {
	switch {
	case n >= 1e6 && n%1e6 == 0:
		return fmt.Sprintf("%dM", n/1e6)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e3 && n%1e3 == 0:
		return fmt.Sprintf("%dk", n/1e3)
	}
	return strconv.Itoa(n)
}

func relPath(p string) string {
	if wd, err := os.Getwd(); err == nil {
		if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
	}
	return p
}

func commandLine() string {
	args := os.Args[1:]
	if len(args) == 0 {
		return "make bench"
	}
	return "go -C deploy run ./bench " + strings.Join(args, " ")
}

// revision is the git commit of root, with "+dirty" when the tree has
// local changes ("unknown" without git).
func revision(ctx context.Context, root string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		rev += "+dirty"
	}
	return rev
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func machineInfo(ctx context.Context, pg *pgxpool.Pool, ch driver.Conn) Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), LoadAvgStart: loadAvg()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var kb int64
			if n, _ := fmt.Sscanf(sc.Text(), "MemTotal: %d kB", &kb); n == 1 {
				m.MemoryBytes = kb << 10
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(b))
	}
	_ = ch.QueryRow(ctx, "SELECT version()").Scan(&m.ClickHouseVersion)
	_ = pg.QueryRow(ctx, "SHOW server_version").Scan(&m.PostgresVersion)
	return m
}

// repsOf says how many repetitions each size had ("3 at 1M, 1 at 4M").
func repsOf(sizes []SizeResult) string {
	var parts []string
	for _, s := range sizes {
		parts = append(parts, fmt.Sprintf("%d at %s", len(s.Full.Samples), s.Label))
	}
	return strings.Join(parts, ", ")
}
