package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/scriptstats/scriptstats/extract"
	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/schedules"
	"github.com/scriptstats/scriptstats/transform"
)

// profileRunCommand is the hidden subcommand that runs one profiled full
// load in a process of its own (so that nothing of the benchmark itself is
// in the profiles): `bench profile-run -cpu F -heap F -heap-peak F -stats F`.
const profileRunCommand = "profile-run"

// The job's settings, as cmd/scriptstats defaults them (config.go): the
// profiled pass is built the way (*app).job builds it.
const (
	jobBatchSize = 20000
	jobLookback  = 10 * time.Minute
)

// RuntimeStats are the Go runtime's figures of the profiled pass.
type RuntimeStats struct {
	Seconds        float64 `json:"seconds"`
	PeakHeapBytes  uint64  `json:"peak_heap_live_bytes"` // sampled every 100 ms
	PeakGoMemBytes uint64  `json:"peak_go_mapped_bytes"` // memory mapped by the Go runtime, sampled
	TotalAlloc     uint64  `json:"total_alloc_bytes"`
	Mallocs        uint64  `json:"mallocs"`
	NumGC          uint32  `json:"gc_cycles"`
	GCPauseTotalMS float64 `json:"gc_pause_total_ms"`
	GCCPUFraction  float64 `json:"gc_cpu_fraction"`
	RowsExtracted  int64   `json:"rows_extracted"`
	// LoadSeconds is the time to the last batch of runs written (extract,
	// normalize, insert); the rest of the pass recomputes the groups from
	// the stored runs and writes them.
	LoadSeconds      float64 `json:"load_phase_seconds"`
	RecomputeSeconds float64 `json:"recompute_phase_seconds"`
}

