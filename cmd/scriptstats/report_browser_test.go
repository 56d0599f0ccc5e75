package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/scriptstats/scriptstats/deploy/demodata"
)

// chromiumPath finds Debian's chromium (or $SCRIPTSTATS_CHROMIUM). Under
// CI=true a missing browser fails the test: .ci/run must install it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SCRIPTSTATS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium found (apt-get install -y chromium, or set SCRIPTSTATS_CHROMIUM)")
	}
	t.Skip("no chromium found (apt-get install -y chromium); under CI=true this fails")
	return ""
}

// artifactDir is where the browser tests write their screenshots:
// $SCRIPTSTATS_TEST_ARTIFACTS, or a new temporary directory (kept, and
// logged).
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SCRIPTSTATS_TEST_ARTIFACTS")
	if dir == "" {
		d, err := os.MkdirTemp("", "scriptstats-report-artifacts-")
		if err != nil {
			t.Fatal(err)
		}
		dir = d
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browserPage is one loaded page and what the browser saw while loading it.
type browserPage struct {
	ctx      context.Context
	mu       sync.Mutex
	requests []string
	problems []string // console errors, exceptions, error log entries
}

func (p *browserPage) seen() (requests, problems []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.requests...), append([]string(nil), p.problems...)
}

// openInChromium starts a fresh headless Chromium (its own profile) and
// loads url in it, recording every network request and console problem.
func openInChromium(t *testing.T, url string) *browserPage {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelTimeout)
	p := &browserPage{ctx: ctx}
	err := chromedp.Listen(ctx, func(ev any) {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			p.requests = append(p.requests, ev.Request.URL)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				p.problems = append(p.problems, fmt.Sprintf("console.%s: %v", ev.Type, ev.Args))
			}
		case *runtime.EventExceptionThrown:
			p.problems = append(p.problems, "exception: "+ev.ExceptionDetails.Text+" "+exceptionText(ev.ExceptionDetails))
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				p.problems = append(p.problems, "log: "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitReady("body")); err != nil {
		t.Fatalf("load %s in chromium: %v", url, err)
	}
	return p
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d.Exception != nil {
		return d.Exception.Description
	}
	return ""
}

func evalJS[T any](t *testing.T, p *browserPage, js string) T {
	t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %.60q: %v", js, err)
	}
	return v
}

// screenshot writes full-page PNGs of the page at the given width.
func screenshot(t *testing.T, p *browserPage, dir, name string, width int64) {
	t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.EmulateViewport(width, 900)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // let the layout settle
	png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d bytes)", path, len(png))
}

// pageFacts is what the test reads back from the rendered page.
type pageFacts struct {
	Detection string          `json:"detection"`
	Overview  [][]string      `json:"overview"`
	Sections  []sectionFacts  `json:"sections"`
	Wide      map[string]bool `json:"wide"`
}

type sectionFacts struct {
	ID       string     `json:"id"`
	Charts   int        `json:"charts"`
	Titles   []string   `json:"titles"`
	Success  [][]string `json:"success"`
	Duration [][]string `json:"duration"`
	Cells    [][]string `json:"cells"` // step, day, failures, attempts, tooltip
	Runs     []string   `json:"runs"`
	RunText  []string   `json:"runText"`
	Drops    [][]string `json:"drops"`
	Changes  [][]string `json:"changes"`
	Health   [][]string `json:"health"`
	Missing  int        `json:"missing"`
}

// readFacts opens every script's section (which draws the heatmaps) and
// reads the tables, charts and cells.
const readFacts = `(() => {
  const cells = tr => Array.from(tr.querySelectorAll('td')).map(td => td.textContent.trim());
  const rows = (root, sel) => { const t = root.querySelector(sel); return t ? Array.from(t.querySelectorAll('tbody tr')).map(cells) : []; };
  document.querySelectorAll('details.script').forEach(d => { d.open = true; });
  return {
    detection: document.getElementById('detection').textContent,
    overview: rows(document, '#overview'),
    wide: {},
    sections: Array.from(document.querySelectorAll('details.script')).map(s => ({
      id: s.dataset.script,
      charts: s.querySelectorAll('svg.chart').length + s.querySelectorAll('svg.hm').length,
      titles: Array.from(s.querySelectorAll('svg.chart > title, svg.hm > title')).map(x => x.textContent),
      success: rows(s, 'table.success-table'),
      duration: rows(s, 'table.duration-table'),
      cells: Array.from(s.querySelectorAll('svg.hm rect')).map(r => [r.parentNode.dataset.step, r.dataset.day, r.dataset.f, r.dataset.a, r.querySelector('title').textContent]),
      runs: Array.from(s.querySelectorAll('.run')).map(r => r.dataset.run),
      runText: Array.from(s.querySelectorAll('.run > p')).map(p => p.textContent),
      drops: rows(s, 'table.drops'),
      changes: rows(s, 'table.changes'),
      health: rows(s, 'table.health'),
      missing: s.querySelectorAll('p.missing').length,
    })),
  };
})()`

