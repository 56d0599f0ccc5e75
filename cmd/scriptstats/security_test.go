package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/scriptstats/scriptstats/deploy/teststack"
)

// The local users of deploy/local/clickhouse-users.xml.
const (
	loaderUser      = "scriptstats_loader"
	loaderPassword  = "scriptstats-loader-local"
	analystUser     = "scriptstats_analyst"
	analystPassword = "scriptstats-analyst-local"
)

// publicViews are the views analysts read (CONTRACT.md section 3).
var publicViews = []string{"script_daily", "step_daily", "runs", "run_steps", "run_vs_previous", "success_rate_drops", "duration_changes", "step_health"}

func chCode(err error) int32 {
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		return ex.Code
	}
	return 0
}

// TestClickHouseUsers runs every command as the loader user of the local
// users file (what the job needs is enough), then checks that the analyst
// reads the five views and nothing else, and cannot write.
func TestClickHouseUsers(t *testing.T) {
	t.Parallel()
	chs := teststack.PrivateClickHouse(t) // its users: deploy/local/clickhouse-users.xml
	e := newJobEnv(t, teststack.Postgres(t), chs.DSN(loaderUser, loaderPassword, "scriptstats"))
	e.generate(smallHistory(111, 600))
	e.migrate()
	e.must("run")
	from, to := e.dayRange()
	e.must("backfill", "--from", from, "--to", to)
	e.must("verify", "--from", from, "--to", to)
	var a, b int64
	if err := e.ch.QueryRow(context.Background(), "SELECT min(run_id), max(run_id) FROM runs").Scan(&a, &b); err != nil {
		t.Fatal(err)
	}
	e.must("compare", strconv.FormatInt(a, 10), strconv.FormatInt(b, 10))
	e.must("migrate") // again, as on every deployment
	ctx := context.Background()

	// The loader has nothing outside its database.
	loader := openClickHouse(t, chs.DSN(loaderUser, loaderPassword, "default"))
	for _, q := range []string{"CREATE DATABASE other_db", "SELECT count() FROM system.users", "CREATE TABLE default.x (a UInt8) ENGINE = Log"} {
		if err := loader.Exec(ctx, q); chCode(err) != 497 {
			t.Errorf("loader: %s: %v, want ACCESS_DENIED (497)", q, err)
		}
	}

	analyst := openClickHouse(t, chs.DSN(analystUser, analystPassword, "scriptstats"))
	for _, v := range publicViews {
		var n uint64
		if err := analyst.QueryRow(ctx, "SELECT count() FROM "+v).Scan(&n); err != nil {
			t.Errorf("analyst cannot read the view %s: %v\n"+
				"(the views must be created WITH SQL SECURITY DEFINER so that their readers need no grant on the"+
				" private tables: in sql/clickhouse/migrations/0002_views.sql write each"+
				" `CREATE OR REPLACE VIEW <name> SQL SECURITY DEFINER AS`)", v, err)
		} else if n == 0 && !detectionView(v) { // detection rows need a drop, a shift, recent runs
			t.Errorf("analyst reads no row in %s", v)
		}
	}
	for _, q := range []string{
		"SELECT count() FROM runs_state",
		"SELECT count() FROM groups_state",
		"SELECT count() FROM groups_for_views",
		"SELECT count() FROM job_state",
		"SELECT count() FROM script_names",
	} {
		var n uint64
		if err := analyst.QueryRow(ctx, q).Scan(&n); chCode(err) != 497 {
			t.Errorf("analyst: %s: %v, want ACCESS_DENIED (497)", q, err)
		}
	}
	for _, q := range []string{
		"INSERT INTO runs_state (run_id) VALUES (1)",
		"INSERT INTO script_daily (script_id) VALUES (1)",
		"TRUNCATE TABLE runs_state",
		"CREATE TABLE x (a UInt8) ENGINE = Memory",
		"DROP VIEW script_daily",
	} {
		if err := analyst.Exec(ctx, q); chCode(err) != 497 && chCode(err) != 164 {
			t.Errorf("analyst: %s: %v, want ACCESS_DENIED (497) or READONLY (164)", q, err)
		}
	}
	// Read-only, but a BI tool may bound its query time.
	var one uint8
	sctx := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"max_execution_time": 30}))
	if err := analyst.QueryRow(sctx, "SELECT 1 FROM script_daily LIMIT 1").Scan(&one); err != nil {
		t.Errorf("analyst with max_execution_time: %v", err)
	}
	sctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"max_memory_usage": 1 << 40}))
	if err := analyst.QueryRow(sctx, "SELECT 1 FROM script_daily LIMIT 1").Scan(&one); chCode(err) != 164 {
		t.Errorf("analyst raising max_memory_usage: %v, want READONLY (164)", err)
	}
	rows, err := analyst.Query(ctx, "SHOW TABLES")
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, n)
	}
	rows.Close()
	sort.Strings(seen)
	want := slices.Clone(publicViews)
	sort.Strings(want)
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("the analyst sees the tables %v, want only %v", seen, want)
	}
}

