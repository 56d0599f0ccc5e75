package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/scriptstats/scriptstats/deploy/teststack"
)

// BI tools connect as the analyst (issue 15). Their drivers send settings
// with every query; the analyst's profile (scriptstats_bi in
// deploy/local/clickhouse-users.xml and deploy/clickhouse/users.sql) must
// accept those, within bounds, and refuse everything else. The tests drive
// the clients BI tools are built on: clickhouse-go over the native protocol
// (Grafana's ClickHouse plugin, default) and over HTTP with compression
// (the plugin's HTTP mode), and the official JS client @clickhouse/client
// over HTTP, run with node.

// jsClientVersion is the @clickhouse/client the test installs with npm.
const jsClientVersion = "1.23.1"

// ClickHouse error codes the refusals must carry.
const (
	codeTimeoutExceeded     = 159 // TIMEOUT_EXCEEDED
	codeReadonly            = 164 // READONLY: a setting not changeable in readonly mode
	codeTooManyRows         = 396 // TOO_MANY_ROWS_OR_BYTES: max_result_rows with result_overflow_mode=throw
	codeConstraintViolation = 452 // SETTING_CONSTRAINT_VIOLATION: beyond a MIN/MAX
	codeAccessDenied        = 497 // ACCESS_DENIED: no grant
)

// biTool is the settings a BI tool's driver sends with every query.
type biTool struct {
	name     string
	settings map[string]any
	rowLimit int  // max_result_rows with result_overflow_mode=break (0: none)
	compress bool // an HTTP client asks for compressed responses (enable_http_compression=1)
}

var biTools = []biTool{
	{name: "plain"},
	// Metabase's JDBC driver turns the question's row limit (2000 in the
	// UI) into max_result_rows + result_overflow_mode=break, and the
	// query timeout into max_execution_time.
	{name: "metabase", rowLimit: 2000, settings: map[string]any{
		"max_result_rows": 2000, "result_overflow_mode": "break", "max_execution_time": 120}},
	// A Metabase download: 1,048,575 rows at most.
	{name: "metabase-download", rowLimit: 1048575, settings: map[string]any{
		"max_result_rows": 1048575, "result_overflow_mode": "break"}},
	// DBeaver (JDBC): its result-set fetch size, 200 by default.
	{name: "dbeaver", rowLimit: 200, settings: map[string]any{
		"max_result_rows": 200, "result_overflow_mode": "break"}},
	// Grafana's plugin: its query timeout as max_execution_time.
	{name: "grafana", compress: true, settings: map[string]any{"max_execution_time": 60}},
	// Tableau's connector: join_use_nulls=1 (SQL NULLs for outer joins).
	{name: "tableau", settings: map[string]any{"join_use_nulls": 1, "max_execution_time": 300}},
	// The JS client's users: ISO date-times, numbers as numbers in JSON,
	// progress headers against load-balancer idle timeouts (the client's own advice).
	{name: "js-client", compress: true, settings: map[string]any{
		"date_time_output_format": "iso", "output_format_json_quote_64bit_integers": 0,
		"send_progress_in_http_headers": 1, "http_headers_progress_interval_ms": "110000"}},
	// A report time zone.
	{name: "report-time-zone", settings: map[string]any{"session_timezone": "Europe/Paris"}},
}

// biCase is one query as a BI tool sends it, and what must come back.
type biCase struct {
	ID       string         `json:"id"`
	SQL      string         `json:"sql"`
	Settings map[string]any `json:"settings,omitempty"`
	Compress bool           `json:"compression,omitempty"`
	Command  bool           `json:"command,omitempty"`
	Column   string         `json:"column,omitempty"`
	Session  bool           `json:"session,omitempty"` // in the JS client's HTTP session (cases run in order)

	only string // the one client that runs the case ("" for all)

	wantCode         int32 // 0: success
	minRows, maxRows int   // when wantCode is 0
	jsValue          *regexp.Regexp
}

