// Package load writes runs and exact daily aggregates into ClickHouse and
// reads back what the job needs from there (its state, where runs are, the
// runs of groups to recompute). Every write is a whole-row upsert into a
// ReplacingMergeTree with a version, so replaying a pass changes nothing.
package load

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// ErrNotMigrated is returned when the ClickHouse objects are missing or
// older than this binary needs.
var ErrNotMigrated = errors.New("clickhouse schema is not up to date: run `scriptstats migrate`")

// Sink is a connection to the job's ClickHouse database.
type Sink struct {
	conn     driver.Conn
	database string
	// Retry bounds the retries of transient errors (DefaultRetry).
	Retry RetryPolicy
	// OnRetry, when set, hears of each retried error (for logs).
	OnRetry func(attempt int, err error)
	// cluster, when set, is the cluster the database is laid out over;
	// opts reach its nodes (DDL on every node).
	cluster *Cluster
	opts    *clickhouse.Options
}

// ParseDSN parses a clickhouse:// DSN and checks that it names a database.
func ParseDSN(dsn string) (*clickhouse.Options, error) {
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		// The driver's message can quote the DSN: do not wrap it.
		return nil, errors.New("clickhouse dsn: cannot parse it (want clickhouse://user:pass@host:9000/database)")
	}
	if opts.Auth.Database == "" || opts.Auth.Database == "default" {
		return nil, errors.New("clickhouse dsn: name the database the job owns (clickhouse://user:pass@host:9000/scriptstats), not default")
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = 10 * time.Second
	}
	opts.Compression = &clickhouse.Compression{Method: clickhouse.CompressionLZ4}
	// A pass's queries at once: the relink beside the recompute (a read
	// and its writes) or detection (the change points' read and writes,
	// step health's two reads and its writes). The driver waits at most
	// DialTimeout for a free connection, then fails the query.
	opts.MaxOpenConns = 6
	return opts, nil
}

// Open connects to the job's database, which must exist (see Migrate).
// It checks that first over a connection without a database: a clear
// ErrNotMigrated beats a handshake error (and the chDB engine used in tests
// aborts on a handshake naming a missing database).
func Open(ctx context.Context, dsn string) (*Sink, error) {
	return OpenWith(ctx, dsn, Options{})
}

// OpenWith is Open with options. On a cluster every insert waits until the
// shards hold its rows (distributed_foreground_insert): the journal must be
// written before the runs, and the state last, on every shard.
func OpenWith(ctx context.Context, dsn string, o Options) (*Sink, error) {
	opts, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if opts.Settings == nil {
		opts.Settings = clickhouse.Settings{}
	}
	// The per-run tables are partitioned by month and a batch holds the
	// runs of any days: a script that ran monthly for nine years, or a run
	// dated 1970, makes one insert span more than the server's default 100
	// partitions, which it refuses (TOO_MANY_PARTS). Such histories are
	// rare and small; refusing them would stop the job for good.
	if _, set := opts.Settings["max_partitions_per_insert_block"]; !set {
		opts.Settings["max_partitions_per_insert_block"] = 0
	}
	if o.Cluster != nil {
		opts.Settings["distributed_foreground_insert"] = 1
		// A subquery over a Distributed table inside a query over another
		// (the journal's groups joined with their runs) runs once, on this
		// node, and its result goes to every shard.
		opts.Settings["distributed_product_mode"] = "global"
	}
	if err := checkDatabaseExists(ctx, opts); err != nil {
		return nil, err
	}
	conn, err := connect(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &Sink{conn: conn, database: opts.Auth.Database, Retry: DefaultRetry, cluster: o.Cluster, opts: opts}, nil
}

func checkDatabaseExists(ctx context.Context, opts *clickhouse.Options) error {
	bootstrap := *opts
	bootstrap.Auth.Database = ""
	conn, err := connect(ctx, &bootstrap)
	if err != nil {
		return err
	}
	defer conn.Close()
	var n uint64
	if err := conn.QueryRow(ctx, sqlfiles.ClickHouseCountDatabases, opts.Auth.Database).Scan(&n); err != nil {
		return sinkErrorf("clickhouse check database: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("%w: database %s does not exist", ErrNotMigrated, opts.Auth.Database)
	}
	return nil
}

// Database is the name of the job's database.
func (s *Sink) Database() string { return s.database }

// Close closes the connections.
func (s *Sink) Close() error { return s.conn.Close() }

func connect(ctx context.Context, opts *clickhouse.Options) (driver.Conn, error) {
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, sinkErrorf("clickhouse connect: %w", err)
	}
	if err := conn.Ping(ctx); err != nil {
		_ = conn.Close()
		return nil, sinkErrorf("clickhouse connect to %s: %w", hostList(opts), err)
	}
	return conn, nil
}

func hostList(opts *clickhouse.Options) string { return strings.Join(opts.Addr, ",") }

// quoteIdent quotes a ClickHouse identifier.
func quoteIdent(name string) string {
	return "`" + strings.ReplaceAll(strings.ReplaceAll(name, `\`, `\\`), "`", "\\`") + "`"
}
