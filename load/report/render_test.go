package report

import (
	"bytes"
	"encoding/json"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/scriptstats/scriptstats/transform"
)

func TestWilson(t *testing.T) {
	// Reference values: the Wilson score interval at 95 % (z = 1.96) as
	// published by common calculators (e.g. 0 of 10: upper 0.2775).
	for _, c := range []struct {
		k, n      uint64
		low, high float64
	}{
		{48, 50, 0.8654, 0.9890},
		{0, 10, 0, 0.2775},
		{10, 10, 0.7225, 1},
		{30, 60, 0.3773, 0.6227},
		{0, 0, 0, 1},
	} {
		lo, hi := Wilson(c.k, c.n)
		if math.Abs(lo-c.low) > 5e-5 || math.Abs(hi-c.high) > 5e-5 {
			t.Errorf("Wilson(%d, %d) = [%.5f, %.5f], want [%.4f, %.4f]", c.k, c.n, lo, hi, c.low, c.high)
		}
	}
}

func day(s string) transform.Day {
	d, err := transform.ParseDay(s)
	if err != nil {
		panic(err)
	}
	return d
}

func nf(v float64) transform.NullFloat  { return transform.NullFloat{Float64: v, Valid: true} }
func ns(v string) transform.NullString  { return transform.NullString{String: v, Valid: true} }
func ni(v int32) transform.NullInt32    { return transform.NullInt32{Int32: v, Valid: true} }
func nt(v time.Time) transform.NullTime { return transform.NullTime{Time: v, Valid: true} }
func mkDay(d string, total, success uint64, p50, p95 float64) Day {
	lo, hi := Wilson(success, total)
	return Day{Day: day(d), Total: total, Success: success, SuccessRate: float64(success) / float64(total),
		Low: lo, High: hi, DurationP50: nf(p50), DurationP95: nf(p95)}
}

// sample is hand-made: two scripts over three days, one failing run
// compared with the run before.
func sample() *Data {
	gen := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	return &Data{
		From: day("2026-03-01"), To: day("2026-03-03"), Timezone: "Europe/Berlin",
		GeneratedAt: gen, LastPassAt: gen.Add(-25 * time.Minute),
		Scripts: []Script{
			{
				ID: 1, Name: "healthy <b>script</b>",
				Days: []Day{mkDay("2026-03-01", 50, 50, 1.5, 2.25), mkDay("2026-03-03", 40, 40, 1.25, 2)},
			},
			{
				ID: 2, Name: "checkout",
				Days: []Day{mkDay("2026-03-01", 50, 48, 12.345, 20.5), mkDay("2026-03-02", 60, 30, 13, 21), mkDay("2026-03-03", 10, 0, 14, 22)},
				Steps: []StepSeries{
					{Index: 0, Name: ns("open page"), Days: []StepDay{{Day: day("2026-03-01"), Attempts: 50, Failures: 0}, {Day: day("2026-03-03"), Attempts: 10, Failures: 0}}},
					{Index: 3, Name: ns("pay & confirm"), Days: []StepDay{{Day: day("2026-03-02"), Attempts: 60, Failures: 30, FailureRate: 0.5}}},
				},
				FailingRuns: []FailingRun{{
					Run:      RunInfo{RunID: 902, Day: day("2026-03-03"), Status: "failed", Duration: nf(7.5), ErrorMessage: ns("run failed")},
					Previous: &RunInfo{RunID: 901, Day: day("2026-03-03"), Status: "success", Duration: nf(5)},
					Comparison: transform.CompareSteps(
						[]transform.Step{{Index: 0, Name: ns("open page"), Status: "success", Duration: nf(1)}, {Index: 3, Name: ns("pay & confirm"), Status: "success", Duration: nf(4)}},
						[]transform.Step{{Index: 0, Name: ns("open page"), Status: "success", Duration: nf(1.5)}, {Index: 3, Name: ns("pay & confirm"), Status: "failed", Duration: nf(6), Error: ns("card declined <x>")}},
						nf(5), nf(7.5)),
				}},
			},
		},
	}
}

func render(t *testing.T, d *Data) (string, *html.Node) {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, d); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return buf.String(), doc
}

