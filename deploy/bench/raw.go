package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The raw move: every task_log column, as PostgreSQL's COPY text format
// writes it, streamed unchanged into ClickHouse's INSERT ... FORMAT TSV
// (the two formats agree: tab-separated, \N for NULL, backslash escapes).
// Timestamps come as "2026-01-02 03:04:05.123456+00", which ClickHouse
// reads with date_time_input_format=best_effort. No transform, no
// aggregation: what moving the table costs on this machine.
const rawCopySQL = `COPY (SELECT id, script_id, status, started_at, finished_at, created_at, updated_at,
	duration, failed_step_index, failed_step_name, error_message, steps::text FROM task_log) TO STDOUT`

// rawTable has one column per copied column, in order. Sorted by id, the
// order the rows mostly come in: the cheapest MergeTree to write.
const rawTable = `CREATE TABLE %s.task_log (
	id                Int64,
	script_id         Int64,
	status            String,
	started_at        Nullable(DateTime64(6, 'UTC')),
	finished_at       Nullable(DateTime64(6, 'UTC')),
	created_at        DateTime64(6, 'UTC'),
	updated_at        DateTime64(6, 'UTC'),
	duration          Nullable(Float64),
	failed_step_index Nullable(Int32),
	failed_step_name  Nullable(String),
	error_message     Nullable(String),
	steps             Nullable(String)
) ENGINE = MergeTree ORDER BY id`

// freshRawTable (re)creates the empty raw table every raw move writes to
// and returns its database.
func (h *harness) freshRawTable(ctx context.Context) (string, error) {
	db := h.cfg.Prefix + "_raw"
	h.addCHDB(db)
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS " + quoteCH(db),
		"DROP TABLE IF EXISTS " + quoteCH(db) + ".task_log SYNC",
		fmt.Sprintf(rawTable, quoteCH(db)),
	} {
		if err := h.ch.Exec(ctx, q); err != nil {
			return "", fmt.Errorf("clickhouse: %w", err)
		}
	}
	return db, nil
}

// rawMove moves the table once and returns the seconds it took (COPY start
// to INSERT acknowledged).
func (h *harness) rawMove(ctx context.Context, src *source, n int) (float64, CPUUse, error) {
	db, err := h.freshRawTable(ctx)
	if err != nil {
		return 0, CPUUse{}, err
	}
	conn, err := src.pool.Acquire(ctx)
	if err != nil {
		return 0, CPUUse{}, fmt.Errorf("postgres: %w", err)
	}
	defer conn.Release()

	u, err := url.Parse(h.chHTTP)
	if err != nil {
		return 0, CPUUse{}, err
	}
	q := u.Query()
	q.Set("query", "INSERT INTO "+quoteCH(db)+".task_log FORMAT TSV")
	q.Set("date_time_input_format", "best_effort")
	u.RawQuery = q.Encode()
	pr, pw := io.Pipe()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), pr)
	if err != nil {
		return 0, CPUUse{}, err
	}
	req.Header.Set("X-ClickHouse-User", h.chOpts.Auth.Username)
	if h.chOpts.Auth.Password != "" {
		req.Header.Set("X-ClickHouse-Key", h.chOpts.Auth.Password)
	}

	cpu0 := h.cpu.snap()
	began := time.Now()
	copyDone := make(chan error, 1)
	go func() {
		_, err := conn.Conn().PgConn().CopyTo(ctx, pw, rawCopySQL)
		pw.CloseWithError(err)
		copyDone <- err
	}()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		pr.CloseWithError(err)
		<-copyDone
		return 0, CPUUse{}, fmt.Errorf("clickhouse insert: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	copyErr := <-copyDone
	secs := time.Since(began).Seconds()
	use := h.cpu.since(cpu0, -1)
	if resp.StatusCode != http.StatusOK {
		return 0, CPUUse{}, fmt.Errorf("clickhouse insert: %s: %s", resp.Status, oneLine(string(body)))
	}
	if copyErr != nil {
		return 0, CPUUse{}, fmt.Errorf("postgres copy: %w", copyErr)
	}
	var count uint64
	if err := h.ch.QueryRow(ctx, "SELECT count() FROM "+quoteCH(db)+".task_log").Scan(&count); err != nil {
		return 0, CPUUse{}, fmt.Errorf("clickhouse: %w", err)
	}
	if count != uint64(n) {
		return 0, CPUUse{}, fmt.Errorf("raw table has %d rows, want %d", count, n)
	}
	// Dropped at once: its background merges would run into the next
	// measurement.
	if err := h.ch.Exec(ctx, "DROP TABLE "+quoteCH(db)+".task_log SYNC"); err != nil {
		return 0, CPUUse{}, fmt.Errorf("clickhouse: %w", err)
	}
	return secs, use, nil
}

// httpURL is -clickhouse-http, or the native DSN's host with the HTTP port
// of the local stack (.local/ports: "pg tcp http"), else 58123.
func (h *harness) httpURL() (string, error) {
	if h.cfg.CHHTTP != "" {
		return h.cfg.CHHTTP, nil
	}
	host := "127.0.0.1"
	if len(h.chOpts.Addr) > 0 {
		if hh, _, err := net.SplitHostPort(h.chOpts.Addr[0]); err == nil {
			host = hh
		}
	}
	port := "58123"
	if p := os.Getenv("SCRIPTSTATS_LOCAL_CH_HTTP_PORT"); p != "" {
		port = p
	} else if b, err := os.ReadFile(filepath.Join(h.root, ".local", "ports")); err == nil {
		if f := strings.Fields(string(b)); len(f) == 3 {
			if _, err := strconv.Atoi(f[2]); err == nil {
				port = f[2]
			}
		}
	}
	if host == "" {
		return "", errors.New("clickhouse dsn: no host")
	}
	return "http://" + net.JoinHostPort(host, port) + "/", nil
}
