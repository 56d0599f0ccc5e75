package main

// Prometheus metrics of the passes (docs/operations.md, "Metrics").
//
// `schedule` serves /metrics and /healthz on --metrics-addr; `run` and
// `backfill`, which end after one pass, push to a Pushgateway when
// --pushgateway-url is set. Both expose the same metric names. Labels carry
// only the pass kind, a stage or an issue kind: never a DSN, a host or an
// error text.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/push"
	"github.com/robfig/cron/v3"

	"github.com/scriptstats/scriptstats/schedules"
)

const (
	// pushJob is the Pushgateway job name.
	pushJob = "scriptstats"
	// healthFailIntervals: /healthz fails once passes have been failing for
	// longer than this many incremental intervals.
	healthFailIntervals = 3
	pushTimeout         = 15 * time.Second
)

// failureStages are the values of schedules.FailedStage; each failure
// counter starts at 0 so that every stage has a series.
var failureStages = []string{"lock", "extract", "load", "pass"}

// passMetrics are the metrics of passes. With passLabel the per-pass
// metrics carry a label pass="incremental"|"backfill" (the scheduler runs
// both); without it (a push) the pass is the Pushgateway grouping label.
type passMetrics struct {
	reg       *prometheus.Registry
	passLabel bool

	lastSuccess *prometheus.GaugeVec
	lastFailure *prometheus.GaugeVec
	duration    *prometheus.GaugeVec
	rows        *prometheus.CounterVec
	groups      *prometheus.GaugeVec
	lag         *prometheus.GaugeVec
	invalid     *prometheus.GaugeVec
	failures    *prometheus.CounterVec
	guarantee   *prometheus.GaugeVec
	heldBack    *prometheus.GaugeVec
	slotLag     *prometheus.GaugeVec
	build       *prometheus.GaugeVec
}

func newPassMetrics(passLabel bool) *passMetrics {
	l := func(extra ...string) []string {
		if passLabel {
			return append([]string{"pass"}, extra...)
		}
		return extra
	}
	m := &passMetrics{reg: prometheus.NewRegistry(), passLabel: passLabel}
	m.lastSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "scriptstats_last_success_timestamp_seconds",
		Help: "Unix time at which the last successful pass ended.",
	}, l())
	m.lastFailure = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "scriptstats_last_failure_timestamp_seconds",
		Help: "Unix time at which the last failed pass ended.",
	}, l())
	m.duration = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "scriptstats_pass_duration_seconds",
		Help: "Duration of the last successful pass.",
	}, l())
	m.rows = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scriptstats_rows_total",
		Help: "Rows handled by successful passes: extracted from the source, runs loaded into ClickHouse, runs deleted, runs moved to another day.",
	}, l("stage"))
	m.groups = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "scriptstats_groups_recomputed",
		Help: "Script-day groups recomputed by the last successful pass.",
	}, l())
	m.lag = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "scriptstats_lag_seconds",
		Help: "Snapshot time of the last successful pass minus the newest source change it extracted (not updated by a pass that extracted nothing).",
	}, l())
	m.invalid = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "scriptstats_invalid_rows",
		Help: "Invalid or repaired source values found by the last successful pass, by kind.",
	}, l("kind"))
	m.failures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scriptstats_pass_failures_total",
		Help: "Failed passes by the stage that failed: lock (another pass runs), extract (PostgreSQL), load (ClickHouse), pass (the pass's own checks).",
	}, l("stage"))
	m.guarantee = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "scriptstats_incremental_guarantee",
		Help: "1 when the last successful pass could see what the incremental guarantee rests on (a primary, every session's transaction start), 0 when not: see the pass's warning (docs/design.md).",
	}, l())
	m.heldBack = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "scriptstats_open_transaction_age_seconds",
		Help: "Age of the oldest open transaction on the source at the last successful pass: the next incremental read reaches back to its start.",
	}, l())
	m.slotLag = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "scriptstats_slot_lag_bytes",
		Help: "WAL the replication slot held back on the source at the start of the last successful pass (--source logical; a warning past 1 GiB).",
	}, l())
	m.build = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "scriptstats_build_info",
		Help: "Always 1; the version of the running binary.",
	}, []string{"version"})
	m.reg.MustRegister(m.lastSuccess, m.lastFailure, m.duration, m.rows, m.groups, m.lag, m.invalid, m.failures, m.guarantee, m.heldBack, m.slotLag, m.build)
	m.build.WithLabelValues(version).Set(1)
	return m
}

func (m *passMetrics) labels(kind string, extra ...string) []string {
	if m.passLabel {
		return append([]string{kind}, extra...)
	}
	return extra
}

// init creates the series of a pass kind before its first pass, so that
// counters start at 0 and rate() sees the first increase.
func (m *passMetrics) init(kind string) {
	for _, st := range failureStages {
		m.failures.WithLabelValues(m.labels(kind, st)...)
	}
	for _, st := range []string{"extracted", "loaded", "deleted", "moved"} {
		m.rows.WithLabelValues(m.labels(kind, st)...)
	}
}