// biResult is what a client got.
type biResult struct {
	ID      string `json:"id"`
	Rows    int    `json:"rows"`
	Value   string `json:"value"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// biRef are figures read by the loader (full rights, no settings): what the
// analyst's queries must return.
type biRef struct {
	viewRows          map[string]int
	viewColumns       int            // columns of the five views
	columnsOf         map[string]int // per view
	privateTables     int            // other tables in the job's database
	otherDatabases    int            // databases besides scriptstats and the system ones
	runsWithoutSteps  int
	finishedRuns      int
	privateTableNames []string
}

func loadBIRef(t *testing.T, loader, admin driver.Conn) biRef {
	t.Helper()
	ctx := context.Background()
	count := func(conn driver.Conn, q string, args ...any) int {
		t.Helper()
		var n uint64
		if err := conn.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return int(n)
	}
	r := biRef{viewRows: map[string]int{}, columnsOf: map[string]int{}}
	for _, v := range publicViews {
		r.viewRows[v] = count(loader, "SELECT count() FROM "+v)
		r.columnsOf[v] = count(loader, "SELECT count() FROM system.columns WHERE database = 'scriptstats' AND table = ?", v)
		r.viewColumns += r.columnsOf[v]
		if (r.viewRows[v] == 0 && !detectionView(v)) || r.columnsOf[v] == 0 {
			t.Fatalf("the loaded view %s has %d rows, %d columns", v, r.viewRows[v], r.columnsOf[v])
		}
	}
	rows, err := loader.Query(ctx, "SELECT name FROM system.tables WHERE database = 'scriptstats' AND name NOT IN ? ORDER BY name", publicViews)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		r.privateTableNames = append(r.privateTableNames, n)
	}
	rows.Close()
	r.privateTables = len(r.privateTableNames)
	r.otherDatabases = count(admin, "SELECT count() FROM system.databases WHERE name NOT IN ('scriptstats', 'system', 'information_schema', 'INFORMATION_SCHEMA')")
	r.runsWithoutSteps = count(loader, "SELECT count() FROM runs WHERE run_id NOT IN (SELECT run_id FROM run_steps)")
	r.finishedRuns = count(loader, "SELECT count() FROM runs WHERE finished_at IS NOT NULL")
	if r.privateTables == 0 || r.otherDatabases == 0 || r.runsWithoutSteps == 0 || r.finishedRuns == 0 {
		t.Fatalf("the loaded data cannot show the refusals: %+v", r)
	}
	return r
}

var isoDateTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$`)

