// Command demodata fills a PostgreSQL database with a realistic task_log
// history (the reference schema of CONTRACT.md section 1) for demos, tests
// and benchmarks, and applies incremental changes between passes.
//
//	demodata [flags]          generate a history (task_log and scripts must be empty, or --reset)
//	demodata mutate [flags]   apply changes between two passes of the job
//
// The DSN comes from --pg-dsn or SCRIPTSTATS_PG_DSN; its password is never
// printed.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/scriptstats/scriptstats/deploy/demodata"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "demodata: %s\n", oneLine(err.Error()))
		os.Exit(1)
	}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func newLogger(w io.Writer) zerolog.Logger {
	if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).With().Timestamp().Logger()
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "mutate" {
		return runMutate(ctx, args[1:], stdout, stderr)
	}
	return runGenerate(ctx, args, stdout, stderr)
}

// common flags
type dbFlags struct {
	dsn string
}

func (d *dbFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.dsn, "pg-dsn", "", "PostgreSQL DSN (libpq URL or key=value; default $SCRIPTSTATS_PG_DSN)")
}

// connect opens a pool; errors never carry the password.
func (d *dbFlags) connect(ctx context.Context, log zerolog.Logger, parallel int) (*pgxpool.Pool, func(error) error, error) {
	dsn := d.dsn
	if dsn == "" {
		dsn = os.Getenv("SCRIPTSTATS_PG_DSN")
	}
	if dsn == "" {
		return nil, nil, errors.New("no database: set --pg-dsn or SCRIPTSTATS_PG_DSN")
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, nil, errors.New("invalid --pg-dsn (not shown): " + redactDSN(err.Error(), dsn))
	}
	password := cfg.ConnConfig.Password
	redact := func(err error) error {
		if err == nil {
			return nil
		}
		msg := err.Error()
		if password != "" {
			msg = strings.ReplaceAll(msg, password, "xxxxx")
		}
		return errors.New(redactDSN(msg, dsn))
	}
	cfg.MaxConns = int32(max(4, parallel))
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, nil, redact(fmt.Errorf("connect: %w", err))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, nil, redact(fmt.Errorf("connect to %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err))
	}
	log.Info().Str("host", cfg.ConnConfig.Host).Uint16("port", cfg.ConnConfig.Port).
		Str("database", cfg.ConnConfig.Database).Str("user", cfg.ConnConfig.User).Msg("connected")
	return pool, redact, nil
}

// redactDSN removes the DSN itself from a message (it may hold a password).
func redactDSN(msg, dsn string) string {
	if dsn != "" {
		msg = strings.ReplaceAll(msg, dsn, "<dsn>")
	}
	return msg
}

func runGenerate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demodata", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var db dbFlags
	db.register(fs)
	def := demodata.DefaultOptions(time.Time{})
	opt := def
	fs.IntVar(&opt.Scripts, "scripts", def.Scripts, "number of scripts")
	fs.IntVar(&opt.Days, "days", def.Days, "days of history, ending at --end")
	fs.IntVar(&opt.Runs, "runs", def.Runs, "number of runs (task_log rows)")
	fs.Int64Var(&opt.Seed, "seed", def.Seed, "random seed (same seed and flags: same data)")
	end := fs.String("end", "", "end of the history, RFC3339 (default now)")
	fs.Float64Var(&opt.StepsShare, "steps-share", def.StepsShare, "share of runs with a steps JSON array")
	fs.IntVar(&opt.MinSteps, "min-steps", def.MinSteps, "fewest steps per script")
	fs.IntVar(&opt.MaxSteps, "max-steps", def.MaxSteps, "most steps per script")
	fs.BoolVar(&opt.Stories, "stories", def.Stories, "put the known stories into the history")
	fs.BoolVar(&opt.DetectionStories, "detection-stories", false, "with --stories, two more: a +50 % duration shift of a script from a known day, a step broken 3 days before the end")
	fs.BoolVar(&opt.Odd, "odd", false, "sprinkle odd values (acceptance tests)")
	fs.Float64Var(&opt.OddRate, "odd-rate", def.OddRate, "share of runs with an odd value in --odd mode")
	fs.IntVar(&opt.Parallel, "parallel", def.Parallel, "COPY streams (connections) for the load; the data do not depend on it")
	hugeMB := fs.Int("huge-error-mb", 0, "give one run an error_message of this many MB")
	reset := fs.Bool("reset", false, "drop and recreate task_log and scripts first")
	asJSON := fs.Bool("json", false, "print the summary (stories included) as JSON on stdout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (subcommand: mutate)", fs.Arg(0))
	}
	log := newLogger(stderr)
	began := time.Now()
	opt.End = began
	if *end != "" {
		t, err := time.Parse(time.RFC3339Nano, *end)
		if err != nil {
			return fmt.Errorf("--end: want RFC3339 like 2026-03-31T06:00:00Z: %w", err)
		}
		opt.End = t
	}
	opt.HugeErrorBytes = *hugeMB << 20

	pool, redact, err := db.connect(ctx, log, opt.Parallel)
	if err != nil {
		return err
	}
	defer pool.Close()
	if *reset {
		if err := demodata.Reset(ctx, pool); err != nil {
			return redact(err)
		}
		log.Info().Msg("dropped and recreated task_log and scripts")
	}
	last := time.Now()
	progress := func(done, total int) {
		if now := time.Now(); now.Sub(last) >= 5*time.Second {
			last = now
			log.Info().Int("done", done).Int("total", total).
				Float64("rate", float64(done)/now.Sub(began).Seconds()).Msg("writing runs")
		}
	}
	sum, err := demodata.Generate(ctx, pool, opt, progress)
	if err != nil {
		return redact(err)
	}
	elapsed := time.Since(began)
	printStories(log, sum)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			return err
		}
	}
	log.Info().Int64("runs", sum.Runs).Int("scripts", sum.Scripts).Int64("with_steps", sum.WithSteps).
		Time("start", sum.Start).Time("end", sum.End).
		Float64("rate_runs_per_s", float64(sum.Runs)/elapsed.Seconds()).
		Float64("elapsed_s", elapsed.Seconds()).Msg("generated")
	return nil
}

