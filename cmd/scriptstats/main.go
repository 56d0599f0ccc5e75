// Command scriptstats is the batch job: it extracts task_log runs from
// PostgreSQL, recomputes exact daily aggregates and loads them into
// ClickHouse. See CONTRACT.md and README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // time zones without the OS database (static images)
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfiles := startProfiles()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stopProfiles()
	stop()
	os.Exit(code)
}
