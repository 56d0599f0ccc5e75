package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestReportUsage(t *testing.T) {
	dsn := "clickhouse://u:not-used-pw@127.0.0.1:1/nodb" // never dialled: the usage is checked first
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "--clickhouse-dsn", dsn}, "--out FILE is required"},
		{[]string{"report", "--clickhouse-dsn", dsn, "--out", "x.html", "--from", "2026-03-02", "--to", "2026-03-01"}, "--to 2026-03-01 is before --from 2026-03-02"},
		{[]string{"report", "--clickhouse-dsn", dsn, "--out", "x.html", "--from", "March"}, `--from "March": want a date like 2026-01-31`},
		{[]string{"report", "--clickhouse-dsn", dsn, "--out", "x.html", "extra"}, `report takes no arguments, got "extra"`},
	} {
		code, _, stderr := cli(t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and %q", c.args, code, stderr, c.want)
		}
	}
}

// TestScheduleServesReport: schedule serves the report of the last 90 days
// at /report, one section per script with runs in them (counted here from
// script_daily).
func TestScheduleServesReport(t *testing.T) {
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
	deadline := time.Now().Add(90 * time.Second)
	for {
		f := scrape(t, base+"/metrics")
		if _, ok := f.value("scriptstats_last_success_timestamp_seconds", "pass", "incremental"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no successful pass within 90s; log:\n%s", stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	resp, err := http.Get(base + "/report")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/report: %d %s\n%.500s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	ch := openClickHouse(t, chDSN)
	var scripts uint64
	today := time.Now().UTC()
	from := today.AddDate(0, 0, -89).Format(time.DateOnly)
	if err := ch.QueryRow(context.Background(), `SELECT uniqExact(script_id) FROM script_daily WHERE day BETWEEN ? AND ?`,
		from, today.Format(time.DateOnly)).Scan(&scripts); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(body), `<details class="script"`); scripts == 0 || uint64(got) != scripts {
		t.Errorf("/report has %d script sections, script_daily has %d scripts in the last 90 days", got, scripts)
	}
	if !strings.Contains(string(body), "Period</dt><dd id=\"period\">"+from+" to ") {
		t.Errorf("/report is not of the last 90 days (from %s)", from)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("schedule did not stop within 60s of cancellation")
	}
}
