package main

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scriptstats/scriptstats/deploy/teststack"
)

// cli runs the scriptstats command in-process and returns its exit status
// and output.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := cli(t, args...)
	if code != 0 {
		t.Fatalf("scriptstats %s: exit %d\nstdout: %s\nstderr: %s", args[0], code, out, errs)
	}
	return out
}

func openClickHouse(t *testing.T, dsn string) driver.Conn {
	t.Helper()
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func fp(p *float64) string {
	if p == nil {
		return "NULL"
	}
	return fmt.Sprint(*p)
}

func sp(p *string) string {
	if p == nil {
		return "NULL"
	}
	if len(*p) > 80 {
		return fmt.Sprintf("%q…(%d bytes)", (*p)[:80], len(*p))
	}
	return fmt.Sprintf("%q", *p)
}

// freshDatabases gives a new source database (with a pool on it, closed at
// the end of the test) after running the given statements in it, and the
// DSN of a new, not yet created, ClickHouse database.
func freshDatabases(t *testing.T, statements ...string) (pgDSN, chDSN string, pool *pgxpool.Pool) {
	t.Helper()
	pgDSN = teststack.Postgres(t)
	chDSN = teststack.ClickHouse(t)
	pool, err := pgxpool.New(context.Background(), pgDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	for _, q := range statements {
		if _, err := pool.Exec(context.Background(), q); err != nil {
			t.Fatalf("%.80s: %v", q, err)
		}
	}
	return pgDSN, chDSN, pool
}
