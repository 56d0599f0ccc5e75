package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scriptstats/scriptstats/deploy/teststack"
)

// TestMain lets the test binary serve as the profiling subprocess too (the
// harness re-executes itself with profile-run).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == profileRunCommand {
		if err := profileRunMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench profile-run:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestBenchSmoke runs the whole harness on a small history (10k runs, one
// repetition) against the local stack: every measurement, the answers of
// the dashboard questions on both sides, the profile and the outputs.
func TestBenchSmoke(t *testing.T) {
	pg := teststack.PostgresAdminDSN(t)
	ch := teststack.ClickHouseAdminDSN(t)
	dir := t.TempDir()
	doc := filepath.Join(dir, "performance.md")
	if err := os.WriteFile(doc, []byte("# Perf\n\n"+regionBegin+"\nold\n"+regionEnd+"\n\nafter\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Runs, cfg.BigRuns, cfg.Reps, cfg.QueryReps, cfg.NewRuns = 10_000, 20_000, 1, 2, 100
	cfg.PGDSN, cfg.CHDSN = pg, ch
	cfg.Prefix = teststack.DatabaseName(t)
	cfg.KeepData, cfg.KeepClickHouse, cfg.Regenerate = false, false, true
	cfg.BigDashboards = false
	cfg.BigDays = 180 // exercises the second naming of databases
	cfg.QuietWait = 0
	cfg.ProfileDir = filepath.Join(dir, "profile")
	cfg.Out, cfg.MD, cfg.Doc = filepath.Join(dir, "r.json"), filepath.Join(dir, "r.md"), doc
	cfg.Log = testWriter{t}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(res.Sizes) != 2 {
		t.Fatalf("%d sizes, want 2", len(res.Sizes))
	}
	if l := res.Sizes[1].Label; l != "20k/180d" {
		t.Errorf("label %q, want 20k/180d", l)
	}
	for _, s := range res.Sizes {
		if s.Raw.Median <= 0 || s.Full.Median <= 0 || s.Incremental.Median <= 0 || s.FullRSS.Median <= 0 {
			t.Errorf("%s: missing figures: %+v", s.Label, s)
		}
		if len(s.LogicalIncremental.Samples) != cfg.Reps || s.LogicalIncrementalRows.Min < float64(cfg.NewRuns) {
			t.Errorf("%s: logical incremental passes: %+v, rows %+v", s.Label, s.LogicalIncremental, s.LogicalIncrementalRows)
		}
		if s.Backfill.Median <= 0 || s.BackfillRate.Median <= 0 {
			t.Errorf("%s: no backfill figures: %+v", s.Label, s.Backfill)
		}
		for _, how := range rawBaselines {
			if b := s.RawBy[string(how)]; b == nil || b.Median <= 0 || b.Median < s.Raw.Median {
				t.Errorf("%s: raw baseline %s: %+v (fastest %v)", s.Label, how, b, s.Raw.Median)
			}
		}
		if s.FullPass.RowsExtracted != int64(s.Runs) || s.FullPass.GroupsRecomputed == 0 {
			t.Errorf("%s: full pass %+v", s.Label, s.FullPass)
		}
		// More when a transaction elsewhere in the cluster made the pass
		// read from the beginning (other tests run at the same time).
		if s.IncrementalPass.RunsLoaded < int64(cfg.NewRuns) {
			t.Errorf("%s: incremental pass loaded %d runs, want >= %d", s.Label, s.IncrementalPass.RunsLoaded, cfg.NewRuns)
		}
	}
	qs := res.Sizes[0].Dashboards
	if len(qs) != len(questions) {
		t.Fatalf("%d dashboard questions answered, want %d", len(qs), len(questions))
	}
	for i, q := range qs {
		if !q.Match {
			t.Errorf("%s: ClickHouse and PostgreSQL disagree: %s", q.Name, q.MatchNote)
		}
		if questions[i].clickHouseOnly() {
			// The detection views: asked, timed, never of PostgreSQL (a
			// small history may have no change point: no row count).
			if len(q.ClickHouseMS.Samples) != cfg.QueryReps || len(q.PostgresMS.Samples) != 0 {
				t.Errorf("%s: samples %v / %v", q.Name, q.ClickHouseMS.Samples, q.PostgresMS.Samples)
			}
			continue
		}
		if q.RowsClickHouse == 0 || len(q.ClickHouseMS.Samples) != cfg.QueryReps || len(q.PostgresMS.Samples) != cfg.QueryReps {
			t.Errorf("%s: %d rows, samples %v / %v", q.Name, q.RowsClickHouse, q.ClickHouseMS.Samples, q.PostgresMS.Samples)
		}
	}
	if len(res.Sizes[1].Dashboards) != 0 {
		t.Errorf("dashboards asked at the big size with BigDashboards off")
	}
	if p := res.Profile; p == nil || p.Runtime.RowsExtracted != int64(cfg.Runs) || len(p.Listings) == 0 {
		t.Errorf("profile: %+v", p)
	} else if !strings.Contains(p.Listings[0].Text, "flat%") {
		t.Errorf("profile listing: %q", p.Listings[0].Text)
	}
	if len(res.Goals) == 0 {
		t.Error("no goals evaluated")
	}

	var back Results
	b, err := os.ReadFile(cfg.Out)
	if err != nil || json.Unmarshal(b, &back) != nil || len(back.Sizes) != 2 {
		t.Errorf("JSON results: %v", err)
	}
	md, err := os.ReadFile(cfg.MD)
	if err != nil || !strings.Contains(string(md), "#### Goals") {
		t.Errorf("Markdown results: %v\n%s", err, md)
	}
	d, _ := os.ReadFile(doc)
	if s := string(d); strings.Contains(s, "\nold\n") || !strings.Contains(s, "#### Loads") || !strings.HasSuffix(s, regionEnd+"\n\nafter\n") {
		t.Errorf("doc region not replaced:\n%s", s)
	}
}

func TestSeries(t *testing.T) {
	var s Series
	for _, v := range []float64{5, 1, 3, 2} {
		s.add(v)
	}
	if s.Median != 2.5 || s.Min != 1 || s.Max != 5 {
		t.Errorf("%+v", s)
	}
	s.add(4)
	if s.Median != 3 {
		t.Errorf("median %v, want 3", s.Median)
	}
	if r := s.per(10); r.Median != 10.0/3 || r.Max != 10 {
		t.Errorf("per: %+v", r)
	}
}

func TestSizeLabel(t *testing.T) {
	for n, want := range map[int]string{10_000: "10k", 1_000_000: "1M", 4_000_000: "4M", 1_500_000: "1.5M", 12_345: "12345"} {
		if got := sizeLabel(n); got != want {
			t.Errorf("sizeLabel(%d) = %q, want %q", n, got, want)
		}
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