// find returns the elements with the tag whose class list holds class ("" any).
func find(n *html.Node, tag, class string) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == tag && (class == "" || hasClass(n, class)) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func hasClass(n *html.Node, class string) bool {
	for _, a := range n.Attr {
		if a.Key == "class" {
			for _, c := range strings.Fields(a.Val) {
				if c == class {
					return true
				}
			}
		}
	}
	return false
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

// rows returns the body rows of a table as cell texts.
func rows(table *html.Node) [][]string {
	var out [][]string
	for _, tb := range find(table, "tbody", "") {
		for _, tr := range find(tb, "tr", "") {
			var cells []string
			for _, td := range find(tr, "td", "") {
				cells = append(cells, text(td))
			}
			out = append(out, cells)
		}
	}
	return out
}

func scriptSection(t *testing.T, doc *html.Node, id string) *html.Node {
	t.Helper()
	for _, d := range find(doc, "details", "script") {
		if attr(d, "id") == "s-"+id {
			return d
		}
	}
	t.Fatalf("no section for script %s", id)
	return nil
}

func TestRenderShowsTheInputs(t *testing.T) {
	out, doc := render(t, sample())

	// Header: period, freshness.
	for _, want := range []string{"2026-03-01 to 2026-03-03 (3 days, calendar days in Europe/Berlin)",
		"last pass 2026-03-04 11:35:00 UTC (25 min before this report)", "2026-03-04 12:00:00 UTC"} {
		if !strings.Contains(out, want) {
			t.Errorf("header lacks %q", want)
		}
	}
	// Overview: checkout (0 of 10 on the last day) before the healthy one.
	ov := find(doc, "table", "")[0]
	got := rows(ov)
	want := [][]string{
		{"1", "checkout", "daily success rate (scale 0–100%): lowest 0.00% on 2026-03-03, last 0.00% on 2026-03-03", "120", "65.00%", "65.00% of 120", "not assessed: detection views not installed"},
		{"2", "healthy <b>script</b>", "daily success rate (scale 90–100%): lowest 100.00% on 2026-03-01, last 100.00% on 2026-03-03", "90", "100.00%", "100.00% of 90", "not assessed: detection views not installed"},
	}
	if len(got) != len(want) {
		t.Fatalf("overview rows: %q", got)
	}
	for i := range want {
		if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("overview row %d: got %q want %q", i, got[i], want[i])
		}
	}
	if strings.Contains(out, "<b>script</b>") {
		t.Error("a script name was not escaped")
	}
	if n := len(find(ov, "svg", "spark")); n != 2 {
		t.Errorf("%d sparklines, want 2", n)
	}

	sec := scriptSection(t, doc, "2")
	if attr(sec, "open") == "" && !strings.Contains(out, `id="s-2" data-script="2" open`) {
		t.Error("the first-ranked script is not open")
	}
	// Success-rate table: the inputs, and the Wilson interval of 48/50 as
	// published (86.54 % – 98.90 %).
	st := rows(find(sec, "table", "success-table")[0])
	wantSt := [][]string{
		{"2026-03-01", "50", "48", "96.00%", "86.54%", "98.90%", ""},
		{"2026-03-02", "60", "30", "50.00%", "37.73%", "62.27%", ""},
		{"2026-03-03", "10", "0", "0.00%", "0.00%", "27.75%", ""},
	}
	for i := range wantSt {
		if i >= len(st) || strings.Join(st[i], "|") != strings.Join(wantSt[i], "|") {
			t.Errorf("success table row %d: got %q want %q", i, st, wantSt[i])
		}
	}
	dt := rows(find(sec, "table", "duration-table")[0])
	if strings.Join(dt[0], "|") != "2026-03-01|12.345 s|20.500 s|" {
		t.Errorf("duration table row 0: %q", dt[0])
	}
	// Both charts, with titles and axis titles with units.
	charts := find(sec, "svg", "chart")
	if len(charts) != 2 {
		t.Fatalf("%d charts, want 2", len(charts))
	}
	for _, c := range charts {
		if len(find(c, "title", "")) == 0 {
			t.Error("a chart has no title")
		}
	}
	for _, w := range []string{"Success rate (%)", "Duration (seconds)", "Day (Europe/Berlin)"} {
		if !strings.Contains(text(sec), w) {
			t.Errorf("axis title %q missing", w)
		}
	}
	// Detection sections say the views are missing.
	if n := len(find(sec, "p", "missing")); n != 3 {
		t.Errorf("%d 'not installed' notes, want 3", n)
	}
	// Heatmap data: the step_daily rows, placed on their days.
	var hm heatmapData
	if err := json.Unmarshal([]byte(text(find(sec, "script", "hm-data")[0])), &hm); err != nil {
		t.Fatal(err)
	}
	if hm.From != "2026-03-01" || hm.Days != 3 || hm.TZ != "Europe/Berlin" || len(hm.Steps) != 2 {
		t.Fatalf("heatmap data: %+v", hm)
	}
	if s := hm.Steps[0]; s.Index != 0 || s.Name != "open page" || !equal(s.A, []uint64{50, 0, 10}) || !equal(s.F, []uint64{0, 0, 0}) {
		t.Errorf("heatmap step 0: %+v", s)
	}
	if s := hm.Steps[1]; s.Index != 3 || s.Name != "pay & confirm" || !equal(s.A, []uint64{0, 60, 0}) || !equal(s.F, []uint64{0, 30, 0}) {
		t.Errorf("heatmap step 3: %+v", s)
	}
	// The failing run beside the run before it.
	run := find(sec, "div", "run")
	if len(run) != 1 || attr(run[0], "data-run") != "902" {
		t.Fatalf("failing runs: %d", len(run))
	}
	head := text(find(run[0], "p", "")[0])
	for _, w := range []string{"Run 902", "failed", "7.500 s", "previous run 901", "success", "Δ 2.500 s", "first divergent step 3"} {
		if !strings.Contains(head, w) {
			t.Errorf("run header %q lacks %q", head, w)
		}
	}
	cmp := rows(find(run[0], "table", "compare")[0])
	wantCmp := [][]string{
		{"0", "open page", "success", "success", "1.000 s", "1.500 s", "0.500 s"},
		{"3", "pay & confirm", "success", "failed ≠", "4.000 s", "6.000 s", "2.000 s"},
	}
	for i := range wantCmp {
		if i >= len(cmp) || strings.Join(cmp[i], "|") != strings.Join(wantCmp[i], "|") {
			t.Errorf("compare row %d: got %q want %q", i, cmp, wantCmp[i])
		}
	}
	if !strings.Contains(text(run[0]), "step 3: card declined <x>") {
		t.Error("the failing step's error is not shown")
	}
	// Self-contained: no URL to load anything from.
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?\s*(https?:|//)|url\(|@import`).FindString(out); m != "" {
		t.Errorf("the page references an outside resource: %q", m)
	}
}

