package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/scriptstats/scriptstats/deploy/demodata"
	"github.com/scriptstats/scriptstats/deploy/teststack"
)

func TestErrorsHideThePassword(t *testing.T) {
	t.Setenv("SCRIPTSTATS_PG_DSN", "")
	for _, args := range [][]string{
		{"--pg-dsn", "postgres://u:s3cr3t-pw@127.0.0.1:notaport/db"},
		{"--pg-dsn", "postgres://u:s3cr3t-pw@127.0.0.1:1/db?connect_timeout=2"},
		{"--pg-dsn", "host=127.0.0.1 port=1 user=u password=s3cr3t-pw connect_timeout=2"},
		{"mutate", "--pg-dsn", "postgres://u:s3cr3t-pw@127.0.0.1:1/db?connect_timeout=2"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, &out, &errOut)
		if err == nil {
			t.Fatalf("%q: no error", args)
		}
		if all := err.Error() + out.String() + errOut.String(); strings.Contains(all, "s3cr3t-pw") {
			t.Errorf("%q: password in output: %s", args, all)
		}
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), nil, &out, &errOut); err == nil || !strings.Contains(err.Error(), "SCRIPTSTATS_PG_DSN") {
		t.Errorf("no DSN: %v", err)
	}
	if err := run(context.Background(), []string{"--end", "yesterday", "--pg-dsn", "postgres://x@127.0.0.1:1/db"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "--end") {
		t.Errorf("bad --end: %v", err)
	}
}

func TestGenerateAndMutateCLI(t *testing.T) {
	dsn := teststack.Postgres(t)
	t.Setenv("SCRIPTSTATS_PG_DSN", dsn)
	var out, errOut bytes.Buffer
	args := []string{"--scripts", "10", "--days", "3", "--runs", "2000", "--end", "2026-03-30T12:00:00Z", "--odd", "--json"}
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	var sum demodata.Summary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		t.Fatalf("summary JSON: %v\n%s", err, out.String())
	}
	if sum.Runs != 2000 || sum.Stories.Regression == nil || sum.Odd == nil {
		t.Errorf("summary: %+v", sum)
	}
	if !strings.Contains(errOut.String(), `"message":"generated"`) || !strings.Contains(errOut.String(), "rate_runs_per_s") {
		t.Errorf("no summary line in the log:\n%s", errOut.String())
	}
	// Not empty any more: refused without --reset, fine with it.
	if err := run(context.Background(), args, &out, &errOut); err == nil {
		t.Error("second generate without --reset: no error")
	}
	out.Reset()
	if err := run(context.Background(), append(args, "--reset"), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"mutate", "--pass-seed", "3", "--new-runs", "50", "--json"}, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	var ms demodata.MutateSummary
	if err := json.Unmarshal(out.Bytes(), &ms); err != nil {
		t.Fatalf("mutate JSON: %v\n%s", err, out.String())
	}
	if ms.NewRuns != 50 || ms.NewFirstID != 2001 || len(ms.Deleted) != 10 || len(ms.Moved) != 5 {
		t.Errorf("mutate summary: %+v", ms)
	}
	if strings.Contains(errOut.String(), "scriptstats-local") || strings.Contains(errOut.String(), dsn) {
		t.Error("the DSN appears in the log")
	}
}
