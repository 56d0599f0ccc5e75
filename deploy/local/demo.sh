#!/usr/bin/env bash
# `make demo`: start the local stack if needed, write a realistic demo
# history into PostgreSQL, load it with scriptstats (migrate, first run, a
# second incremental run after some changes), then print a short summary
# read from the ClickHouse views and how to connect.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export PATH="/usr/local/go/bin:$PATH"

RUNS="${DEMO_RUNS:-600000}"
SCRIPTS="${DEMO_SCRIPTS:-120}"
DAYS="${DEMO_DAYS:-90}"
# DEMO_SOURCE=logical reads changes from a replication slot (--source logical).
export SCRIPTSTATS_SOURCE="${DEMO_SOURCE:-cursor}"

bash deploy/local/stack.sh up >/dev/null
eval "$(bash deploy/local/stack.sh env)"
pg_admin="$SCRIPTSTATS_PG_DSN"
export SCRIPTSTATS_PG_DSN="${pg_admin/\/postgres\?/\/scriptstats_demo?}"
export SCRIPTSTATS_CLICKHOUSE_DSN="${SCRIPTSTATS_CLICKHOUSE_DSN%/*}/scriptstats"
http_port="$(awk '{print $3}' .local/ports 2>/dev/null || true)"
http_port="${http_port:-${SCRIPTSTATS_LOCAL_CH_HTTP_PORT:-58123}}"
tcp_port="${SCRIPTSTATS_CLICKHOUSE_DSN##*:}"
tcp_port="${tcp_port%%/*}"
ch_http="http://127.0.0.1:${http_port}/?database=scriptstats"

echo "== building"
go build -o bin/ ./cmd/scriptstats ./cmd/demodata

echo "== demo data: ${RUNS} runs of ${SCRIPTS} scripts over ${DAYS} days"
psql -q "$pg_admin" -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = 'scriptstats_demo'" \
	-c "DROP DATABASE IF EXISTS scriptstats_demo" -c "CREATE DATABASE scriptstats_demo" >/dev/null 2>&1
start=$SECONDS
bin/demodata --runs "$RUNS" --scripts "$SCRIPTS" --days "$DAYS" --detection-stories --reset
curl -fsS "http://127.0.0.1:${http_port}/" --data-binary "DROP DATABASE IF EXISTS scriptstats" >/dev/null

echo "== scriptstats migrate, then the first run (loads the whole history; --source $SCRIPTSTATS_SOURCE)"
bin/scriptstats migrate
bin/scriptstats run
echo "== the platform keeps working: runs finish, late fixes, a re-run day, a rename..."
bin/demodata mutate --detection-stories
echo "== second run (incremental)"
bin/scriptstats run
first_day="$(date -u -d "${DAYS} days ago" +%F)"
today="$(date -u +%F)"
if [ "$SCRIPTSTATS_SOURCE" = logical ]; then
	echo "== verify every day against the source (--source logical applied the deletions already)"
else
	echo "== verify every day against the source: it finds the runs deleted at the source"
	echo "   (deletions leave no trace for an incremental pass; backfill repairs them)"
fi
diffs="$(bin/scriptstats verify --from "$first_day" --to "$today" --log-level warn 2>&1 || true)"
echo "$diffs" | { grep -c 'not in the source' || true; } | sed 's/^/   runs deleted at the source, still in ClickHouse: /'
echo "== backfill every day (the nightly CronJob does the trailing 7 days), then verify again"
bin/scriptstats backfill --from "$first_day" --to "$today"
bin/scriptstats verify --from "$first_day" --to "$today"
echo "== verify: no difference. Demo loaded in $((SECONDS - start))s"

echo "== the HTML report (one self-contained file, no network needed to open it)"
mkdir -p .local
report_start=$SECONDS
report_file="$(bin/scriptstats report --out "$PWD/.local/report.html" --log-level warn)"
echo "   written in $((SECONDS - report_start))s, $(du -h "$report_file" | cut -f1): $report_file"

q() {
	echo
	echo "-- $1"
	curl -fsS "$ch_http&default_format=PrettyCompactMonoBlock" --data-binary @"$2"
}
q "Worst success-rate days" sql/examples/worst_success_days.sql
q "Most failing steps, last 30 days" sql/examples/top_failing_steps.sql
q "Largest duration changes, last 30 days against the 30 before" sql/examples/duration_changes.sql
q "Detected duration changes of whole runs (planted: +50 % and 1.4x stories, see the story lines above: the change point of each is the first run of its shift day; docs/detection.md)" sql/examples/detected_regressions.sql
q "Unhealthy steps as of the latest pass (the planted broken and flaky steps among them)" sql/examples/unhealthy_steps.sql

cat <<TXT

Connect:
  ClickHouse client:  clickhouse client --host 127.0.0.1 --port ${tcp_port} --database scriptstats
  HTTP:               curl '${ch_http}' --data-binary 'SELECT * FROM script_daily LIMIT 5'
  Metabase:           ClickHouse driver, host 127.0.0.1, port ${http_port}, database scriptstats,
                      user scriptstats_analyst, password scriptstats-analyst-local
                      (reads the public views only; see docs/metabase.md)
  Compare two runs:   bin/scriptstats compare RUN_A RUN_B     (env: eval "\$(bash deploy/local/stack.sh env)")
  Report:             ${report_file}   (bin/scriptstats report --out FILE [--from DATE --to DATE --script NAME])
Views: script_daily, step_daily, runs, run_steps, run_vs_previous, success_rate_drops (CONTRACT.md section 3).
Stop the stack: make stack-down
TXT