// biCases are the queries every client sends.
func biCases(r biRef) []biCase {
	var cs []biCase
	ok := func(c biCase, min, max int) {
		c.minRows, c.maxRows = min, max
		cs = append(cs, c)
	}
	refused := func(c biCase, code int32) {
		c.wantCode = code
		cs = append(cs, c)
	}
	// Every tool's settings on a dashboard query of every view.
	for _, tool := range biTools {
		for _, v := range publicViews {
			n := r.viewRows[v]
			lo := n
			if tool.rowLimit > 0 && tool.rowLimit < n {
				lo = tool.rowLimit // break stops at a block's end: at least the limit, at most all
			}
			ok(biCase{ID: tool.name + "/" + v, SQL: "SELECT * FROM " + v, Settings: tool.settings, Compress: tool.compress}, lo, n)
		}
	}
	// The settings take effect.
	join := "SELECT r.run_id FROM runs AS r LEFT JOIN run_steps AS s ON r.run_id = s.run_id WHERE s.run_id IS NULL"
	ok(biCase{ID: "tableau/join_use_nulls=1", SQL: join, Settings: map[string]any{"join_use_nulls": 1}}, r.runsWithoutSteps, r.runsWithoutSteps)
	ok(biCase{ID: "tableau/join_use_nulls=0", SQL: join, Settings: map[string]any{"join_use_nulls": 0}}, 0, 0)
	ok(biCase{ID: "js-client/iso date-times", SQL: "SELECT finished_at FROM runs WHERE finished_at IS NOT NULL LIMIT 1",
		Settings: map[string]any{"date_time_output_format": "iso"}, Column: "finished_at", jsValue: isoDateTime}, 1, 1)
	refused(biCase{ID: "limit/throw beyond max_result_rows", SQL: "SELECT * FROM runs",
		Settings: map[string]any{"max_result_rows": 10}}, codeTooManyRows)
	refused(biCase{ID: "grafana/timeout enforced", SQL: "SELECT sleepEachRow(0.25) FROM numbers(10)",
		Settings: map[string]any{"max_execution_time": 1}}, codeTimeoutExceeded)

	// Tableau's Initial SQL: SET in an HTTP session (the connector opens
	// one), then the session's queries carry the setting.
	js := "js-http"
	ok(biCase{ID: "session/SET join_use_nulls = 1", SQL: "SET join_use_nulls = 1", Command: true, Session: true, only: js}, 0, 0)
	ok(biCase{ID: "session/join after SET", SQL: join, Session: true, only: js}, r.runsWithoutSteps, r.runsWithoutSteps)
	refused(biCase{ID: "session/SET max_execution_time = 301", SQL: "SET max_execution_time = 301", Command: true, Session: true, only: js}, codeConstraintViolation)
	refused(biCase{ID: "session/SET readonly = 0", SQL: "SET readonly = 0", Command: true, Session: true, only: js}, codeReadonly)
	refused(biCase{ID: "session/SET max_threads = 64", SQL: "SET max_threads = 64", Command: true, Session: true, only: js}, codeReadonly)

	// The metadata queries of a BI sync: the views visible, nothing else.
	ok(biCase{ID: "sync/databases", SQL: "SELECT name FROM system.databases WHERE name NOT IN ('system', 'information_schema', 'INFORMATION_SCHEMA')"}, 1, 1)
	ok(biCase{ID: "sync/database scriptstats", SQL: "SELECT name FROM system.databases WHERE name = 'scriptstats'"}, 1, 1)
	ok(biCase{ID: "sync/tables", SQL: "SELECT name, engine FROM system.tables WHERE database = 'scriptstats'"}, len(publicViews), len(publicViews))
	ok(biCase{ID: "sync/tables are the views", SQL: "SELECT name FROM system.tables WHERE database = 'scriptstats' AND name IN ('" + strings.Join(publicViews, "', '") + "')"}, len(publicViews), len(publicViews))
	ok(biCase{ID: "sync/private tables hidden", SQL: "SELECT name FROM system.tables WHERE name IN ('" + strings.Join(r.privateTableNames, "', '") + "')"}, 0, 0)
	ok(biCase{ID: "sync/columns", SQL: "SELECT table, name, type FROM system.columns WHERE database = 'scriptstats'"}, r.viewColumns, r.viewColumns)
	ok(biCase{ID: "sync/private columns hidden", SQL: "SELECT table, name FROM system.columns WHERE table IN ('" + strings.Join(r.privateTableNames, "', '") + "')"}, 0, 0)
	ok(biCase{ID: "sync/show tables", SQL: "SHOW TABLES FROM scriptstats"}, len(publicViews), len(publicViews))
	ok(biCase{ID: "sync/describe runs", SQL: "DESCRIBE TABLE scriptstats.runs"}, r.columnsOf["runs"], r.columnsOf["runs"])
	ok(biCase{ID: "sync/version", SQL: "SELECT version(), timezone(), currentDatabase()"}, 1, 1)

	// Refusals. Writes and DDL:
	for _, q := range []string{
		"INSERT INTO runs_state (run_id) VALUES (1)",
		"INSERT INTO script_daily (script_id) VALUES (1)",
		"CREATE TABLE scriptstats.bi_x (a UInt8) ENGINE = Memory",
		"CREATE TEMPORARY TABLE bi_tmp (a UInt8)",
		"CREATE DATABASE bi_db",
		"CREATE VIEW scriptstats.bi_v AS SELECT 1",
		"DROP VIEW script_daily",
		"DROP TABLE runs_state",
		"ALTER TABLE runs_state DELETE WHERE 1",
		"ALTER TABLE runs_state ADD COLUMN bi_c UInt8",
		"TRUNCATE TABLE runs_state",
		"RENAME TABLE runs_state TO bi_renamed",
		"OPTIMIZE TABLE runs_state FINAL",
	} {
		refused(biCase{ID: "write/" + q, SQL: q, Command: true}, codeAccessDenied)
	}
	// Table functions (doors to other servers and files):
	for _, q := range []string{
		"SELECT * FROM url('http://127.0.0.1:1/x.csv', CSV, 'a String')",
		"SELECT * FROM file('bi.csv', CSV, 'a String')",
		"SELECT * FROM postgresql('127.0.0.1:1', 'db', 't', 'u', 'p')",
		"SELECT * FROM mysql('127.0.0.1:1', 'db', 't', 'u', 'p')",
		"SELECT * FROM remote('127.0.0.1', system.one)",
		"SELECT * FROM remote('127.0.0.1', scriptstats.runs_state)",
		"SELECT * FROM s3('http://127.0.0.1:1/bucket/key.csv', CSV, 'a String')",
		"INSERT INTO FUNCTION file('bi.csv', CSV, 'a String') VALUES ('a')",
	} {
		refused(biCase{ID: "table function/" + q, SQL: q, Command: strings.HasPrefix(q, "INSERT")}, codeAccessDenied)
	}
	// Private tables:
	for _, tbl := range r.privateTableNames {
		refused(biCase{ID: "private/" + tbl, SQL: "SELECT * FROM scriptstats." + tbl + " LIMIT 1"}, codeAccessDenied)
	}
	refused(biCase{ID: "private/describe runs_state", SQL: "DESCRIBE TABLE scriptstats.runs_state"}, codeAccessDenied)
	refused(biCase{ID: "private/system.users", SQL: "SELECT name FROM system.users"}, codeAccessDenied)
	// Settings beyond their bounds, and settings not open at all:
	beyond := []map[string]any{
		{"max_execution_time": 301}, {"max_execution_time": 0},
		{"max_result_rows": 2000000}, {"max_result_rows": 0},
		{"http_headers_progress_interval_ms": 10},
	}
	for _, s := range beyond {
		refused(biCase{ID: fmt.Sprintf("setting beyond bound/%v", s), SQL: "SELECT 1", Settings: s}, codeConstraintViolation)
	}
	closed := []map[string]any{
		{"readonly": 0}, {"readonly": 2},
		{"max_memory_usage": int64(1) << 40}, {"max_memory_usage": 1000000},
		{"max_threads": 64}, {"max_rows_to_read": 1000}, {"max_block_size": 1},
		{"additional_table_filters": "{'runs': 'run_id > 0'}"},
	}
	for _, s := range closed {
		refused(biCase{ID: fmt.Sprintf("setting not changeable/%v", s), SQL: "SELECT 1", Settings: s}, codeReadonly)
	}
	refused(biCase{ID: "setting not changeable/SET readonly = 0", SQL: "SET readonly = 0", Command: true}, codeReadonly)
	return cs
}

