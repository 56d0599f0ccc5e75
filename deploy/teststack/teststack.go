// Package teststack gives tests throwaway databases on the local stack
// (deploy/local/stack.sh, started by `make test`).
//
// The stack is found through SCRIPTSTATS_TEST_PG_DSN and
// SCRIPTSTATS_TEST_CLICKHOUSE_DSN (printed by `deploy/local/stack.sh env`).
// When a variable is empty the test is skipped, or fails when CI=true.
package teststack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/jackc/pgx/v5"
)

// Environment variables read by this package.
const (
	EnvPostgres   = "SCRIPTSTATS_TEST_PG_DSN"
	EnvClickHouse = "SCRIPTSTATS_TEST_CLICKHOUSE_DSN"
)

const opTimeout = 60 * time.Second

// PostgresAdminDSN returns SCRIPTSTATS_TEST_PG_DSN: a superuser DSN of the
// local PostgreSQL. Tests that need a database of their own use Postgres.
func PostgresAdminDSN(t testing.TB) string {
	t.Helper()
	return requireEnv(t, EnvPostgres)
}

// ClickHouseAdminDSN returns SCRIPTSTATS_TEST_CLICKHOUSE_DSN: a DSN of the
// local ClickHouse with full rights (database "default"). Tests that need a
// database of their own use ClickHouse.
func ClickHouseAdminDSN(t testing.TB) string {
	t.Helper()
	return requireEnv(t, EnvClickHouse)
}

// Postgres creates a fresh, empty PostgreSQL database for the test, drops it
// (WITH (FORCE)) when the test ends, and returns a DSN pointing at it, with
// the credentials of SCRIPTSTATS_TEST_PG_DSN.
func Postgres(t testing.TB) (dsn string) {
	t.Helper()
	admin := PostgresAdminDSN(t)
	name := DatabaseName(t)

	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("teststack: connect to PostgreSQL (%s): %v", EnvPostgres, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("teststack: create PostgreSQL database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("teststack: drop PostgreSQL database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("teststack: drop PostgreSQL database %s: %v", name, err)
		}
	})

	dsn, err = PostgresDSN(admin, name)
	if err != nil {
		t.Fatalf("teststack: %s: %v", EnvPostgres, err)
	}
	return dsn
}

// ClickHouse reserves a fresh ClickHouse database name for the test and
// returns a DSN clickhouse://user:pass@host:port/<name> for it. The database
// does NOT exist yet (the code under test creates it, e.g. `migrate`); it is
// dropped, if it exists, when the test ends. The server is pinged first so
// that a stopped stack fails here with a clear message.
func ClickHouse(t testing.TB) (dsn string) {
	t.Helper()
	admin := ClickHouseAdminDSN(t)
	name := DatabaseName(t)

	opts, err := clickhouse.ParseDSN(admin)
	if err != nil {
		t.Fatalf("teststack: %s: %v", EnvClickHouse, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatalf("teststack: connect to ClickHouse (%s): %v", EnvClickHouse, err)
	}
	pingErr := conn.Ping(ctx)
	_ = conn.Close()
	if pingErr != nil {
		t.Fatalf("teststack: connect to ClickHouse (%s): %v", EnvClickHouse, pingErr)
	}

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		conn, err := clickhouse.Open(opts)
		if err != nil {
			t.Errorf("teststack: drop ClickHouse database %s: %v", name, err)
			return
		}
		defer conn.Close()
		if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+quoteClickHouseIdent(name)+" SYNC"); err != nil {
			t.Errorf("teststack: drop ClickHouse database %s: %v", name, err)
		}
	})

	dsn, err = withURLPath(admin, name)
	if err != nil {
		t.Fatalf("teststack: %s: %v", EnvClickHouse, err)
	}
	return dsn
}

// DatabaseName returns a new unique database name for the test:
// "t_" + the test name in lower case with other characters than [a-z0-9]
// replaced by "_", cut to fit, + "_" + 8 random hex digits; at most 63
// characters (PostgreSQL's identifier limit) and valid unquoted in both
// PostgreSQL and ClickHouse.
func DatabaseName(t testing.TB) string {
	t.Helper()
	var b strings.Builder
	lastUnderscore := false
	for _, r := range strings.ToLower(t.Name()) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			lastUnderscore = false
		} else if !lastUnderscore {
			b.WriteByte('_')
			lastUnderscore = true
		}
	}
	base := strings.Trim(b.String(), "_")
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatalf("teststack: random: %v", err)
	}
	suffix := "_" + hex.EncodeToString(rnd[:])
	const maxLen = 63
	if room := maxLen - len("t_") - len(suffix); len(base) > room {
		base = strings.TrimRight(base[:room], "_")
	}
	if base == "" {
		return "t" + suffix
	}
	return "t_" + base + suffix
}

func requireEnv(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("teststack: %s is not set (CI=true: the local stack is required; run make test)", name)
	}
	t.Skipf("teststack: %s is not set; run make test or deploy/local/stack.sh up and eval \"$(deploy/local/stack.sh env)\"", name)
	return ""
}

// withURLPath returns the URL dsn with its path set to "/"+name, keeping
// user, password, host and query parameters.
func withURLPath(dsn, name string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("parse DSN: %w", redactURLError(err))
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}

// redactURLError drops the DSN (which holds a password) from url errors.
func redactURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

func quoteClickHouseIdent(s string) string {
	return "`" + strings.NewReplacer("\\", "\\\\", "`", "\\`").Replace(s) + "`"
}