// observe records one pass that ended at end. A pass stopped because the
// process is shutting down is not a failure of the job: the caller skips it.
func (m *passMetrics) observe(kind string, sum schedules.Summary, err error, end time.Time) {
	m.init(kind)
	if err != nil {
		m.failures.WithLabelValues(m.labels(kind, schedules.FailedStage(err))...).Inc()
		m.lastFailure.WithLabelValues(m.labels(kind)...).Set(unixSeconds(end))
		return
	}
	m.lastSuccess.WithLabelValues(m.labels(kind)...).Set(unixSeconds(end))
	m.duration.WithLabelValues(m.labels(kind)...).Set(sum.Duration.Seconds())
	m.rows.WithLabelValues(m.labels(kind, "extracted")...).Add(float64(sum.RowsExtracted))
	m.rows.WithLabelValues(m.labels(kind, "loaded")...).Add(float64(sum.RunsLoaded))
	m.rows.WithLabelValues(m.labels(kind, "deleted")...).Add(float64(sum.RunsDeleted))
	m.rows.WithLabelValues(m.labels(kind, "moved")...).Add(float64(sum.RunsMoved))
	m.groups.WithLabelValues(m.labels(kind)...).Set(float64(sum.GroupsRecomputed))
	sum.Issues.Each(func(k string, n int64) {
		m.invalid.WithLabelValues(m.labels(kind, k)...).Set(float64(n))
	})
	if sum.Mode == "logical" {
		m.slotLag.WithLabelValues(m.labels(kind)...).Set(float64(sum.SlotLagBytes))
	}
	if sum.Mode != "backfill" {
		holds := 0.0
		if sum.GuaranteeIssue == "" {
			holds = 1
		}
		m.guarantee.WithLabelValues(m.labels(kind)...).Set(holds)
		m.heldBack.WithLabelValues(m.labels(kind)...).Set(sum.HeldBack.Seconds())
	}
	if !sum.NewestChange.IsZero() {
		m.lag.WithLabelValues(m.labels(kind)...).Set(passLag(sum, end).Seconds())
	}
}

// passLag is the snapshot time minus the newest extracted change.
func passLag(sum schedules.Summary, end time.Time) time.Duration {
	snapshot := sum.SnapshotTime
	if snapshot.IsZero() {
		snapshot = end.Add(-sum.Duration)
	}
	return max(snapshot.Sub(sum.NewestChange), 0)
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// ---------------------------------------------------------------- push

// pushgatewayFlag registers --pushgateway-url (run, backfill).
func pushgatewayFlag(f *flagSet) *string {
	var u string
	f.value((*pushURLValue)(&u), "pushgateway-url", "", "Prometheus Pushgateway to push the pass's metrics to, e.g. http://pushgateway:9091 (job \"scriptstats\"; a failed push is only a warning)")
	return &u
}

// pushURLValue is an http(s) URL, or empty (no push).
type pushURLValue string

func (v *pushURLValue) Set(s string) error {
	if s != "" {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("want an http(s)://host:port URL")
		}
	}
	*v = pushURLValue(s)
	return nil
}

// String never shows credentials a URL may hold.
func (v *pushURLValue) String() string {
	if u, err := url.Parse(string(*v)); err == nil && u.User != nil {
		u.User = nil
		return u.String()
	}
	return string(*v)
}

// pushMetrics pushes the metrics of a pass of the given kind ("incremental"
// for run, "backfill") to the Pushgateway at rawURL, when set. It uses POST:
// a failed pass replaces only the failure metrics, so the group keeps the
// last success's timestamp and figures. A push failure is logged as a
// warning; it never fails the command.
func (a *app) pushMetrics(ctx context.Context, rawURL, kind string, sum schedules.Summary, passErr error) {
	if rawURL == "" || errors.Is(passErr, errUsage) {
		return
	}
	m := newPassMetrics(false)
	m.observe(kind, sum, passErr, time.Now())
	p, where, err := newPusher(rawURL, kind)
	if err != nil {
		a.log.Warn().Str("error", err.Error()).Msg("metrics not pushed: bad --pushgateway-url")
		return
	}
	if passErr == nil {
		p = p.Gatherer(m.reg)
	} else {
		p = p.Collector(m.failures).Collector(m.lastFailure).Collector(m.build)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pushTimeout)
	defer cancel()
	if err := p.AddContext(ctx); err != nil {
		a.log.Warn().Str("pushgateway", where).Str("error", err.Error()).Msg("metrics push failed; the pass itself is not affected")
		return
	}
	a.log.Debug().Str("pushgateway", where).Str("pass", kind).Msg("metrics pushed")
}

// newPusher builds the pusher; credentials in the URL become basic auth and
// are kept out of the URL (and so out of every error message).
func newPusher(rawURL, kind string) (p *push.Pusher, where string, err error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", errors.New("want an http(s)://host:port URL")
	}
	user := u.User
	u.User = nil
	p = push.New(u.String(), pushJob).Grouping("pass", kind).Client(&http.Client{Timeout: pushTimeout})
	if user != nil {
		pw, _ := user.Password()
		p = p.BasicAuth(user.Username(), pw)
	}
	return p, u.Host, nil
}

