package main

// /healthz of `schedule`.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/scriptstats/scriptstats/schedules"
)

// healthFailIntervals: /healthz fails once passes have been failing for
// longer than this many incremental intervals.
const healthFailIntervals = 3

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
