package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scriptstats/scriptstats/deploy/demodata"
	"github.com/scriptstats/scriptstats/deploy/teststack"
)

// source is the PostgreSQL database holding one generated history.
type source struct {
	pool *pgxpool.Pool
	dsn  string
	name string
	n    int
	gen  demodata.Options
}

// dataMeta identifies a generated history; a database whose bench_meta
// matches is reused.
type dataMeta struct {
	Runs       int     `json:"runs"`
	Scripts    int     `json:"scripts"`
	Days       int     `json:"days"`
	StepsShare float64 `json:"steps_share"`
	MinSteps   int     `json:"min_steps"`
	MaxSteps   int     `json:"max_steps"`
	Seed       int64   `json:"seed"`
}

// reuseWindow: older histories are generated anew, so that the dashboard
// windows (the last 90 days up to today) cover the whole history.
const reuseWindow = 24 * time.Hour

// historyGap: the history ends this long before generation, so that the
// first incremental pass (whose read starts 10 minutes, the job's lookback,
// before the full load's snapshot) reads only the new runs.
const historyGap = 30 * time.Minute

func (h *harness) ensureData(ctx context.Context, n, days int, dr *DataResult) (*source, error) {
	name := h.dbName(n, days)
	label := h.label(n, days)
	h.pgDBs = append(h.pgDBs, name)
	dsn, err := teststack.PostgresDSN(h.cfg.PGDSN, name)
	if err != nil {
		return nil, err
	}
	meta := dataMeta{Runs: n, Scripts: h.cfg.Scripts, Days: days, StepsShare: h.cfg.StepsShare,
		MinSteps: h.cfg.MinSteps, MaxSteps: h.cfg.MaxSteps, Seed: h.cfg.Seed}
	src := &source{dsn: dsn, name: name, n: n, gen: demodata.Options{
		Scripts: meta.Scripts, Days: meta.Days, Runs: n, Seed: meta.Seed, StepsShare: meta.StepsShare,
		MinSteps: meta.MinSteps, MaxSteps: meta.MaxSteps, Stories: true,
	}}
	dr.Database = name
	if !h.cfg.Regenerate {
		ok, why, err := h.reusable(ctx, src, meta)
		if err != nil {
			return nil, err
		}
		if ok {
			dr.Reused = true
			h.logf("%s: reusing the history in PostgreSQL database %s", label, name)
			return src, h.dataSize(ctx, src, dr)
		}
		h.logf("%s: generating a history into %s (%s)", label, name, why)
	}
	if _, err := h.pg.Exec(ctx, "DROP DATABASE IF EXISTS "+quotePG(name)+" WITH (FORCE)"); err != nil {
		return nil, fmt.Errorf("drop database %s: %w", name, err)
	}
	if _, err := h.pg.Exec(ctx, "CREATE DATABASE "+quotePG(name)); err != nil {
		return nil, fmt.Errorf("create database %s: %w", name, err)
	}
	if src.pool, err = connectPG(ctx, dsn); err != nil {
		return nil, err
	}
	src.gen.End = time.Now().Add(-historyGap).UTC().Truncate(time.Second)
	began := time.Now()
	last := began
	sum, err := demodata.Generate(ctx, src.pool, src.gen, func(done, total int) {
		if now := time.Now(); now.Sub(last) >= 15*time.Second {
			last = now
			h.logf("%s: generated %d of %d runs", label, done, total)
		}
	})
	if err != nil {
		src.pool.Close()
		return nil, fmt.Errorf("generate: %w", err)
	}
	dr.Seconds = time.Since(began).Seconds()
	dr.RowsPerSecond = float64(sum.Runs) / dr.Seconds
	dr.WithSteps = sum.WithSteps
	b, _ := json.Marshal(meta)
	_, err = src.pool.Exec(ctx, `CREATE TABLE bench_meta (meta jsonb NOT NULL, history_end timestamptz NOT NULL,
		generated_at timestamptz NOT NULL DEFAULT now(), seconds float8 NOT NULL, with_steps bigint NOT NULL)`)
	if err == nil {
		_, err = src.pool.Exec(ctx, "INSERT INTO bench_meta (meta, history_end, seconds, with_steps) VALUES ($1, $2, $3, $4)",
			string(b), src.gen.End, dr.Seconds, sum.WithSteps)
	}
	if err != nil {
		src.pool.Close()
		return nil, fmt.Errorf("write bench_meta: %w", err)
	}
	h.logf("%s: generated %d runs (%d with steps) in %.1fs (%.0f runs/s)", label, sum.Runs, sum.WithSteps, dr.Seconds, dr.RowsPerSecond)
	return src, h.dataSize(ctx, src, dr)
}

