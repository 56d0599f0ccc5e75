// Command bench measures scriptstats on this machine (`make bench`) and
// writes the figures that docs/performance.md shows:
//
//  1. raw move: task_log streamed with PostgreSQL COPY ... TO STDOUT into a
//     ClickHouse INSERT ... FORMAT TSV over HTTP, no transform: the
//     practical limit of moving the table between the two servers here;
//  2. full load: `scriptstats run` on an empty ClickHouse database (after
//     `scriptstats migrate`), as a subprocess: rows/s and its ratio to (1);
//  3. incremental: `scriptstats run` after 1,000 new runs at the end of the
//     history, on the -runs and the -big-runs history;
//  4. memory: the peak RSS of the full-load subprocess at both sizes;
//  5. dashboard questions on the ClickHouse views against the same question
//     asked of PostgreSQL (computed from task_log).
//
// Then it profiles one full load (CPU and heap, in a separate process that
// drives schedules.Job.Run the way the command does) and lists the top
// functions.
//
// Every figure is the median of -reps repetitions (full loads and raw
// moves alternate, so that a change in the machine's background load hits
// both alike); dashboard latencies are medians of -query-reps after a
// warm-up. The source data (demodata: -scripts scripts, -days days,
// -steps-share of the runs with -min-steps..-max-steps steps) is generated
// once per size into its own PostgreSQL database and reused by the next
// invocation (-regenerate forces a new one).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// Config is everything one benchmark invocation needs.
type Config struct {
	Runs       int // the main history size
	BigRuns    int // the second history size (0: skip)
	Reps       int // repetitions of raw move, full load and incremental
	QueryReps  int // repetitions of each dashboard question (after a warm-up)
	NewRuns    int // runs added before each incremental pass
	Scripts    int
	Days       int
	StepsShare float64
	MinSteps   int
	MaxSteps   int
	Seed       int64

	PGDSN   string // superuser DSN of the PostgreSQL server (its database is not used)
	CHDSN   string // native DSN of the ClickHouse server, full rights (its database is not used)
	CHHTTP  string // ClickHouse HTTP URL; empty: derived from CHDSN and .local/ports
	Prefix  string // prefix of every database the benchmark creates
	JobArgs []string
	// JobEnv are NAME=value settings for the job, past the harness's
	// SCRIPTSTATS_ filter (test hooks such as
	// SCRIPTSTATS_CHANGE_CONFIRM_WINDOW).
	JobEnv  []string
	BigDays int // days of the second history (default: Days)

	// QuietWait: before each measurement, wait up to this long for the
	// machine to be idle (0: do not wait).
	QuietWait time.Duration
	// MergeWait: after the full load (before the incremental passes) and
	// after the backfill (before the dashboard questions), wait up to this
	// long for ClickHouse's background merges of the database to end (0: do
	// not wait).
	MergeWait time.Duration

	Regenerate     bool // generate the source data even when a matching one exists
	KeepData       bool // keep the PostgreSQL source databases for the next invocation
	KeepClickHouse bool // keep the ClickHouse databases of the last repetition

	BigDashboards bool   // ask the dashboard questions at -big-runs too
	Profile       bool   // profile one full load at -runs
	Logical       bool   // measure the incremental pass with --source logical too
	BigReps       int    // repetitions at BigRuns (0: Reps)
	ProfileDir    string // where the profiles and their listings go

	Out string // JSON results ("" : none)
	MD  string // Markdown results ("" : none)
	Doc string // a Markdown file whose bench region is replaced ("" : none)

	Log io.Writer // progress lines

	Render string // only re-render -md and -doc from this JSON results file
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == profileRunCommand {
		if err := profileRunMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench profile-run:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if cfg.Render != "" {
		if err := render(cfg); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	res, err := Run(ctx, cfg)
	if res != nil {
		fmt.Println()
		fmt.Print(res.Markdown())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", oneLine(err.Error()))
		os.Exit(1)
	}
}

func envOr(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

func parseFlags(args []string) (Config, error) {
	c := DefaultConfig()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.IntVar(&c.Runs, "runs", c.Runs, "runs of the main history")
	fs.IntVar(&c.BigRuns, "big-runs", c.BigRuns, "runs of the second history (incremental and memory at two sizes); 0 skips it")
	fs.IntVar(&c.Reps, "reps", c.Reps, "repetitions of the raw move, the full load and the incremental pass (medians)")
	fs.IntVar(&c.BigReps, "big-reps", 0, "repetitions at -big-runs (0: -reps)")
	fs.IntVar(&c.QueryReps, "query-reps", c.QueryReps, "repetitions of each dashboard question after a warm-up (medians)")
	fs.IntVar(&c.NewRuns, "new-runs", c.NewRuns, "runs added at the end of the history before each incremental pass")
	fs.IntVar(&c.Scripts, "scripts", c.Scripts, "scripts of the generated history")
	fs.IntVar(&c.Days, "days", c.Days, "days of the generated history")
	fs.IntVar(&c.BigDays, "big-days", 0, "days of the -big-runs history (default -days: the same window, denser days; 4 × -days keeps the runs per day)")
	fs.DurationVar(&c.QuietWait, "quiet-wait", c.QuietWait, "before each measurement wait up to this long for the machine to be idle (0: never)")
	fs.DurationVar(&c.MergeWait, "merge-wait", c.MergeWait, "wait up to this long for ClickHouse to finish merging the database's parts after the full load (before the incremental passes) and after the backfill (before the dashboard questions), as in a CronJob's steady state (0: never)")
	fs.Float64Var(&c.StepsShare, "steps-share", c.StepsShare, "share of runs with a steps JSON array")
	fs.IntVar(&c.MinSteps, "min-steps", c.MinSteps, "fewest steps per script")
	fs.IntVar(&c.MaxSteps, "max-steps", c.MaxSteps, "most steps per script")
	fs.Int64Var(&c.Seed, "seed", c.Seed, "seed of the generated history")
	fs.StringVar(&c.PGDSN, "pg-dsn", c.PGDSN, "superuser DSN of the PostgreSQL server (default $SCRIPTSTATS_TEST_PG_DSN, else $SCRIPTSTATS_PG_DSN)")
	fs.StringVar(&c.CHDSN, "clickhouse-dsn", c.CHDSN, "native DSN of the ClickHouse server (default $SCRIPTSTATS_TEST_CLICKHOUSE_DSN, else $SCRIPTSTATS_CLICKHOUSE_DSN)")
	fs.StringVar(&c.CHHTTP, "clickhouse-http", c.CHHTTP, "ClickHouse HTTP URL for the raw move (default: the DSN's host, port from .local/ports or 58123)")
	fs.StringVar(&c.Prefix, "prefix", c.Prefix, "prefix of the databases the benchmark creates")
	jobArgs := fs.String("job-flags", "", "extra flags for `scriptstats run`, space-separated (e.g. \"--batch-size=50000\")")
	jobEnv := fs.String("job-env", "", "NAME=value settings for the job's environment, space-separated (e.g. \"SCRIPTSTATS_CHANGE_CONFIRM_WINDOW=0\": the change-point scan alone)")
	fs.BoolVar(&c.Regenerate, "regenerate", c.Regenerate, "generate the source data even when a matching one exists")
	fs.BoolVar(&c.KeepData, "keep-data", c.KeepData, "keep the PostgreSQL source databases for the next run")
	fs.BoolVar(&c.KeepClickHouse, "keep-clickhouse", c.KeepClickHouse, "keep the ClickHouse databases of the last repetition")
	fs.BoolVar(&c.BigDashboards, "big-dashboards", c.BigDashboards, "also ask the dashboard questions at -big-runs")
	fs.BoolVar(&c.Profile, "profile", c.Profile, "profile one full load (CPU and heap) at -runs")
	fs.BoolVar(&c.Logical, "logical", c.Logical, "also measure the incremental pass with --source logical (one more full load per size; needs wal_level=logical)")
	fs.StringVar(&c.ProfileDir, "profile-dir", c.ProfileDir, "where profiles and their listings go")
	fs.StringVar(&c.Out, "out", c.Out, "JSON results file (empty: none)")
	fs.StringVar(&c.MD, "md", c.MD, "Markdown results file (empty: none)")
	fs.StringVar(&c.Render, "render", "", "measure nothing: write -md and -doc from this JSON results file (e.g. after a change of the tables)")
	fs.StringVar(&c.Doc, "doc", c.Doc, "Markdown file whose region between <!-- bench:begin --> and <!-- bench:end --> is replaced (empty: none)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c.JobArgs = strings.Fields(*jobArgs)
	c.JobEnv = strings.Fields(*jobEnv)
	if c.Render != "" {
		return c, nil
	}
	return c, c.validate()
}

// DefaultConfig is `make bench` without flags.
func DefaultConfig() Config {
	return Config{
		Runs: 1_000_000, BigRuns: 4_000_000, Reps: 3, QueryReps: 5, NewRuns: 1000,
		Scripts: 200, Days: 90, StepsShare: 0.6, MinSteps: 6, MaxSteps: 14, Seed: 1,
		QuietWait:     30 * time.Second,
		MergeWait:     5 * time.Minute,
		PGDSN:         envOr("SCRIPTSTATS_TEST_PG_DSN", "SCRIPTSTATS_PG_DSN"),
		CHDSN:         envOr("SCRIPTSTATS_TEST_CLICKHOUSE_DSN", "SCRIPTSTATS_CLICKHOUSE_DSN"),
		Prefix:        "scriptstats_bench",
		KeepData:      true,
		BigDashboards: true,
		Profile:       true,
		Logical:       true,
		ProfileDir:    ".local/bench/profile",
		Out:           "docs/bench-results.json",
		MD:            "docs/bench-results.md",
		Doc:           "docs/performance.md",
		Log:           os.Stderr,
	}
}

func (c *Config) validate() error {
	switch {
	case c.Runs < 1000:
		return errors.New("-runs must be at least 1000")
	case c.BigRuns != 0 && c.BigRuns <= c.Runs:
		return errors.New("-big-runs must be 0 or above -runs")
	case c.Reps < 1 || c.QueryReps < 1:
		return errors.New("-reps and -query-reps must be at least 1")
	case c.NewRuns < 1:
		return errors.New("-new-runs must be at least 1")
	case c.PGDSN == "":
		return errors.New("no PostgreSQL: set -pg-dsn or SCRIPTSTATS_PG_DSN (eval \"$(deploy/local/stack.sh env)\")")
	case c.CHDSN == "":
		return errors.New("no ClickHouse: set -clickhouse-dsn or SCRIPTSTATS_CLICKHOUSE_DSN")
	case c.Prefix == "" || strings.Trim(c.Prefix, "abcdefghijklmnopqrstuvwxyz0123456789_") != "":
		return errors.New("-prefix must be lower-case letters, digits and _")
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	if c.BigDays == 0 {
		c.BigDays = c.Days
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// logf writes one progress line with the time since start.
func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(h.cfg.Log, "bench %6.1fs  %s\n", time.Since(h.began).Seconds(), fmt.Sprintf(format, args...))
}
