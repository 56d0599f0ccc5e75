package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/scriptstats/scriptstats/extract"
	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/schedules"
	"github.com/scriptstats/scriptstats/transform"
)

func (a *app) migrate(ctx context.Context, args []string) error {
	f := newFlagSet("migrate")
	a.cfg.connectionFlags(f, false)
	f.secret(&a.cfg.PGDSN, "pg-dsn", "source PostgreSQL; only with --source logical, which creates the publication and the replication slot there")
	sourceFlag(f, &a.cfg.Source)
	if err := a.setup(f, args, false, true); err != nil {
		return err
	}
	n, err := load.MigrateWith(ctx, a.cfg.ClickHouseDSN, a.cfg.sinkOptions())
	if err != nil {
		return err
	}
	a.log.Info().Int("migrations", n).Msg("clickhouse schema up to date")
	if a.cfg.Source == "logical" {
		return a.migrateSlot(ctx)
	}
	return nil
}

// migrateSlot creates the publication and the replication slot of
// --source logical, or prints the SQL for a DBA when the role may not.
func (a *app) migrateSlot(ctx context.Context) error {
	opts, err := load.ParseDSN(a.cfg.ClickHouseDSN)
	if err != nil {
		return err
	}
	slot := extract.SlotFor(opts.Auth.Database)
	src, err := extract.Open(ctx, a.cfg.PGDSN, a.cfg.StatementTimeout)
	if err != nil {
		return err
	}
	defer src.Close()
	created, err := src.CreateSlot(ctx, slot)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "42501" || pgErr.Code == "55000") {
		fmt.Fprintln(a.stdout, "-- run as a superuser (or the owner of task_log and scripts with REPLICATION) on the source database:")
		for _, q := range slot.SetupSQL() {
			fmt.Fprintln(a.stdout, q)
		}
		return fmt.Errorf("%w: the role may not create publication and slot %s (%s): a DBA must run the SQL printed above", errUsage, slot.Name, pgErr.Message)
	}
	if err != nil {
		return err
	}
	a.log.Info().Str("slot", slot.Name).Str("publication", slot.Publication).Bool("created", created).Msg("logical source ready")
	return nil
}

func (a *app) runPass(ctx context.Context, args []string) error {
	f := newFlagSet("run")
	a.cfg.connectionFlags(f, true)
	a.cfg.passFlags(f)
	f.string(&a.cfg.Since, "since", "", "first pass only: load runs of this day (YYYY-MM-DD) and later")
	pushURL := pushgatewayFlag(f)
	if err := a.setup(f, args, true, true); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return fmt.Errorf("%w: run takes no arguments, got %q", errUsage, f.Arg(0))
	}
	var opts schedules.RunOptions
	if a.cfg.Since != "" {
		d, err := parseDayFlag("since", a.cfg.Since)
		if err != nil {
			return err
		}
		opts.Since = &d
	}
	j, closeAll, err := a.job(ctx)
	if err != nil {
		a.pushMetrics(ctx, *pushURL, "incremental", schedules.Summary{}, err)
		return err
	}
	defer closeAll()
	sum, err := j.Run(ctx, opts)
	a.pushMetrics(ctx, *pushURL, "incremental", sum, err)
	return err
}

func (a *app) dayRange(f *flagSet, args []string) (from, to transform.Day, err error) {
	f.string(&a.cfg.From, "from", "", "first day (YYYY-MM-DD, in --timezone)")
	f.string(&a.cfg.To, "to", "", "last day, included")
	f.int(&a.cfg.TrailingDays, "trailing-days", "0", "instead of --from and --to: the N days before today, and today (in --timezone); for a CronJob")
	if err := a.setup(f, args, true, true); err != nil {
		return 0, 0, err
	}
	switch n := a.cfg.TrailingDays; {
	case n < 0:
		return 0, 0, fmt.Errorf("%w: --trailing-days %d: must be 1 or more", errUsage, n)
	case n > 0 && (a.cfg.From != "" || a.cfg.To != ""):
		return 0, 0, fmt.Errorf("%w: --trailing-days replaces --from and --to: give one or the other", errUsage)
	case n > 0:
		from, to = trailingRange(time.Now(), a.cfg.Zone, n)
		return from, to, nil
	}
	if a.cfg.From == "" || a.cfg.To == "" {
		return 0, 0, fmt.Errorf("%w: --from and --to (or --trailing-days) are required", errUsage)
	}
	if from, err = parseDayFlag("from", a.cfg.From); err != nil {
		return 0, 0, err
	}
	if to, err = parseDayFlag("to", a.cfg.To); err != nil {
		return 0, 0, err
	}
	if to < from {
		return 0, 0, fmt.Errorf("%w: --to %s is before --from %s", errUsage, to, from)
	}
	return from, to, nil
}