func equal(a, b []uint64) bool { return jsonOf(a) == jsonOf(b) }

func TestRenderDetectionSections(t *testing.T) {
	d := sample()
	d.Detection = Detection{Drops: true, Changes: true, StepHealth: true}
	since := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	// The healthy script gets a broken step: it now ranks first.
	d.Scripts[0].Health = []StepHealth{{StepIndex: 2, StepName: ns("login"), State: "broken", Since: nt(since),
		Executions: 30, Failures: 4, FailureRate: 4.0 / 30, FailureRateLow: 0.05, FailureRateHigh: 0.3, FlipRate: 0.1,
		LastFailureAt: nt(since.Add(time.Hour)), LastError: ns("timeout")}}
	d.Scripts[1].Drops = []Drop{{Day: day("2026-03-02"), Total: 60, SuccessRate: 0.5, Low: 0.3773, High: 0.6227,
		BaselineRuns: 500, BaselineRate: 0.95, BaselineLow: 0.93, BaselineHigh: 0.97}}
	d.Scripts[1].Changes = []Change{{RunID: 777, Day: day("2026-03-02"), MedianBefore: 10, MedianAfter: 13.5, Ratio: 1.35,
		PValue: 0.0004, EffectSize: 0.8, Direction: "slower", TopStepIndex: ni(3), TopStepName: ns("pay & confirm"), TopStepDelta: nf(3.25)}}
	out, doc := render(t, d)

	ov := rows(find(doc, "table", "")[0])
	if ov[0][1] != "checkout" || !strings.Contains(ov[0][6], "1 success-rate drop day(s) in the last 7 days") ||
		!strings.Contains(ov[0][6], "slower ×1.35 since 2026-03-02") {
		t.Errorf("overview row 1: %q", ov[0])
	}
	if ov[1][1] != "healthy <b>script</b>" || ov[1][6] != "step 2 login: broken" {
		t.Errorf("overview row 2: %q", ov[1])
	}
	if strings.Contains(out, "detection views not installed") || strings.Contains(out, "views not installed:") {
		t.Error("a detection section says its view is missing")
	}
	sec := scriptSection(t, doc, "2")
	drops := rows(find(sec, "table", "drops")[0])
	if strings.Join(drops[0], "|") != "2026-03-02|60|50.00%|37.73% – 62.27%|95.00% (93.00% – 97.00%) of 500 runs" {
		t.Errorf("drops row: %q", drops[0])
	}
	if p := find(sec, "path", "drop"); len(p) != 1 || !strings.Contains(text(p[0]), "Drop on 2026-03-02") {
		t.Error("the drop day is not marked on the chart")
	}
	if st := rows(find(sec, "table", "success-table")[0]); st[1][6] != "drop" {
		t.Errorf("the table alternative does not mark the drop: %q", st[1])
	}
	ch := rows(find(sec, "table", "changes")[0])
	if strings.Join(ch[0], "|") != "2026-03-02|whole run|10.000 s → 13.500 s|×1.35|slower|0.0004|0.80|777|3 pay & confirm (3.250 s)" {
		t.Errorf("changes row: %q", ch[0])
	}
	if g := find(sec, "g", "change"); len(g) != 1 || !strings.Contains(text(g[0]), "×1.35") {
		t.Error("the change point is not marked on the duration chart")
	}
	if dt := rows(find(sec, "table", "duration-table")[0]); dt[1][3] != "slower ×1.35" {
		t.Errorf("the duration table does not mark the change: %q", dt[1])
	}
	h := rows(find(scriptSection(t, doc, "1"), "table", "health")[0])
	if strings.Join(h[0], "|") != "2 login|broken|2026-03-02 08:00:00 UTC|30|4|13.33% (5.00% – 30.00%)|0.10|2026-03-02 09:00:00 UTC|timeout" {
		t.Errorf("health row: %q", h[0])
	}
}

