package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/jackc/pgx/v5/pgconn"
)

// Two more raw moves (issue 12), so that the baseline is the fastest move
// known on the machine, not only this harness's Go one:
//
//   - psql | curl: `psql -c "\copy (SELECT …) TO STDOUT"` piped into
//     `curl -X POST -T - …` (streamed: `--data-binary @-` reads all of stdin into memory first), the
//     move an operator writes in a shell;
//   - ClickHouse's postgresql() table function: `INSERT INTO … SELECT … FROM
//     postgresql(…)`, ClickHouse reading PostgreSQL itself.
//
// Each writes the same raw table as rawMove and is checked the same way.

// rawBaseline names one way of moving the raw table.
type rawBaseline string

const (
	rawGo        rawBaseline = "go"      // rawMove: pgx CopyTo → HTTP INSERT, in the harness
	rawPsqlCurl  rawBaseline = "psql"    // psql \copy | curl
	rawCHPostgre rawBaseline = "chtable" // INSERT … SELECT FROM postgresql()
)

var rawBaselines = []rawBaseline{rawGo, rawPsqlCurl, rawCHPostgre}

// rawMoveBy moves the table once by the given way.
func (h *harness) rawMoveBy(ctx context.Context, how rawBaseline, src *source, n int) (float64, CPUUse, error) {
	if how == rawGo {
		return h.rawMove(ctx, src, n)
	}
	db, err := h.freshRawTable(ctx)
	if err != nil {
		return 0, CPUUse{}, err
	}
	pg, err := pgconn.ParseConfig(src.dsn)
	if err != nil {
		return 0, CPUUse{}, fmt.Errorf("source dsn: %w", err)
	}
	cpu0 := h.cpu.snap()
	began := time.Now()
	client := -1.0
	switch how {
	case rawPsqlCurl:
		client, err = h.psqlCurl(ctx, pg, db)
	case rawCHPostgre:
		// The password is bound as a query parameter, never in the logged
		// text of the query.
		q := fmt.Sprintf(`INSERT INTO %s.task_log
SELECT id, script_id, status, started_at, finished_at, created_at, updated_at,
       duration, failed_step_index, failed_step_name, error_message, steps
FROM postgresql({addr:String}, {db:String}, 'task_log', {user:String}, {password:String})`, quoteCH(db))
		err = h.chExecParams(ctx, q, map[string]string{
			"addr": fmt.Sprintf("%s:%d", pg.Host, pg.Port), "db": pg.Database,
			"user": pg.User, "password": pg.Password,
		})
		client = 0
	}
	secs := time.Since(began).Seconds()
	use := h.cpu.since(cpu0, client)
	if err != nil {
		msg := err.Error()
		if pg.Password != "" {
			msg = strings.ReplaceAll(msg, pg.Password, "***")
		}
		return 0, CPUUse{}, fmt.Errorf("raw move (%s): %s", how, msg)
	}
	var count uint64
	if err := h.ch.QueryRow(ctx, "SELECT count() FROM "+quoteCH(db)+".task_log").Scan(&count); err != nil {
		return 0, CPUUse{}, fmt.Errorf("clickhouse: %w", err)
	}
	if count != uint64(n) {
		return 0, CPUUse{}, fmt.Errorf("raw move (%s): raw table has %d rows, want %d", how, count, n)
	}
	if err := h.ch.Exec(ctx, "DROP TABLE "+quoteCH(db)+".task_log SYNC"); err != nil {
		return 0, CPUUse{}, fmt.Errorf("clickhouse: %w", err)
	}
	return secs, use, nil
}

// psqlCurl runs the shell pipeline and returns the CPU seconds of psql and
// curl. Credentials go through the environment and a private header file,
// not the command line.
func (h *harness) psqlCurl(ctx context.Context, pg *pgconn.Config, db string) (float64, error) {
	dir, err := os.MkdirTemp("", "bench-raw-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	headers := filepath.Join(dir, "headers")
	hdr := "X-ClickHouse-User: " + h.chOpts.Auth.Username + "\n"
	if h.chOpts.Auth.Password != "" {
		hdr += "X-ClickHouse-Key: " + h.chOpts.Auth.Password + "\n"
	}
	if err := os.WriteFile(headers, []byte(hdr), 0o600); err != nil {
		return 0, err
	}
	u, err := url.Parse(h.chHTTP)
	if err != nil {
		return 0, err
	}
	q := u.Query()
	q.Set("query", "INSERT INTO "+quoteCH(db)+".task_log FORMAT TSV")
	q.Set("date_time_input_format", "best_effort")
	u.RawQuery = q.Encode()
	copyCmd := `\copy (` + strings.TrimSuffix(strings.TrimPrefix(rawCopySQL, "COPY ("), ") TO STDOUT") + `) TO STDOUT`
	copyCmd = strings.Join(strings.Fields(copyCmd), " ") // \copy must be one line
	script := `set -o pipefail; psql -X -q -v ON_ERROR_STOP=1 -c "$RAW_COPY" | curl -sS --fail-with-body -H @"$RAW_HEADERS" -X POST -T - "$RAW_URL"`
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Env = append(os.Environ(),
		"PGHOST="+pg.Host, fmt.Sprintf("PGPORT=%d", pg.Port), "PGUSER="+pg.User,
		"PGPASSWORD="+pg.Password, "PGDATABASE="+pg.Database, "PGSSLMODE=disable",
		"RAW_COPY="+copyCmd, "RAW_HEADERS="+headers, "RAW_URL="+u.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%w: %s", err, oneLine(string(out)))
	}
	var cpu float64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		cpu = tvSeconds(ru.Utime) + tvSeconds(ru.Stime)
	}
	return cpu, nil
}

func (h *harness) chExecParams(ctx context.Context, q string, params map[string]string) error {
	p := clickhouse.Parameters{}
	for k, v := range params {
		p[k] = v
	}
	qctx := clickhouse.Context(ctx, clickhouse.WithParameters(p))
	if err := h.ch.Exec(qctx, q); err != nil {
		return fmt.Errorf("clickhouse: %w", err)
	}
	return nil
}
