package main

// Prometheus metrics of the passes (docs/operations.md, "Metrics"):
// `schedule` serves them (serve.go), `run` and `backfill` push them
// (push.go). Labels carry only the pass kind, a stage or an issue kind:
// never a DSN, a host or an error text.

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scriptstats/scriptstats/schedules"
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
