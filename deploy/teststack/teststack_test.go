package teststack_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/jackc/pgx/v5"

	"github.com/scriptstats/scriptstats/deploy/teststack"
)

func TestDatabaseName(t *testing.T) {
	a, b := teststack.DatabaseName(t), teststack.DatabaseName(t)
	if a == b {
		t.Fatalf("names not unique: %s", a)
	}
	if !strings.HasPrefix(a, "t_testdatabasename_") {
		t.Fatalf("unexpected name %q", a)
	}
	t.Run(strings.Repeat("Very Long/Sub-test name ", 10), func(t *testing.T) {
		n := teststack.DatabaseName(t)
		if len(n) > 63 {
			t.Fatalf("name %q has %d > 63 characters", n, len(n))
		}
		for _, r := range n {
			if !(r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')) {
				t.Fatalf("name %q has character %q", n, r)
			}
		}
	})
}

func TestPostgres(t *testing.T) {
	dsn := teststack.Postgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())

	var db string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(db, "t_testpostgres_") {
		t.Fatalf("connected to %q, want the test's own database", db)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE scripts (id bigint PRIMARY KEY, name text NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO scripts VALUES ($1, $2)", 42, "nightly backup"); err != nil {
		t.Fatal(err)
	}
	var name string
	if err := conn.QueryRow(ctx, "SELECT name FROM scripts WHERE id = 42").Scan(&name); err != nil {
		t.Fatal(err)
	}
	if name != "nightly backup" {
		t.Fatalf("read back %q", name)
	}

	// A sub-test's database is dropped when the sub-test ends, even with a
	// connection still open.
	var innerDB string
	var inner *pgx.Conn
	t.Run("dropped after test", func(t *testing.T) {
		inner, err = pgx.Connect(ctx, teststack.Postgres(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := inner.QueryRow(ctx, "SELECT current_database()").Scan(&innerDB); err != nil {
			t.Fatal(err)
		}
	})
	if inner != nil {
		defer inner.Close(context.Background())
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", innerDB).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if innerDB == "" || n != 0 {
		t.Fatalf("database %q still exists after its test ended", innerDB)
	}
}

func TestClickHouse(t *testing.T) {
	dsn := teststack.ClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := opts.Auth.Database
	if !strings.HasPrefix(db, "t_testclickhouse_") {
		t.Fatalf("DSN database %q, want a fresh test database", db)
	}

	// The database does not exist yet: the code under test creates it.
	admin, err := clickhouse.Open(mustParse(t, teststack.ClickHouseAdminDSN(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var version string
	if err := admin.QueryRow(ctx, "SELECT version()").Scan(&version); err != nil {
		t.Fatal(err)
	}
	t.Logf("ClickHouse %s", version)
	var exists uint8
	if err := admin.QueryRow(ctx, "SELECT count() > 0 FROM system.databases WHERE name = ?", db).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists != 0 {
		t.Fatalf("database %s exists before the test created it", db)
	}
	if err := admin.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		t.Fatal(err)
	}

	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Exec(ctx, "CREATE TABLE runs (run_id UInt64, status String) ENGINE = MergeTree ORDER BY run_id"); err != nil {
		t.Fatal(err)
	}
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO runs")
	if err != nil {
		t.Fatal(err)
	}
	if err := batch.Append(uint64(7), "success"); err != nil {
		t.Fatal(err)
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
	var status string
	if err := conn.QueryRow(ctx, "SELECT status FROM runs WHERE run_id = 7").Scan(&status); err != nil {
		t.Fatal(err)
	}
	if status != "success" {
		t.Fatalf("read back %q", status)
	}

	// A sub-test's database is dropped when the sub-test ends.
	var innerDB string
	t.Run("dropped after test", func(t *testing.T) {
		innerDB = mustParse(t, teststack.ClickHouse(t)).Auth.Database
		if err := admin.Exec(ctx, "CREATE DATABASE "+innerDB); err != nil {
			t.Fatal(err)
		}
	})
	var n uint64
	if err := admin.QueryRow(ctx, "SELECT count() FROM system.databases WHERE name = ?", innerDB).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if innerDB == "" || n != 0 {
		t.Fatalf("database %q still exists after its test ended", innerDB)
	}
}

func mustParse(t *testing.T, dsn string) *clickhouse.Options {
	t.Helper()
	o, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return o
}
