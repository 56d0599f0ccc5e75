package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/scriptstats/scriptstats/extract"
	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/schedules"
	"github.com/scriptstats/scriptstats/transform"
)

// Exit statuses (documented in README.md).
const (
	exitOK          = 0
	exitFailure     = 1 // the command failed, or verify found differences
	exitUsage       = 2 // bad flags, environment or arguments
	exitLocked      = 3 // another pass is running
	exitInterrupted = 130
)

const usageText = `scriptstats: history of automated script runs, PostgreSQL task_log -> ClickHouse

Usage: scriptstats COMMAND [flags]

Commands:
  migrate                        create the database and every ClickHouse object (safe to rerun)
  run [--since DATE]             one incremental pass (the first loads the whole history)
  backfill --from DATE --to DATE recompute those days from the source, deletions included
  backfill --trailing-days N     the same for the N days before today and today
  backfill --accept-rewind ...   after a restore of the source (see docs/operations.md)
  schedule                       run passes on the cron schedules until SIGTERM
  verify --from DATE --to DATE   compare ClickHouse with a recomputation from the source
  compare RUN_A RUN_B [--json]   step-aligned diff of two runs
  doctor [--json]                check source and sink: does each guarantee hold here, on what it rests
  report --out FILE              one self-contained HTML report (--from, --to, --script narrow it)
  version                        print the version

Every flag has an environment fallback (SCRIPTSTATS_<FLAG>); "scriptstats COMMAND --help" lists them.
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// app is one invocation: its output streams (behind the redactor) and log.
type app struct {
	stdout io.Writer
	stderr *redactingWriter
	log    zerolog.Logger
	// sink is the ClickHouse connection job opened (schedule's /report
	// reads it too).
	sink *load.Sink
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stderr: &redactingWriter{w: stderr}}
	a.stdout = &redactingWriter{w: stdout}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usageText)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "migrate":
		err = a.migrate(ctx, rest)
	case "run":
		err = a.runPass(ctx, rest)
	case "backfill":
		err = a.backfill(ctx, rest)
	case "schedule":
		err = a.schedule(ctx, rest)
	case "verify":
		err = a.verify(ctx, rest)
	case "compare":
		err = a.compare(ctx, rest)
	case "doctor":
		err = a.doctor(ctx, rest)
	case "report":
		err = a.report(ctx, rest)
	case "version":
		fmt.Fprintln(a.stdout, "scriptstats", version)
		return exitOK
	default:
		if strings.ContainsAny(cmd, ":@/") { // a DSN pasted as the command: no secret is known yet to scrub
			cmd = "(not shown: it looks like a DSN)"
		}
		fmt.Fprintf(a.stderr, "scriptstats: unknown command %q (see scriptstats --help)\n", cmd)
		return exitUsage
	}
	return a.exit(ctx, err)
}

// exit prints the one-line reason for a failure and picks the status.
func (a *app) exit(ctx context.Context, err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	line := strings.ReplaceAll(err.Error(), "\n", " ")
	fmt.Fprintf(a.stderr, "scriptstats: %s\n", line)
	switch {
	case errors.Is(err, errUsage):
		return exitUsage
	case errors.Is(err, extract.ErrLocked):
		return exitLocked
	case ctx.Err() != nil:
		return exitInterrupted
	}
	return exitFailure
}

// parse registers o's flags for the command name and sets o up from args
// (setup).
func (a *app) parse(name string, args []string, o options) error {
	f := newFlagSet(name)
	o.register(f)
	return a.setup(f, args, o)
}

// setup parses flags (registered by the command into o) and the
// environment, validates o, and sets up the redactor and logging.
func (a *app) setup(f *flagSet, args []string, o options) error {
	if err := a.parseFlags(f, args); err != nil {
		return err
	}
	if len(f.envErrs) > 0 {
		return fmt.Errorf("%w: %w", errUsage, f.envErrs[0])
	}
	if t, ok := o.(argsTaker); ok {
		t.setArgs(f.Args())
	}
	if err := o.Validate(); err != nil {
		return err
	}
	c := o.connection()
	a.stderr.setSecrets(c.secrets)
	a.stdout.(*redactingWriter).setSecrets(c.secrets)
	a.log = newLogger(a.stderr, c.LogFormat, c.LogLevel)
	return nil
}

// parseFlags parses args into f. A bad flag is one line (printed by
// exit), not the flag package's message plus the whole usage; --help
// prints the usage.
func (a *app) parseFlags(f *flagSet, args []string) error {
	f.SetOutput(io.Discard)
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			f.SetOutput(a.stderr)
			f.Usage()
			return err
		}
		return fmt.Errorf("%w: %w (see scriptstats %s --help)", errUsage, err, f.Name())
	}
	f.SetOutput(a.stderr)
	return nil
}

func newLogger(w io.Writer, format, level string) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		lvl = zerolog.InfoLevel
	}
	console := format == "console"
	if format == "auto" {
		if f, ok := underlyingFile(w); ok && isTerminal(f) {
			console = true
		}
	}
	if console {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

func isTerminal(f *os.File) bool { return isatty.IsTerminal(f.Fd()) }

func underlyingFile(w io.Writer) (*os.File, bool) {
	if r, ok := w.(*redactingWriter); ok {
		w = r.w
	}
	f, ok := w.(*os.File)
	return f, ok
}

// job opens both databases and builds the pass runner.
func (a *app) job(ctx context.Context, o *jobOptions) (*schedules.Job, func(), error) {
	src, err := extract.Open(ctx, o.PGDSN, o.StatementTimeout)
	if err != nil {
		return nil, nil, err
	}
	sink, err := load.OpenWith(ctx, o.ClickHouseDSN, o.sinkOptions())
	if err != nil {
		src.Close()
		return nil, nil, err
	}
	sink.OnRetry = func(attempt int, err error) {
		a.log.Warn().Int("attempt", attempt).Err(err).Msg("clickhouse error, retrying")
	}
	lim := transform.DefaultLimits
	lim.ErrorBytes = o.ErrorBytes
	a.sink = sink
	j := &schedules.Job{
		Source:       schedules.FromExtract(src),
		Sink:         sink,
		Zone:         o.Zone,
		ZoneName:     o.Timezone,
		Limits:       lim,
		Lookback:     o.Lookback,
		BatchSize:    o.BatchSize,
		KeepRunsDays: o.KeepRunsDays,
		ChangeWindow: o.ChangeWindow,
		Log:          a.log,
		Now:          time.Now,
		Progress:     a.newProgress(),
	}
	if o.Source == "logical" {
		slot := extract.SlotFor(sink.Database())
		j.Slot, j.PGDSN = &slot, o.PGDSN
	}
	a.checkZoneData(ctx, j)
	return j, func() { src.Close(); _ = sink.Close() }, nil
}

// checkZoneData warns when the source PostgreSQL's rules for the zone differ
// from the job's (Go's zone data in the binary): the job's days are
// self-consistent, but SQL on the source (AT TIME ZONE) would put runs near
// those instants on other days. A warning, not a refusal: the fix is an
// update of either side's zone data (docs/operations.md).
func (a *app) checkZoneData(ctx context.Context, j *schedules.Job) {
	n, first, err := j.ZoneDataMismatch(ctx)
	switch {
	case err != nil:
		a.log.Warn().Err(err).Str("timezone", j.ZoneName).Msg("could not compare the time zone data with PostgreSQL's")
	case n > 0:
		a.log.Warn().Str("timezone", j.ZoneName).Int("instants", n).Str("first", first).
			Msg("time zone data differ from PostgreSQL's: runs near these instants fall on other days than AT TIME ZONE on the source gives; update the image or PostgreSQL's tzdata")
	}
}
