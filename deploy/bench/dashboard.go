package main

import (
	"context"
	"embed"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// The dashboard questions, each asked of the ClickHouse views and of
// PostgreSQL (computed from task_log the way the contract defines the
// figures). queries/NAME.ch.sql and queries/NAME.pg.sql hold the SQL.
//
//go:embed queries/*.sql
var queryFiles embed.FS

func querySQL(name string) string {
	b, err := queryFiles.ReadFile("queries/" + name)
	if err != nil {
		panic("bench: missing embedded query " + name)
	}
	return string(b)
}

// dashParams are the values the questions are asked with.
type dashParams struct {
	Script   int64     `json:"script_id"`
	From     time.Time `json:"from"`     // first day of the 90-day window
	To       time.Time `json:"to"`       // last day (the newest day in script_daily)
	TopFrom  time.Time `json:"top_from"` // first day of the 30-day window of the top failing steps
	RunA     int64     `json:"run_a"`    // a success run of Script with steps
	RunB     int64     `json:"run_b"`    // a later failed run of Script with steps
	Database string    `json:"clickhouse_database"`
}

const dayFmt = "2006-01-02"

// part is one query of a question; a question's latency is the sum of its
// parts, run one after the other.
type part struct {
	ch, pg string // file names under queries/
	check  string // a numeric column whose sum (with the row count) must agree
	chArgs func(p *dashParams) clickhouse.Parameters
	pgArgs func(p *dashParams) []any
}

type question struct {
	name, title string
	parts       []part
}

// clickHouseOnly says the question has no PostgreSQL side: the detection
// views (issue 10: each < 200 ms at 4M) answer with a method — change
// points, Wilson bounds against a baseline, step states — that SQL over
// task_log does not compute.
func (q question) clickHouseOnly() bool { return q.parts[0].pg == "" }

// detectionParams are the detection questions' arguments: the 90-day window.
func detectionParams(p *dashParams) clickhouse.Parameters {
	return clickhouse.Parameters{"from": p.From.Format(dayFmt), "to": p.To.Format(dayFmt)}
}

var questions = []question{
	{"trend", "90-day trend of one script (script_daily)", []part{{
		ch: "trend.ch.sql", pg: "trend.pg.sql", check: "total",
		chArgs: func(p *dashParams) clickhouse.Parameters {
			return clickhouse.Parameters{"script": fmt.Sprint(p.Script), "from": p.From.Format(dayFmt), "to": p.To.Format(dayFmt)}
		},
		pgArgs: func(p *dashParams) []any { return []any{p.Script, p.From, p.To.AddDate(0, 0, 1)} },
	}}},
	{"heatmap", "90-day step heatmap of one script (step_daily)", []part{{
		ch: "heatmap.ch.sql", pg: "heatmap.pg.sql", check: "attempts",
		chArgs: func(p *dashParams) clickhouse.Parameters {
			return clickhouse.Parameters{"script": fmt.Sprint(p.Script), "from": p.From.Format(dayFmt), "to": p.To.Format(dayFmt)}
		},
		pgArgs: func(p *dashParams) []any { return []any{p.Script, p.From, p.To.AddDate(0, 0, 1)} },
	}}},
	{"top_failing", "top 20 failing steps of all scripts, 30 days (step_daily)", []part{{
		ch: "top_failing.ch.sql", pg: "top_failing.pg.sql", check: "failures",
		chArgs: func(p *dashParams) clickhouse.Parameters {
			return clickhouse.Parameters{"from": p.TopFrom.Format(dayFmt), "to": p.To.Format(dayFmt)}
		},
		pgArgs: func(p *dashParams) []any { return []any{p.TopFrom, p.To.AddDate(0, 0, 1)} },
	}}},
	{"run_compare", "two runs and their steps (runs + run_steps)", []part{{
		ch: "run_compare.ch.sql", pg: "run_compare.pg.sql", check: "run_id",
		chArgs: func(p *dashParams) clickhouse.Parameters {
			return clickhouse.Parameters{"ids": fmt.Sprintf("[%d,%d]", p.RunA, p.RunB)}
		},
		pgArgs: func(p *dashParams) []any { return []any{[]int64{p.RunA, p.RunB}} },
	}, {
		ch: "run_compare_steps.ch.sql", pg: "run_compare_steps.pg.sql", check: "step_index",
		chArgs: func(p *dashParams) clickhouse.Parameters {
			return clickhouse.Parameters{"ids": fmt.Sprintf("[%d,%d]", p.RunA, p.RunB)}
		},
		pgArgs: func(p *dashParams) []any { return []any{[]int64{p.RunA, p.RunB}} },
	}}},
	{"run_vs_previous", "one run vs the previous run, by run_id only (run_vs_previous)", []part{{
		ch: "run_vs_previous.ch.sql", pg: "run_vs_previous.pg.sql", check: "previous_run_id",
		chArgs: func(p *dashParams) clickhouse.Parameters {
			return clickhouse.Parameters{"run": fmt.Sprint(p.RunB)}
		},
		pgArgs: func(p *dashParams) []any { return []any{p.RunB} },
	}}},
	{"run_vs_previous_script", "the same, filtered by script_id too (run_vs_previous)", []part{{
		ch: "run_vs_previous_script.ch.sql", pg: "run_vs_previous.pg.sql", check: "previous_run_id",
		chArgs: func(p *dashParams) clickhouse.Parameters {
			return clickhouse.Parameters{"script": fmt.Sprint(p.Script), "run": fmt.Sprint(p.RunB)}
		},
		pgArgs: func(p *dashParams) []any { return []any{p.RunB} },
	}}},
	{"duration_changes", "every duration change point in the 90 days, all scripts (duration_changes; ClickHouse only)", []part{{
		ch: "duration_changes.ch.sql", check: "ratio", chArgs: detectionParams,
	}}},
	{"step_health", "the steps not healthy as of the latest pass, all scripts (step_health; ClickHouse only)", []part{{
		ch: "step_health.ch.sql", check: "failures", chArgs: func(*dashParams) clickhouse.Parameters { return nil },
	}}},
	{"success_rate_drops", "every success-rate drop in the 90 days, all scripts (success_rate_drops; ClickHouse only)", []part{{
		ch: "success_rate_drops.ch.sql", check: "total", chArgs: detectionParams,
	}}},
}

// answer is what a query returned, reduced to what both sides must agree on.
type answer struct {
	rows int
	sum  float64
}

func (a answer) equal(b answer) bool {
	return a.rows == b.rows && math.Abs(a.sum-b.sum) <= 1e-6*math.Max(1, math.Abs(a.sum))
}

// dashboards asks every question of the loaded ClickHouse database and of
// the source, after a warm-up, QueryReps times each, alternating sides.
func (h *harness) dashboards(ctx context.Context, src *source, chDSN, label string) ([]QuestionResult, error) {
	opts, err := clickhouse.ParseDSN(chDSN)
	if err != nil {
		return nil, fmt.Errorf("clickhouse dsn: cannot parse it")
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	p, err := h.dashParams(ctx, conn, src)
	if err != nil {
		return nil, err
	}
	p.Database = opts.Auth.Database
	h.logf("%s: dashboards on script %d, %s..%s, runs %d and %d", label, p.Script,
		p.From.Format(dayFmt), p.To.Format(dayFmt), p.RunA, p.RunB)
	var out []QuestionResult
	for _, q := range questions {
		qr := QuestionResult{Name: q.name, Title: q.title, Params: p, Match: true}
		only := q.clickHouseOnly()
		ask := func(ch bool) (float64, []answer, error) {
			var total float64
			var answers []answer
			for _, pt := range q.parts {
				var a answer
				var secs float64
				var err error
				if ch {
					secs, a, err = askClickHouse(ctx, conn, querySQL(pt.ch), pt.chArgs(&p), pt.check)
				} else {
					secs, a, err = askPostgres(ctx, src, querySQL(pt.pg), pt.pgArgs(&p), pt.check)
				}
				if err != nil {
					side := map[bool]string{true: pt.ch, false: pt.pg}[ch]
					return 0, nil, fmt.Errorf("%s: %w", side, err)
				}
				total += secs
				answers = append(answers, a)
			}
			return total * 1000, answers, nil
		}
		for rep := 0; rep <= h.cfg.QueryReps; rep++ { // rep 0: warm-up
			chMS, chAns, err := ask(true)
			if err != nil {
				return out, err
			}
			var pgMS float64
			var pgAns []answer
			if !only {
				if pgMS, pgAns, err = ask(false); err != nil {
					return out, err
				}
			}
			if rep == 0 {
				if only {
					for _, a := range chAns {
						qr.RowsClickHouse += a.rows
					}
					continue
				}
				for i := range chAns {
					qr.RowsClickHouse += chAns[i].rows
					qr.RowsPostgres += pgAns[i].rows
					if !chAns[i].equal(pgAns[i]) {
						qr.Match = false
						qr.MatchNote += fmt.Sprintf("%s: ClickHouse %d rows, %s sum %g; PostgreSQL %d rows, sum %g. ",
							q.parts[i].ch, chAns[i].rows, q.parts[i].check, chAns[i].sum, pgAns[i].rows, pgAns[i].sum)
					}
				}
				continue
			}
			qr.ClickHouseMS.add(chMS)
			if !only {
				qr.PostgresMS.add(pgMS)
			}
		}
		qr.finish()
		if only {
			h.logf("%s: %-22s ClickHouse %8.1f ms  (no PostgreSQL side)  rows %d", label, q.name, qr.ClickHouseMS.Median, qr.RowsClickHouse)
			out = append(out, qr)
			continue
		}
		h.logf("%s: %-22s ClickHouse %8.1f ms  PostgreSQL %9.1f ms  x%.1f  rows %d/%d match=%v",
			label, q.name, qr.ClickHouseMS.Median, qr.PostgresMS.Median, qr.Speedup, qr.RowsClickHouse, qr.RowsPostgres, qr.Match)
		out = append(out, qr)
	}
	return out, nil
}

func (h *harness) dashParams(ctx context.Context, conn driver.Conn, src *source) (dashParams, error) {
	var p dashParams
	err := conn.QueryRow(ctx, "SELECT script_id FROM script_daily GROUP BY script_id ORDER BY sum(total) DESC, script_id LIMIT 1").Scan(&p.Script)
	if err != nil {
		return p, fmt.Errorf("clickhouse: busiest script: %w", err)
	}
	if err := conn.QueryRow(ctx, "SELECT max(day) FROM script_daily").Scan(&p.To); err != nil {
		return p, fmt.Errorf("clickhouse: newest day: %w", err)
	}
	p.To = p.To.UTC()
	p.From = p.To.AddDate(0, 0, -89)
	p.TopFrom = p.To.AddDate(0, 0, -29)
	err = src.pool.QueryRow(ctx, `SELECT id FROM task_log WHERE script_id = $1 AND status = 'failed'
		AND jsonb_typeof(steps) = 'array' ORDER BY id DESC LIMIT 1`, p.Script).Scan(&p.RunB)
	if err != nil {
		return p, fmt.Errorf("postgres: pick a failed run: %w", err)
	}
	err = src.pool.QueryRow(ctx, `SELECT id FROM task_log WHERE script_id = $1 AND status = 'success'
		AND jsonb_typeof(steps) = 'array' AND id < $2 ORDER BY id DESC LIMIT 1`, p.Script, p.RunB).Scan(&p.RunA)
	if err != nil {
		return p, fmt.Errorf("postgres: pick a success run: %w", err)
	}
	return p, nil
}

// askClickHouse runs a query, reads every row, and returns the seconds
// it took and the answer.
func askClickHouse(ctx context.Context, conn driver.Conn, sql string, params clickhouse.Parameters, check string) (float64, answer, error) {
	var a answer
	began := time.Now()
	rows, err := conn.Query(clickhouse.Context(ctx, clickhouse.WithParameters(params)), sql)
	if err != nil {
		return 0, a, err
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	col := -1
	vals := make([]any, len(types))
	for i, t := range types {
		vals[i] = reflect.New(t.ScanType()).Interface()
		if t.Name() == check {
			col = i
		}
	}
	if col < 0 {
		return 0, a, fmt.Errorf("no column %s", check)
	}
	for rows.Next() {
		if err := rows.Scan(vals...); err != nil {
			return 0, a, err
		}
		a.rows++
		a.sum += number(vals[col])
	}
	if err := rows.Err(); err != nil {
		return 0, a, err
	}
	return time.Since(began).Seconds(), a, nil
}

func askPostgres(ctx context.Context, src *source, sql string, args []any, check string) (float64, answer, error) {
	var a answer
	began := time.Now()
	rows, err := src.pool.Query(ctx, sql, args...)
	if err != nil {
		return 0, a, err
	}
	defer rows.Close()
	col := -1
	for i, f := range rows.FieldDescriptions() {
		if strings.EqualFold(f.Name, check) {
			col = i
		}
	}
	if col < 0 {
		return 0, a, fmt.Errorf("no column %s", check)
	}
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			return 0, a, err
		}
		a.rows++
		a.sum += number(v[col])
	}
	if err := rows.Err(); err != nil {
		return 0, a, err
	}
	return time.Since(began).Seconds(), a, nil
}

// number is the value of an integer or float (behind any pointers); 0 for
// NULL and anything else.
func number(v any) float64 {
	rv := reflect.ValueOf(v)
	for rv.IsValid() && (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface) {
		if rv.IsNil() {
			return 0
		}
		rv = rv.Elem()
	}
	if !rv.IsValid() {
		return 0
	}
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	}
	return 0
}
