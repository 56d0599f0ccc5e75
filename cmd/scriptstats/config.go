package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/schedules"
	"github.com/scriptstats/scriptstats/transform"
)

// errUsage marks a bad command line or configuration (exit status 2).
var errUsage = errors.New("usage")

// Config is every setting of every command. Each flag falls back to an
// environment variable SCRIPTSTATS_<NAME>; a value that does not parse is
// an error, never a silent default.
type Config struct {
	PGDSN            string
	ClickHouseDSN    string
	Timezone         string
	Zone             *time.Location
	Lookback         time.Duration
	ChangeWindow     int
	BatchSize        int
	KeepRunsDays     int
	StatementTimeout time.Duration
	ErrorBytes       int
	LogFormat        string
	LogLevel         string
	Source           string // cursor or logical
	// Cluster, ClusterDDL, ReplicaPath, ReplicaName: --clickhouse-cluster
	// and how its objects are created.
	Cluster, ClusterDDL, ReplicaPath, ReplicaName string

	Since        string // run
	From, To     string // backfill, verify
	TrailingDays int    // backfill, verify: instead of From, To
	JSON         bool   // compare
	Plan         schedules.Plan

	// secrets are the passwords of the DSNs, replaced verbatim in all
	// output when long enough (see redactingWriter).
	secrets []string
}

// flagSet registers flags with an environment fallback and shows both, and
// the default, in --help.
type flagSet struct {
	*flag.FlagSet
	envErrs []error
}

func newFlagSet(name string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	return &flagSet{FlagSet: fs}
}

func envName(flagName string) string {
	return "SCRIPTSTATS_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// value registers a flag whose default comes from its environment variable
// when set; the variable's value must parse like the flag's.
func (f *flagSet) value(v flag.Value, name, def, usage string) {
	env := envName(name)
	if err := v.Set(def); err != nil {
		panic(fmt.Sprintf("flag %s: bad built-in default %q", name, def))
	}
	if s, ok := os.LookupEnv(env); ok {
		if err := v.Set(s); err != nil {
			f.envErrs = append(f.envErrs, fmt.Errorf("%s: %w", env, err))
		}
	}
	shown := def
	if shown == "" {
		shown = "none"
	}
	f.Var(v, name, fmt.Sprintf("%s (env %s; default %s)", usage, env, shown))
	// The usage text already names the built-in default; flag would print
	// the current value (maybe from the environment) as a second default.
	f.Lookup(name).DefValue = zeroValue(v)
}

// zeroValue is what flag treats as "no default" for v.
func zeroValue(v flag.Value) string {
	switch v.(type) {
	case *boolValue:
		return "false"
	case *intValue:
		return "0"
	case *durationValue:
		return "0s"
	}
	return ""
}

func (f *flagSet) string(p *string, name, def, usage string) {
	f.value((*stringValue)(p), name, def, usage)
}
func (f *flagSet) secret(p *string, name, usage string) { f.value((*secretValue)(p), name, "", usage) }
func (f *flagSet) duration(p *time.Duration, name, def, usage string) {
	f.value((*durationValue)(p), name, def, usage)
}
func (f *flagSet) int(p *int, name, def, usage string)   { f.value((*intValue)(p), name, def, usage) }
func (f *flagSet) bool(p *bool, name, def, usage string) { f.value((*boolValue)(p), name, def, usage) }

type stringValue string

func (s *stringValue) Set(v string) error { *s = stringValue(v); return nil }
func (s *stringValue) String() string     { return string(*s) }

// secretValue never shows its value (flag's help prints defaults).
type secretValue string

func (s *secretValue) Set(v string) error { *s = secretValue(v); return nil }
func (s *secretValue) String() string     { return "" }

type durationValue time.Duration

func (d *durationValue) Set(v string) error {
	x, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("not a duration: %q (use e.g. 10m)", v)
	}
	if x < 0 {
		return fmt.Errorf("negative duration %q", v)
	}
	*d = durationValue(x)
	return nil
}
func (d *durationValue) String() string { return time.Duration(*d).String() }

