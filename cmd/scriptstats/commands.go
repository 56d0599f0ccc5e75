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
)

// migrateOptions: the ClickHouse database, and with --source logical the
// source too (publication and slot).
type migrateOptions struct {
	connOptions
	Source string
}

func (o *migrateOptions) register(f *flagSet) {
	o.connOptions.register(f, false)
	f.secret(&o.PGDSN, "pg-dsn", "source PostgreSQL; only with --source logical, which creates the publication and the replication slot there")
	sourceFlag(f, &o.Source)
}

func (o *migrateOptions) Validate() error {
	if err := validateSource(o.Source); err != nil {
		return err
	}
	return o.connOptions.validate(o.Source == "logical", true)
}

func (a *app) migrate(ctx context.Context, args []string) error {
	var o migrateOptions
	if err := a.parse("migrate", args, &o); err != nil {
		return err
	}
	n, err := load.MigrateWith(ctx, o.ClickHouseDSN, o.sinkOptions())
	if err != nil {
		return err
	}
	a.log.Info().Int("migrations", n).Msg("clickhouse schema up to date")
	if o.Source == "logical" {
		return a.migrateSlot(ctx, &o)
	}
	return nil
}

// migrateSlot creates the publication and the replication slot of
// --source logical, or prints the SQL for a DBA when the role may not.
func (a *app) migrateSlot(ctx context.Context, o *migrateOptions) error {
	opts, err := load.ParseDSN(o.ClickHouseDSN)
	if err != nil {
		return err
	}
	slot := extract.SlotFor(opts.Auth.Database)
	src, err := extract.Open(ctx, o.PGDSN, 0) // migrate has no --statement-timeout: the server's
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

// runOptions: one incremental pass.
type runOptions struct {
	jobOptions
	noArgs
	Since   string
	PushURL string
	run     schedules.RunOptions // by Validate
}

func (o *runOptions) register(f *flagSet) {
	o.jobOptions.register(f)
	f.string(&o.Since, "since", "", "first pass only: load runs of this day (YYYY-MM-DD) and later")
	pushgatewayFlag(f, &o.PushURL)
	o.cmd = "run"
}

func (o *runOptions) Validate() error {
	if err := o.jobOptions.Validate(); err != nil {
		return err
	}
	if err := o.noArgs.validate(); err != nil {
		return err
	}
	if o.Since != "" {
		d, err := parseDayFlag("since", o.Since)
		if err != nil {
			return err
		}
		o.run.Since = &d
	}
	return nil
}

func (a *app) runPass(ctx context.Context, args []string) error {
	var o runOptions
	if err := a.parse("run", args, &o); err != nil {
		return err
	}
	j, closeAll, err := a.job(ctx, &o.jobOptions)
	if err != nil {
		a.pushMetrics(ctx, o.PushURL, "incremental", schedules.Summary{}, err)
		return err
	}
	defer closeAll()
	sum, err := j.Run(ctx, o.run)
	a.pushMetrics(ctx, o.PushURL, "incremental", sum, err)
	return err
}

// backfillOptions: recompute a range of days.
type backfillOptions struct {
	jobOptions
	PushURL      string
	AcceptRewind bool // once, by hand: never in a ConfigMap
	dayRangeOptions
}

func (o *backfillOptions) register(f *flagSet) {
	o.jobOptions.register(f)
	pushgatewayFlag(f, &o.PushURL)
	f.bool(&o.AcceptRewind, "accept-rewind", "false", "the source was restored from a backup (its transaction counter went back): recompute --from..--to from it as it is now and reset the watermark; the range must cover every day changed since the backup")
	o.dayRangeOptions.register(f)
}

func (o *backfillOptions) Validate() error {
	if err := o.jobOptions.Validate(); err != nil {
		return err
	}
	return o.dayRangeOptions.validate(o.Zone, time.Now())
}

func (a *app) backfill(ctx context.Context, args []string) error {
	var o backfillOptions
	if err := a.parse("backfill", args, &o); err != nil {
		return err
	}
	j, closeAll, err := a.job(ctx, &o.jobOptions)
	if err != nil {
		a.pushMetrics(ctx, o.PushURL, "backfill", schedules.Summary{}, err)
		return err
	}
	defer closeAll()
	a.log.Info().Str("from", o.from.String()).Str("to", o.to.String()).Msg("backfill of days")
	backfill := j.Backfill
	if o.AcceptRewind {
		backfill = j.BackfillAcceptingRewind
	}
	sum, err := backfill(ctx, o.from, o.to)
	a.pushMetrics(ctx, o.PushURL, "backfill", sum, err)
	return err
}

// errDifferences: verify found differences (exit 1).
type errDifferences struct{ n int64 }

func (e errDifferences) Error() string {
	return fmt.Sprintf("verify: %d differences between ClickHouse and the source", e.n)
}

// verifyOptions: compare a range of days with the source.
type verifyOptions struct {
	jobOptions
	dayRangeOptions
}

func (o *verifyOptions) register(f *flagSet) {
	o.jobOptions.register(f)
	o.dayRangeOptions.register(f)
}

func (o *verifyOptions) Validate() error {
	if err := o.jobOptions.Validate(); err != nil {
		return err
	}
	return o.dayRangeOptions.validate(o.Zone, time.Now())
}

func (a *app) verify(ctx context.Context, args []string) error {
	var o verifyOptions
	if err := a.parse("verify", args, &o); err != nil {
		return err
	}
	from, to := o.from, o.to
	j, closeAll, err := a.job(ctx, &o.jobOptions)
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

// scheduleOptions: passes on cron schedules, and the HTTP server.
type scheduleOptions struct {
	jobOptions
	Plan        schedules.Plan
	MetricsAddr string
}

func (o *scheduleOptions) register(f *flagSet) {
	o.jobOptions.register(f)
	f.string(&o.Plan.Incremental, "incremental-schedule", schedules.DefaultPlan.Incremental, "cron spec of the incremental pass")
	f.string(&o.Plan.Backfill, "backfill-schedule", schedules.DefaultPlan.Backfill, "cron spec of the backfill of trailing days (empty: none)")
	f.int(&o.Plan.BackfillDays, "backfill-days", fmt.Sprint(schedules.DefaultPlan.BackfillDays), "days before today the scheduled backfill covers")
	metricsAddrFlag(f, &o.MetricsAddr)
}

func (o *scheduleOptions) Validate() error {
	if err := o.jobOptions.Validate(); err != nil {
		return err
	}
	if err := o.Plan.Validate(); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	return nil
}

func (a *app) schedule(ctx context.Context, args []string) error {
	var o scheduleOptions
	if err := a.parse("schedule", args, &o); err != nil {
		return err
	}
	j, closeAll, err := a.job(ctx, &o.jobOptions)
	if err != nil {
		return err
	}
	defer closeAll()
	return a.serveSchedule(ctx, j, o.Plan, o.MetricsAddr)
}
