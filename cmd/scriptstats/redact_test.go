package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rs/zerolog"
)

// redactThrough writes s through a redactingWriter knowing secrets.
func redactThrough(s string, secrets ...string) string {
	var b bytes.Buffer
	r := &redactingWriter{w: &b}
	r.setSecrets(secrets)
	_, _ = r.Write([]byte(s))
	return b.String()
}

// TestRedactDSNs: each DSN form, with the expected output written by hand.
// Passwords of one character and passwords that are parts of other words
// must not mangle the rest of the line.
func TestRedactDSNs(t *testing.T) {
	cases := []struct {
		name, in, want string
		secrets        []string
	}{
		{"pg url, 1-char password", `dial postgres://scriptstats:p@db:5432/scriptstats?sslmode=disable`,
			`dial postgres://scriptstats:xxxxx@db:5432/scriptstats?sslmode=disable`, []string{"p"}},
		{"postgresql url, password in a word", `postgresql://job:stat@h/scriptstats failed`,
			`postgresql://job:xxxxx@h/scriptstats failed`, []string{"stat"}},
		{"pg url, escaped password", `postgres://job:p%40ss%2Fw@h/db`, `postgres://job:xxxxx@h/db`, nil},
		{"pg url, raw @ in password", `postgres://job:a@b@h:5432/db x`, `postgres://job:xxxxx@h:5432/db x`, nil},
		{"pg url, no password", `postgres://job@h/db`, `postgres://job@h/db`, nil},
		{"pg url, password query parameter", `postgres://job@h/db?sslmode=require&password=s&application_name=scriptstats`,
			`postgres://job@h/db?sslmode=require&password=xxxxx&application_name=scriptstats`, []string{"s"}},
		{"pg key=value", `host=h user=job password=t dbname=scriptstats sslmode=disable`,
			`host=h user=job password=xxxxx dbname=scriptstats sslmode=disable`, []string{"t"}},
		{"pg key=value, quoted with space and escape", `host=h password='a b\'c' dbname=d`,
			`host=h password=xxxxx dbname=d`, []string{`a b'c`}},
		{"pg key=value, spaces around =", `user=job password = pw port=5432`, `user=job password = xxxxx port=5432`, nil},
		{"pg key=value, sslpassword", `sslkey=k.pem sslpassword=kp host=h`, `sslkey=k.pem sslpassword=xxxxx host=h`, nil},
		{"pg key=value, upper case key", `PASSWORD=x host=h`, `PASSWORD=xxxxx host=h`, nil},
		{"clickhouse url user info", `clickhouse://loader:k@ch:9000/scriptstats`, `clickhouse://loader:xxxxx@ch:9000/scriptstats`, []string{"k"}},
		{"clickhouse url ?password=", `clickhouse://loader@ch:9000/scriptstats?password=k&dial_timeout=10s`,
			`clickhouse://loader@ch:9000/scriptstats?password=xxxxx&dial_timeout=10s`, []string{"k"}},
		{"clickhouse ?password= last, quoted", `"clickhouse://l@ch:9000/db?password=secret"`,
			`"clickhouse://l@ch:9000/db?password=xxxxx"`, nil},
		{"two DSNs in one line", `pg=postgres://a:b@h/d ch=clickhouse://c:e@h:9000/f`,
			`pg=postgres://a:xxxxx@h/d ch=clickhouse://c:xxxxx@h:9000/f`, []string{"b", "e"}},
		{"ordinary words untouched", `password authentication failed for user "job"`,
			`password authentication failed for user "job"`, []string{"a", "job1"}},
		{"long password verbatim, outside a DSN", `run id "correct-horse-battery" is not a number`,
			`run id "xxxxx" is not a number`, []string{"correct-horse-battery"}},
		{"long password, url-escaped", `got p%40ssw0rd%2Fx`, `got xxxxx`, []string{"p@ssw0rd/x"}},
		{"short password not replaced outside a DSN", `scriptstats: pass finished`, `scriptstats: pass finished`, []string{"p", "s", "a"}},
	}
	for _, c := range cases {
		got := redactThrough(c.in, c.secrets...)
		if got != c.want {
			t.Errorf("%s:\n in   %s\n got  %s\n want %s", c.name, c.in, got, c.want)
		}
	}
}

