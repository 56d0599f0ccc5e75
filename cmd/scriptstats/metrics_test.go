package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/scriptstats/scriptstats/deploy/demodata"
	"github.com/scriptstats/scriptstats/deploy/teststack"
	"github.com/scriptstats/scriptstats/extract"
	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/schedules"
	"github.com/scriptstats/scriptstats/transform"
)

// ---------------------------------------------------------------- helpers

// syncBuffer is a bytes.Buffer safe for a command writing while the test
// reads (schedule runs in a goroutine).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// families is a decoded exposition: name -> family.
type families map[string]*dto.MetricFamily

func decodeFamilies(t *testing.T, r io.Reader, format expfmt.Format) families {
	t.Helper()
	dec := expfmt.NewDecoder(r, format)
	out := families{}
	for {
		mf := &dto.MetricFamily{}
		if err := dec.Decode(mf); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatalf("decode metrics (%s): %v", format, err)
		}
		out[mf.GetName()] = mf
	}
}

// value returns the value of the series of name whose labels include all of
// want (name=value pairs), and whether there is one.
func (f families) value(name string, want ...string) (float64, bool) {
	mf, ok := f[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(want); i += 2 {
			if labels[want[i]] != want[i+1] {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

func (f families) mustValue(t *testing.T, name string, want ...string) float64 {
	t.Helper()
	v, ok := f.value(name, want...)
	if !ok {
		t.Fatalf("metric %s%v not found; have %v", name, want, f.names())
	}
	return v
}

func (f families) names() []string {
	var n []string
	for k := range f {
		n = append(n, k)
	}
	return n
}

// checkNoSecretsInLabels: label values never hold a DSN, a host or a
// password.
func checkNoSecretsInLabels(t *testing.T, f families, secrets ...string) {
	t.Helper()
	for _, mf := range f {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				v := l.GetValue()
				if strings.Contains(v, "://") || strings.Contains(v, "@") || strings.Contains(v, "127.0.0.1") {
					t.Errorf("%s label %s=%q looks like a DSN or host", mf.GetName(), l.GetName(), v)
				}
				for _, s := range secrets {
					if s != "" && strings.Contains(v, s) {
						t.Errorf("%s label %s holds a secret", mf.GetName(), l.GetName())
					}
				}
			}
		}
	}
}

// pushed is one request received by the fake Pushgateway.
type pushed struct {
	method, path string
	families     families
}

// fakePushgateway records every push; fail makes it answer 500.
type fakePushgateway struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	pushes []pushed
	fail   bool
}

func newFakePushgateway(t *testing.T) *fakePushgateway {
	g := &fakePushgateway{t: t}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fam := decodeFamilies(t, r.Body, expfmt.ResponseFormat(r.Header))
		g.mu.Lock()
		defer g.mu.Unlock()
		g.pushes = append(g.pushes, pushed{method: r.Method, path: r.URL.Path, families: fam})
		if g.fail {
			http.Error(w, "pushgateway is having a bad day", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakePushgateway) last(t *testing.T) pushed {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.pushes) == 0 {
		t.Fatal("nothing was pushed")
	}
	return g.pushes[len(g.pushes)-1]
}

func (g *fakePushgateway) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.pushes)
}

// summaryLine is the "pass finished" log line of a pass.
type summaryLine struct {
	Message          string           `json:"message"`
	PassID           string           `json:"pass_id"`
	Mode             string           `json:"mode"`
	RowsExtracted    *int64           `json:"rows_extracted"`
	RunsLoaded       *int64           `json:"runs_loaded"`
	RunsDeleted      *int64           `json:"runs_deleted"`
	RunsMoved        *int64           `json:"runs_moved"`
	GroupsRecomputed *int64           `json:"groups_recomputed"`
	Invalid          map[string]int64 `json:"invalid"`
	Lag              *float64         `json:"lag"`
	Duration         *float64         `json:"duration"`
}

// summaryLines returns the JSON "pass finished" lines of a log.
func summaryLines(t *testing.T, log string) []summaryLine {
	t.Helper()
	var out []summaryLine
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte("{")) {
			continue
		}
		var s summaryLine
		if err := json.Unmarshal(line, &s); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, line)
		}
		if s.Message == "pass finished" {
			out = append(out, s)
		}
	}
	return out
}