func printStories(log zerolog.Logger, sum demodata.Summary) {
	st := sum.Stories
	if r := st.Regression; r != nil {
		log.Info().Int64("script_id", r.ScriptID).Str("script", r.ScriptName).Int("step_index", r.StepIndex).
			Str("step", r.StepName).Str("from_day", r.Day).Float64("ratio", r.Ratio).Msg("story: duration regression")
	}
	if f := st.Flaky; f != nil {
		log.Info().Int64("script_id", f.ScriptID).Str("script", f.ScriptName).Int("step_index", f.StepIndex).
			Str("step", f.StepName).Float64("failure_rate", f.Rate).Msg("story: flaky step")
	}
	if b := st.Breaking; b != nil {
		log.Info().Int64("script_id", b.ScriptID).Str("script", b.ScriptName).Int("step_index", b.StepIndex).
			Str("step", b.StepName).Str("from_day", b.Day).Float64("failure_rate", b.Rate).Msg("story: step starts failing")
	}
	if s := st.Shift; s != nil {
		log.Info().Int64("script_id", s.ScriptID).Str("script", s.ScriptName).Str("from_day", s.Day).
			Float64("ratio", s.Ratio).Msg("story: whole-run duration shift")
	}
	if b := st.Broken; b != nil {
		log.Info().Int64("script_id", b.ScriptID).Str("script", b.ScriptName).Int("step_index", b.StepIndex).
			Str("step", b.StepName).Time("from", b.From).Msg("story: step broken")
	}
	if r := st.Renamed; r != nil {
		log.Info().Int64("script_id", r.ScriptID).Str("script", r.ScriptName).Int("step_index", r.StepIndex).
			Str("old_name", r.OldName).Str("new_name", r.NewName).Str("from_day", r.Day).Msg("story: renamed step")
	}
	if r := st.Running; r != nil {
		log.Info().Int64("running_last_hour", r.Running).Int64("queued", r.Queued).Int64("pending", r.Pending).
			Ints64("running_ids", r.IDs).Msg("story: unfinished runs")
	}
	if l := st.Late; l != nil {
		log.Info().Int64("count", l.Count).Dur("min_delay", l.MinDelay).Ints64("ids", l.IDs).Msg("story: late updates")
	}
	if o := sum.Odd; o != nil {
		ev := log.Info().Int64("odd_runs", o.Total).Int64("special_instant_runs", o.SpecialRuns).
			Int64("missing_script_id", o.MissingScriptID).Int("dst_changes", len(o.DSTChanges))
		if sum.HugeError > 0 {
			ev = ev.Int64("huge_error_run_id", sum.HugeError)
		}
		ev.Msg("odd values")
	}
}

