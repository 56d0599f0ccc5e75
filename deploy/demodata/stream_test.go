package demodata

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// These tests need no database: they drive the COPY sources directly.

type streamed struct {
	hashes map[int64][32]byte
	rows   map[int64][]any // only when keep
	sum    Summary
}

// stream generates opt's runs with workers sources in parallel, as
// Generate does, without a database.
func stream(t *testing.T, opt Options, workers int, keep bool) streamed {
	t.Helper()
	if err := opt.normalize(); err != nil {
		t.Fatal(err)
	}
	p, err := newPlan(opt)
	if err != nil {
		t.Fatal(err)
	}
	out := streamed{hashes: map[int64][32]byte{}, rows: map[int64][]any{}}
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		w := p.newWorker(context.Background(), &next, func(int64) {})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w.Next() {
				vals, _ := w.Values()
				h := sha256.New()
				for _, v := range vals {
					switch x := v.(type) {
					case []byte:
						h.Write(x)
					case time.Time:
						fmt.Fprint(h, x.UnixMicro())
					default:
						fmt.Fprintf(h, "%v", x)
					}
					h.Write([]byte{0})
				}
				var sum [32]byte
				copy(sum[:], h.Sum(nil))
				id := vals[0].(int64)
				mu.Lock()
				if _, dup := out.hashes[id]; dup {
					t.Errorf("id %d generated twice", id)
				}
				out.hashes[id] = sum
				if keep {
					c := append([]any(nil), vals...)
					if b, ok := c[9].([]byte); ok {
						c[9] = append([]byte(nil), b...)
					}
					out.rows[id] = c
				}
				mu.Unlock()
			}
			if w.Err() != nil {
				t.Error(w.Err())
			}
		}()
	}
	wg.Wait()
	out.sum = p.summary()
	return out
}

func testOptions() Options {
	o := DefaultOptions(time.Date(2026, 3, 31, 6, 0, 0, 0, time.UTC))
	o.Scripts, o.Days, o.Runs, o.Seed = 20, 10, 20000, 42
	o.Odd, o.OddRate, o.HugeErrorBytes = true, 0.05, 1<<20
	return o
}

// TestStreamDeterministic: the same options give the same rows, whatever
// the number of COPY streams; ids are 1..Runs.
func TestStreamDeterministic(t *testing.T) {
	opt := testOptions()
	a := stream(t, opt, 1, false)
	b := stream(t, opt, 3, false)
	if len(a.hashes) != opt.Runs || len(b.hashes) != opt.Runs {
		t.Fatalf("rows: %d and %d, want %d", len(a.hashes), len(b.hashes), opt.Runs)
	}
	for id := int64(1); id <= int64(opt.Runs); id++ {
		ha, ok := a.hashes[id]
		if !ok {
			t.Fatalf("id %d missing", id)
		}
		if ha != b.hashes[id] {
			t.Fatalf("run %d differs between 1 and 3 streams", id)
		}
	}
	ja, _ := json.Marshal(a.sum)
	jb, _ := json.Marshal(b.sum)
	if string(ja) != string(jb) {
		t.Fatalf("summaries differ:\n%s\n%s", ja, jb)
	}
	opt.Seed++
	c := stream(t, opt, 2, false)
	same := 0
	for id, h := range c.hashes {
		if a.hashes[id] == h {
			same++
		}
	}
	if same > opt.Runs/100 {
		t.Fatalf("another seed gave %d identical runs", same)
	}
}

// TestStreamValues checks every generated row in Go: JSON, invariants, odd
// kinds.
func TestStreamValues(t *testing.T) {
	opt := testOptions()
	s := stream(t, opt, 2, true)
	for kind, n := range s.sum.Odd.Counts {
		if n == 0 {
			t.Errorf("odd kind %s: none", kind)
		}
	}
	for _, kind := range oddKinds {
		if s.sum.Odd.Counts[kind] == 0 {
			t.Errorf("odd kind %s never written", kind)
		}
	}
	var withSteps, nan int64
	for id, row := range s.rows {
		created, updated := row[10].(time.Time), row[11].(time.Time)
		if updated.Before(created) {
			t.Errorf("run %d: updated_at %v before created_at %v", id, updated, created)
		}
		if created.Before(s.sum.Start) || !created.Before(s.sum.End) {
			t.Errorf("run %d: created_at %v outside the window", id, created)
		}
		if updated.After(s.sum.End) {
			t.Errorf("run %d: updated_at %v after the end", id, updated)
		}
		if b, ok := row[9].([]byte); ok {
			withSteps++
			if !json.Valid(b) {
				t.Errorf("run %d: invalid steps JSON %s", id, b)
			}
		}
		if d, ok := row[5].(float64); ok && math.IsNaN(d) {
			nan++
		}
		if _, inf := row[3].(pgtype.Timestamptz); inf && s.sum.Odd.Counts["timestamp_infinity"] == 0 {
			t.Errorf("run %d: infinite started_at without odd count", id)
		}
		if id == s.sum.HugeError {
			if len(row[8].(string)) != opt.HugeErrorBytes {
				t.Errorf("huge error: %d bytes", len(row[8].(string)))
			}
		}
	}
	if withSteps != s.sum.WithSteps {
		t.Errorf("with steps: counted %d, summary %d", withSteps, s.sum.WithSteps)
	}
	if nan != s.sum.Odd.Counts["duration_nan"] {
		t.Errorf("NaN durations: %d, summary %d", nan, s.sum.Odd.Counts["duration_nan"])
	}
	if s.sum.HugeError == 0 {
		t.Error("no huge error run")
	}
	share := float64(withSteps) / float64(opt.Runs)
	if share < opt.StepsShare-0.05 || share > opt.StepsShare+0.05 {
		t.Errorf("steps share %.3f, want about %.2f", share, opt.StepsShare)
	}
	total := int64(0)
	for _, n := range s.sum.ByStatus {
		total += n
	}
	if total != int64(opt.Runs) || s.sum.Runs != int64(opt.Runs) {
		t.Errorf("by status adds up to %d, runs %d, want %d", total, s.sum.Runs, opt.Runs)
	}
}

// TestStreamBoundedMemory: the heap does not grow with the number of runs.
func TestStreamBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	opt := DefaultOptions(time.Date(2026, 3, 31, 6, 0, 0, 0, time.UTC))
	opt.Runs = 300_000
	if err := opt.normalize(); err != nil {
		t.Fatal(err)
	}
	p, err := newPlan(opt)
	if err != nil {
		t.Fatal(err)
	}
	var next atomic.Int64
	w := p.newWorker(context.Background(), &next, func(int64) {})
	var ms runtime.MemStats
	peak := uint64(0)
	n := 0
	for w.Next() {
		n++
		if n%50_000 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	if n != opt.Runs {
		t.Fatalf("%d runs, want %d", n, opt.Runs)
	}
	if peak > 64<<20 {
		t.Fatalf("heap reached %d MB while streaming", peak>>20)
	}
}