// TestReportInBrowser loads the report of a real pipeline run in headless
// Chromium: no console error, no request but the page's own, every chart
// and row there, and the numbers equal to the views' (queried here on
// their own). Then it adds detection views (stand-ins when the database has
// none yet) and checks that their sections show exactly their rows.
func TestReportInBrowser(t *testing.T) {
	chromiumPath(t)
	pgDSN, chDSN, pool := freshDatabases(t)
	ctx := context.Background()
	end := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	if _, err := demodata.Generate(ctx, pool, demodata.Options{
		Scripts: 6, Days: 30, Runs: 4000, End: end, Seed: 11,
		StepsShare: 0.85, MinSteps: 3, MaxSteps: 8, Stories: true, Parallel: 1,
	}, nil); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, "migrate", "--clickhouse-dsn", chDSN)
	mustCLI(t, "run", "--pg-dsn", pgDSN, "--clickhouse-dsn", chDSN, "--log-format", "json")
	ch := openClickHouse(t, chDSN)
	const from, to = "2026-02-10", "2026-03-09"
	dir := artifactDir(t)

	makeReport := func(name string) string {
		out := filepath.Join(t.TempDir(), name)
		printed := mustCLI(t, "report", "--clickhouse-dsn", chDSN, "--out", out, "--from", from, "--to", to, "--log-format", "json")
		if strings.TrimSpace(printed) != out {
			t.Fatalf("report printed %q, want its path %q", printed, out)
		}
		return out
	}
	// serve gives the file at a URL of its own test server and counts the
	// requests the server gets.
	serve := func(path string) (url string, hits func() []string) {
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var got []string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			got = append(got, r.URL.Path)
			mu.Unlock()
			if r.URL.Path != "/report.html" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write(body)
		}))
		t.Cleanup(srv.Close)
		return srv.URL + "/report.html", func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), got...) }
	}
	checkQuiet := func(p *browserPage, url string, hits func() []string) {
		t.Helper()
		time.Sleep(500 * time.Millisecond) // late requests, if any
		reqs, problems := p.seen()
		if len(problems) > 0 {
			t.Errorf("console errors:\n%s", strings.Join(problems, "\n"))
		}
		var net []string
		for _, r := range reqs {
			if !strings.HasPrefix(r, "data:") {
				net = append(net, r)
			}
		}
		if len(net) != 1 || net[0] != url {
			t.Errorf("network requests: %q, want only the page %s", net, url)
		}
		if h := hits(); len(h) != 1 {
			t.Errorf("the server got %d requests %q, want 1", len(h), h)
		}
	}

	// --script narrows it to one script (by id or name); an unknown one is
	// an error, not an empty report.
	one := filepath.Join(t.TempDir(), "one.html")
	mustCLI(t, "report", "--clickhouse-dsn", chDSN, "--out", one, "--from", from, "--to", to, "--script", "3", "--log-format", "json")
	if b, err := os.ReadFile(one); err != nil || strings.Count(string(b), `<details class="script"`) != 1 || !strings.Contains(string(b), `id="s-3"`) {
		t.Errorf("--script 3: the report does not hold exactly script 3 (%v)", err)
	}
	if code, _, stderr := cli(t, "report", "--clickhouse-dsn", chDSN, "--out", one, "--script", "no such script", "--log-format", "json"); code != 1 ||
		!strings.Contains(stderr, `no script with the id or name "no such script"`) {
		t.Errorf("--script of an unknown script: exit %d, %s", code, stderr)
	}

	// First the report as migrated: the detection views the migrations
	// installed (maybe none) and a note for each one missing.
	missing := missingDetectionViews(t, ch)
	out := makeReport("report.html")
	url, hits := serve(out)
	p := openInChromium(t, url)
	screenshot(t, p, dir, "report-1280.png", 1280)
	screenshot(t, p, dir, "report-375.png", 375)
	facts := openAllSections(t, p)
	checkQuiet(p, url, hits)
	if len(missing) > 0 != strings.Contains(facts.Detection, "views not installed") {
		t.Errorf("header %q, missing views %q", facts.Detection, missing)
	}
	checkBaseFacts(t, ch, facts, from, to)
	for _, s := range facts.Sections {
		if s.Missing != len(missing) {
			t.Errorf("script %s: %d 'detection views not installed' notes, want %d (%q)", s.ID, s.Missing, len(missing), missing)
		}
	}
	if info, err := os.Stat(out); err == nil {
		t.Logf("report of %d scripts: %d bytes; detection views missing: %q", len(facts.Sections), info.Size(), missing)
	}

	// Then with every detection view: stand-ins for those still missing.
	standIns := createStandInDetectionViews(t, ch, missing)
	out = makeReport("report-detection.html")
	url, hits = serve(out)
	p = openInChromium(t, url)
	screenshot(t, p, dir, "report-detection-1280.png", 1280)
	screenshot(t, p, dir, "report-detection-375.png", 375)
	facts = openAllSections(t, p)
	checkQuiet(p, url, hits)
	checkBaseFacts(t, ch, facts, from, to)
	checkDetectionFacts(t, ch, facts, from, to, standIns)
	t.Logf("screenshots in %s", dir)
}