// trailingRange is the n days before the day of now in loc, and that day.
func trailingRange(now time.Time, loc *time.Location, n int) (from, to transform.Day) {
	today := transform.DayOf(now, loc)
	return today - transform.Day(n), today
}

func (a *app) backfill(ctx context.Context, args []string) error {
	f := newFlagSet("backfill")
	a.cfg.connectionFlags(f, true)
	a.cfg.passFlags(f)
	pushURL := pushgatewayFlag(f)
	var acceptRewind bool // once, by hand: never in a ConfigMap
	f.bool(&acceptRewind, "accept-rewind", "false", "the source was restored from a backup (its transaction counter went back): recompute --from..--to from it as it is now and reset the watermark; the range must cover every day changed since the backup")
	from, to, err := a.dayRange(f, args)
	if err != nil {
		return err
	}
	j, closeAll, err := a.job(ctx)
	if err != nil {
		a.pushMetrics(ctx, *pushURL, "backfill", schedules.Summary{}, err)
		return err
	}
	defer closeAll()
	a.log.Info().Str("from", from.String()).Str("to", to.String()).Msg("backfill of days")
	backfill := j.Backfill
	if acceptRewind {
		backfill = j.BackfillAcceptingRewind
	}
	sum, err := backfill(ctx, from, to)
	a.pushMetrics(ctx, *pushURL, "backfill", sum, err)
	return err
}

// errDifferences: verify found differences (exit 1).
type errDifferences struct{ n int64 }

func (e errDifferences) Error() string {
	return fmt.Sprintf("verify: %d differences between ClickHouse and the source", e.n)
}

func (a *app) verify(ctx context.Context, args []string) error {
	f := newFlagSet("verify")
	a.cfg.connectionFlags(f, true)
	a.cfg.passFlags(f)
	from, to, err := a.dayRange(f, args)
	if err != nil {
		return err
	}
	j, closeAll, err := a.job(ctx)
	if err != nil {
		return err
	}
	defer closeAll()
	res, err := j.Verify(ctx, from, to, func(d schedules.Difference) {
		fmt.Fprintln(a.stdout, d.String())
	})
	if err != nil {
		return err
	}
	a.log.Info().Str("from", from.String()).Str("to", to.String()).Int64("groups", res.Groups).
		Int64("runs", res.Runs).Int64("differences", res.Differences).Msg("verify finished")
	if res.Differences > 0 {
		return errDifferences{res.Differences}
	}
	return nil
}

func (a *app) schedule(ctx context.Context, args []string) error {
	f := newFlagSet("schedule")
	a.cfg.connectionFlags(f, true)
	a.cfg.passFlags(f)
	f.string(&a.cfg.Plan.Incremental, "incremental-schedule", schedules.DefaultPlan.Incremental, "cron spec of the incremental pass")
	f.string(&a.cfg.Plan.Backfill, "backfill-schedule", schedules.DefaultPlan.Backfill, "cron spec of the backfill of trailing days (empty: none)")
	f.int(&a.cfg.Plan.BackfillDays, "backfill-days", fmt.Sprint(schedules.DefaultPlan.BackfillDays), "days before today the scheduled backfill covers")
	metricsAddr := metricsAddrFlag(f)
	if err := a.setup(f, args, true, true); err != nil {
		return err
	}
	if err := a.cfg.Plan.Validate(); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	j, closeAll, err := a.job(ctx)
	if err != nil {
		return err
	}
	defer closeAll()
	return a.serveSchedule(ctx, j, *metricsAddr)
}