func TestRenderEmpty(t *testing.T) {
	d := sample()
	d.Scripts = nil
	d.LastPassAt = time.Time{}
	out, _ := render(t, d)
	if !strings.Contains(out, "No script has a counted run in this period.") || !strings.Contains(out, "unknown: the job has not completed a pass") {
		t.Error("an empty report does not say so")
	}
	d.StateUnreadable = true
	if out, _ := render(t, d); !strings.Contains(out, "unknown: the job&#39;s state (table job_state) cannot be read with this user") {
		t.Error("an unreadable state is not said")
	}
}

func TestChartGeometry(t *testing.T) {
	// The first day sits on the left edge of the plot (x = 72), the last on
	// the right (720 − 16); a rate of 1 at the top (y = 16), 0 at the
	// bottom (260 − 48).
	s := &Script{ID: 9, Days: []Day{
		{Day: day("2026-03-01"), Total: 1, Success: 1, SuccessRate: 1, Low: 1, High: 1},
		{Day: day("2026-03-03"), Total: 1, Success: 0, SuccessRate: 0, Low: 0, High: 0},
	}}
	svg := successChart(s, day("2026-03-01"), day("2026-03-03"), "UTC")
	if !strings.Contains(svg, `class="line"`) || !strings.Contains(svg, `d="M72.0 16.0M704.0 212.0"`) {
		t.Errorf("success line: %s", svg)
	}
	if got := jsonOf(niceTicks(23)); got != "[0,10,20,30]" {
		t.Errorf("niceTicks(23) = %v", got)
	}
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }
