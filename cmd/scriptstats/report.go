package main

// `scriptstats report` (CONTRACT.md section 4) and the /report page of
// `schedule`: one self-contained HTML file drawn from the public views.

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/load/report"
	"github.com/scriptstats/scriptstats/transform"
)

const (
	// reportDays is the default period: the 90 days ending today.
	reportDays = 90
	// reportFailingRuns is how many of each script's latest failing runs
	// the report compares with the run before.
	reportFailingRuns = 3
)

// reportFilter narrows a report; zero days mean the default period.
type reportFilter struct {
	From, To transform.Day
	Script   string
}

// reportOptions: the HTML report of the views.
type reportOptions struct {
	connOptions
	noArgs
	Out, From, To, Script string
	filter                reportFilter // by Validate
}

func (o *reportOptions) register(f *flagSet) {
	o.connOptions.register(f, false)
	f.string(&o.Out, "out", "", "file to write the HTML report to (required)")
	f.string(&o.From, "from", "", "first day (YYYY-MM-DD, in the job's time zone; default: 89 days before --to)")
	f.string(&o.To, "to", "", "last day, included (default: today in the job's time zone)")
	f.string(&o.Script, "script", "", "only this script: its id or its exact name")
	o.cmd = "report"
}

func (o *reportOptions) Validate() (err error) {
	if err := o.connOptions.validate(false, true); err != nil {
		return err
	}
	if err := o.noArgs.validate(); err != nil {
		return err
	}
	if o.Out == "" {
		return fmt.Errorf("%w: --out FILE is required", errUsage)
	}
	o.filter = reportFilter{Script: o.Script}
	if o.From != "" {
		if o.filter.From, err = parseDayFlag("from", o.From); err != nil {
			return err
		}
	}
	if o.To != "" {
		if o.filter.To, err = parseDayFlag("to", o.To); err != nil {
			return err
		}
	}
	if o.From != "" && o.To != "" && o.filter.To < o.filter.From {
		return fmt.Errorf("%w: --to %s is before --from %s", errUsage, o.To, o.From)
	}
	return nil
}

func (a *app) report(ctx context.Context, args []string) error {
	var o reportOptions
	if err := a.parse("report", args, &o); err != nil {
		return err
	}
	opts, out := o.filter, o.Out
	sink, err := load.OpenWith(ctx, o.ClickHouseDSN, o.sinkOptions())
	if err != nil {
		return err
	}
	defer sink.Close()
	start := time.Now()
	html, d, err := buildReport(ctx, sink, opts, start, a.log)
	if err != nil {
		return err
	}
	if opts.Script != "" && len(d.Scripts) == 0 {
		return fmt.Errorf("report: no script with the id or name %q has a counted run from %s to %s", opts.Script, d.From, d.To)
	}
	if err := writeFileAtomic(out, html); err != nil {
		return err
	}
	a.log.Info().Str("file", out).Int("bytes", len(html)).Int("scripts", len(d.Scripts)).
		Str("from", d.From.String()).Str("to", d.To.String()).
		Float64("seconds", time.Since(start).Seconds()).Msg("report written")
	fmt.Fprintln(a.stdout, out)
	return nil
}

// buildReport reads the views and renders the report as of now.
// reportReader is what the report reads of ClickHouse (*load.Sink).
type reportReader interface {
	ReadState(ctx context.Context) (load.State, bool, error)
	ReportData(ctx context.Context, q load.ReportQuery) (report.Data, error)
}

func buildReport(ctx context.Context, sink reportReader, opts reportFilter, now time.Time, logger zerolog.Logger) ([]byte, report.Data, error) {
	// The job's state (a private table) gives the freshness and the zone; a
	// user allowed only the public views still gets the report, in UTC,
	// with the freshness marked unknown.
	st, _, err := sink.ReadState(ctx)
	stateUnreadable := err != nil
	if err != nil {
		if ctx.Err() != nil {
			return nil, report.Data{}, err
		}
		logger.Warn().Str("error", err.Error()).Msg("report: the job's state cannot be read; freshness unknown, days taken as UTC")
	}
	zone := st.Timezone
	if zone == "" {
		zone = "UTC"
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, report.Data{}, fmt.Errorf("report: the job's time zone %q is not known here: %w", zone, err)
	}
	q := load.ReportQuery{From: opts.From, To: opts.To, Script: opts.Script, FailingRuns: reportFailingRuns}
	if q.To == 0 {
		q.To = transform.DayOf(now, loc)
		if opts.From != 0 && q.To < opts.From {
			q.To = opts.From + reportDays - 1
		}
	}
	if q.From == 0 {
		q.From = q.To - reportDays + 1
	}
	d, err := sink.ReportData(ctx, q)
	if err != nil {
		return nil, d, err
	}
	d.Timezone, d.GeneratedAt, d.LastPassAt, d.StateUnreadable = zone, now, st.LastPassAt, stateUnreadable
	var buf bytes.Buffer
	if err := report.Render(&buf, &d); err != nil {
		return nil, d, err
	}
	return buf.Bytes(), d, nil
}

// writeFileAtomic writes through a temporary file in the same directory,
// so that a reader never sees half a report.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("report: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// reportPage serves /report in schedule: the report of the default period,
// made on the first request after each successful pass and kept until the
// next one (passes change the data; requests between them do not).
type reportPage struct {
	sink reportReader
	now  func() time.Time
	log  zerolog.Logger

	mu    sync.Mutex
	html  []byte
	stale bool
}

// invalidate marks the cached report out of date (a pass succeeded).
func (p *reportPage) invalidate() {
	p.mu.Lock()
	p.stale = true
	p.mu.Unlock()
}

func (p *reportPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.html == nil || p.stale {
		html, _, err := buildReport(r.Context(), p.sink, reportFilter{}, p.now(), p.log)
		if err != nil {
			p.log.Error().Str("error", err.Error()).Msg("report for /report failed")
			// The log has the error; the page says only what to look at.
			http.Error(w, "the report could not be made: see the scheduler's log", http.StatusServiceUnavailable)
			return
		}
		p.html, p.stale = html, false
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:")
	_, _ = w.Write(p.html)
}