// biErrCode is the ClickHouse error code of err (typed on the native
// protocol, in the message over HTTP).
var httpErrCode = regexp.MustCompile(`Code: (\d+)\.`)

func biErrCode(err error) int32 {
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		return ex.Code
	}
	if m := httpErrCode.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return int32(n)
	}
	return -1
}

// runGoBICase sends a case through clickhouse-go.
func runGoBICase(conn driver.Conn, c biCase) biResult {
	// clickhouse-go sends a context's deadline as max_execution_time
	// (seconds + 5), over the one of the settings: no deadline where the
	// case sets its own.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	if _, own := c.Settings["max_execution_time"]; own {
		ctx, cancel = context.WithCancel(context.Background())
	}
	defer cancel()
	if len(c.Settings) > 0 {
		ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings(c.Settings)))
	}
	res := biResult{ID: c.ID}
	var err error
	if c.Command {
		err = conn.Exec(ctx, c.SQL)
	} else {
		res.Rows, err = runDocQuery(ctx, conn, c.SQL)
	}
	if err != nil {
		res.Code = strconv.Itoa(int(biErrCode(err)))
		res.Message = err.Error()
	}
	return res
}

// checkBIResults compares what a client got with the cases.
func checkBIResults(t *testing.T, client string, cases []biCase, results map[string]biResult) {
	t.Helper()
	bad, ran := 0, 0
	for _, c := range cases {
		if c.only != "" && c.only != client {
			continue
		}
		ran++
		r, found := results[c.ID]
		if !found {
			t.Errorf("%s %s: no result", client, c.ID)
			continue
		}
		want := "success"
		if c.wantCode != 0 {
			want = "code " + strconv.Itoa(int(c.wantCode))
		}
		switch {
		case c.wantCode != 0 && r.Code != strconv.Itoa(int(c.wantCode)):
			t.Errorf("%s %s: got code %q (%s) rows %d, want %s", client, c.ID, r.Code, r.Message, r.Rows, want)
		case c.wantCode == 0 && r.Code != "":
			t.Errorf("%s %s: refused, code %s: %s", client, c.ID, r.Code, r.Message)
		case c.wantCode == 0 && (r.Rows < c.minRows || r.Rows > c.maxRows):
			t.Errorf("%s %s: %d rows, want %d..%d", client, c.ID, r.Rows, c.minRows, c.maxRows)
		case c.wantCode == 0 && client == "js-http" && c.jsValue != nil && !c.jsValue.MatchString(r.Value):
			t.Errorf("%s %s: value %q does not match %s", client, c.ID, r.Value, c.jsValue)
		default:
			continue
		}
		bad++
	}
	t.Logf("%s: %d cases, %d as expected", client, ran, ran-bad)
}