type intValue int

func (i *intValue) Set(v string) error {
	x, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("not a whole number: %q", v)
	}
	*i = intValue(x)
	return nil
}
func (i *intValue) String() string { return strconv.Itoa(int(*i)) }

type boolValue bool

func (b *boolValue) Set(v string) error {
	x, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("not true or false: %q", v)
	}
	*b = boolValue(x)
	return nil
}
func (b *boolValue) String() string   { return strconv.FormatBool(bool(*b)) }
func (b *boolValue) IsBoolFlag() bool { return true }

// connectionFlags are shared by every command that reaches the databases.
func (c *Config) connectionFlags(f *flagSet, needPG bool) {
	if needPG {
		f.secret(&c.PGDSN, "pg-dsn", "source PostgreSQL: libpq URL or key=value DSN")
	}
	f.secret(&c.ClickHouseDSN, "clickhouse-dsn", "ClickHouse: clickhouse://user:pass@host:9000/database (the database the job owns)")
	f.string(&c.Cluster, "clickhouse-cluster", "", "ClickHouse cluster (remote_servers) to lay the database out over: local tables sharded by script, Distributed tables, views on every node (empty: one server)")
	f.string(&c.ClusterDDL, "clickhouse-cluster-ddl", "on-cluster", "with --clickhouse-cluster: on-cluster (ON CLUSTER, Replicated engines) or per-node (each node, unreplicated: servers without Keeper)")
	f.string(&c.ReplicaPath, "clickhouse-replica-path", "", "Keeper path of the Replicated tables, e.g. /clickhouse/tables/{shard}/{database}/{table} (empty: the servers' default_replica_path)")
	f.string(&c.ReplicaName, "clickhouse-replica-name", "", "replica name of the Replicated tables, e.g. {replica} (empty: the servers' default_replica_name)")
	f.string(&c.LogFormat, "log-format", "auto", "log format: json, console, or auto (console on a terminal)")
	f.string(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
}

func (c *Config) passFlags(f *flagSet) {
	f.string(&c.Timezone, "timezone", "UTC", "IANA time zone that days are computed in")
	f.duration(&c.Lookback, "lookback", "10m", "safety margin of the incremental read (see docs/design.md, \"The incremental read\")")
	f.int(&c.BatchSize, "batch-size", "20000", "runs per ClickHouse insert")
	f.int(&c.KeepRunsDays, "keep-runs-days", "0", "drop the per-run rows (runs, run_steps, run_vs_previous) of months older than this many days, keeping the daily aggregates (0: keep every run; docs/performance.md, \"Retention\")")
	f.int(&c.ChangeWindow, "change-window", "12", "w of the duration change-point scan: runs compared on each side of a position, 2 to 1000 (docs/detection.md)")
	f.duration(&c.StatementTimeout, "statement-timeout", "0s", "PostgreSQL statement_timeout for the job's queries (0: server default)")
	f.int(&c.ErrorBytes, "error-bytes", "4096", "longest error text kept, in bytes, 64 to 16777216 (longer ones are cut with a marker)")
	sourceFlag(f, &c.Source)
}

// sourceFlag registers --source.
func sourceFlag(f *flagSet, p *string) {
	f.string(p, "source", "cursor", "how passes find changes: cursor (updated_at reads) or logical (a replication slot; needs wal_level=logical and REPLICATION)")
}

// Bounds of --error-bytes. Below the minimum a cut text would be little but
// its marker (0 would keep nothing else: refused rather than read as "no
// limit" or "no text"); the maximum keeps one run's row bounded and fits
// PostgreSQL's left(text, int).
const (
	minErrorBytes = 64
	maxErrorBytes = 16 << 20
)

// validate checks and derives everything; usage errors wrap errUsage.
func (c *Config) validate(f *flagSet, needPG, needCH bool) error {
	if len(f.envErrs) > 0 {
		return fmt.Errorf("%w: %w", errUsage, f.envErrs[0])
	}
	switch c.Source {
	case "", "cursor":
	case "logical":
		needPG = true
	default:
		return fmt.Errorf("%w: --source %q: want cursor or logical", errUsage, c.Source)
	}
	if needPG {
		if c.PGDSN == "" {
			return fmt.Errorf("%w: --pg-dsn or SCRIPTSTATS_PG_DSN is required", errUsage)
		}
		cfg, err := pgconn.ParseConfig(c.PGDSN)
		if err != nil {
			return fmt.Errorf("%w: --pg-dsn does not parse as a libpq URL or key=value DSN", errUsage)
		}
		if cfg.Password != "" {
			c.secrets = append(c.secrets, cfg.Password)
		}
	}
	if needCH {
		if c.ClickHouseDSN == "" {
			return fmt.Errorf("%w: --clickhouse-dsn or SCRIPTSTATS_CLICKHOUSE_DSN is required", errUsage)
		}
		if u, err := url.Parse(c.ClickHouseDSN); err == nil {
			p, _ := u.User.Password()
			for _, pw := range []string{p, u.Query().Get("password")} { // user:pass@ or ?password=
				if pw != "" {
					c.secrets = append(c.secrets, pw)
				}
			}
		}
		if _, err := load.ParseDSN(c.ClickHouseDSN); err != nil {
			return fmt.Errorf("%w: --clickhouse-dsn: %w", errUsage, err)
		}
	}
	switch c.ClusterDDL {
	case "", "on-cluster", "per-node":
	default:
		return fmt.Errorf("%w: --clickhouse-cluster-ddl %q: want on-cluster or per-node", errUsage, c.ClusterDDL)
	}
	switch c.LogFormat {
	case "json", "console", "auto":
	default:
		return fmt.Errorf("%w: --log-format %q: want json, console or auto", errUsage, c.LogFormat)
	}
	if f.Lookup("timezone") != nil {
		loc, err := time.LoadLocation(c.Timezone)
		if err != nil {
			return fmt.Errorf("%w: --timezone %q is not an IANA time zone (e.g. Europe/Berlin)", errUsage, c.Timezone)
		}
		c.Zone = loc
	}
	if f.Lookup("batch-size") == nil {
		return nil // the pass settings below are not used by this command
	}
	if c.KeepRunsDays < 0 {
		return fmt.Errorf("%w: --keep-runs-days %d: must be 0 (keep every run) or positive", errUsage, c.KeepRunsDays)
	}
	if c.ChangeWindow != 0 && (c.ChangeWindow < 2 || c.ChangeWindow > 1000) {
		return fmt.Errorf("%w: --change-window %d: must be 2 to 1000", errUsage, c.ChangeWindow)
	}
	if c.BatchSize <= 0 {
		return fmt.Errorf("%w: --batch-size %d: must be positive", errUsage, c.BatchSize)
	}
	if c.ErrorBytes < minErrorBytes || c.ErrorBytes > maxErrorBytes {
		return fmt.Errorf("%w: --error-bytes %d: must be between %d and %d (the cut marker alone takes up to 42 bytes)", errUsage, c.ErrorBytes, minErrorBytes, maxErrorBytes)
	}
	return nil
}

// day parses a --from/--to/--since value.
func parseDayFlag(name, v string) (transform.Day, error) {
	d, err := transform.ParseDay(v)
	if err != nil {
		return 0, fmt.Errorf("%w: --%s %q: want a date like 2026-01-31", errUsage, name, v)
	}
	return d, nil
}

// sinkOptions are how the job reaches ClickHouse: one server, or a cluster.
func (c *Config) sinkOptions() load.Options {
	if c.Cluster == "" {
		return load.Options{}
	}
	return load.Options{Cluster: &load.Cluster{
		Name: c.Cluster, PerNode: c.ClusterDDL == "per-node",
		ReplicaPath: c.ReplicaPath, ReplicaName: c.ReplicaName,
	}}
}
