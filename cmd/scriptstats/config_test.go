package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// validDSNs parse but are never dialled by these tests.
var validDSNs = []string{"--pg-dsn", "postgres://job@127.0.0.1:1/src", "--clickhouse-dsn", "clickhouse://loader@127.0.0.1:1/stats"}

// usageLine runs the command in-process and wants exit 2 with one line
// containing each of want.
func usageLine(t *testing.T, args []string, want ...string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
	if code != exitUsage || len(lines) != 1 {
		t.Fatalf("%q: exit %d, stderr %q; want exit 2 and one line", args, code, errb.String())
	}
	for _, w := range want {
		if !strings.Contains(lines[0], w) {
			t.Errorf("%q: %q does not say %q", args, lines[0], w)
		}
	}
}

// validates parses args for cmd as the command would and validates them.
func validates(t *testing.T, cmd string, args ...string) error {
	t.Helper()
	var c Config
	f := newFlagSet(cmd)
	c.connectionFlags(f, true)
	c.passFlags(f)
	if err := f.Parse(append(append([]string{}, validDSNs...), args...)); err != nil {
		t.Fatal(err)
	}
	return c.validate(f, true, true)
}

// TestErrorBytesBounds: 0 used to store every error as the cut marker
// alone; values below 64 or above 16 MiB are refused with one line, exit 2.
func TestErrorBytesBounds(t *testing.T) {
	for _, v := range []string{"0", "-1", "63", "16777217"} {
		for _, cmd := range []string{"run", "backfill", "verify"} {
			args := append([]string{cmd}, validDSNs...)
			args = append(args, "--error-bytes", v, "--from", "2026-01-01", "--to", "2026-01-02")
			if cmd == "run" {
				args = args[:len(args)-4]
			}
			usageLine(t, args, "--error-bytes "+v, "between 64 and 16777216")
		}
		t.Setenv("SCRIPTSTATS_ERROR_BYTES", v)
		usageLine(t, append([]string{"run"}, validDSNs...), "--error-bytes "+v)
		t.Setenv("SCRIPTSTATS_ERROR_BYTES", "4096")
	}
	for _, v := range []string{"64", "4096", "16777216"} {
		if err := validates(t, "run", "--error-bytes", v); err != nil {
			t.Errorf("--error-bytes %s refused: %v", v, err)
		}
	}
}