// TestBIClientsAsAnalyst loads a private ClickHouse through the real
// commands as the loader, then sends every BI tool's settings, the
// metadata queries of a BI sync and the refusals through each client as
// the analyst, each result checked against figures the loader reads. Its
// server has the users of the local users file plus an over-granted user
// of the same profile, to show the profile refuses on its own. A private
// server: the chDB engine aborts when a client dies in the middle of a
// query, which a failing node process could do.
func TestBIClientsAsAnalyst(t *testing.T) {
	t.Parallel()
	chs := teststack.PrivateClickHouse(t, teststack.ClickHouseOptions{ConfigFile: biProbeConfig(t)})
	e := newJobEnv(t, teststack.Postgres(t), chs.DSN(loaderUser, loaderPassword, "scriptstats"))
	e.generate(smallHistory(151, 1500))
	e.migrate()
	e.must("run")
	admin := openClickHouse(t, chs.AdminDSN())
	checkServerProfile(t, admin)
	ref := loadBIRef(t, e.ch, admin)
	cases := biCases(ref)

	t.Run("the profile alone, over-granted", func(t *testing.T) {
		// A user of the same profile granted what the analyst lacks
		// (writes, DDL, every source): readonly = 1 still refuses it all,
		// where readonly = 2 would run table functions and let any other
		// setting change.
		conn := openClickHouse(t, chs.DSN(biProbeUser, biProbePassword, "scriptstats"))
		var probe []biCase
		for _, q := range []string{
			"INSERT INTO runs_state (run_id) VALUES (1)",
			"CREATE TABLE scriptstats.bi_x (a UInt8) ENGINE = Memory",
			"DROP TABLE runs_state",
			"CREATE TEMPORARY TABLE bi_tmp (a UInt8)",
			"INSERT INTO FUNCTION file('bi.csv', CSV, 'a String') VALUES ('a')",
		} {
			probe = append(probe, biCase{ID: "write/" + q, SQL: q, Command: true, wantCode: codeReadonly})
		}
		for _, q := range []string{
			"SELECT * FROM url('http://127.0.0.1:1/x.csv', CSV, 'a String')",
			"SELECT * FROM file('bi.csv', CSV, 'a String')",
			"SELECT * FROM postgresql('127.0.0.1:1', 'db', 't', 'u', 'p')",
			"SELECT * FROM remote('127.0.0.1', system.one)",
			"SELECT * FROM s3('http://127.0.0.1:1/bucket/key.csv', CSV, 'a String')",
		} {
			probe = append(probe, biCase{ID: "table function/" + q, SQL: q, wantCode: codeReadonly})
		}
		for _, set := range []map[string]any{{"max_memory_usage": int64(1) << 40}, {"max_threads": 64}, {"readonly": 2}} {
			probe = append(probe, biCase{ID: fmt.Sprintf("setting/%v", set), SQL: "SELECT 1", Settings: set, wantCode: codeReadonly})
		}
		probe = append(probe, biCase{ID: "setting/max_execution_time 301", SQL: "SELECT 1",
			Settings: map[string]any{"max_execution_time": 301}, wantCode: codeConstraintViolation})
		probe = append(probe, biCase{ID: "read/script_daily", SQL: "SELECT * FROM script_daily",
			Settings: map[string]any{"max_result_rows": 200, "result_overflow_mode": "break"},
			minRows:  min(200, ref.viewRows["script_daily"]), maxRows: ref.viewRows["script_daily"]})
		results := map[string]biResult{}
		for _, c := range probe {
			results[c.ID] = runGoBICase(conn, c)
		}
		checkBIResults(t, "go-native, over-granted", probe, results)
	})

	t.Run("clickhouse-go native", func(t *testing.T) {
		conn := openClickHouse(t, chs.DSN(analystUser, analystPassword, "scriptstats"))
		results := map[string]biResult{}
		for _, c := range cases {
			if c.only == "" {
				results[c.ID] = runGoBICase(conn, c)
			}
		}
		checkBIResults(t, "go-native", cases, results)
		checkGoDeadlines(t, conn)
	})

	t.Run("clickhouse-go HTTP", func(t *testing.T) {
		// What Grafana's plugin does in its HTTP mode: compressed responses
		// (enable_http_compression=1 on every query) and, with a dial
		// timeout, max_execution_time on its first query.
		conn, err := clickhouse.Open(&clickhouse.Options{
			Protocol:    clickhouse.HTTP,
			Addr:        []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(chs.HTTPPort))},
			Auth:        clickhouse.Auth{Database: "scriptstats", Username: analystUser, Password: analystPassword},
			Compression: &clickhouse.Compression{Method: clickhouse.CompressionGZIP},
			DialTimeout: 10 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := conn.Ping(context.Background()); err != nil {
			t.Fatalf("ping over HTTP as the analyst: %v", err)
		}
		results := map[string]biResult{}
		for _, c := range cases {
			if c.only == "" {
				results[c.ID] = runGoBICase(conn, c)
			}
		}
		checkBIResults(t, "go-http", cases, results)
		checkGoDeadlines(t, conn)
	})

	t.Run("@clickhouse/client over HTTP (node)", func(t *testing.T) {
		module := jsClientModule(t)
		plan := map[string]any{
			"module": module, "url": "http://127.0.0.1:" + strconv.Itoa(chs.HTTPPort),
			"username": analystUser, "password": analystPassword, "database": "scriptstats",
			"cases": cases,
		}
		in, err := json.Marshal(plan)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, nodeBinary(t), filepath.Join("testdata", "bi_js_client.cjs"))
		cmd.Stdin = bytes.NewReader(in)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			t.Fatalf("node: %v\n%s", err, stderr.String())
		}
		results := map[string]biResult{}
		sc := bufio.NewScanner(&stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var r biResult
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("node output %q: %v", sc.Text(), err)
			}
			results[r.ID] = r
		}
		t.Logf("node ran %d cases in %s", len(results), time.Since(start).Round(time.Millisecond))
		checkBIResults(t, "js-http", cases, results)
	})
	if !chs.Running() {
		t.Error("the private ClickHouse ended during the test")
	}
}

