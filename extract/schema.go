package extract

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// ErrSchema is returned when the source tables lack a column the job reads
// or have it with a type it cannot read.
var ErrSchema = errors.New("source schema mismatch")

// expectedColumns lists, per source column, the types the extract queries
// can read. Added columns are ignored.
var expectedColumns = map[string]map[string][]string{
	"task_log": {
		"id":                {"bigint", "integer"},
		"script_id":         {"bigint", "integer"},
		"status":            {"text", "character varying"},
		"started_at":        {"timestamp with time zone"},
		"finished_at":       {"timestamp with time zone"},
		"duration":          {"double precision", "real"},
		"failed_step_index": {"integer", "smallint"},
		"failed_step_name":  {"text", "character varying"},
		"error_message":     {"text", "character varying"},
		"steps":             {"jsonb", "json"},
		"created_at":        {"timestamp with time zone"},
		"updated_at":        {"timestamp with time zone"},
	},
	"scripts": {
		"id":   {"bigint", "integer"},
		"name": {"text", "character varying"},
	},
}

// CheckSchema fails, naming the column, when a column the job reads is
// missing or has another type. It runs before anything is read or loaded.
func (s *Snapshot) CheckSchema(ctx context.Context) error {
	rows, err := s.tx.Query(ctx, sqlfiles.PostgresSourceColumns)
	if err != nil {
		return sourceErrorf("postgres read schema: %w", err)
	}
	defer rows.Close()
	have := map[string]string{}
	for rows.Next() {
		var table, column, typ string
		if err := rows.Scan(&table, &column, &typ); err != nil {
			return sourceErrorf("postgres read schema: %w", err)
		}
		have[table+"."+column] = typ
	}
	if err := rows.Err(); err != nil {
		return sourceErrorf("postgres read schema: %w", err)
	}
	var problems []string
	for table, cols := range expectedColumns {
		for col, types := range cols {
			got, ok := have[table+"."+col]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("column %s.%s is missing", table, col))
			case !slices.Contains(types, got):
				problems = append(problems, fmt.Sprintf("column %s.%s has type %s, want %s", table, col, got, strings.Join(types, " or ")))
			}
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("%w: %s", ErrSchema, strings.Join(problems, "; "))
	}
	return nil
}
