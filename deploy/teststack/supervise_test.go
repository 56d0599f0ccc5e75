package teststack_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scriptstats/scriptstats/deploy/teststack"
)

// TestChserverRestartSupervises: `chserver --restart` (the local stack's
// way of running the engine) starts the engine again when it dies on its
// own — as it does when a client dies mid-query — on the same data, and
// SIGTERM to the supervisor stops both.
func TestChserverRestartSupervises(t *testing.T) {
	t.Parallel()
	root, err := teststack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, ".local", "bin", "chserver")
	lib := filepath.Join(root, ".local", "chdb", "node_modules", "@chdb", "lib-linux-x64-gnu", "libchdb.so")
	for _, f := range []string{bin, lib} {
		if _, err := os.Stat(f); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s missing: run deploy/local/stack.sh up", f)
			}
			t.Skipf("%s missing: run deploy/local/stack.sh up", f)
		}
	}
	dir := t.TempDir()
	tcp, httpPort := teststack.FreePort(t), teststack.FreePort(t)
	out := filepath.Join(dir, "out")
	outFile, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer outFile.Close()
	sup := exec.Command(bin, "--restart", "--lib="+lib, "--path="+filepath.Join(dir, "data"),
		"--tcp-port="+strconv.Itoa(tcp), "--http-port="+strconv.Itoa(httpPort),
		"--config-file="+filepath.Join(root, "deploy", "local", "clickhouse-config.xml"),
		"--pid-file="+filepath.Join(dir, "pid"))
	sup.Stdout, sup.Stderr = outFile, outFile
	sup.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := sup.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = sup.Wait(); close(exited) }()
	t.Cleanup(func() { _ = syscall.Kill(-sup.Process.Pid, syscall.SIGKILL) })
	waitReady := func(n int) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for {
			b, _ := os.ReadFile(out)
			if bytes.Count(b, []byte("clickhouse ready on")) >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("not ready %d time(s) after 90 s: %s", n, b)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	query := func(q string) string {
		t.Helper()
		resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/", httpPort), "text/plain", strings.NewReader(q))
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s %s", q, resp.Status, b)
		}
		return strings.TrimSpace(string(b))
	}
	waitReady(1)
	query("CREATE TABLE kept (v UInt8) ENGINE = MergeTree ORDER BY v")
	query("INSERT INTO kept VALUES (42)")
	engine := childOf(t, sup.Process.Pid)
	if err := syscall.Kill(engine, syscall.SIGABRT); err != nil { // the engine's own abort
		t.Fatal(err)
	}
	waitReady(2)
	if got := query("SELECT v FROM kept"); got != "42" {
		t.Fatalf("after the restart: %q, want 42 (the same data directory)", got)
	}
	if again := childOf(t, sup.Process.Pid); again == engine {
		t.Fatalf("the engine pid %d did not change", engine)
	}
	last := childOf(t, sup.Process.Pid)
	if err := sup.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		t.Fatal("the supervisor did not stop on SIGTERM")
	}
	if err := syscall.Kill(last, 0); err == nil {
		t.Fatalf("the engine %d outlived its supervisor", last)
	}
}

// childOf returns the one child process of pid (from /proc).
func childOf(t *testing.T, pid int) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			return c
		}
	}
	t.Fatalf("no child of %d", pid)
	return 0
}
