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

func TestPrivatePostgresRestart(t *testing.T) {
	t.Parallel()
	pg := teststack.PrivatePostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn := pg.CreateDatabase(t, "app", "")
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE x (v int); INSERT INTO x VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	pg.Restart()
	// The old session died with the server.
	if err := conn.Ping(ctx); err == nil {
		t.Fatal("a session survived the restart")
	}
	conn, err = pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v int
	if err := conn.QueryRow(ctx, "SELECT v FROM x").Scan(&v); err != nil || v != 42 {
		t.Fatalf("after restart: %d %v", v, err)
	}
	pg.Stop()
	if _, err := pgx.Connect(ctx, dsn); err == nil {
		t.Fatal("connected to a stopped server")
	}
	pg.Start()
	if c, err := pgx.Connect(ctx, dsn); err != nil {
		t.Fatal(err)
	} else {
		_ = c.Close(ctx)
	}
}

func TestPrivatePostgresTLS(t *testing.T) {
	t.Parallel()
	ca := teststack.NewCA(t)
	pg := teststack.PrivatePostgres(t, teststack.PostgresOptions{TLS: ca, ListenAlso: []string{"127.0.0.2"}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn := pg.DSN("")
	if !strings.Contains(dsn, "sslmode=verify-full") || !strings.Contains(dsn, "localhost") {
		t.Fatalf("TLS DSN %q", dsn)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("verify-full against the test CA: %v", err)
	}
	var ssl bool
	if err := conn.QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil || !ssl {
		t.Fatalf("session not encrypted: %v %v", ssl, err)
	}
	_ = conn.Close(ctx)
	wrongName := strings.Replace(dsn, "localhost", "127.0.0.2", 1)
	if _, err := pgx.Connect(ctx, wrongName); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a certificate for another name was accepted: %v", err)
	}
	plain := strings.Replace(dsn, "sslmode=verify-full", "sslmode=disable", 1)
	if _, err := pgx.Connect(ctx, plain); err == nil {
		t.Fatal("an unencrypted connection was accepted")
	}
}

func TestPrivateClickHouseStopStart(t *testing.T) {
	t.Parallel()
	ch := teststack.PrivateClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	open := func() clickhouse.Conn {
		opts, err := clickhouse.ParseDSN(ch.AdminDSN())
		if err != nil {
			t.Fatal(err)
		}
		conn, err := clickhouse.Open(opts)
		if err != nil {
			t.Fatal(err)
		}
		return conn
	}
	conn := open()
	if err := conn.Exec(ctx, "CREATE TABLE default.x (v UInt8) ENGINE = MergeTree ORDER BY v"); err != nil {
		t.Fatal(err)
	}
	if err := conn.Exec(ctx, "INSERT INTO default.x VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close()
	ch.Stop()
	conn = open()
	if err := conn.Ping(ctx); err == nil {
		t.Fatal("ping of a stopped server succeeded")
	}
	_ = conn.Close()
	ch.Start()
	conn = open()
	defer conn.Close()
	var v uint8
	if err := conn.QueryRow(ctx, "SELECT v FROM default.x").Scan(&v); err != nil || v != 7 {
		t.Fatalf("data after restart: %d %v", v, err)
	}
}
