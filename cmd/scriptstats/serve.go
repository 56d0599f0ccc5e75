package main

// `schedule`'s HTTP server: /metrics, /healthz and /report on --metrics-addr.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/scriptstats/scriptstats/schedules"
)

// metricsAddrFlag registers --metrics-addr (schedule).
func metricsAddrFlag(f *flagSet, addr *string) {
	f.value((*listenAddrValue)(addr), "metrics-addr", ":9090", "address serving /metrics, /healthz and /report, host:port (empty: none)")
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
func (a *app) serveSchedule(ctx context.Context, j *schedules.Job, plan schedules.Plan, addr string) error {
	m := newPassMetrics(true)
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.init("incremental")
	if plan.Backfill != "" {
		m.init("backfill")
	}
	h := &health{now: time.Now, interval: plan.IncrementalInterval(time.Now(), j.Zone)}
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
	return j.Serve(ctx, plan, func(kind string, sum schedules.Summary, err error) {
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