// ---------------------------------------------------------------- schedule

// metricsAddrFlag registers --metrics-addr (schedule).
func metricsAddrFlag(f *flagSet) *string {
	var addr string
	f.value((*listenAddrValue)(&addr), "metrics-addr", ":9090", "address serving /metrics, /healthz and /report, host:port (empty: none)")
	return &addr
}

// listenAddrValue is a host:port to listen on, or empty.
type listenAddrValue string

func (v *listenAddrValue) Set(s string) error {
	if s != "" {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return fmt.Errorf("not a host:port address: %q", s)
		}
	}
	*v = listenAddrValue(s)
	return nil
}

func (v *listenAddrValue) String() string { return string(*v) }

// serveSchedule runs the scheduler, serving /metrics, /healthz and /report on addr
// (unless empty) while it runs.
func (a *app) serveSchedule(ctx context.Context, j *schedules.Job, addr string) error {
	m := newPassMetrics(true)
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.init("incremental")
	if a.cfg.Plan.Backfill != "" {
		m.init("backfill")
	}
	h := &health{now: time.Now, interval: planInterval(a.cfg.Plan.Incremental, j.Zone)}
	rp := &reportPage{sink: a.sink, now: time.Now, log: a.log}
	if addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("metrics server: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
		mux.Handle("GET /healthz", h)
		mux.Handle("GET /report", rp)
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Error().Str("error", err.Error()).Msg("metrics server stopped")
			}
		}()
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
			<-done
		}()
		a.log.Info().Str("addr", ln.Addr().String()).Msg("serving /metrics, /healthz and /report")
	}
	h.start()
	defer h.stop()
	return j.Serve(ctx, a.cfg.Plan, func(kind string, sum schedules.Summary, err error) {
		if err != nil && ctx.Err() != nil {
			return // stopped by the shutdown, not a failure
		}
		end := time.Now()
		m.observe(kind, sum, err, end)
		h.observe(err, end)
		if err == nil {
			rp.invalidate()
		}
	})
}

// planInterval is the gap between the next two incremental passes.
func planInterval(spec string, loc *time.Location) time.Duration {
	parser := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	s, err := parser.Parse(spec)
	if err != nil {
		return 5 * time.Minute
	}
	if loc == nil {
		loc = time.UTC
	}
	t1 := s.Next(time.Now().In(loc))
	t2 := s.Next(t1)
	if d := t2.Sub(t1); d > 0 {
		return d
	}
	return 5 * time.Minute
}

// health is the state behind /healthz: 200 while the scheduler runs, unless
// the last pass failed and no pass has succeeded for more than
// healthFailIntervals incremental intervals (counted from the scheduler's
// start when none has yet). A pass refused because another process holds the
// lock leaves the state as it is.
type health struct {
	now      func() time.Time
	interval time.Duration

	mu          sync.Mutex
	running     bool
	started     time.Time
	lastSuccess time.Time
	lastFailure time.Time
	lastFailed  bool
	failures    int // consecutive
	stage       string
}

func (h *health) start() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.running, h.started = true, h.now()
}

func (h *health) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.running = false
}

func (h *health) observe(err error, end time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case err == nil:
		h.lastSuccess, h.lastFailed, h.failures, h.stage = end, false, 0, ""
	case schedules.IsLocked(err):
	default:
		h.lastFailure, h.lastFailed, h.stage = end, true, schedules.FailedStage(err)
		h.failures++
	}
}

// healthStatus is the /healthz body. It holds no error text (which could
// name hosts); the log has the errors.
type healthStatus struct {
	Status              string     `json:"status"` // ok, failing, stopped
	Reason              string     `json:"reason,omitempty"`
	LastSuccess         *time.Time `json:"last_success,omitempty"`
	LastFailure         *time.Time `json:"last_failure,omitempty"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	FailedStage         string     `json:"failed_stage,omitempty"`
	IntervalSeconds     float64    `json:"interval_seconds"`
}

func (h *health) check() (ok bool, st healthStatus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st = healthStatus{Status: "ok", ConsecutiveFailures: h.failures, FailedStage: h.stage, IntervalSeconds: h.interval.Seconds()}
	if !h.lastSuccess.IsZero() {
		t := h.lastSuccess
		st.LastSuccess = &t
	}
	if !h.lastFailure.IsZero() {
		t := h.lastFailure
		st.LastFailure = &t
	}
	if !h.running {
		st.Status, st.Reason = "stopped", "the scheduler is not running"
		return false, st
	}
	if h.lastFailed {
		since := h.lastSuccess
		if since.IsZero() {
			since = h.started
		}
		limit := time.Duration(healthFailIntervals) * h.interval
		if d := h.now().Sub(since); d > limit {
			st.Status = "failing"
			st.Reason = fmt.Sprintf("passes have been failing for %s (more than %d intervals of %s)", d.Round(time.Second), healthFailIntervals, h.interval)
			return false, st
		}
	}
	return true, st
}

func (h *health) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	ok, st := h.check()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(st)
}