// checkSummaryLine: a pass's summary line has every field operations rely on.
func checkSummaryLine(t *testing.T, s summaryLine) {
	t.Helper()
	if s.PassID == "" || s.Mode == "" || s.RowsExtracted == nil || s.RunsLoaded == nil || s.GroupsRecomputed == nil ||
		s.RunsDeleted == nil || s.RunsMoved == nil || s.Duration == nil {
		t.Errorf("summary line lacks a field: %+v", s)
	}
	var kinds []string
	var iss transform.Issues
	iss.Each(func(k string, _ int64) { kinds = append(kinds, k) })
	for _, k := range kinds {
		if _, ok := s.Invalid[k]; !ok {
			t.Errorf("summary line: invalid.%s missing", k)
		}
	}
}

// loadedStack creates a source with a small generated history and an empty
// ClickHouse database, migrated.
func loadedStack(t *testing.T) (pgDSN, chDSN string, pool *pgxpool.Pool) {
	t.Helper()
	pgDSN = teststack.Postgres(t)
	chDSN = teststack.ClickHouse(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	end := time.Now().UTC().Truncate(time.Hour)
	_, err = demodata.Generate(ctx, pool, demodata.Options{
		Scripts: 5, Days: 8, Runs: 600, End: end, Seed: 11,
		StepsShare: 0.8, MinSteps: 3, MaxSteps: 6, Stories: true, Odd: true, OddRate: 0.05,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustCLI(t, "migrate", "--clickhouse-dsn", chDSN, "--log-format", "json")
	return pgDSN, chDSN, pool
}

func pgPassword(t *testing.T, dsn string) string {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.ConnConfig.Password
}

// ---------------------------------------------------------------- tests

// TestRunPushesMetrics runs real passes over a generated history with
// --pushgateway-url pointing at an in-process Pushgateway and checks what
// is pushed against the pass's summary line and the source.
func TestRunPushesMetrics(t *testing.T) {
	pgDSN, chDSN, pool := loadedStack(t)
	ctx := context.Background()
	gw := newFakePushgateway(t)
	common := []string{"--pg-dsn", pgDSN, "--clickhouse-dsn", chDSN, "--log-format", "json", "--pushgateway-url", gw.srv.URL}
	secret := pgPassword(t, pgDSN)

	// The first pass: the full load.
	before := time.Now()
	code, _, stderr := cli(t, append([]string{"run"}, common...)...)
	if code != 0 {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	lines := summaryLines(t, stderr)
	if len(lines) != 1 {
		t.Fatalf("run: want exactly one summary line, got %d\n%s", len(lines), stderr)
	}
	sum := lines[0]
	checkSummaryLine(t, sum)
	if sum.Lag == nil {
		t.Error("summary line of the full load has no lag")
	}
	p := gw.last(t)
	if p.method != http.MethodPost || p.path != "/metrics/job/scriptstats/pass/incremental" {
		t.Fatalf("push %s %s: want POST /metrics/job/scriptstats/pass/incremental", p.method, p.path)
	}
	f := p.families
	checkNoSecretsInLabels(t, f, secret)
	if ts := f.mustValue(t, "scriptstats_last_success_timestamp_seconds"); ts < float64(before.Unix()) || ts > float64(time.Now().Unix()+1) {
		t.Errorf("last_success_timestamp %v is not the time of this pass", ts)
	}
	if d := f.mustValue(t, "scriptstats_pass_duration_seconds"); d <= 0 || d > time.Since(before).Seconds() {
		t.Errorf("pass_duration_seconds %v", d)
	}
	var sourceRows int64
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM task_log").Scan(&sourceRows); err != nil {
		t.Fatal(err)
	}
	for stage, want := range map[string]int64{"extracted": *sum.RowsExtracted, "loaded": *sum.RunsLoaded, "deleted": *sum.RunsDeleted, "moved": *sum.RunsMoved} {
		if got := f.mustValue(t, "scriptstats_rows_total", "stage", stage); got != float64(want) {
			t.Errorf("rows_total{stage=%q} = %v, the summary line says %d", stage, got, want)
		}
	}
	if got := f.mustValue(t, "scriptstats_rows_total", "stage", "extracted"); got != float64(sourceRows) {
		t.Errorf("the full load extracted %v rows; task_log has %d", got, sourceRows)
	}
	if got := f.mustValue(t, "scriptstats_rows_total", "stage", "loaded"); got <= 0 {
		t.Error("no runs loaded")
	}
	if got := f.mustValue(t, "scriptstats_groups_recomputed"); got != float64(*sum.GroupsRecomputed) || got <= 0 {
		t.Errorf("groups_recomputed %v, the summary line says %d", got, *sum.GroupsRecomputed)
	}
	var ch struct{ groups uint64 }
	conn := openClickHouse(t, chDSN)
	if err := conn.QueryRow(ctx, "SELECT count() FROM script_daily").Scan(&ch.groups); err != nil {
		t.Fatal(err)
	}
	if got := f.mustValue(t, "scriptstats_groups_recomputed"); got < float64(ch.groups) {
		t.Errorf("groups_recomputed %v < %d rows of script_daily after a full load", got, ch.groups)
	}
	anyInvalid := false
	for kind, n := range sum.Invalid {
		got := f.mustValue(t, "scriptstats_invalid_rows", "kind", kind)
		if got != float64(n) {
			t.Errorf("invalid_rows{kind=%q} = %v, the summary line says %d", kind, got, n)
		}
		anyInvalid = anyInvalid || n > 0
	}
	if !anyInvalid {
		t.Error("the odd generated data gave no invalid rows")
	}
	if lag := f.mustValue(t, "scriptstats_lag_seconds"); lag < 0 || (sum.Lag != nil && lag > *sum.Lag/1000+60) {
		t.Errorf("lag_seconds %v, the summary line says %v ms", lag, *sum.Lag)
	}
	for _, st := range failureStages {
		if got := f.mustValue(t, "scriptstats_pass_failures_total", "stage", st); got != 0 {
			t.Errorf("pass_failures_total{stage=%q} = %v after a successful pass", st, got)
		}
	}
	if got := f.mustValue(t, "scriptstats_build_info", "version", version); got != 1 {
		t.Errorf("build_info %v", got)
	}

	// A backfill pushes to its own group.
	mustCLI(t, append([]string{"backfill", "--from", time.Now().UTC().AddDate(0, 0, -2).Format(time.DateOnly), "--to", time.Now().UTC().Format(time.DateOnly)}, common...)...)
	p = gw.last(t)
	if p.path != "/metrics/job/scriptstats/pass/backfill" {
		t.Errorf("backfill pushed to %s", p.path)
	}
	p.families.mustValue(t, "scriptstats_last_success_timestamp_seconds")

	// A failing pass (another time zone than the loaded data) pushes only
	// the failure metrics, so the group keeps the last success.
	code, _, stderr = cli(t, append([]string{"run", "--timezone", "Asia/Tokyo"}, common...)...)
	if code != 1 {
		t.Fatalf("run with another time zone: exit %d, want 1\n%s", code, stderr)
	}
	p = gw.last(t)
	if p.method != http.MethodPost || p.path != "/metrics/job/scriptstats/pass/incremental" {
		t.Fatalf("failure push %s %s", p.method, p.path)
	}
	if got := p.families.mustValue(t, "scriptstats_pass_failures_total", "stage", "pass"); got != 1 {
		t.Errorf("pass_failures_total{stage=pass} = %v, want 1", got)
	}
	if ts := p.families.mustValue(t, "scriptstats_last_failure_timestamp_seconds"); ts < float64(before.Unix()) {
		t.Errorf("last_failure_timestamp %v", ts)
	}
	for _, name := range []string{"scriptstats_last_success_timestamp_seconds", "scriptstats_rows_total", "scriptstats_lag_seconds"} {
		if _, ok := p.families[name]; ok {
			t.Errorf("a failed pass pushed %s (it would overwrite the last success's)", name)
		}
	}

	// An unreachable ClickHouse: the stage is load.
	badCH := "clickhouse://default:@127.0.0.1:1/nowhere?dial_timeout=1s"
	code, _, _ = cli(t, "run", "--pg-dsn", pgDSN, "--clickhouse-dsn", badCH, "--log-format", "json", "--pushgateway-url", gw.srv.URL)
	if code != 1 {
		t.Fatalf("run with an unreachable ClickHouse: exit %d", code)
	}
	if got := gw.last(t).families.mustValue(t, "scriptstats_pass_failures_total", "stage", "load"); got != 1 {
		t.Errorf("pass_failures_total{stage=load} = %v, want 1", got)
	}
	checkNoSecretsInLabels(t, gw.last(t).families, secret)

	// A failing Pushgateway does not fail the pass; a warning is logged.
	gw.mu.Lock()
	gw.fail = true
	gw.mu.Unlock()
	n := gw.count()
	code, _, stderr = cli(t, append([]string{"run"}, common...)...)
	if code != 0 {
		t.Fatalf("run with a failing Pushgateway: exit %d, want 0\n%s", code, stderr)
	}
	if gw.count() != n+1 {
		t.Error("the pass did not try to push")
	}
	if !strings.Contains(stderr, `"level":"warn"`) || !strings.Contains(stderr, "metrics push failed") {
		t.Errorf("no warning about the failed push:\n%s", stderr)
	}
	if l := summaryLines(t, stderr); len(l) != 1 || l[0].Mode != "incremental" {
		t.Errorf("incremental pass: want one summary line, got %+v", l)
	}

	// Without --pushgateway-url nothing is pushed.
	n = gw.count()
	mustCLI(t, "run", "--pg-dsn", pgDSN, "--clickhouse-dsn", chDSN, "--log-format", "json")
	if gw.count() != n {
		t.Error("pushed without --pushgateway-url")
	}
}

// TestPushgatewayCredentials: credentials in --pushgateway-url become basic
// auth and appear in no log line or URL.
func TestPushgatewayCredentials(t *testing.T) {
	var gotUser, gotPass, gotPath string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUser, gotPass, _ = r.BasicAuth()
		gotPath = r.URL.Path
		http.Error(w, "no", http.StatusBadGateway)
	}))
	defer srv.Close()
	u := strings.Replace(srv.URL, "http://", "http://pusher:hunter2-secret@", 1)
	var log bytes.Buffer
	a := &app{log: newLogger(&log, "json", "info")}
	a.pushMetrics(context.Background(), u, "incremental", schedules.Summary{PassID: "x", Duration: time.Second}, nil)
	if gotUser != "pusher" || gotPass != "hunter2-secret" {
		t.Errorf("basic auth %q:%q", gotUser, gotPass)
	}
	if gotPath != "/metrics/job/scriptstats/pass/incremental" {
		t.Errorf("path %s", gotPath)
	}
	if strings.Contains(log.String(), "hunter2") {
		t.Errorf("the password reached the log:\n%s", log.String())
	}
	if !strings.Contains(log.String(), "metrics push failed") {
		t.Errorf("no warning:\n%s", log.String())
	}
}