func runMutate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demodata mutate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var db dbFlags
	db.register(fs)
	def := demodata.DefaultOptions(time.Time{})
	opt := demodata.MutateOptions{Gen: def}
	opt.Gen.Scripts = 0
	fs.Int64Var(&opt.Gen.Seed, "seed", def.Seed, "the generation's seed (rebuilds the scripts' steps)")
	fs.IntVar(&opt.Gen.Scripts, "scripts", 0, "the generation's number of scripts (0: count the scripts table)")
	fs.Float64Var(&opt.Gen.StepsShare, "steps-share", def.StepsShare, "share of runs with a steps JSON array")
	fs.IntVar(&opt.Gen.MinSteps, "min-steps", def.MinSteps, "the generation's --min-steps")
	fs.IntVar(&opt.Gen.MaxSteps, "max-steps", def.MaxSteps, "the generation's --max-steps")
	fs.BoolVar(&opt.Gen.Stories, "stories", def.Stories, "the generation's --stories (story scripts keep their history)")
	fs.BoolVar(&opt.Gen.DetectionStories, "detection-stories", false, "the generation's --detection-stories")
	fs.Int64Var(&opt.Seed, "pass-seed", 0, "seed of this pass (default: derived from the clock)")
	now := fs.String("now", "", "the platform's clock for this pass, RFC3339 (default: the database's now())")
	fs.IntVar(&opt.Finish, "finish", 20, "unfinished runs that finish")
	fs.IntVar(&opt.LateUpdates, "late", 20, "old runs whose status changes days later")
	fs.IntVar(&opt.RerunDays, "rerun-days", 1, "(script, old day) pairs re-run and rewritten")
	fs.IntVar(&opt.Moved, "moved", 5, "runs moved to the next day")
	fs.IntVar(&opt.StepRenames, "step-renames", 1, "steps renamed (in the last day's runs and the new runs)")
	fs.IntVar(&opt.ScriptRenames, "script-renames", 1, "scripts renamed")
	fs.IntVar(&opt.Deletes, "deletes", 10, "runs deleted")
	fs.IntVar(&opt.NewRuns, "new-runs", 2000, "runs appended, created in the last hour before --now")
	asJSON := fs.Bool("json", false, "print the summary as JSON on stdout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	log := newLogger(stderr)
	began := time.Now()
	if *now != "" {
		t, err := time.Parse(time.RFC3339Nano, *now)
		if err != nil {
			return fmt.Errorf("--now: want RFC3339 like 2026-03-31T07:00:00Z: %w", err)
		}
		opt.Now = t
	}
	if opt.Seed == 0 {
		opt.Seed = began.UnixNano()
	}
	pool, redact, err := db.connect(ctx, log, 1)
	if err != nil {
		return err
	}
	defer pool.Close()
	sum, err := demodata.Mutate(ctx, pool, opt)
	if err != nil {
		return redact(err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			return err
		}
	}
	for _, r := range sum.Reruns {
		log.Info().Int64("script_id", r.ScriptID).Str("day", r.Day).Int("runs", len(r.IDs)).Msg("re-ran a day")
	}
	for _, r := range sum.StepRenames {
		log.Info().Int64("script_id", r.ScriptID).Int("step_index", r.StepIndex).Str("old_name", r.OldName).
			Str("new_name", r.NewName).Int64("runs", r.Runs).Msg("renamed a step")
	}
	for _, r := range sum.ScriptRenames {
		log.Info().Int64("script_id", r.ScriptID).Str("old_name", r.OldName).Str("new_name", r.NewName).Msg("renamed a script")
	}
	log.Info().Int("finished", len(sum.Finished)).Int("late_updated", len(sum.LateUpdated)).
		Int("rerun_days", len(sum.Reruns)).Int("moved", len(sum.Moved)).Int("deleted", len(sum.Deleted)).
		Int64("new_runs", sum.NewRuns).Int64("new_first_id", sum.NewFirstID).Int64("new_last_id", sum.NewLastID).
		Time("stamp", sum.Stamp).Bool("stamp_forced", sum.StampForced).Int64("pass_seed", opt.Seed).
		Float64("elapsed_s", time.Since(began).Seconds()).Msg("mutated")
	return nil
}