// dbName names the databases of a history (PostgreSQL and ClickHouse).
func (h *harness) dbName(n, days int) string {
	if days == h.cfg.Days {
		return fmt.Sprintf("%s_%d", h.cfg.Prefix, n)
	}
	return fmt.Sprintf("%s_%d_%dd", h.cfg.Prefix, n, days)
}

// reusable opens src.pool when the database holds the same history.
func (h *harness) reusable(ctx context.Context, src *source, meta dataMeta) (bool, string, error) {
	var exists bool
	if err := h.pg.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", src.name).Scan(&exists); err != nil {
		return false, "", fmt.Errorf("postgres: %w", err)
	}
	if !exists {
		return false, "no such database yet", nil
	}
	pool, err := connectPG(ctx, src.dsn)
	if err != nil {
		return false, "", err
	}
	var raw string
	var end time.Time
	err = pool.QueryRow(ctx, "SELECT meta::text, history_end FROM bench_meta").Scan(&raw, &end)
	var have dataMeta
	switch {
	case err != nil:
		pool.Close()
		return false, "no bench_meta", nil
	case json.Unmarshal([]byte(raw), &have) != nil || have != meta:
		pool.Close()
		return false, "generated with other options", nil
	case time.Since(end) > reuseWindow:
		pool.Close()
		return false, "older than a day", nil
	}
	var count int64
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM task_log WHERE id <= $1", src.n).Scan(&count); err != nil || count != int64(src.n) {
		pool.Close()
		return false, "incomplete", nil
	}
	src.pool = pool
	src.gen.End = end
	return true, "", nil
}

func (h *harness) dataSize(ctx context.Context, src *source, dr *DataResult) error {
	var size int64
	var withSteps int64
	if err := src.pool.QueryRow(ctx, "SELECT pg_database_size(current_database()), (SELECT with_steps FROM bench_meta)").Scan(&size, &withSteps); err != nil {
		return fmt.Errorf("postgres database size: %w", err)
	}
	dr.DatabaseBytes = size
	dr.WithSteps = withSteps
	if dr.Reused {
		var secs float64
		if err := src.pool.QueryRow(ctx, "SELECT seconds FROM bench_meta").Scan(&secs); err == nil {
			dr.Seconds = secs
			dr.RowsPerSecond = float64(src.n) / secs
		}
	}
	return nil
}

// addRuns appends runs created in the last hour (status, steps and names
// as the generator makes them) through demodata.Mutate, with every other
// kind of change off.
func (s *source) addRuns(ctx context.Context, n int, seed int64) error {
	sum, err := demodata.Mutate(ctx, s.pool, demodata.MutateOptions{Gen: s.gen, Seed: seed, NewRuns: n})
	if err != nil {
		return fmt.Errorf("add runs: %w", err)
	}
	if sum.NewRuns != int64(n) {
		return fmt.Errorf("add runs: added %d, want %d", sum.NewRuns, n)
	}
	return nil
}

// trim deletes the runs added after generation.
func (s *source) trim(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, "DELETE FROM task_log WHERE id > $1", s.n); err != nil {
		return fmt.Errorf("delete added runs: %w", err)
	}
	return nil
}

func connectPG(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, errors.New("postgres dsn: cannot parse it")
	}
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return pool, nil
}

// withURLPath returns the URL dsn with its path set to "/"+name.
func withURLPath(dsn, name string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", errors.New("dsn: cannot parse it as a URL")
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}

func quotePG(name string) string { return pgx.Identifier{name}.Sanitize() }

func quoteCH(name string) string {
	return "`" + strings.NewReplacer("\\", "\\\\", "`", "\\`").Replace(name) + "`"
}