// missingDetectionViews lists the detection views the database lacks.
func missingDetectionViews(t *testing.T, ch driver.Conn) []string {
	t.Helper()
	var missing []string
	for _, v := range []string{"success_rate_drops", "duration_changes", "step_health"} {
		var n uint64
		if err := ch.QueryRow(context.Background(), `SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = ?`, v).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			missing = append(missing, v)
		}
	}
	return missing
}

// openAllSections opens every script's section (which draws its heatmap)
// and reads the page.
func openAllSections(t *testing.T, p *browserPage) pageFacts {
	t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
	evalJS[pageFacts](t, p, readFacts)
	time.Sleep(300 * time.Millisecond) // the toggle events draw the heatmaps
	return evalJS[pageFacts](t, p, readFacts)
}

// createStandInDetectionViews makes views with the contract's names and
// columns (CONTRACT.md section 3) holding arbitrary rows derived from the
// base views, until the real detection views exist: what the report must
// show is whatever rows they hold.
func createStandInDetectionViews(t *testing.T, ch driver.Conn, missing []string) map[string]bool {
	t.Helper()
	views := map[string]string{
		"success_rate_drops": `CREATE VIEW success_rate_drops AS
		 SELECT script_id, script_name, day, total, success_rate,
		        success_rate * 0.9 AS success_rate_low, least(1, success_rate * 1.05) AS success_rate_high,
		        toUInt64(200 + script_id) AS baseline_runs, 0.95 AS baseline_rate, 0.92 AS baseline_low, 0.97 AS baseline_high
		 FROM script_daily WHERE success_rate < 0.85`,
		"duration_changes": `CREATE VIEW duration_changes AS
		 SELECT script_id, script_name, CAST(NULL AS Nullable(Int32)) AS step_index, CAST(NULL AS Nullable(String)) AS step_name,
		        run_id, CAST(NULL AS Nullable(Int64)) AS previous_run_id, started_at AS changed_at, day,
		        toUInt64(12) AS runs_before, toUInt64(12) AS runs_after, 10.0 AS median_before, 10.0 + script_id AS median_after,
		        (10.0 + script_id) / 10.0 AS ratio, 0.0004 AS p_value, 0.8 AS effect_size, 'slower' AS direction,
		        CAST(NULL AS Nullable(Int32)) AS top_step_index, CAST(NULL AS Nullable(String)) AS top_step_name,
		        CAST(NULL AS Nullable(Float64)) AS top_step_delta
		 FROM runs WHERE status = 'success' AND started_at IS NOT NULL
		 ORDER BY run_id DESC LIMIT 1 BY script_id`,
		"step_health": `CREATE VIEW step_health AS
		 SELECT script_id, script_name, step_index, step_name,
		        multiIf(f * 5 > a, 'broken', f * 20 > a, 'flaky', 'healthy') AS state,
		        CAST(lf AS Nullable(DateTime64(6, 'UTC'))) AS since,
		        a AS executions, f AS failures, f / a AS failure_rate,
		        0.0 AS failure_rate_low, 1.0 AS failure_rate_high, 0.125 AS flip_rate,
		        lf AS last_failure_at, le AS last_error, now64() AS as_of
		 FROM (SELECT script_id, any(script_name) AS script_name, step_index, argMax(step_name, day) AS step_name,
		              sum(attempts) AS a, sum(failures) AS f, max(last_failure_at) AS lf,
		              argMax(last_error, last_failure_at) AS le
		       FROM step_daily GROUP BY script_id, step_index)`,
	}
	standIns := map[string]bool{}
	for _, v := range missing {
		if err := ch.Exec(context.Background(), views[v]); err != nil {
			t.Fatalf("stand-in view %s: %v", v, err)
		}
		standIns[v] = true
	}
	return standIns
}

