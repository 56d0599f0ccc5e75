package schedules

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/scriptstats/scriptstats/transform"
)

// Plan is when the long-running scheduler starts passes.
type Plan struct {
	// Incremental is the cron spec of the incremental pass.
	Incremental string
	// Backfill is the cron spec of the backfill that catches deletions.
	Backfill string
	// BackfillDays is how many days before today the backfill covers
	// (today included as well).
	BackfillDays int
}

// DefaultPlan: an incremental pass every 5 minutes, and every night at 02:30
// (in the job's time zone) a backfill of the trailing 7 days, which finds
// runs deleted at the source.
var DefaultPlan = Plan{Incremental: "*/5 * * * *", Backfill: "30 2 * * *", BackfillDays: 7}

// cronParser reads the plan's specs: five fields or a descriptor (@daily).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Validate checks the cron specs.
func (p Plan) Validate() error {
	parser := cronParser
	if _, err := parser.Parse(p.Incremental); err != nil {
		return fmt.Errorf("incremental schedule %q: %w", p.Incremental, err)
	}
	if p.Backfill != "" {
		if _, err := parser.Parse(p.Backfill); err != nil {
			return fmt.Errorf("backfill schedule %q: %w", p.Backfill, err)
		}
	}
	if p.BackfillDays < 0 {
		return fmt.Errorf("backfill days %d: must be 0 or more", p.BackfillDays)
	}
	return nil
}

// IncrementalInterval is the gap between the next two incremental passes
// after now, in loc (5 minutes when the spec does not parse).
func (p Plan) IncrementalInterval(now time.Time, loc *time.Location) time.Duration {
	s, err := cronParser.Parse(p.Incremental)
	if err != nil {
		return 5 * time.Minute
	}
	if loc == nil {
		loc = time.UTC
	}
	t1 := s.Next(now.In(loc))
	if d := s.Next(t1).Sub(t1); d > 0 {
		return d
	}
	return 5 * time.Minute
}

// Serve runs the plan until ctx is cancelled (SIGTERM). Passes never
// overlap: in this process a pass due while another runs is skipped, and
// across processes the PostgreSQL advisory lock refuses the second. On
// cancellation the running pass is cancelled too (a pass is safe to stop
// anywhere) and Serve returns once it has.
func (j *Job) Serve(ctx context.Context, plan Plan, onPass func(kind string, sum Summary, err error)) error {
	if err := plan.Validate(); err != nil {
		return err
	}
	var busy sync.Mutex
	wrap := func(kind string, pass func(context.Context) (Summary, error)) func() {
		return func() {
			if !busy.TryLock() {
				j.Log.Warn().Str("pass", kind).Msg("previous pass still running; this one is skipped")
				return
			}
			defer busy.Unlock()
			sum, err := pass(ctx)
			switch {
			case errors.Is(err, ErrLocked):
				j.Log.Warn().Str("pass", kind).Msg("another process is running a pass; this one is skipped")
			case err != nil && ctx.Err() != nil:
				j.Log.Info().Str("pass", kind).Msg("pass stopped by shutdown")
			case err != nil:
				j.Log.Error().Str("pass", kind).Err(err).Msg("pass failed")
			}
			if onPass != nil {
				onPass(kind, sum, err)
			}
		}
	}
	c := cron.New(cron.WithLocation(j.Zone))
	if _, err := c.AddFunc(plan.Incremental, wrap("incremental", func(ctx context.Context) (Summary, error) {
		return j.Run(ctx, RunOptions{})
	})); err != nil {
		return err
	}
	if plan.Backfill != "" {
		if _, err := c.AddFunc(plan.Backfill, wrap("backfill", func(ctx context.Context) (Summary, error) {
			today := transform.DayOf(j.Now(), j.Zone)
			return j.Backfill(ctx, today-transform.Day(plan.BackfillDays), today)
		})); err != nil {
			return err
		}
	}
	j.Log.Info().Str("incremental", plan.Incremental).Str("backfill", plan.Backfill).
		Int("backfill_days", plan.BackfillDays).Str("timezone", j.ZoneName).Msg("scheduler started")
	c.Start()
	<-ctx.Done()
	stopped := c.Stop()
	select {
	case <-stopped.Done():
	case <-time.After(5 * time.Minute):
		return errors.New("scheduler: a pass did not stop within 5 minutes of shutdown")
	}
	j.Log.Info().Msg("scheduler stopped")
	return nil
}
