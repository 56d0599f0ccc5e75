package main

import (
	"fmt"
	"time"

	"github.com/scriptstats/scriptstats/transform"
)

// jobOptions are the options of every command that runs or inspects a
// pass (run, backfill, verify, schedule, doctor): the connections and the
// pass settings.
type jobOptions struct {
	connOptions
	passOptions
}

func (o *jobOptions) register(f *flagSet) {
	o.connOptions.register(f, true)
	o.passOptions.register(f)
}

// Validate checks, in this order: --source, the connections, the pass
// settings.
func (o *jobOptions) Validate() error {
	if err := validateSource(o.Source); err != nil {
		return err
	}
	if err := o.connOptions.validate(true, true); err != nil {
		return err
	}
	return o.passOptions.validate()
}

// passOptions are the settings of a pass.
type passOptions struct {
	Timezone         string
	Zone             *time.Location // from Timezone, by validate
	Lookback         time.Duration
	ChangeWindow     int
	BatchSize        int
	KeepRunsDays     int
	StatementTimeout time.Duration
	ErrorBytes       int
	Source           string // cursor or logical
}

func (p *passOptions) register(f *flagSet) {
	f.string(&p.Timezone, "timezone", "UTC", "IANA time zone that days are computed in")
	f.duration(&p.Lookback, "lookback", "10m", "safety margin of the incremental read (see docs/design.md, \"The incremental read\")")
	f.int(&p.BatchSize, "batch-size", "20000", "runs per ClickHouse insert")
	f.int(&p.KeepRunsDays, "keep-runs-days", "0", "drop the per-run rows (runs, run_steps, run_vs_previous) of months older than this many days, keeping the daily aggregates (0: keep every run; docs/performance.md, \"Retention\")")
	f.int(&p.ChangeWindow, "change-window", "12", "w of the duration change-point scan: runs compared on each side of a position, 2 to 1000 (docs/detection.md)")
	f.duration(&p.StatementTimeout, "statement-timeout", "0s", "PostgreSQL statement_timeout for the job's queries (0: server default)")
	f.int(&p.ErrorBytes, "error-bytes", "4096", "longest error text kept, in bytes, 64 to 16777216 (longer ones are cut with a marker)")
	sourceFlag(f, &p.Source)
}

// Bounds of --error-bytes. Below the minimum a cut text would be little but
// its marker (0 would keep nothing else: refused rather than read as "no
// limit" or "no text"); the maximum keeps one run's row bounded and fits
// PostgreSQL's left(text, int).
const (
	minErrorBytes = 64
	maxErrorBytes = 16 << 20
)

// validate loads the time zone and checks the pass settings.
func (p *passOptions) validate() error {
	if p.Timezone == "" {
		p.Timezone = "UTC" // the contract's default, also for an empty SCRIPTSTATS_TIMEZONE
	}
	loc, err := time.LoadLocation(p.Timezone)
	// "Local" is Go's name for the machine's own zone, no IANA name: the
	// days would follow whatever TZ the pod or laptop has.
	if err != nil || p.Timezone == "Local" {
		return fmt.Errorf("%w: --timezone %q is not an IANA time zone (e.g. Europe/Berlin)", errUsage, p.Timezone)
	}
	p.Zone = loc
	if p.KeepRunsDays < 0 {
		return fmt.Errorf("%w: --keep-runs-days %d: must be 0 (keep every run) or positive", errUsage, p.KeepRunsDays)
	}
	if p.ChangeWindow != 0 && (p.ChangeWindow < 2 || p.ChangeWindow > 1000) {
		return fmt.Errorf("%w: --change-window %d: must be 2 to 1000", errUsage, p.ChangeWindow)
	}
	if p.BatchSize <= 0 {
		return fmt.Errorf("%w: --batch-size %d: must be positive", errUsage, p.BatchSize)
	}
	if p.ErrorBytes < minErrorBytes || p.ErrorBytes > maxErrorBytes {
		return fmt.Errorf("%w: --error-bytes %d: must be between %d and %d (the cut marker alone takes up to 42 bytes)", errUsage, p.ErrorBytes, minErrorBytes, maxErrorBytes)
	}
	return nil
}

// sourceFlag registers --source (the pass commands and migrate).
func sourceFlag(f *flagSet, p *string) {
	f.string(p, "source", "cursor", "how passes find changes: cursor (updated_at reads) or logical (a replication slot; needs wal_level=logical and REPLICATION)")
}

func validateSource(s string) error {
	switch s {
	case "", "cursor", "logical":
		return nil
	}
	return fmt.Errorf("%w: --source %q: want cursor or logical", errUsage, s)
}

// dayRangeOptions are the days of backfill and verify: --from and --to,
// or --trailing-days.
type dayRangeOptions struct {
	From, To     string
	TrailingDays int
	from, to     transform.Day // by validate
}

func (d *dayRangeOptions) register(f *flagSet) {
	f.string(&d.From, "from", "", "first day (YYYY-MM-DD, in --timezone)")
	f.string(&d.To, "to", "", "last day, included")
	f.int(&d.TrailingDays, "trailing-days", "0", "instead of --from and --to: the N days before today, and today (in --timezone); for a CronJob")
}

// validate derives the days; --trailing-days counts back from the day of
// now in zone.
func (d *dayRangeOptions) validate(zone *time.Location, now time.Time) (err error) {
	switch n := d.TrailingDays; {
	case n < 0:
		return fmt.Errorf("%w: --trailing-days %d: must be 1 or more", errUsage, n)
	case n > 0 && (d.From != "" || d.To != ""):
		return fmt.Errorf("%w: --trailing-days replaces --from and --to: give one or the other", errUsage)
	case n > 0:
		d.from, d.to = trailingRange(now, zone, n)
		return nil
	}
	if d.From == "" || d.To == "" {
		return fmt.Errorf("%w: --from and --to (or --trailing-days) are required", errUsage)
	}
	if d.from, err = parseDayFlag("from", d.From); err != nil {
		return err
	}
	if d.to, err = parseDayFlag("to", d.To); err != nil {
		return err
	}
	if d.to < d.from {
		return fmt.Errorf("%w: --to %s is before --from %s", errUsage, d.to, d.from)
	}
	return nil
}

// trailingRange is the n days before the day of now in loc, and that day.
func trailingRange(now time.Time, loc *time.Location, n int) (from, to transform.Day) {
	today := transform.DayOf(now, loc)
	return today - transform.Day(n), today
}

// parseDayFlag parses a --from/--to/--since value.
func parseDayFlag(name, v string) (transform.Day, error) {
	d, err := transform.ParseDay(v)
	if err != nil {
		return 0, fmt.Errorf("%w: --%s %q: want a date like 2026-01-31", errUsage, name, v)
	}
	return d, nil
}