// checkGoDeadlines: clickhouse-go turns a context deadline into
// max_execution_time (seconds + 5), as Grafana's query timeout does; the
// profile accepts up to 300 s, so a deadline of 295 s passes and one of
// ten minutes is refused.
func checkGoDeadlines(t *testing.T, conn driver.Conn) {
	t.Helper()
	for _, c := range []struct {
		deadline time.Duration
		want     int32
	}{{290 * time.Second, 0}, {10 * time.Minute, codeConstraintViolation}} {
		ctx, cancel := context.WithTimeout(context.Background(), c.deadline)
		_, err := runDocQuery(ctx, conn, "SELECT count() FROM script_daily")
		cancel()
		got := int32(0)
		if err != nil {
			got = biErrCode(err)
		}
		if got != c.want {
			t.Errorf("query with a %s deadline: %v, want code %d", c.deadline, err, c.want)
		}
	}
}

// An extra user of the analysts' profile with far more grants than the
// analyst: the test's server has it beside the users of the local users file.
const (
	biProbeUser     = "bi_profile_probe"
	biProbePassword = "bi-profile-probe-local"
)

// biProbeConfig writes a server config whose users are those of
// deploy/local/clickhouse-users.xml plus biProbeUser, and returns its path.
func biProbeConfig(t *testing.T) string {
	t.Helper()
	root, err := teststack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	users, err := os.ReadFile(filepath.Join(root, "deploy", "local", "clickhouse-users.xml"))
	if err != nil {
		t.Fatal(err)
	}
	probe := `    <` + biProbeUser + `>
            <password>` + biProbePassword + `</password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>scriptstats_bi</profile>
            <quota>default</quota>
            <grants>
                <query>GRANT SELECT, INSERT, CREATE TABLE, DROP TABLE ON scriptstats.*</query>
                <query>GRANT CREATE TEMPORARY TABLE ON *.*</query>
                <query>GRANT READ, WRITE ON URL</query>
                <query>GRANT READ, WRITE ON FILE</query>
                <query>GRANT READ, WRITE ON POSTGRES</query>
                <query>GRANT READ, WRITE ON REMOTE</query>
                <query>GRANT READ, WRITE ON S3</query>
            </grants>
        </` + biProbeUser + `>
    </users>`
	if bytes.Count(users, []byte("</users>")) != 1 {
		t.Fatal("clickhouse-users.xml: want one </users>")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "users.xml"), bytes.Replace(users, []byte("</users>"), []byte(probe), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "config.xml")
	err = os.WriteFile(config, []byte(`<clickhouse>
    <user_directories><users_xml><path>users.xml</path></users_xml></user_directories>
</clickhouse>
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return config
}

// nodeBinary is node on PATH, else /usr/bin/node.
func nodeBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("node"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/node"); err == nil {
		return "/usr/bin/node"
	}
	skipOrFailBI(t, "node is not installed (apt-get install nodejs npm)")
	return ""
}

var jsInstallMu sync.Mutex

// jsClientModule installs @clickhouse/client (pinned) with npm under the
// git-ignored .local/ of the repository and returns its directory.
func jsClientModule(t *testing.T) string {
	t.Helper()
	jsInstallMu.Lock()
	defer jsInstallMu.Unlock()
	root, err := teststack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, ".local", "bi-js")
	module := filepath.Join(dir, "node_modules", "@clickhouse", "client")
	installed := func() bool {
		b, err := os.ReadFile(filepath.Join(module, "package.json"))
		if err != nil {
			return false
		}
		var p struct {
			Version string `json:"version"`
		}
		return json.Unmarshal(b, &p) == nil && p.Version == jsClientVersion
	}
	if installed() {
		return module
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		skipOrFailBI(t, "npm is not installed (apt-get install nodejs npm)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, npm, "install", "--no-save", "--no-audit", "--no-fund", "--loglevel=error",
		"--prefix", dir, "@clickhouse/client@"+jsClientVersion).CombinedOutput()
	if err != nil || !installed() {
		skipOrFailBI(t, "npm install @clickhouse/client@%s into %s: %v\n%s", jsClientVersion, dir, err, out)
	}
	return module
}

// skipOrFailBI skips, or fails under CI=true: CI must run these tests.
func skipOrFailBI(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// checkServerProfile: the server reads the analyst's profile from the
// local users file as profileFromXML reads it (so that the comparison with
// the production SQL in TestClickHouseUsersMatchProduction compares what
// the server applies).
func checkServerProfile(t *testing.T, admin driver.Conn) {
	t.Helper()
	want := localBIProfile(t)
	rows, err := admin.Query(context.Background(), `SELECT setting_name, ifNull(value, ''), ifNull(min, ''), ifNull(max, ''),
		ifNull(toString(writability), '') FROM system.settings_profile_elements WHERE profile_name = 'scriptstats_bi' AND setting_name != ''`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := profileSettings{}
	for rows.Next() {
		var name string
		var el profileElement
		if err := rows.Scan(&name, &el.Value, &el.Min, &el.Max, &el.Writability); err != nil {
			t.Fatal(err)
		}
		if el.Writability == "WRITABLE" {
			el.Writability = ""
		}
		got[name] = el
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the server's profile scriptstats_bi differs from clickhouse-users.xml as read:\n%s", want.diff(got, "xml", "server"))
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range got {
			if !yield(n) {
				return
			}
		}
	})
	t.Logf("profile scriptstats_bi on the server: %s", strings.Join(names, ", "))
}