func profileRunMain(args []string) error {
	fs := flag.NewFlagSet(profileRunCommand, flag.ContinueOnError)
	cpuFile := fs.String("cpu", "", "CPU profile file")
	heapFile := fs.String("heap", "", "heap profile at the end of the pass")
	peakFile := fs.String("heap-peak", "", "heap profile at the largest live heap seen")
	statsFile := fs.String("stats", "", "runtime statistics (JSON)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pgDSN, chDSN := os.Getenv("SCRIPTSTATS_PG_DSN"), os.Getenv("SCRIPTSTATS_CLICKHOUSE_DSN")
	if pgDSN == "" || chDSN == "" || *cpuFile == "" {
		return errors.New("need SCRIPTSTATS_PG_DSN, SCRIPTSTATS_CLICKHOUSE_DSN and -cpu")
	}
	ctx := context.Background()
	if _, err := load.Migrate(ctx, chDSN); err != nil {
		return err
	}
	src, err := extract.Open(ctx, pgDSN, 0)
	if err != nil {
		return err
	}
	defer src.Close()
	sink, err := load.Open(ctx, chDSN)
	if err != nil {
		return err
	}
	defer sink.Close()
	j := &schedules.Job{
		Source: schedules.FromExtract(src), Sink: sink, Zone: time.UTC, ZoneName: "UTC",
		Limits: transform.DefaultLimits, Lookback: jobLookback, BatchSize: jobBatchSize,
		Log: zerolog.Nop(), Now: time.Now,
	}
	var lastBatch time.Time
	j.Progress = func(done, total int64) { lastBatch = time.Now() }

	// Sample the live heap; keep the heap profile taken at its peak.
	var (
		mu        sync.Mutex
		peak      uint64
		peakGo    uint64
		peakProf  bytes.Buffer
		stop      = make(chan struct{})
		sampled   = make(chan struct{})
		samples   = []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/total:bytes"}}
		lastDumpd uint64
	)
	go func() {
		defer close(sampled)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			metrics.Read(samples)
			live, mapped := samples[0].Value.Uint64(), samples[1].Value.Uint64()
			mu.Lock()
			peakGo = max(peakGo, mapped)
			if live > peak {
				peak = live
				// A new profile only when the peak grew by 5%: writing one costs.
				if *peakFile != "" && live > lastDumpd+lastDumpd/20 {
					lastDumpd = live
					peakProf.Reset()
					_ = pprof.Lookup("heap").WriteTo(&peakProf, 0)
				}
			}
			mu.Unlock()
		}
	}()

	f, err := os.Create(*cpuFile)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	began := time.Now()
	sum, runErr := j.Run(ctx, schedules.RunOptions{})
	secs := time.Since(began).Seconds()
	pprof.StopCPUProfile()
	close(stop)
	<-sampled
	if err := f.Close(); err != nil {
		return err
	}
	if runErr != nil {
		return runErr
	}
	if *heapFile != "" {
		hf, err := os.Create(*heapFile)
		if err != nil {
			return err
		}
		if err := pprof.Lookup("heap").WriteTo(hf, 0); err != nil {
			return err
		}
		if err := hf.Close(); err != nil {
			return err
		}
	}
	if *peakFile != "" && peakProf.Len() > 0 {
		if err := os.WriteFile(*peakFile, peakProf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st := RuntimeStats{
		Seconds: secs, PeakHeapBytes: peak, PeakGoMemBytes: peakGo,
		TotalAlloc: ms.TotalAlloc, Mallocs: ms.Mallocs, NumGC: ms.NumGC,
		GCPauseTotalMS: float64(ms.PauseTotalNs) / 1e6, GCCPUFraction: ms.GCCPUFraction,
		RowsExtracted: sum.RowsExtracted,
	}
	if sum.LoadDuration > 0 {
		st.LoadSeconds = (sum.SetupDuration + sum.LoadDuration).Seconds()
		st.RecomputeSeconds = sum.RecomputeDuration.Seconds()
	} else if !lastBatch.IsZero() {
		st.LoadSeconds = lastBatch.Sub(began).Seconds()
		st.RecomputeSeconds = secs - st.LoadSeconds
	}
	if *statsFile != "" {
		b, _ := json.MarshalIndent(st, "", "  ")
		return os.WriteFile(*statsFile, b, 0o644)
	}
	return nil
}

// profile runs one profiled full load of the source in a fresh ClickHouse
// database and lists the top functions.
func (h *harness) profile(ctx context.Context, pgDSN string, n int) (*ProfileResult, error) {
	dir := h.cfg.ProfileDir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	db := h.cfg.Prefix + "_profile"
	h.addCHDB(db)
	if err := h.ch.Exec(ctx, "DROP DATABASE IF EXISTS "+quoteCH(db)+" SYNC"); err != nil {
		return nil, err
	}
	chDSN, err := withURLPath(h.cfg.CHDSN, db)
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	files := map[string]string{
		"cpu": filepath.Join(dir, "cpu.pprof"), "heap": filepath.Join(dir, "heap.pprof"),
		"heap_peak": filepath.Join(dir, "heap_peak.pprof"), "stats": filepath.Join(dir, "runtime.json"),
	}
	for _, f := range files {
		_ = os.Remove(f)
	}
	h.logf("%s: profiling one full load (CPU, heap) into %s", sizeLabel(n), dir)
	cmd := exec.CommandContext(ctx, self, profileRunCommand, "-cpu", files["cpu"], "-heap", files["heap"],
		"-heap-peak", files["heap_peak"], "-stats", files["stats"])
	cmd.Env = jobEnv(pgDSN, chDSN, h.cfg.JobEnv)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	began := time.Now()
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w: %s", err, lastLines(stderr.String(), 3))
	}
	p := &ProfileResult{Runs: n, WallSeconds: time.Since(began).Seconds(), Dir: dir, Files: files}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		p.MaxRSSKiB = ru.Maxrss
	}
	if b, err := os.ReadFile(files["stats"]); err == nil {
		_ = json.Unmarshal(b, &p.Runtime)
	}
	listings := []struct {
		name, file string
		args       []string
	}{
		{"cpu_flat", files["cpu"], []string{"-top"}},
		{"cpu_cum", files["cpu"], []string{"-top", "-cum", hideRoots}},
		{"alloc_space_flat", files["heap"], []string{"-top", "-sample_index=alloc_space"}},
		{"alloc_space_cum", files["heap"], []string{"-top", "-cum", "-sample_index=alloc_space", hideRoots}},
		{"inuse_space_at_peak", files["heap_peak"], []string{"-top", "-sample_index=inuse_space"}},
	}
	for _, l := range listings {
		if _, err := os.Stat(l.file); err != nil {
			continue
		}
		args := append([]string{"tool", "pprof", "-nodecount=15"}, l.args...)
		out, err := goCommand(ctx, h.root, append(args, l.file)...)
		if err != nil {
			p.Listings = append(p.Listings, Listing{Name: l.name, Text: "unavailable: " + err.Error()})
			continue
		}
		text := trimPprof(out)
		_ = os.WriteFile(filepath.Join(dir, l.name+".txt"), []byte(text), 0o644)
		p.Listings = append(p.Listings, Listing{Name: l.name, Text: text})
	}
	h.logf("%s: profiled full load %.1fs, peak RSS %d MiB, peak live heap %d MiB, %d GCs",
		sizeLabel(n), p.Runtime.Seconds, p.MaxRSSKiB>>10, p.Runtime.PeakHeapBytes>>20, p.Runtime.NumGC)
	return p, nil
}

// hideRoots leaves the frames every sample has out of the cumulative
// listings (they would fill the top 15).
const hideRoots = `-hide=^(runtime\.main|main\.main|main\.profileRunMain|runtime\.goexit|runtime\.systemstack)$`

// trimPprof keeps pprof's -top listing from its summary lines on.
func trimPprof(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "Duration:") || strings.HasPrefix(l, "Showing nodes") {
			return strings.Join(lines[i:], "\n")
		}
	}
	return strings.Join(lines, "\n")
}
