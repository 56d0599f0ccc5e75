package extract

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
)

// ErrSlotLost is returned when the replication slot a logical pass reads
// is gone or invalidated: changes since the last pass may be lost.
var ErrSlotLost = errors.New("replication slot lost")

// Slot names a replication slot and the publication it decodes
// (--source logical).
type Slot struct {
	Name        string
	Publication string
}

var nonIdent = regexp.MustCompile(`[^a-z0-9_]+`)

// SlotFor derives the slot and publication names from the ClickHouse
// database the job owns, so two jobs on one source do not share a slot.
func SlotFor(database string) Slot {
	name := "scriptstats_" + nonIdent.ReplaceAllString(toLower(database), "_")
	if len(name) > 63 {
		name = name[:63]
	}
	return Slot{Name: name, Publication: name}
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// SetupSQL is what creates the publication and the slot, for a DBA when
// the job's role may not.
func (sl Slot) SetupSQL() []string {
	return []string{
		fmt.Sprintf("CREATE PUBLICATION %s FOR TABLE task_log, scripts;", pgx.Identifier{sl.Publication}.Sanitize()),
		fmt.Sprintf("SELECT pg_create_logical_replication_slot('%s', 'pgoutput');", sl.Name),
	}
}

// SlotStatus is what the source says about the slot.
type SlotStatus struct {
	WALEnd      pglogrepl.LSN
	Exists      bool
	Confirmed   pglogrepl.LSN
	WALStatus   string // reserved, extended, unreserved, lost
	LagBytes    int64
	Publication bool
}

// SlotStatus reads the slot's state, and waits until every change
// committed before the call can be decoded.
func (s *Source) SlotStatus(ctx context.Context, sl Slot) (SlotStatus, error) {
	var st SlotStatus
	var end string
	var confirmed *string
	err := s.pool.QueryRow(ctx, sqlfiles.PostgresSlotStatus, sl.Name, sl.Publication).
		Scan(&end, &confirmed, &st.WALStatus, &st.LagBytes, &st.Publication)
	if err != nil {
		return st, sourceErrorf("postgres slot status: %w", err)
	}
	if st.WALEnd, err = pglogrepl.ParseLSN(end); err != nil {
		return st, sourceErrorf("postgres slot status: %w", err)
	}
	if err := s.waitFlushed(ctx, st.WALEnd); err != nil {
		return st, err
	}
	if confirmed != nil {
		st.Exists = true
		if st.Confirmed, err = pglogrepl.ParseLSN(*confirmed); err != nil {
			return st, sourceErrorf("postgres slot status: %w", err)
		}
	}
	return st, nil
}

// waitFlushed waits until the WAL is flushed up to lsn: logical decoding
// reads only flushed WAL, and a commit made with synchronous_commit = off
// is flushed by the WAL writer a little later (3 × wal_writer_delay at most).
func (s *Source) waitFlushed(ctx context.Context, lsn pglogrepl.LSN) error {
	const poll = 20 * time.Millisecond
	deadline := time.Now().Add(30 * time.Second)
	for {
		var flushed string
		if err := s.pool.QueryRow(ctx, "SELECT pg_current_wal_flush_lsn()::text").Scan(&flushed); err != nil {
			return sourceErrorf("postgres wal flush position: %w", err)
		}
		f, err := pglogrepl.ParseLSN(flushed)
		if err != nil {
			return sourceErrorf("postgres wal flush position: %w", err)
		}
		if f >= lsn {
			return nil
		}
		if time.Now().After(deadline) {
			return sourceErrorf("postgres: the WAL was not flushed up to %s in 30 s (at %s)", lsn, f)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// Check fails with ErrSlotLost when the slot cannot be read from.
func (st SlotStatus) Check(sl Slot) error {
	switch {
	case !st.Publication:
		return fmt.Errorf("%w: publication %s does not exist; run `scriptstats migrate --source logical`", ErrSlotLost, sl.Publication)
	case !st.Exists:
		return fmt.Errorf("%w: slot %s does not exist; run `scriptstats migrate --source logical` to create it, then backfill the days changed since the last pass (docs/design.md)", ErrSlotLost, sl.Name)
	case st.WALStatus == "lost":
		return fmt.Errorf("%w: slot %s was invalidated (max_slot_wal_keep_size); drop it, run `scriptstats migrate --source logical`, then backfill the days changed since the last pass (docs/design.md)", ErrSlotLost, sl.Name)
	}
	return nil
}

// CreateSlotSQL creates the publication and the slot when missing; it
// fails with the privilege error when the role may not.
func (s *Source) CreateSlot(ctx context.Context, sl Slot) (created bool, err error) {
	st, err := s.SlotStatus(ctx, sl)
	if err != nil {
		return false, err
	}
	if !st.Publication {
		q := fmt.Sprintf("CREATE PUBLICATION %s FOR TABLE task_log, scripts", pgx.Identifier{sl.Publication}.Sanitize())
		if _, err := s.pool.Exec(ctx, q); err != nil {
			return false, sourceErrorf("postgres create publication: %w", err)
		}
		created = true
	}
	if !st.Exists {
		if _, err := s.pool.Exec(ctx, "SELECT pg_create_logical_replication_slot($1, 'pgoutput')", sl.Name); err != nil {
			return created, sourceErrorf("postgres create replication slot: %w", err)
		}
		created = true
	}
	return created, nil
}

// Changes are the task_log rows a stretch of the slot's stream touched.
type Changes struct {
	// RunIDs are the ids of the runs inserted, updated or deleted, each
	// once, ascending.
	RunIDs []int64
	// Messages counts the decoded changes (all tables).
	Messages int64
	// Truncated: task_log was truncated in this stretch; every run stored
	// must be read again (RunIDs holds only those touched afterwards).
	Truncated bool
}

// PeekChanges decodes, without consuming, the changes committed before
// upTo and returns the runs they touched. Only the key matters: a pass
// reads the runs' current state afterwards, so a change seen twice (after
// a crash) is harmless.
func (s *Source) PeekChanges(ctx context.Context, sl Slot, upTo pglogrepl.LSN) (Changes, error) {
	var ch Changes
	rows, err := s.pool.Query(ctx, sqlfiles.PostgresSlotPeek, sl.Name, upTo.String(), sl.Publication)
	if err != nil {
		return ch, sourceErrorf("postgres read slot %s: %w", sl.Name, err)
	}
	defer rows.Close()
	d := decoder{relations: map[uint32]relation{}, ids: map[int64]struct{}{}}
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return ch, sourceErrorf("postgres read slot %s: %w", sl.Name, err)
		}
		if err := d.decode(data); err != nil {
			return ch, sourceErrorf("postgres decode slot %s: %w", sl.Name, err)
		}
	}
	if err := rows.Err(); err != nil {
		return ch, sourceErrorf("postgres read slot %s: %w", sl.Name, err)
	}
	ch.Messages, ch.Truncated = d.messages, d.truncated
	for id := range d.ids {
		ch.RunIDs = append(ch.RunIDs, id)
	}
	slices.Sort(ch.RunIDs)
	return ch, nil
}

// AdvanceSlot confirms the slot up to lsn (after ClickHouse holds the
// effect of every change before it).
func (s *Source) AdvanceSlot(ctx context.Context, sl Slot, lsn pglogrepl.LSN) error {
	var got string
	if err := s.pool.QueryRow(ctx, sqlfiles.PostgresSlotAdvance, sl.Name, lsn.String()).Scan(&got); err != nil {
		return sourceErrorf("postgres advance slot %s: %w", sl.Name, err)
	}
	return nil
}

type relation struct {
	name  string
	idCol int // position of "id" in the tuples, -1 when absent
}

// decoder turns pgoutput messages into the ids of the task_log rows they
// touch.
type decoder struct {
	relations map[uint32]relation
	ids       map[int64]struct{}
	messages  int64
	truncated bool
}

func (d *decoder) decode(data []byte) error {
	msg, err := pglogrepl.Parse(data)
	if err != nil {
		return err
	}
	switch m := msg.(type) {
	case *pglogrepl.RelationMessage:
		r := relation{name: m.RelationName, idCol: -1}
		for i, c := range m.Columns {
			if c.Name == "id" {
				r.idCol = i
			}
		}
		d.relations[m.RelationID] = r
	case *pglogrepl.InsertMessage:
		d.messages++
		return d.touch(m.RelationID, m.Tuple)
	case *pglogrepl.UpdateMessage:
		d.messages++
		if m.OldTuple != nil { // the key changed: the old id goes too
			if err := d.touch(m.RelationID, m.OldTuple); err != nil {
				return err
			}
		}
		return d.touch(m.RelationID, m.NewTuple)
	case *pglogrepl.DeleteMessage:
		d.messages++
		return d.touch(m.RelationID, m.OldTuple)
	case *pglogrepl.TruncateMessage:
		d.messages++
		for _, rel := range m.RelationIDs {
			if d.relations[rel].name == "task_log" {
				d.truncated = true
			}
		}
	}
	return nil
}

func (d *decoder) touch(rel uint32, t *pglogrepl.TupleData) error {
	r, ok := d.relations[rel]
	if !ok {
		return fmt.Errorf("change for unknown relation %d", rel)
	}
	if r.name != "task_log" || t == nil {
		return nil
	}
	if r.idCol < 0 || r.idCol >= len(t.Columns) {
		return fmt.Errorf("task_log change without its id column")
	}
	c := t.Columns[r.idCol]
	if c.DataType != 't' {
		return fmt.Errorf("task_log change with id in form %q", c.DataType)
	}
	id, err := strconv.ParseInt(string(c.Data), 10, 64)
	if err != nil {
		return fmt.Errorf("task_log id %q: %w", c.Data, err)
	}
	d.ids[id] = struct{}{}
	return nil
}

// NewSlotSnapshot drops the slot if it exists and creates it again on a
// replication connection, exporting its snapshot: what precedes the
// slot's stream, exactly. The snapshot can be read (BeginAt) until the
// returned connection is closed.
func NewSlotSnapshot(ctx context.Context, dsn string, sl Slot) (conn *pgconn.PgConn, snapshot string, start pglogrepl.LSN, err error) {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return nil, "", 0, sourceErrorf("postgres dsn: %w", err)
	}
	cfg.RuntimeParams["replication"] = "database"
	cfg.RuntimeParams["application_name"] = "scriptstats"
	conn, err = pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, "", 0, sourceErrorf("postgres replication connect: %w", err)
	}
	// An existing slot (from migrate, or an interrupted first pass) is
	// replaced: only a new slot exports its snapshot.
	_ = pglogrepl.DropReplicationSlot(ctx, conn, sl.Name, pglogrepl.DropReplicationSlotOptions{})
	res, err := pglogrepl.CreateReplicationSlot(ctx, conn, sl.Name, "pgoutput",
		pglogrepl.CreateReplicationSlotOptions{Mode: pglogrepl.LogicalReplication, SnapshotAction: "EXPORT_SNAPSHOT"})
	if err != nil {
		_ = conn.Close(ctx)
		return nil, "", 0, sourceErrorf("postgres create replication slot %s: %w", sl.Name, err)
	}
	if start, err = pglogrepl.ParseLSN(res.ConsistentPoint); err != nil {
		_ = conn.Close(ctx)
		return nil, "", 0, sourceErrorf("postgres create replication slot %s: %w", sl.Name, err)
	}
	return conn, res.SnapshotName, start, nil
}
