package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scriptstats/scriptstats/deploy/teststack"
)

// TestConcurrentWritersDuringPasses: four writers change the source while
// passes run back to back — short transactions, transactions that stay open
// across passes and stamp updated_at at their start, savepoints rolled back
// to, moves between days and scripts, inserts and deletes — with a lookback
// of 1 s. Once the writers stop, one more pass must leave every view equal
// to the independent recomputation: nothing lost, nothing doubled. In cursor
// mode the writers do not delete (deletes wait for a backfill there, which
// would also repair a missed update and prove nothing).
func TestConcurrentWritersDuringPasses(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"cursor", "logical"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			var e *jobEnv
			if mode == "logical" {
				e = logicalEnv(t)
			} else {
				e = newJobEnv(t, teststack.Postgres(t), teststack.ClickHouse(t))
			}
			e.generate(smallHistory(61, 1500))
			if mode == "logical" {
				mustRunBin(t, nil, "migrate", "--clickhouse-dsn", e.chDSN, "--pg-dsn", e.pgDSN, "--source", "logical")
				e.ch = openClickHouse(t, e.chDSN)
			} else {
				e.migrate()
			}
			e.mustPass("run", "--lookback", "1s")

			ctx, stop := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			var mu sync.Mutex
			var writes int
			errs := make(chan error, 4)
			for w := 0; w < 4; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					n, err := concurrentWriter(ctx, e.pool, rand.New(rand.NewPCG(uint64(w), 61)), w, mode == "logical")
					mu.Lock()
					writes += n
					mu.Unlock()
					if err != nil {
						errs <- err
					}
				}(w)
			}
			passes := 0
			for deadline := time.Now().Add(8 * time.Second); time.Now().Before(deadline); passes++ {
				e.mustPass("run", "--lookback", "1s")
			}
			stop()
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			e.mustPass("run", "--lookback", "1s")
			t.Logf("%s: %d passes while %d writer transactions committed", mode, passes, writes)
			e.checkAll(mode + ": after concurrent writers")
		})
	}
}

// concurrentWriter commits random changes until ctx ends and returns how
// many transactions it committed.
func concurrentWriter(ctx context.Context, pool *pgxpool.Pool, rng *rand.Rand, w int, deletes bool) (int, error) {
	n := 0
	for ctx.Err() == nil {
		tx, err := pool.Begin(context.Background())
		if err != nil {
			return n, err
		}
		// Some transactions stamp at their start and write much later.
		if rng.IntN(4) == 0 {
			if _, err := tx.Exec(context.Background(), "SELECT 1"); err != nil {
				return n, err
			}
			time.Sleep(time.Duration(500+rng.IntN(2500)) * time.Millisecond)
		}
		id := 1 + rng.Int64N(1500)
		var q string
		var args []any
		switch rng.IntN(6) {
		case 0:
			q, args = `UPDATE task_log SET status = (ARRAY['success','failed','timeout','running'])[1 + floor(random()*4)::int], updated_at = now() WHERE id = $1`, []any{id}
		case 1:
			q, args = `UPDATE task_log SET started_at = started_at + interval '1 day', updated_at = now() WHERE id = $1 AND started_at IS NOT NULL`, []any{id}
		case 2:
			q, args = `UPDATE task_log SET script_id = 1 + (script_id % 7), updated_at = now() WHERE id = $1`, []any{id}
		case 3:
			q, args = `DELETE FROM task_log WHERE id = $1`, []any{id}
			if !deletes {
				q = `UPDATE task_log SET error_message = 'touched', updated_at = now() WHERE id = $1`
			}
		case 4:
			q, args = `INSERT INTO task_log (id, script_id, status, started_at, finished_at, duration, created_at, updated_at)
				VALUES ($1, $2, 'success', now() - interval '2 hours', now() - interval '1 hour', 12.5, now(), now())
				ON CONFLICT (id) DO NOTHING`, []any{int64(2_000_000 + w*1_000_000 + n), 1 + rng.IntN(5)}
		default:
			// A savepoint rolled back to, then a real change.
			if _, err := tx.Exec(context.Background(), "SAVEPOINT s"); err != nil {
				return n, err
			}
			if _, err := tx.Exec(context.Background(), `UPDATE task_log SET status = 'cancelled' WHERE id = $1`, id); err != nil {
				return n, err
			}
			if _, err := tx.Exec(context.Background(), "ROLLBACK TO SAVEPOINT s"); err != nil {
				return n, err
			}
			q, args = `UPDATE task_log SET duration = coalesce(duration, 1) * 2, updated_at = now() WHERE id = $1`, []any{id}
		}
		if _, err := tx.Exec(context.Background(), q, args...); err != nil {
			_ = tx.Rollback(context.Background())
			if isDeadlockOrSerialization(err) {
				continue
			}
			return n, fmt.Errorf("writer %d: %s: %w", w, q, err)
		}
		if err := tx.Commit(context.Background()); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func isDeadlockOrSerialization(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}
