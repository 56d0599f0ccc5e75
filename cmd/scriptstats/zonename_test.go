package main

import (
	"archive/zip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scriptstats/scriptstats/deploy/teststack"
	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// TestEquivalentZoneNames: data loaded with --timezone UTC is served by
// passes given Etc/UTC or Zulu (the same zone by another name); a zone
// with other offsets is still refused. The state keeps the first name.
func TestEquivalentZoneNames(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t, teststack.Postgres(t), teststack.ClickHouse(t))
	e.exec(sqlfiles.PostgresReferenceSchema)
	e.exec(`INSERT INTO scripts (id, name) VALUES (1, 'z');
INSERT INTO task_log (id, script_id, status, started_at, finished_at, duration, created_at)
VALUES (1, 1, 'success', '2026-11-10 23:30Z', '2026-11-10 23:31Z', 60, '2026-11-10 23:30Z')`)
	e.migrate()
	e.must("run")
	for _, tz := range []string{"Etc/UTC", "Zulu", "Etc/GMT"} {
		e.must("run", "--timezone", tz)
		e.must("backfill", "--timezone", tz, "--from", "2026-11-10", "--to", "2026-11-11")
		e.must("verify", "--timezone", tz, "--from", "2026-11-10", "--to", "2026-11-11")
	}
	if st := e.jobState(); !strings.Contains(st, `"timezone":"UTC"`) {
		t.Errorf("state after passes under other names of UTC: %s", st)
	}
	assertOneLineFailure(t, e.cli(nil, "run", "--timezone", "Europe/London"), 1, "time zone differs", "--timezone UTC")
	assertOneLineFailure(t, e.cli(nil, "verify", "--timezone", "Europe/London", "--from", "2026-11-10", "--to", "2026-11-10"), 1, "time zone differs")
}

// fakeZoneinfo writes a zoneinfo zip (the form $ZONEINFO takes) in which
// name holds the rules of another zone, as a binary with outdated or
// wrong zone data would have them.
func fakeZoneinfo(t *testing.T, name, rulesOf string) string {
	t.Helper()
	env, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	goroot := strings.TrimSpace(string(env))
	zr, err := zip.OpenReader(filepath.Join(goroot, "lib", "time", "zoneinfo.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var data []byte
	for _, f := range zr.File {
		if f.Name == rulesOf {
			r, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			data, err = io.ReadAll(r)
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if data == nil {
		t.Fatalf("%s not in zoneinfo.zip", rulesOf)
	}
	path := filepath.Join(t.TempDir(), "zoneinfo.zip")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(out)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store}) // Go reads stored entries only
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestZoneDataComparedWithPostgres: a pass compares its zone rules with
// PostgreSQL's and warns when they differ (here: "Europe/Berlin" with
// Tokyo's rules), naming the first instant; with the real rules it says
// nothing.
func TestZoneDataComparedWithPostgres(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t, teststack.Postgres(t), teststack.ClickHouse(t))
	e.tz = "Europe/Berlin"
	e.exec(sqlfiles.PostgresReferenceSchema)
	e.migrate()
	r := e.must("run")
	if w := logLines(r.stderr, zoneWarning); len(w) != 0 {
		t.Fatalf("Europe/Berlin: the job's rules and PostgreSQL's differ? %v", w)
	}
	r = e.cli([]string{"ZONEINFO=" + fakeZoneinfo(t, "Europe/Berlin", "Asia/Tokyo")}, "run")
	if r.code != 0 {
		t.Fatalf("a pass with other zone data must still run: %s", r)
	}
	w := logLines(r.stderr, zoneWarning)
	if len(w) != 1 || w[0]["level"] != "warn" || w[0]["instants"].(float64) < 100 ||
		!strings.Contains(w[0]["first"].(string), "1970-01-01T12:00:00Z the job's rules give 1970-01-01T21:00:00, PostgreSQL's 1970-01-01T13:00:00") {
		t.Fatalf("Berlin with Tokyo's rules: want one warning from 1970-01-01 on, got %v\n%s", w, r)
	}
}

const zoneWarning = "time zone data differ from PostgreSQL's: runs near these instants fall on other days than AT TIME ZONE on the source gives; update the image or PostgreSQL's tzdata"