func pctOf(v float64) string { return strconv.FormatFloat(v*100, 'f', 2, 64) + "%" }

// checkBaseFacts compares the page with script_daily, step_daily, runs and
// run_vs_previous read here.
func checkBaseFacts(t *testing.T, ch driver.Conn, f pageFacts, from, to string) {
	t.Helper()
	ctx := context.Background()
	type dayRow struct {
		day            string
		total, success uint64
		rate           float64
		p50, p95       *float64
		low, high      float64
	}
	// The Wilson band: the view's when it has the columns, else CONTRACT
	// 2b's formula written out again here.
	var wilsonCols uint64
	if err := ch.QueryRow(ctx, `SELECT count() FROM system.columns WHERE database = currentDatabase()
		AND table = 'script_daily' AND name IN ('success_rate_low', 'success_rate_high')`).Scan(&wilsonCols); err != nil {
		t.Fatal(err)
	}
	band := "nan, nan"
	if wilsonCols == 2 {
		band = "toFloat64(success_rate_low), toFloat64(success_rate_high)"
	}
	days := map[string][]dayRow{}
	rows, err := ch.Query(ctx, `SELECT toString(script_id), toString(day), total, success, success_rate, success_duration_p50, success_duration_p95, `+band+`
		FROM script_daily WHERE day BETWEEN ? AND ? ORDER BY script_id, day`, from, to)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var r dayRow
		if err := rows.Scan(&id, &r.day, &r.total, &r.success, &r.rate, &r.p50, &r.p95, &r.low, &r.high); err != nil {
			t.Fatal(err)
		}
		if wilsonCols != 2 {
			r.low, r.high = wilsonRef(r.success, r.total)
		}
		days[id] = append(days[id], r)
	}
	rows.Close()
	if len(f.Sections) != len(days) || len(f.Overview) != len(days) {
		t.Fatalf("%d sections and %d overview rows, want one per script with runs: %d", len(f.Sections), len(f.Overview), len(days))
	}
	var overviewTotal uint64
	for _, o := range f.Overview {
		n, _ := strconv.ParseUint(o[3], 10, 64)
		overviewTotal += n
	}
	var wantTotal uint64
	for _, ds := range days {
		for _, d := range ds {
			wantTotal += d.total
		}
	}
	if overviewTotal != wantTotal {
		t.Errorf("overview: %d runs in all, script_daily has %d", overviewTotal, wantTotal)
	}

	type cell struct{ f, a uint64 }
	cells := map[string]cell{}
	rows, err = ch.Query(ctx, `SELECT toString(script_id), toString(step_index), toString(day), failures, attempts
		FROM step_daily WHERE day BETWEEN ? AND ?`, from, to)
	if err != nil {
		t.Fatal(err)
	}
	perScript := map[string]int{}
	for rows.Next() {
		var id, idx, day string
		var c cell
		if err := rows.Scan(&id, &idx, &day, &c.f, &c.a); err != nil {
			t.Fatal(err)
		}
		cells[id+"/"+idx+"/"+day] = c
		perScript[id]++
	}
	rows.Close()

	// The latest failing run of each script and the run before it.
	latest := map[string][2]string{}
	rows, err = ch.Query(ctx, `SELECT toString(r.script_id), toString(r.run_id), toString(v.previous_run_id)
		FROM runs AS r INNER JOIN run_vs_previous AS v ON v.run_id = r.run_id
		WHERE r.day BETWEEN ? AND ? AND r.status IN ('failed', 'timeout')
		ORDER BY r.script_id, coalesce(r.started_at, r.ordered_at) DESC, r.run_id DESC LIMIT 1 BY r.script_id`, from, to)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, run, prev string
		if err := rows.Scan(&id, &run, &prev); err != nil {
			t.Fatal(err)
		}
		latest[id] = [2]string{run, prev}
	}
	rows.Close()

	checkedCells := 0
	for _, s := range f.Sections {
		want := days[s.ID]
		if s.Charts != 3 {
			t.Errorf("script %s: %d charts drawn, want 3 (success, duration, heatmap)", s.ID, s.Charts)
		}
		if len(s.Titles) != 3 {
			t.Errorf("script %s: chart titles %q", s.ID, s.Titles)
		}
		if len(s.Success) != len(want) || len(s.Duration) != len(want) {
			t.Errorf("script %s: %d/%d table rows, script_daily has %d days", s.ID, len(s.Success), len(s.Duration), len(want))
			continue
		}
		for i, w := range want {
			got := s.Success[i]
			exp := []string{w.day, fmt.Sprint(w.total), fmt.Sprint(w.success), pctOf(w.rate)}
			if strings.Join(got[:4], "|") != strings.Join(exp, "|") {
				t.Errorf("script %s success row %d: page %q, script_daily %q", s.ID, i, got[:4], exp)
			}
			lo, hi := w.low, w.high
			if got[4] != pctOf(lo) || got[5] != pctOf(hi) {
				t.Errorf("script %s %s Wilson: page %s–%s, want %s–%s", s.ID, w.day, got[4], got[5], pctOf(lo), pctOf(hi))
			}
			if d := s.Duration[i]; d[0] != w.day || d[1] != secsOf(w.p50) || d[2] != secsOf(w.p95) {
				t.Errorf("script %s duration row %d: page %q, script_daily %s %s %s", s.ID, i, d, w.day, secsOf(w.p50), secsOf(w.p95))
			}
		}
		if len(s.Cells) != perScript[s.ID] {
			t.Errorf("script %s: %d heatmap cells, step_daily has %d rows", s.ID, len(s.Cells), perScript[s.ID])
		}
		for _, c := range s.Cells {
			w, ok := cells[s.ID+"/"+c[0]+"/"+c[1]]
			if !ok {
				t.Errorf("script %s: heatmap cell step %s %s not in step_daily", s.ID, c[0], c[1])
				continue
			}
			tip := fmt.Sprintf("%s: %d failures / %d attempts (%s)", c[1], w.f, w.a, pctOf(float64(w.f)/float64(w.a)))
			if c[2] != fmt.Sprint(w.f) || c[3] != fmt.Sprint(w.a) || !strings.HasSuffix(c[4], tip) {
				t.Errorf("script %s cell step %s %s: page %q, step_daily %q", s.ID, c[0], c[1], c, tip)
			}
			checkedCells++
		}
		if l, ok := latest[s.ID]; ok {
			if len(s.Runs) == 0 || s.Runs[0] != l[0] || !strings.Contains(s.RunText[0], "previous run "+l[1]+" ") {
				t.Errorf("script %s: latest failing run on the page %q %q, the views say run %s after %s", s.ID, s.Runs, s.RunText, l[0], l[1])
			}
		} else if len(s.Runs) > 0 {
			t.Errorf("script %s: failing runs %q on the page, none in the views", s.ID, s.Runs)
		}
	}
	if checkedCells == 0 {
		t.Error("no heatmap cell was checked")
	}
}