// TestRedactJSONLog: a DSN inside a JSON log line (quotes and backslashes
// escaped by the logger) loses its password.
func TestRedactJSONLog(t *testing.T) {
	var b bytes.Buffer
	r := &redactingWriter{w: &b}
	r.setSecrets([]string{`q"uote\back`, "z"})
	log := zerolog.New(r)
	log.Error().Str("dsn", `host=h password='q"uote\\back' user=z`).Str("ch", "clickhouse://u@h:9000/db?password=z").Msg("connect")
	out := b.String()
	for _, leak := range []string{`uote`, `back`, "password=z"} {
		if strings.Contains(out, leak) {
			t.Errorf("JSON log line leaks %q: %s", leak, out)
		}
	}
	if !strings.Contains(out, `user=z`) {
		t.Errorf("JSON log line lost text beside the password: %s", out)
	}
}

// TestRedactDriverErrors: errors that quote a DSN whole (as %q, as
// `…`, the way drivers and net/url write them) carry no password once
// through the redactor; so do the real errors of pgconn and clickhouse-go
// (which mask some forms themselves today: no reliance on that).
func TestRedactDriverErrors(t *testing.T) {
	dsns := []string{
		"postgres://job:P@127.0.0.1:notaport/db",
		"postgres://job@127.0.0.1:notaport/db?password=P",
		"host=127.0.0.1 port=x user=job password='P w' dbname=db",
		"host=127.0.0.1 port=1 password=P sslmode=bogus",
		"clickhouse://loader:P@127.0.0.1:badport/db",
		"clickhouse://loader@127.0.0.1:badport/db?password=P",
		"clickhouse://loader:P@127.0.0.1:9000/db?dial_timeout=forever",
	}
	leaks := func(out string) bool {
		return strings.Contains(out, ":P@") || strings.Contains(out, "=P") || strings.Contains(out, "'P w'")
	}
	for _, dsn := range dsns {
		var errs []error
		if strings.HasPrefix(dsn, "clickhouse") {
			_, err := clickhouse.ParseDSN(dsn)
			errs = append(errs, err)
		} else {
			_, err := pgconn.ParseConfig(dsn)
			errs = append(errs, err)
		}
		errs = append(errs, fmt.Errorf("cannot parse %q: invalid", dsn), fmt.Errorf("cannot parse `%s`: invalid", dsn))
		for _, err := range errs {
			if err == nil {
				t.Fatalf("%s parsed", dsn)
			}
			if out := redactThrough(err.Error(), "P", "P w"); leaks(out) {
				t.Errorf("error for %q leaks the password: %s", dsn, out)
			}
		}
	}
}

// TestDSNEchoedByTheCommand: DSNs the program itself echoes (an argument
// where none is expected) come out without their passwords, and a
// one-character password leaves every other word whole.
func TestDSNEchoedByTheCommand(t *testing.T) {
	pg := "postgres://job:p@127.0.0.1:1/scriptstats"
	ch := "clickhouse://loader@127.0.0.1:1/stats?password=s"
	for _, extra := range []string{pg, ch, "host=h password=p dbname=scriptstats"} {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"run", "--pg-dsn", pg, "--clickhouse-dsn", ch, extra}, &out, &errb)
		got := errb.String()
		if code != exitUsage || !strings.HasPrefix(got, "scriptstats: usage: run takes no arguments") {
			t.Fatalf("exit %d: %s", code, got)
		}
		if strings.Contains(got, ":p@") || strings.Contains(got, "password=s") || strings.Contains(got, "password=p") {
			t.Errorf("password echoed: %s", got)
		}
		if !strings.Contains(got, "scriptstats") || strings.Count(got, "xxxxx") != 1 {
			t.Errorf("want the line whole but for one xxxxx: %s", got)
		}
	}
}
