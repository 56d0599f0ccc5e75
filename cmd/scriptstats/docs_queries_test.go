package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// The BI documentation's queries: every SQL block of docs/metabase.md and
// every query of docs/grafana-dashboard.json runs against the views of a
// ClickHouse loaded through the real commands, with its variables set to
// real values, and returns rows.

const (
	metabaseDoc      = "../../docs/metabase.md"
	grafanaDashboard = "../../docs/grafana-dashboard.json"
)

// docValues are real values of the loaded data for the variables.
type docValues struct {
	scriptIDs  []int64 // [0] has the most step failures
	runA, runB int64   // two counted runs of scriptIDs[0] with steps
	runID      int64   // a run with a previous run and steps
	from, to   string  // YYYY-MM-DD, the loaded days
	fromT, toT time.Time
}

func loadDocValues(t *testing.T, ch driver.Conn) docValues {
	t.Helper()
	ctx := context.Background()
	var v docValues
	q := func(dest any, sql string, args ...any) {
		t.Helper()
		if err := ch.QueryRow(ctx, sql, args...).Scan(dest); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	rows, err := ch.Query(ctx, `SELECT script_id FROM step_daily GROUP BY script_id ORDER BY sum(failures) DESC, script_id LIMIT 2`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		v.scriptIDs = append(v.scriptIDs, id)
	}
	if len(v.scriptIDs) < 2 {
		t.Fatalf("the loaded data has %d scripts with steps; want 2", len(v.scriptIDs))
	}
	var ids []int64
	q(&ids, `SELECT groupArray(2)(run_id) FROM (
		SELECT r.run_id AS run_id FROM runs AS r
		WHERE r.script_id = ? AND r.status IN ('success', 'failed')
		  AND r.run_id IN (SELECT run_id FROM run_steps WHERE script_id = ?)
		ORDER BY r.run_id DESC)`, v.scriptIDs[0], v.scriptIDs[0])
	if len(ids) < 2 {
		t.Fatal("no two runs with steps to compare")
	}
	v.runA, v.runB = ids[1], ids[0]
	q(&v.runID, `SELECT run_id FROM run_vs_previous
		WHERE previous_run_id IS NOT NULL AND first_divergent_step IS NOT NULL
		ORDER BY run_id DESC LIMIT 1`)
	var lo, hi time.Time
	q(&lo, `SELECT toDateTime(min(day), 'UTC') FROM script_daily`)
	q(&hi, `SELECT toDateTime(max(day), 'UTC') FROM script_daily`)
	v.fromT, v.toT = lo.UTC(), hi.UTC()
	v.from, v.to = v.fromT.Format(time.DateOnly), v.toT.Format(time.DateOnly)
	return v
}

// runDocQuery runs sql and returns its row count, scanning every value.
func runDocQuery(ctx context.Context, ch driver.Conn, sql string) (int, error) {
	rows, err := ch.Query(ctx, sql)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	n := 0
	for rows.Next() {
		dest := make([]any, len(types))
		for i, ct := range types {
			dest[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// sqlBlock is a fenced ```sql block of a Markdown file.
type sqlBlock struct {
	line int
	name string // its first comment line
	sql  string
}

func markdownSQLBlocks(t *testing.T, path string) []sqlBlock {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []sqlBlock
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```sql" {
			continue
		}
		start := i + 1
		var b strings.Builder
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			b.WriteString(lines[i] + "\n")
		}
		if i == len(lines) {
			t.Fatalf("%s:%d: unterminated sql block", path, start)
		}
		sql := b.String()
		name := fmt.Sprintf("line %d", start)
		if first, _, _ := strings.Cut(strings.TrimSpace(sql), "\n"); strings.HasPrefix(first, "--") {
			name = strings.TrimSpace(strings.TrimPrefix(first, "--"))
		}
		out = append(out, sqlBlock{line: start, name: name, sql: sql})
	}
	return out
}

var (
	metabaseVar      = regexp.MustCompile(`\{\{\s*([a-z_]+)\s*\}\}`)
	metabaseOptional = regexp.MustCompile(`(?s)\[\[(.*?)\]\]`)
)

// metabaseSubstitute fills {{var}}s; keepOptional keeps the [[ ... ]]
// clauses (their variables set), or drops them (unset). dateTime sends the
// Date variables as date-times, as some drivers do.
func metabaseSubstitute(t *testing.T, sql string, v docValues, keepOptional, dateTime bool) string {
	t.Helper()
	values := map[string]string{
		"script_id": fmt.Sprint(v.scriptIDs[0]),
		"run_a":     fmt.Sprint(v.runA),
		"run_b":     fmt.Sprint(v.runB),
		"run_id":    fmt.Sprint(v.runID),
		"from":      "'" + v.from + "'",
		"to":        "'" + v.to + "'",
	}
	if dateTime {
		values["from"] = "'" + v.from + " 00:00:00'"
		values["to"] = "'" + v.to + " 00:00:00'"
	}
	sql = metabaseOptional.ReplaceAllStringFunc(sql, func(m string) string {
		if keepOptional {
			return metabaseOptional.FindStringSubmatch(m)[1]
		}
		return ""
	})
	sql = metabaseVar.ReplaceAllStringFunc(sql, func(m string) string {
		name := metabaseVar.FindStringSubmatch(m)[1]
		val, ok := values[name]
		if !ok {
			t.Fatalf("unknown Metabase variable {{%s}}", name)
		}
		return val
	})
	if strings.Contains(sql, "{{") || strings.Contains(sql, "[[") || strings.Contains(sql, "]]") {
		t.Fatalf("unsubstituted Metabase syntax left in:\n%s", sql)
	}
	return sql
}

// TestDocsQueries runs every SQL block of docs/metabase.md and every query
// of the Grafana dashboard against a loaded ClickHouse.
func TestDocsQueries(t *testing.T) {
	pgDSN, chDSN, _ := loadedStack(t)
	mustCLI(t, "run", "--pg-dsn", pgDSN, "--clickhouse-dsn", chDSN, "--log-format", "json")
	ch := openClickHouse(t, chDSN)
	v := loadDocValues(t, ch)
	ctx := context.Background()

	t.Run("metabase", func(t *testing.T) {
		blocks := markdownSQLBlocks(t, metabaseDoc)
		ran := 0
		for _, b := range blocks {
			head := strings.ToUpper(strings.TrimSpace(b.sql))
			if strings.HasPrefix(head, "CREATE") || strings.HasPrefix(head, "GRANT") {
				continue // administration (users, grants), not a question
			}
			ran++
			variants := []struct {
				name               string
				keepOptional, date bool
			}{{"optional clauses set", true, false}, {"optional clauses empty", false, false}, {"dates as date-times", true, true}}
			for _, va := range variants {
				if va.date && !strings.Contains(b.sql, "{{from}}") && !strings.Contains(b.sql, "{{to}}") {
					continue
				}
				if !va.keepOptional && !strings.Contains(b.sql, "[[") {
					continue
				}
				sql := metabaseSubstitute(t, b.sql, v, va.keepOptional, va.date)
				n, err := runDocQuery(ctx, ch, sql)
				if err != nil {
					t.Errorf("metabase.md:%d %q (%s): %v\n%s", b.line, b.name, va.name, err, sql)
					continue
				}
				if n == 0 {
					t.Errorf("metabase.md:%d %q (%s): no rows\n%s", b.line, b.name, va.name, sql)
				}
			}
		}
		if ran < 10 {
			t.Errorf("metabase.md: %d questions run; the four analyses need more", ran)
		}
		doc, _ := os.ReadFile(metabaseDoc)
		for _, want := range []string{"{{run_a}}", "{{run_b}}", "run_vs_previous", "{{run_id}}", "script_daily", "step_daily", "duration_p95", "success_rate"} {
			if !strings.Contains(string(doc), want) {
				t.Errorf("metabase.md does not use %s", want)
			}
		}
	})

	t.Run("examples", func(t *testing.T) {
		// The questions make demo prints (sql/examples).
		files, err := filepath.Glob("../../sql/examples/*.sql")
		if err != nil || len(files) < 3 {
			t.Fatalf("sql/examples: %v %v", files, err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			n, err := runDocQuery(ctx, ch, string(b))
			// duration_changes compares two 30-day windows: the test's short
			// history has no rows for it, but the query must run; nor need it
			// have detected regressions or unhealthy steps.
			mayBeEmpty := strings.HasSuffix(f, "duration_changes.sql") || strings.HasSuffix(f, "detected_regressions.sql") ||
				strings.HasSuffix(f, "unhealthy_steps.sql")
			if err != nil || (n == 0 && !mayBeEmpty) {
				t.Errorf("%s: %d rows, %v", f, n, err)
			}
		}
	})

	t.Run("grafana", func(t *testing.T) {
		queries := grafanaQueries(t)
		for _, q := range queries {
			for _, all := range []bool{false, true} {
				sql := grafanaSubstitute(t, q.sql, v, all)
				n, err := runDocQuery(ctx, ch, sql)
				if err != nil {
					t.Errorf("grafana %s (all scripts: %v): %v\n%s", q.name, all, err, sql)
					continue
				}
				if n == 0 {
					t.Errorf("grafana %s (all scripts: %v): no rows\n%s", q.name, all, sql)
				}
			}
		}
	})
}

type grafanaQuery struct{ name, sql string }

// grafanaQueries checks the dashboard's structure and returns its queries:
// every panel target's rawSql and the query variables.
func grafanaQueries(t *testing.T) []grafanaQuery {
	t.Helper()
	data, err := os.ReadFile(grafanaDashboard)
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		RefID      string `json:"refId"`
		RawSQL     string `json:"rawSql"`
		EditorType string `json:"editorType"`
		Format     *int   `json:"format"`
		Datasource struct {
			Type string `json:"type"`
		} `json:"datasource"`
	}
	var dash struct {
		Title      string `json:"title"`
		UID        string `json:"uid"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Type       string `json:"type"`
				Query      any    `json:"query"`
				Multi      bool   `json:"multi"`
				IncludeAll bool   `json:"includeAll"`
				Datasource *struct {
					Type string `json:"type"`
				} `json:"datasource"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID      int      `json:"id"`
			Type    string   `json:"type"`
			Title   string   `json:"title"`
			Targets []target `json:"targets"`
			Options struct {
				Calculate *bool `json:"calculate"`
			} `json:"options"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	if dash.Title == "" || dash.UID == "" {
		t.Error("dashboard needs a title and a uid")
	}
	var out []grafanaQuery
	hasScriptVar := false
	for _, tv := range dash.Templating.List {
		if tv.Name != "script_id" {
			continue
		}
		hasScriptVar = true
		sql, _ := tv.Query.(string)
		if tv.Type != "query" || sql == "" || tv.Datasource == nil || tv.Datasource.Type != "grafana-clickhouse-datasource" {
			t.Errorf("$script_id: want a ClickHouse query variable, got %+v", tv)
		}
		out = append(out, grafanaQuery{"variable $script_id", sql})
	}
	if !hasScriptVar {
		t.Error("the dashboard has no $script_id variable")
	}
	kinds := map[string]int{}
	for _, p := range dash.Panels {
		kinds[p.Type]++
		if p.Type == "heatmap" && (p.Options.Calculate == nil || *p.Options.Calculate) {
			t.Errorf("heatmap %q: the data are already per step and day; options.calculate must be false", p.Title)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.Datasource.Type != "grafana-clickhouse-datasource" || tg.EditorType != "sql" || tg.Format == nil {
				t.Errorf("panel %q target %s: want a ClickHouse SQL target with a format", p.Title, tg.RefID)
			}
			if !strings.Contains(tg.RawSQL, "$script_id") && !strings.Contains(tg.RawSQL, "${script_id") {
				t.Errorf("panel %q does not filter on $script_id", p.Title)
			}
			out = append(out, grafanaQuery{fmt.Sprintf("panel %d %q", p.ID, p.Title), tg.RawSQL})
		}
	}
	if kinds["heatmap"] == 0 || kinds["timeseries"] < 2 {
		t.Errorf("want a heatmap panel and time series panels, got %v", kinds)
	}
	return out
}

var (
	grafanaConditionalAll = regexp.MustCompile(`\$__conditionalAll\(`)
	grafanaDateFilter     = regexp.MustCompile(`\$__dateFilter\(([^)]+)\)`)
	grafanaTimeFilter     = regexp.MustCompile(`\$__timeFilter\(([^)]+)\)`)
	grafanaLeftover       = regexp.MustCompile(`\$[_a-zA-Z{]`)
)

// grafanaSubstitute expands the variables and macros the dashboard uses, as
// Grafana and the ClickHouse data source do (simply). all: $script_id is
// "All", which makes $__conditionalAll(cond, $script_id) 1=1.
func grafanaSubstitute(t *testing.T, sql string, v docValues, all bool) string {
	t.Helper()
	// $__conditionalAll(condition, $var): the condition, or 1=1 for All.
	for {
		loc := grafanaConditionalAll.FindStringIndex(sql)
		if loc == nil {
			break
		}
		depth, comma, end := 1, -1, -1
		for i := loc[1]; i < len(sql) && end < 0; i++ {
			switch sql[i] {
			case '(':
				depth++
			case ')':
				depth--
				if depth == 0 {
					end = i
				}
			case ',':
				if depth == 1 {
					comma = i
				}
			}
		}
		if comma < 0 || end < 0 {
			t.Fatalf("malformed $__conditionalAll in:\n%s", sql)
		}
		cond := sql[loc[1]:comma]
		if all {
			cond = "1=1"
		}
		sql = sql[:loc[0]] + cond + sql[end+1:]
	}
	ids := make([]string, len(v.scriptIDs))
	for i, id := range v.scriptIDs {
		ids[i] = fmt.Sprint(id)
	}
	from := v.fromT
	to := v.toT.Add(24*time.Hour - time.Second)
	sql = strings.NewReplacer(
		"${script_id:csv}", strings.Join(ids, ","),
		"${script_id}", ids[0],
		"$script_id", ids[0],
		"$__fromTime", fmt.Sprintf("toDateTime(%d)", from.Unix()),
		"$__toTime", fmt.Sprintf("toDateTime(%d)", to.Unix()),
	).Replace(sql)
	sql = grafanaDateFilter.ReplaceAllString(sql, fmt.Sprintf("$1 >= toDate('%s') AND $1 <= toDate('%s')", from.Format(time.DateOnly), to.Format(time.DateOnly)))
	sql = grafanaTimeFilter.ReplaceAllString(sql, fmt.Sprintf("$1 >= toDateTime(%d) AND $1 <= toDateTime(%d)", from.Unix(), to.Unix()))
	if m := grafanaLeftover.FindString(sql); m != "" {
		t.Fatalf("unsupported Grafana variable or macro %q in:\n%s", m, sql)
	}
	return sql
}