func wilsonRef(k, n uint64) (float64, float64) {
	// CONTRACT 2b, written out again here.
	const z = 1.96
	p, nn := float64(k)/float64(n), float64(n)
	c := (p + z*z/(2*nn)) / (1 + z*z/nn)
	h := z * math.Sqrt(p*(1-p)/nn+z*z/(4*nn*nn)) / (1 + z*z/nn)
	return math.Max(0, c-h), math.Min(1, c+h)
}

func secsOf(v *float64) string {
	if v == nil {
		return "–"
	}
	return strconv.FormatFloat(*v, 'f', 3, 64) + " s"
}

// checkDetectionFacts compares the detection sections with the views.
// standIns are the views the test made: they have rows for sure, so the
// page must show some.
func checkDetectionFacts(t *testing.T, ch driver.Conn, f pageFacts, from, to string, standIns map[string]bool) {
	t.Helper()
	ctx := context.Background()
	if strings.Contains(f.Detection, "not installed") {
		t.Errorf("header: %q", f.Detection)
	}
	drops := map[string][]string{}
	rows, err := ch.Query(ctx, `SELECT toString(script_id), toString(day), toString(total), toFloat64(success_rate)
		FROM success_rate_drops WHERE day BETWEEN ? AND ? ORDER BY script_id, day`, from, to)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, day, total string
		var rate float64
		if err := rows.Scan(&id, &day, &total, &rate); err != nil {
			t.Fatal(err)
		}
		drops[id] = append(drops[id], day+"|"+total+"|"+pctOf(rate))
	}
	rows.Close()
	changes := map[string][]string{}
	rows, err = ch.Query(ctx, `SELECT toString(script_id), toString(day), toString(run_id), toFloat64(ratio)
		FROM duration_changes WHERE day BETWEEN ? AND ? ORDER BY script_id, day, step_index`, from, to)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, day, run string
		var ratio float64
		if err := rows.Scan(&id, &day, &run, &ratio); err != nil {
			t.Fatal(err)
		}
		changes[id] = append(changes[id], fmt.Sprintf("%s|×%.2f|%s", day, ratio, run))
	}
	rows.Close()
	health := map[string]map[string]string{}
	rows, err = ch.Query(ctx, `SELECT toString(script_id), toString(step_index), toString(state), toString(executions), toString(failures)
		FROM step_health`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, idx, state, ex, fl string
		if err := rows.Scan(&id, &idx, &state, &ex, &fl); err != nil {
			t.Fatal(err)
		}
		if health[id] == nil {
			health[id] = map[string]string{}
		}
		health[id][idx] = strings.ReplaceAll(state, "_", " ") + "|" + ex + "|" + fl
	}
	rows.Close()
	nDrops, nChanges, nHealth := 0, 0, 0
	for _, s := range f.Sections {
		if s.Missing != 0 {
			t.Errorf("script %s: %d 'not installed' notes with the views present", s.ID, s.Missing)
		}
		var got []string
		for _, r := range s.Drops {
			got = append(got, strings.Join(r[:3], "|"))
		}
		if strings.Join(got, "\n") != strings.Join(drops[s.ID], "\n") {
			t.Errorf("script %s drops: page %q, view %q", s.ID, got, drops[s.ID])
		}
		nDrops += len(got)
		got = nil
		for _, r := range s.Changes {
			got = append(got, r[0]+"|"+r[3]+"|"+r[7])
		}
		if strings.Join(got, "\n") != strings.Join(changes[s.ID], "\n") {
			t.Errorf("script %s changes: page %q, view %q", s.ID, got, changes[s.ID])
		}
		nChanges += len(got)
		if len(s.Health) != len(health[s.ID]) {
			t.Errorf("script %s: %d step health rows, the view has %d", s.ID, len(s.Health), len(health[s.ID]))
		}
		for _, r := range s.Health {
			idx, _, _ := strings.Cut(r[0], " ")
			if g := r[1] + "|" + r[3] + "|" + r[4]; g != health[s.ID][idx] {
				t.Errorf("script %s step %s health: page %q, view %q", s.ID, idx, g, health[s.ID][idx])
			}
			nHealth++
		}
	}
	t.Logf("detection rows checked: %d drops, %d changes, %d step health (stand-ins: %v)", nDrops, nChanges, nHealth, standIns)
	for v, n := range map[string]int{"success_rate_drops": nDrops, "duration_changes": nChanges, "step_health": nHealth} {
		if standIns[v] && n == 0 {
			t.Errorf("no row of the stand-in view %s on the page", v)
		}
	}
}