// TestScheduleServesMetrics starts `schedule` in-process with a pass every
// second, waits for a pass, reads /metrics and /healthz, and stops it.
func TestScheduleServesMetrics(t *testing.T) {
	pgDSN, chDSN, _ := loadedStack(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"schedule", "--pg-dsn", pgDSN, "--clickhouse-dsn", chDSN, "--log-format", "json",
			"--incremental-schedule", "@every 1s", "--backfill-schedule", "", "--metrics-addr", "127.0.0.1:0"}, io.Discard, &stderr)
	}()
	base := metricsURL(t, &stderr, done)

	// Wait for a successful pass to show in /metrics.
	var f families
	deadline := time.Now().Add(90 * time.Second)
	for {
		f = scrape(t, base+"/metrics")
		if _, ok := f.value("scriptstats_last_success_timestamp_seconds", "pass", "incremental"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no successful pass within 90s; log:\n%s", stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	checkNoSecretsInLabels(t, f, pgPassword(t, pgDSN))
	if got := f.mustValue(t, "scriptstats_rows_total", "pass", "incremental", "stage", "loaded"); got <= 0 {
		t.Errorf("rows_total{stage=loaded} = %v after the full load", got)
	}
	f.mustValue(t, "scriptstats_rows_total", "pass", "incremental", "stage", "extracted")
	f.mustValue(t, "scriptstats_groups_recomputed", "pass", "incremental")
	f.mustValue(t, "scriptstats_pass_duration_seconds", "pass", "incremental")
	f.mustValue(t, "scriptstats_invalid_rows", "pass", "incremental", "kind", "invalid_duration")
	f.mustValue(t, "scriptstats_lag_seconds", "pass", "incremental")
	if got := f.mustValue(t, "scriptstats_pass_failures_total", "pass", "incremental", "stage", "extract"); got != 0 {
		t.Errorf("failures %v", got)
	}
	f.mustValue(t, "go_goroutines")

	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var st healthStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || st.Status != "ok" || st.LastSuccess == nil || st.IntervalSeconds != 1 {
		t.Errorf("/healthz: %d %+v", resp.StatusCode, st)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("schedule after cancel: exit %d\n%s", code, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("schedule did not stop within 60s of cancellation")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("the metrics server still answers after schedule returned")
	}
	lines := summaryLines(t, stderr.String())
	if len(lines) == 0 {
		t.Fatal("no summary line in the schedule's log")
	}
	for _, l := range lines {
		checkSummaryLine(t, l)
	}
}

// TestScheduleHealthzFailing: passes that keep failing (ClickHouse not
// migrated) turn /healthz to 503 after more than 3 intervals and count
// failures by stage.
func TestScheduleHealthzFailing(t *testing.T) {
	pgDSN := teststack.Postgres(t)
	chDSN := teststack.ClickHouse(t)
	// The database exists (so that the connection opens) but holds nothing.
	admin, err := clickhouse.ParseDSN(teststack.ClickHouseAdminDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := clickhouse.Open(admin)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := load.ParseDSN(chDSN)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Exec(context.Background(), "CREATE DATABASE "+opts.Auth.Database); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"schedule", "--pg-dsn", pgDSN, "--clickhouse-dsn", chDSN, "--log-format", "json",
			"--incremental-schedule", "@every 1s", "--backfill-schedule", "", "--metrics-addr", "127.0.0.1:0"}, io.Discard, &stderr)
	}()
	base := metricsURL(t, &stderr, done)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		var st healthStatus
		_ = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			if st.Status != "failing" || st.ConsecutiveFailures < 3 || st.FailedStage == "" {
				t.Errorf("/healthz 503 body %+v", st)
			}
			break
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/healthz %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz still 200 after 30s of failing passes; log:\n%s", stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	f := scrape(t, base+"/metrics")
	var failures float64
	for _, st := range failureStages {
		v, _ := f.value("scriptstats_pass_failures_total", "pass", "incremental", "stage", st)
		failures += v
	}
	if failures < 3 {
		t.Errorf("pass_failures_total sums to %v, want at least 3", failures)
	}
	if _, ok := f.value("scriptstats_last_success_timestamp_seconds", "pass", "incremental"); ok {
		t.Error("last_success_timestamp set without a successful pass")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("schedule did not stop")
	}
}

var listenRE = regexp.MustCompile(`"addr":"([^"]+)"[^\n]*"message":"serving /metrics[^"]*"`)

// metricsURL waits for schedule to log the address it serves on.
func metricsURL(t *testing.T, stderr *syncBuffer, done chan int) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := listenRE.FindStringSubmatch(stderr.String()); m != nil {
			return "http://" + m[1]
		}
		select {
		case code := <-done:
			t.Fatalf("schedule exited with %d before serving:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("schedule did not start its metrics server:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scrape reads /metrics as protobuf (what Prometheus negotiates).
func scrape(t *testing.T, u string) families {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept", `application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	return decodeFamilies(t, resp.Body, expfmt.ResponseFormat(resp.Header))
}

// TestHealth checks the /healthz rule with a fake clock.
func TestHealth(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	h := &health{now: func() time.Time { return now }, interval: 5 * time.Minute}
	status := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		return rec.Code
	}
	if status() != http.StatusServiceUnavailable {
		t.Error("healthy before the scheduler started")
	}
	h.start()
	if status() != http.StatusOK {
		t.Error("not healthy right after the start")
	}
	pgDown := &extract.Error{Err: fmt.Errorf("postgres connect: %w", errors.New("connection refused"))}
	// Failures from the start: healthy up to 3 intervals, then not.
	for i := 1; i <= 3; i++ {
		now = now.Add(5 * time.Minute)
		h.observe(pgDown, now)
		if status() != http.StatusOK {
			t.Fatalf("unhealthy after %d failing interval(s)", i)
		}
	}
	now = now.Add(time.Second)
	if status() != http.StatusServiceUnavailable {
		t.Fatal("healthy after failing for more than 3 intervals")
	}
	if ok, st := h.check(); ok || st.FailedStage != "extract" || st.ConsecutiveFailures != 3 || st.Status != "failing" {
		t.Errorf("check: %v %+v", ok, st)
	}
	// A success heals at once.
	now = now.Add(time.Minute)
	h.observe(nil, now)
	if status() != http.StatusOK {
		t.Fatal("unhealthy after a successful pass")
	}
	// A pass refused by the lock changes nothing.
	now = now.Add(5 * time.Minute)
	h.observe(schedules.ErrLocked, now)
	if ok, st := h.check(); !ok || st.ConsecutiveFailures != 0 {
		t.Errorf("a locked pass counted as a failure: %+v", st)
	}
	// Failing since the last success: unhealthy once that is > 3 intervals ago.
	for range 3 {
		now = now.Add(5 * time.Minute)
		h.observe(errors.New("clickhouse insert: broken pipe"), now)
	}
	if status() != http.StatusServiceUnavailable {
		t.Error("healthy although the last success is 20 minutes old and the last pass failed")
	}
	h.stop()
	if ok, st := h.check(); ok || st.Status != "stopped" {
		t.Errorf("after stop: %v %+v", ok, st)
	}
}

// TestHelpNamesEnvironment runs `COMMAND --help` for every command and
// checks that each flag's help names its environment variable and default.
func TestHelpNamesEnvironment(t *testing.T) {
	flagLine := regexp.MustCompile(`^  -([a-z0-9-]+)`)
	for _, cmd := range []string{"migrate", "run", "backfill", "schedule", "verify", "compare"} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{cmd, "--help"}, &out, &errb); code != 0 {
			t.Errorf("%s --help: exit %d", cmd, code)
			continue
		}
		help := out.String() + errb.String()
		// flag's PrintDefaults: "  -name type\n    \tusage" (the usage may wrap).
		var name string
		var usage strings.Builder
		flags := 0
		check := func() {
			if name == "" {
				return
			}
			flags++
			u := usage.String()
			env := "SCRIPTSTATS_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
			if !strings.Contains(u, "(env "+env+";") {
				t.Errorf("%s --help: -%s does not name %s:\n%s", cmd, name, env, u)
			}
			if !strings.Contains(u, "default ") {
				t.Errorf("%s --help: -%s does not show its default:\n%s", cmd, name, u)
			}
		}
		for _, line := range strings.Split(help, "\n") {
			if m := flagLine.FindStringSubmatch(line); m != nil {
				check()
				name = m[1]
				usage.Reset()
				continue
			}
			if name != "" {
				usage.WriteString(line + " ")
			}
		}
		check()
		if flags < 2 {
			t.Errorf("%s --help lists %d flags:\n%s", cmd, flags, help)
		}
		if strings.Contains(help, "scriptstats-local") {
			t.Errorf("%s --help shows a password", cmd)
		}
	}
	for cmd, flag := range map[string]string{"run": "pushgateway-url", "backfill": "pushgateway-url", "schedule": "metrics-addr"} {
		var errb bytes.Buffer
		run(context.Background(), []string{cmd, "--help"}, io.Discard, &errb)
		if !strings.Contains(errb.String(), "  -"+flag) {
			t.Errorf("%s has no --%s", cmd, flag)
		}
	}
	// Bad values are usage errors (exit 2), from a flag or the environment.
	for _, args := range [][]string{
		{"run", "--pg-dsn", "postgres://u@h/db", "--clickhouse-dsn", "clickhouse://u@h:9000/db", "--pushgateway-url", "pushgateway:9091"},
		{"backfill", "--pg-dsn", "postgres://u@h/db", "--clickhouse-dsn", "clickhouse://u@h:9000/db", "--from", "2026-01-01", "--to", "2026-01-02", "--pushgateway-url", "ftp://x"},
		{"schedule", "--pg-dsn", "postgres://u@h/db", "--clickhouse-dsn", "clickhouse://u@h:9000/db", "--metrics-addr", "9090"},
	} {
		var errb bytes.Buffer
		if code := run(context.Background(), args, io.Discard, &errb); code != exitUsage {
			t.Errorf("%s with a bad value: exit %d, want %d\n%s", args[0], code, exitUsage, errb.String())
		}
	}
	t.Setenv("SCRIPTSTATS_METRICS_ADDR", "localhost")
	if code := run(context.Background(), []string{"schedule", "--pg-dsn", "postgres://u@h/db", "--clickhouse-dsn", "clickhouse://u@h:9000/db"}, io.Discard, io.Discard); code != exitUsage {
		t.Errorf("schedule with SCRIPTSTATS_METRICS_ADDR=localhost: exit %d, want %d", code, exitUsage)
	}

	var out bytes.Buffer
	if code := run(context.Background(), []string{"version"}, &out, io.Discard); code != 0 || !strings.HasPrefix(out.String(), "scriptstats ") {
		t.Errorf("version: exit %d, %q", code, out.String())
	}
}
