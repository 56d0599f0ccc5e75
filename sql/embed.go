// Package sqlfiles holds every SQL statement of the job as .sql files
// embedded in the binary: ClickHouse migrations and queries, PostgreSQL
// extract queries. Each query file is a variable of statements.go (generated:
// go generate ./sql), so the compiler finds every statement a caller names.
package sqlfiles

//go:generate go run ./internal/genstatements

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed clickhouse/migrations/*.sql
var files embed.FS

func mustRead(path string) string {
	b, err := files.ReadFile(path)
	if err != nil {
		// The set of files is fixed at build time: a missing one is a bug.
		panic(fmt.Sprintf("sql: embedded file %s missing", path))
	}
	return string(b)
}

// Migration is one numbered ClickHouse migration file, split into its
// statements.
type Migration struct {
	Version    int
	Name       string
	Statements []string
}

// Migrations returns the ClickHouse migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(files, "clickhouse/migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		if !ok {
			return nil, fmt.Errorf("migration %s: name must be NNNN_what.sql", name)
		}
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number: %w", name, err)
		}
		body := mustRead("clickhouse/migrations/" + name)
		out = append(out, Migration{Version: v, Name: name, Statements: SplitStatements(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s share version %d", out[i-1].Name, out[i].Name, out[i].Version)
		}
	}
	return out, nil
}

// SplitStatements splits a file on semicolons that end a line, dropping
// comment-only and empty statements. Migration files keep semicolons out of
// string literals at line ends, which keeps this simple.
func SplitStatements(body string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.SplitAfter(body, "\n") {
		cur.WriteString(line)
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			if s := cleanStatement(cur.String()); s != "" {
				out = append(out, s)
			}
			cur.Reset()
		}
	}
	if s := cleanStatement(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

func cleanStatement(s string) string {
	var kept []string
	for _, line := range strings.Split(s, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		kept = append(kept, line)
	}
	out := strings.TrimSpace(strings.Join(kept, "\n"))
	return strings.TrimSuffix(out, ";")
}