// TestClickHouseUsersMatchProduction: deploy/clickhouse/users.sql parses,
// gives its users the privileges the local users file gives the users of
// the same names, and the analyst the same settings profile.
func TestClickHouseUsersMatchProduction(t *testing.T) {
	t.Parallel()
	root, err := teststack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	sqlText, err := os.ReadFile(filepath.Join(root, "deploy", "clickhouse", "users.sql"))
	if err != nil {
		t.Fatal(err)
	}
	var stmts []string
	var cur []string
	for _, line := range strings.Split(string(sqlText), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") || strings.TrimSpace(line) == "" {
			continue
		}
		cur = append(cur, strings.TrimSpace(line))
		if strings.HasSuffix(line, ";") {
			stmts = append(stmts, strings.TrimSuffix(strings.Join(cur, " "), ";"))
			cur = nil
		}
	}
	if len(cur) > 0 {
		t.Fatalf("users.sql ends inside a statement: %q", cur)
	}

	// Every statement parses (EXPLAIN AST: the local server cannot create
	// users, but it parses their statements).
	admin := openClickHouse(t, teststack.ClickHouseAdminDSN(t))
	for _, s := range stmts {
		rows, err := admin.Query(context.Background(), "EXPLAIN AST "+s)
		if err != nil {
			t.Errorf("users.sql: %s: %v", s, err)
			continue
		}
		rows.Close()
	}

	// Privileges per user: production grants to roles, given to users.
	grantRe := regexp.MustCompile(`^GRANT (.+) ON (\S+) TO (\S+)$`)
	roleOf := map[string]string{} // role -> user
	prod := map[string][]string{}
	for _, s := range stmts {
		if m := regexp.MustCompile(`^GRANT (\w+) TO (\w+)$`).FindStringSubmatch(s); m != nil {
			roleOf[m[1]] = m[2]
		}
	}
	for _, s := range stmts {
		m := grantRe.FindStringSubmatch(s)
		if m == nil {
			continue
		}
		user := m[3]
		if u, ok := roleOf[user]; ok {
			user = u
		}
		for _, p := range strings.Split(m[1], ",") {
			prod[user] = append(prod[user], strings.TrimSpace(p)+" ON "+m[2])
		}
	}
	var doc struct {
		Users struct {
			List []struct {
				XMLName xml.Name
				Profile string   `xml:"profile"`
				Grants  []string `xml:"grants>query"`
			} `xml:",any"`
		} `xml:"users"`
	}
	b, err := os.ReadFile(filepath.Join(root, "deploy", "local", "clickhouse-users.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	local := map[string][]string{}
	for _, u := range doc.Users.List {
		for _, g := range u.Grants {
			m := regexp.MustCompile(`^GRANT (.+) ON (\S+)$`).FindStringSubmatch(strings.TrimSpace(g))
			if m == nil {
				t.Fatalf("clickhouse-users.xml: %s: grant %q not understood", u.XMLName.Local, g)
			}
			for _, p := range strings.Split(m[1], ",") {
				local[u.XMLName.Local] = append(local[u.XMLName.Local], strings.TrimSpace(p)+" ON "+m[2])
			}
		}
	}
	for _, user := range []string{loaderUser, analystUser} {
		p, l := slices.Sorted(slices.Values(prod[user])), slices.Sorted(slices.Values(local[user]))
		if len(p) == 0 || fmt.Sprint(p) != fmt.Sprint(l) {
			t.Errorf("%s:\nusers.sql             %q\nclickhouse-users.xml  %q", user, p, l)
		}
	}
	// The analyst's settings profile: the same settings and constraints.
	checkBIProfilesMatch(t, admin, stmts)
}

// TestTLSVerifyFull connects to a private PostgreSQL that accepts only TLS,
// with sslmode=verify-full against a test CA: the job works; a name the
// certificate does not hold, another CA, or no TLS are refused.
func TestTLSVerifyFull(t *testing.T) {
	t.Parallel()
	ca := teststack.NewCA(t)
	pg := teststack.PrivatePostgres(t, teststack.PostgresOptions{TLS: ca, ListenAlso: []string{"127.0.0.2"}})
	dsn := pg.CreateDatabase(t, "source", "")
	e := newJobEnv(t, dsn, teststack.ClickHouse(t))
	e.generate(smallHistory(121, 500))
	e.migrate()

	p := e.start([]string{"SCRIPTSTATS_FAILPOINTS=after_lock=sleep:2s"}, "run")
	relWaitFor(t, "the pass to hold the lock", 20*time.Second, func() bool { return e.lockHeld() || p.exited() })
	var sessions, encrypted int
	err := e.pool.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE s.ssl)
		FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.application_name = 'scriptstats'`).Scan(&sessions, &encrypted)
	if err != nil {
		t.Fatal(err)
	}
	if sessions == 0 || encrypted != sessions {
		t.Fatalf("the job's sessions: %d, encrypted %d", sessions, encrypted)
	}
	if r := p.wait(); r.code != 0 {
		t.Fatalf("pass over verify-full TLS: %s", r)
	}
	e.checkAll("over verify-full TLS")
	before := e.snapshotCH()

	u, _ := url.Parse(dsn)
	refused := func(what string, change func(u *url.URL), want ...string) {
		t.Helper()
		v := *u
		v.RawQuery = u.RawQuery
		change(&v)
		bad := *e
		bad.pgDSN = v.String()
		line := assertOneLineFailure(t, bad.cli(nil, "run"), 1, append([]string{"postgres connect"}, want...)...)
		t.Logf("%s: %q", what, line)
	}
	refused("a name the certificate does not hold", func(u *url.URL) { u.Host = "127.0.0.2:" + u.Port() },
		"certificate is valid for", "not 127.0.0.2")
	other := teststack.NewCA(t)
	refused("a certificate from another CA", func(u *url.URL) {
		q := u.Query()
		q.Set("sslrootcert", other.CertFile())
		u.RawQuery = q.Encode()
	}, "certificate signed by unknown authority")
	refused("no TLS", func(u *url.URL) {
		q := u.Query()
		q.Set("sslmode", "disable")
		u.RawQuery = q.Encode()
	}, "no encryption")
	e.assertCHUnchanged("after refused connections", before)
}

// secretForms are the ways a password may be written in a DSN or a
// message: as is, and escaped for a URL's user info, path and query.
func secretForms(pw string) []string {
	u := url.URL{User: url.UserPassword("u", pw)}
	userinfo := strings.TrimSuffix(strings.TrimPrefix(u.String(), "//u:"), "@")
	forms := []string{pw, url.QueryEscape(pw), url.PathEscape(pw), userinfo}
	slices.Sort(forms)
	return slices.Compact(forms)
}

// TestPasswordsNeverPrinted runs every command, passing and failing, with
// distinctive passwords in both DSNs (given as flags and as environment
// variables), and checks all of its output — logs, errors, --help, a
// goroutine dump like a panic's — for them.
func TestPasswordsNeverPrinted(t *testing.T) {
	t.Parallel()
	chs := teststack.PrivateClickHouse(t)
	admin := newJobEnv(t, teststack.Postgres(t), chs.DSN(loaderUser, loaderPassword, "scriptstats"))
	admin.generate(smallHistory(131, 400))
	pgDSN, _, pgPassword := selectOnlyRole(t, admin) // password with @ / % in it
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	wrong := "Wr0ng-" + hex.EncodeToString(rnd[:]) + "-p@ss/w%rd"
	secrets := map[string][]string{}
	for _, pw := range []string{pgPassword, loaderPassword, wrong} {
		secrets[pw] = secretForms(pw)
	}
	e := newJobEnv(t, pgDSN, admin.chDSN)
	e.gen = admin.gen
	var outputs []binResult
	check := func(r binResult) binResult {
		t.Helper()
		outputs = append(outputs, r)

		for pw, forms := range secrets {
			for _, f := range forms {
				if strings.Contains(r.stdout, f) || strings.Contains(r.stderr, f) {
					t.Errorf("password %q (as %q) printed by: %s", pw, f, r)
				}
			}
		}
		return r
	}
	ok := func(r binResult) {
		t.Helper()
		if check(r).code != 0 {
			t.Errorf("want exit 0: %s", r)
		}
	}
	fails := func(code int, r binResult) {
		t.Helper()
		if check(r).code != code {
			t.Errorf("want exit %d: %s", code, r)
		}
	}
	// as flags
	e.migrate()
	ok(e.cli(nil, "migrate"))
	ok(e.cli(nil, "run"))
	from, to := e.dayRange()
	ok(e.cli(nil, "backfill", "--from", from, "--to", to))
	ok(e.cli(nil, "verify", "--from", from, "--to", to))
	ok(e.cli(nil, "compare", "1", "2"))
	ok(e.cli(nil, "compare", "1", "2", "--json"))
	ok(e.cli(nil, "report", "--out", filepath.Join(t.TempDir(), "report.html")))
	// as environment variables, the way the Kubernetes CronJob passes them
	env := []string{"SCRIPTSTATS_PG_DSN=" + e.pgDSN, "SCRIPTSTATS_CLICKHOUSE_DSN=" + e.chDSN}
	ok(runBin(t, env, "run", "--log-format", "json"))
	ok(runBin(t, env, "verify", "--from", from, "--to", to, "--log-format", "console"))
	ok(runBin(t, env, "version"))
	ok(runBin(t, env, "report", "--out", filepath.Join(t.TempDir(), "report.html"), "--log-format", "console"))
	for _, cmd := range []string{"migrate", "run", "backfill", "schedule", "verify", "compare", "report"} {
		ok(runBin(t, env, cmd, "--help"))
		ok(runBin(t, nil, cmd, "--help", "--pg-dsn", e.pgDSN, "--clickhouse-dsn", e.chDSN))
	}
	ok(runBin(t, env, "--help"))
	// schedule: a pass, then SIGTERM
	sp := startBin(t, env, "schedule", "--incremental-schedule", "@every 1s", "--log-format", "json")
	if !sp.waitStderr("pass finished", 30*time.Second) {
		t.Errorf("schedule ran no pass: %s", sp.stderrNow())
	}
	sp.signal(syscall.SIGTERM)
	check(sp.wait())

	// failing runs
	withPG := func(dsn string) *jobEnv { b := *e; b.pgDSN = dsn; return &b }
	withCH := func(dsn string) *jobEnv { b := *e; b.chDSN = dsn; return &b }
	pu, _ := url.Parse(e.pgDSN)
	badPW := *pu
	badPW.User = url.UserPassword(pu.User.Username(), wrong)
	fails(1, withPG(badPW.String()).cli(nil, "run"))
	noPG := *pu
	noPG.Host = "127.0.0.1:" + strconv.Itoa(teststack.FreePort(t))
	fails(1, withPG(noPG.String()).cli(nil, "run"))
	kv := fmt.Sprintf("host=127.0.0.1 port=%s user=%s password='%s' dbname=%s sslmode=disable",
		pu.Port(), pu.User.Username(), wrong, strings.TrimPrefix(pu.Path, "/"))
	fails(1, withPG(kv).cli(nil, "run"))
	fails(2, withPG(strings.Replace(e.pgDSN, pu.Host, "127.0.0.1:notaport", 1)).cli(nil, "run"))
	fails(2, withPG("host=127.0.0.1 port=x password='"+pgPassword+"'").cli(nil, "verify", "--from", from, "--to", to))
	// Failed authentications abort the chDB engine of the local stack (the
	// second one does): a private server here, started afresh after each.
	for _, cmd := range []string{"run", "migrate", "verify"} {
		more := []string{}
		if cmd == "verify" {
			more = []string{"--from", from, "--to", to}
		}
		fails(1, withCH(chs.DSN(loaderUser, wrong, "scriptstats")).cli(nil, cmd, more...))
		chs.Restart()
	}
	fails(1, withCH(strings.Replace(chs.DSN(loaderUser, loaderPassword, "scriptstats"), strconv.Itoa(chs.TCPPort), strconv.Itoa(teststack.FreePort(t)), 1)).cli(nil, "run"))
	fails(2, withCH("clickhouse://"+loaderUser+":"+url.PathEscape(wrong)+"@127.0.0.1:badport/scriptstats").cli(nil, "run"))
	fails(2, withCH("clickhouse://"+loaderUser+":"+url.PathEscape(wrong)+"@127.0.0.1:9000/default").cli(nil, "run"))
	// Text the program echoes back: a DSN given as an argument or as the
	// command, a password given as a run id (compare knows only the
	// ClickHouse DSN). Only the redactor keeps these passwords out of the
	// output.
	fails(2, e.cli(nil, "run", e.pgDSN))
	fails(2, e.cli(nil, "run", e.chDSN))
	fails(2, e.cli(nil, "compare", "1", loaderPassword))
	fails(2, runBin(t, env, e.pgDSN))
	fails(2, runBin(t, env, e.chDSN, "run"))
	fails(2, e.cli(nil, "run", "--batch-size", "0"))
	fails(2, e.cli(nil, "backfill", "--from", "yesterday", "--to", to))
	fails(2, runBin(t, env, "run", "unexpected-argument", "--log-format", "json"))
	fails(2, runBin(t, append(env, "SCRIPTSTATS_BATCH_SIZE=lots"), "run"))
	fails(1, e.cli([]string{"SCRIPTSTATS_FAILPOINTS=after_extract=error"}, "run"))
	fails(1, e.cli(nil, "compare", "1", "999999999"))
	admin.exec(`DELETE FROM task_log WHERE id IN (SELECT id FROM task_log ORDER BY id LIMIT 3)`)
	fails(1, e.cli(nil, "verify", "--from", from, "--to", to))
	// A goroutine dump, what a panic prints: SIGQUIT in the middle of a pass.
	qp := e.start([]string{"SCRIPTSTATS_FAILPOINTS=after_lock=sleep:10s", "GOTRACEBACK=all"}, "run")
	relWaitFor(t, "the pass to hold the lock", 20*time.Second, func() bool { return admin.lockHeld() || qp.exited() })
	qp.signal(syscall.SIGQUIT)
	qr := check(qp.wait())
	if !strings.Contains(qr.stderr, "goroutine ") {
		t.Errorf("SIGQUIT printed no goroutine dump: %s", qr)
	}
	total := 0
	for _, r := range outputs {
		total += len(r.stdout) + len(r.stderr)
	}
	t.Logf("%d runs checked, %d bytes of output, no password in any", len(outputs), total)
}

// detectionView says whether a view may be empty on ordinary data: a drop
// needs a bad day, a change point a long shifted series, step health runs
// of the last 14 days.
func detectionView(v string) bool {
	return v == "success_rate_drops" || v == "duration_changes" || v == "step_health"
}
