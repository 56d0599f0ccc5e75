package extract

import (
	"context"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// Facts are what the source says about the guarantees that rest on it
// (`scriptstats doctor`).
type Facts struct {
	VersionNum   int
	Version      string
	Role         string
	Superuser    bool
	Replication  bool
	ReadAllStats bool
	InRecovery   bool
	// TablesFound: task_log and scripts are in the search path.
	TablesFound bool
	// SelectTaskLog and SelectScripts: the role may read the source tables.
	SelectTaskLog, SelectScripts bool
	WalLevel                     string
	// StampingTriggers are the BEFORE ROW triggers on task_log whose
	// function mentions updated_at, as "name (INSERT UPDATE): database clock".
	StampingTriggers []string
	// UpdatedAtDefault is the column default of task_log.updated_at.
	UpdatedAtDefault string
	// SchemaError is what the schema check found wrong (nil: nothing).
	SchemaError error
	// Activity is the activity a pass would read now.
	Activity Activity
}

// Inspect reads the Facts.
func (s *Source) Inspect(ctx context.Context) (Facts, error) {
	var f Facts
	err := s.pool.QueryRow(ctx, sqlfiles.PostgresInspect).Scan(
		&f.VersionNum, &f.Version, &f.Role, &f.Superuser, &f.Replication, &f.ReadAllStats, &f.InRecovery,
		&f.TablesFound, &f.SelectTaskLog, &f.SelectScripts, &f.WalLevel, &f.StampingTriggers, &f.UpdatedAtDefault)
	if err != nil {
		return f, sourceErrorf("postgres inspect: %w", err)
	}
	if f.Activity, err = s.readActivity(ctx); err != nil {
		return f, err
	}
	if f.SelectTaskLog && f.SelectScripts {
		snap, err := s.Begin(ctx)
		if err != nil {
			return f, err
		}
		f.SchemaError = snap.CheckSchema(ctx)
		_ = snap.Close(ctx)
	}
	return f, nil
}
