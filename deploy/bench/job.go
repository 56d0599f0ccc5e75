package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// PassSummary is the job's "pass finished" log line.
type PassSummary struct {
	Mode             string           `json:"mode"`
	RowsExtracted    int64            `json:"rows_extracted"`
	RunsLoaded       int64            `json:"runs_loaded"`
	GroupsRecomputed int64            `json:"groups_recomputed"`
	SetupMS          float64          `json:"setup_duration"`
	LoadMS           float64          `json:"load_duration"`
	RecomputeMS      float64          `json:"recompute_duration"`
	RelinkMS         float64          `json:"relink_duration"`
	DurationMS       float64          `json:"duration"`
	Detection        DetectionSummary `json:"detection"`
}

// DetectionSummary is the pass log's detection object
// (schedules.DetectSummary).
type DetectionSummary struct {
	Scripts    int64   `json:"scripts"`
	Changes    int64   `json:"change_points_written"`
	RunsRead   int64   `json:"runs_read"`
	Values     int64   `json:"values"`
	Rereads    int64   `json:"rereads"`
	Quiet      int64   `json:"quiet_series"`
	NotQuiet   int64   `json:"not_quiet"`
	Steps      int64   `json:"steps_classified"`
	DurationMS float64 `json:"duration"`
	ChangesMS  float64 `json:"changes_duration"`
	HealthMS   float64 `json:"health_duration"`
}

// WithoutDetectionMS is the pass's duration less its detection (change
// points and step health, recomputed at the end of every pass): the
// figure of the load path itself. In a first load and a backfill the
// relink runs beside the recompute and detection (schedules, complete), so
// there this is less than a pass without detection would take; an
// incremental pass runs them in turn.
func (p PassSummary) WithoutDetectionMS() float64 { return p.DurationMS - p.Detection.DurationMS }

// jobRun is one finished scriptstats subprocess.
type jobRun struct {
	Wall      float64 // seconds, fork to exit
	MaxRSSKiB int64
	Pass      PassSummary
	CPU       CPUUse
}

// goCommand runs the go tool (GO or go on PATH, then /usr/local/go/bin/go).
func goCommand(ctx context.Context, dir string, args ...string) (string, error) {
	bin := os.Getenv("GO")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("go"); err != nil {
			bin = "/usr/local/go/bin/go"
		}
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, oneLine(stderr.String()))
	}
	return out.String(), nil
}

// buildJob builds cmd/scriptstats into dir.
func buildJob(ctx context.Context, root, dir string) (string, error) {
	out := filepath.Join(dir, "scriptstats")
	if _, err := goCommand(ctx, root, "build", "-o", out, "./cmd/scriptstats"); err != nil {
		return "", err
	}
	return out, nil
}

// jobEnv is this process's environment without any SCRIPTSTATS_ setting
// (the job runs with its defaults and -job-flags only), plus the DSNs.
func jobEnv(pgDSN, chDSN string, extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SCRIPTSTATS_") {
			env = append(env, kv)
		}
	}
	env = append(env, extra...)
	return append(env, "SCRIPTSTATS_PG_DSN="+pgDSN, "SCRIPTSTATS_CLICKHOUSE_DSN="+chDSN, "SCRIPTSTATS_LOG_FORMAT=json")
}

// runJob runs `scriptstats ARGS...` and measures it. The DSNs go through
// the environment, not the command line.
func (h *harness) runJob(ctx context.Context, pgDSN, chDSN string, args ...string) (jobRun, error) {
	cmd := exec.CommandContext(ctx, h.job, args...)
	cmd.Env = jobEnv(pgDSN, chDSN, h.cfg.JobEnv)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cpu0 := h.cpu.snap()
	began := time.Now()
	err := cmd.Run()
	r := jobRun{Wall: time.Since(began).Seconds()}
	if err != nil {
		return r, fmt.Errorf("scriptstats %s: %w: %s", args[0], err, lastLines(stderr.String(), 3))
	}
	var client float64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.MaxRSSKiB = ru.Maxrss // KiB on Linux
		client = rusageCPU(ru)
	}
	r.CPU = h.cpu.since(cpu0, client)
	if args[0] == "run" || args[0] == "backfill" {
		p, ok := passLine(stderr.Bytes())
		if !ok {
			return r, fmt.Errorf("scriptstats %s: no \"pass finished\" line: %s", args[0], lastLines(stderr.String(), 3))
		}
		r.Pass = p
	}
	return r, nil
}

func passLine(log []byte) (PassSummary, bool) {
	var found PassSummary
	ok := false
	sc := bufio.NewScanner(bytes.NewReader(log))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte(`"pass finished"`)) {
			continue
		}
		var p PassSummary
		if json.Unmarshal(line, &p) == nil {
			found, ok = p, true
		}
	}
	return found, ok
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return oneLine(strings.Join(lines, " | "))
}
