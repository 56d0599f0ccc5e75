package load

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	sqlfiles "github.com/scriptstats/scriptstats/sql"
	"github.com/scriptstats/scriptstats/transform"
)

// Detection storage (CONTRACT.md 2b, 3): change points and step health,
// computed in Go by schedules/detect.go and written here.

// DayRange is the first and last day of something.
type DayRange struct{ First, Last transform.Day }

// PendingScripts returns, per script with a group journaled by passes
// after the given version, the first and last journaled day.
func (s *Sink) PendingScripts(ctx context.Context, after uint64) (map[int64]DayRange, error) {
	out := map[int64]DayRange{}
	err := s.retry(ctx, func() error {
		clear(out)
		qctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"after": fmt.Sprint(after)}))
		rows, err := s.conn.Query(qctx, sqlfiles.ClickHouseDetectPendingScripts)
		if err != nil {
			return sinkErrorf("clickhouse read pending scripts: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var first, last time.Time
			if err := rows.Scan(&id, &first, &last); err != nil {
				return sinkErrorf("clickhouse read pending scripts: %w", err)
			}
			out[id] = DayRange{First: dayOf(first), Last: dayOf(last)}
		}
		return rows.Err()
	})
	return out, err
}

// DetectionScripts returns every script with stored groups or stored
// change points.
func (s *Sink) DetectionScripts(ctx context.Context) ([]int64, error) {
	var out []int64
	err := s.retry(ctx, func() error {
		out = out[:0]
		rows, err := s.conn.Query(ctx, sqlfiles.ClickHouseDetectAllScripts)
		if err != nil {
			return sinkErrorf("clickhouse read detection scripts: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return sinkErrorf("clickhouse read detection scripts: %w", err)
			}
			out = append(out, id)
		}
		return rows.Err()
	})
	return out, err
}

// DayCounts is, for one stored group of a script, an upper bound of the
// number of values each of its duration series has that day: the success
// runs (the run series) and each step's success attempts. Detection plans
// from them how far back to read (schedules/detect.go).
type DayCounts struct {
	Day         transform.Day
	Runs        uint64
	StepIndex   []int32
	StepSuccess []uint64
	Version     uint64 // the group's _version
}

// SeriesCounts returns, per script, the counts of every stored group, by
// day.
func (s *Sink) SeriesCounts(ctx context.Context, ids []int64) (map[int64][]DayCounts, error) {
	out := map[int64][]DayCounts{}
	if len(ids) == 0 {
		return out, nil
	}
	err := s.retry(ctx, func() error {
		clear(out)
		qctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"ids": int64List(ids)}))
		rows, err := s.conn.Query(qctx, sqlfiles.ClickHouseDetectSeriesCounts)
		if err != nil {
			return sinkErrorf("clickhouse read series counts: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var packed string
			if err := rows.Scan(&id, &packed); err != nil {
				return sinkErrorf("clickhouse read series counts: %w", err)
			}
			counts, err := parseSeriesCounts(packed)
			if err != nil {
				return sinkErrorf("clickhouse read series counts: script %d: %w", id, err)
			}
			out[id] = counts
		}
		return rows.Err()
	})
	return out, err
}

// parseSeriesCounts reads one script's groups as detect_series_counts.sql
// packs them ("day success version[ step:successes]…", ';' between groups),
// sorted by day. The steps of all the groups share one backing array each.
func parseSeriesCounts(packed string) ([]DayCounts, error) {
	if packed == "" {
		return nil, nil
	}
	n := strings.Count(packed, ";") + 1
	steps := strings.Count(packed, ":")
	out := make([]DayCounts, 0, n)
	index, success := make([]int32, 0, steps), make([]uint64, 0, steps)
	p := packedCounts{s: packed}
	for !p.done() {
		var c DayCounts
		day := p.int(math.MinInt32, math.MaxInt32, ' ')
		c.Day = transform.Day(day)
		c.Runs = p.uint(' ')
		c.Version = p.uint(' ', ';')
		at := len(index)
		for p.err == nil && p.last == ' ' {
			k := p.int(math.MinInt32, math.MaxInt32, ':')
			index, success = append(index, int32(k)), append(success, p.uint(' ', ';'))
		}
		if p.err != nil {
			return nil, fmt.Errorf("series counts: %w in %q", p.err, packed[:min(len(packed), p.pos+1)])
		}
		if len(index) > at {
			c.StepIndex, c.StepSuccess = index[at:len(index):len(index)], success[at:len(success):len(success)]
		}
		out = append(out, c)
	}
	if !slices.IsSortedFunc(out, func(a, b DayCounts) int { return cmp.Compare(a.Day, b.Day) }) {
		slices.SortFunc(out, func(a, b DayCounts) int { return cmp.Compare(a.Day, b.Day) })
	}
	return out, nil
}

// packedCounts reads the numbers of a packed counts string, each ended by
// one of the separators given (or the end of the string, which then reads
// as ';'); last is the separator that ended the last number.
type packedCounts struct {
	s    string
	pos  int
	last byte
	err  error
}

func (p *packedCounts) done() bool { return p.err != nil || p.pos >= len(p.s) }

// digits reads an unsigned decimal number and the separator after it.
func (p *packedCounts) digits(seps ...byte) uint64 {
	if p.err != nil {
		return 0
	}
	start := p.pos
	var u uint64
	for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
		d := uint64(p.s[p.pos] - '0')
		if u > (math.MaxUint64-d)/10 {
			p.err = errors.New("a number out of range")
			return 0
		}
		u = u*10 + d
		p.pos++
	}
	if p.pos == start {
		p.err = errors.New("a number expected")
		return 0
	}
	p.last = ';'
	if p.pos < len(p.s) {
		p.last = p.s[p.pos]
		p.pos++
	}
	if !slices.Contains(seps, p.last) {
		p.err = fmt.Errorf("%q after a number", p.last)
		return 0
	}
	return u
}

func (p *packedCounts) uint(seps ...byte) uint64 { return p.digits(seps...) }

// int reads a signed number in [lo, hi].
func (p *packedCounts) int(lo, hi int64, seps ...byte) int64 {
	neg := p.pos < len(p.s) && p.s[p.pos] == '-'
	if neg {
		p.pos++
	}
	u := p.digits(seps...)
	if p.err != nil {
		return 0
	}
	v := int64(u)
	if neg {
		v = -v
	}
	if u > 1<<63 || (neg && v > 0) || (!neg && v < 0) || v < lo || v > hi {
		p.err = errors.New("a number out of range")
		return 0
	}
	return v
}

// RunFunc receives the counted runs read by ChangeRuns one at a time, in
// series order (OrderedAt, then ID) within each script, a script's runs
// together. The run and its steps are reused once fn returns: a long
// script's runs with all their steps are never held at once (the first
// load reads whole scripts).
type RunFunc func(scriptID int64, r *transform.Run) error

// ChangeRuns streams the counted runs of the scripts from a day on (their
// stored day), in series order, with what the duration series need and
// nothing more: status class, duration, the steps' index, status, name and
// duration (and the failed steps' errors, packed with them); no other
// times, no error message.
func (s *Sink) ChangeRuns(ctx context.Context, ids []int64, from transform.Day, fn RunFunc) error {
	if len(ids) == 0 {
		return nil
	}
	qctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{
		"ids": int64List(ids), "from": from.String(),
	}))
	// Only the start of the query is retried (fn must not see a run twice).
	var rows driver.Rows
	err := s.retry(ctx, func() (err error) {
		rows, err = s.conn.Query(qctx, sqlfiles.ClickHouseDetectChangeRuns)
		return err
	})
	if err != nil {
		return sinkErrorf("clickhouse read series: %w", err)
	}
	defer rows.Close()
	var (
		scriptID, runID, orderedAt int64
		day                        time.Time
		class, packed, bits        string
		duration                   *float64
		r                          transform.Run
		steps                      []transform.Step
		dec                        stepDecoder
	)
	for rows.Next() {
		if err := rows.Scan(&scriptID, &day, &runID, &class, &orderedAt, &duration, &packed, &bits); err != nil {
			return sinkErrorf("clickhouse read series: %w", err)
		}
		if steps, err = dec.decode(packed, steps); err != nil {
			return sinkErrorf("clickhouse read series: script %d: %w", scriptID, err)
		}
		if err := stepDurationBits(bits, steps); err != nil {
			return sinkErrorf("clickhouse read series: script %d run %d: %w", scriptID, runID, err)
		}
		r = transform.Run{ID: runID, ScriptID: scriptID, Day: dayOf(day), Class: classByName[class],
			OrderedAt: time.UnixMicro(orderedAt).UTC(), Duration: nullFloat(duration), Steps: steps}
		if err := fn(scriptID, &r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return sinkErrorf("clickhouse read series: %w", err)
	}
	return nil
}

// stepDurationBits sets the steps' durations from their IEEE 754 bits, 16
// hex digits each in step order (detect_change_runs.sql). NaN — a NULL
// duration or a NaN one — is left invalid: neither is a series value.
//
// The digits are decoded by a table, not strconv.ParseUint: ParseUint was a
// quarter of the read's CPU in a profile (2.3M values in an incremental
// pass at 1M runs); BenchmarkStepDurationBits, ten values: 273 ns with
// ParseUint, 104 ns with the table.
func stepDurationBits(bits string, steps []transform.Step) error {
	if len(bits) != 16*len(steps) {
		return fmt.Errorf("step durations: %d hex digits for %d steps", len(bits), len(steps))
	}
	for k := range steps {
		digits := bits[16*k : 16*k+16]
		var u uint64
		for i := 0; i < len(digits); i++ {
			v := hexValue[digits[i]]
			if v > 15 {
				return fmt.Errorf("step durations: %q is not 16 hex digits", digits)
			}
			u = u<<4 | uint64(v)
		}
		f := math.Float64frombits(u)
		steps[k].Duration = transform.NullFloat{Float64: f, Valid: !math.IsNaN(f)}
	}
	return nil
}

// hexValue is the value of each hex digit (either case); 0xff for any
// other byte.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := byte('0'); c <= '9'; c++ {
		t[c] = c - '0'
	}
	for c := byte('a'); c <= 'f'; c++ {
		t[c], t[c-'a'+'A'] = c-'a'+10, c-'a'+10
	}
	return t
}()

// StepSummary is one step's summary over the step health window
// (composed by schedules/detect_health.go):
// the summary of its attempts in the window that its state depends on,
// and what its step_health row shows besides.
type StepSummary struct {
	Step     SeriesKey
	Summary  transform.ExecutionSummary
	OldestAt time.Time // of its first attempt in the window
	StepName transform.NullString
	// LastFailureAt and LastError are those of its last failed attempt in
	// the window (greatest failure time, then run id); LastFailureAt is
	// NULL when that time is outside what DateTime64(6) holds.
	LastFailureAt transform.NullTime
	LastError     transform.NullString
	// NextAt is its first attempt after as-of (it enters the window then).
	NextAt transform.NullTime
}

// SeriesKey names a duration series: a script's runs (StepIndex RunSeries)
// or one of its steps.
type SeriesKey struct {
	ScriptID  int64
	StepIndex int32
}

// RunSeries is the StepIndex of the series of a script's whole runs: the
// least int32, so that it is no step's index but that one. A step index is
// any integer (contract section 2; −1 and −3 are steps like 0), and versions
// before it keyed the run series −1, where a real step −1 collided with it.
// A step whose index is exactly RunSeries has no duration series of its own
// (docs/detection.md, "Step indexes").
const RunSeries int32 = math.MinInt32

// ChangeKey is where a change point sits: its series and the key of its
// first run in series order.
type ChangeKey struct {
	Series      SeriesKey
	OrderedAtUS int64
	RunID       int64
}

// QuietMarkUS is the ordered_at_us of a series' quiet mark: a row of the
// change points' table after every change point of its series (migration
// 0012), written and replaced like them.
const QuietMarkUS int64 = math.MaxInt64

// QuietMarkKey is the key of the quiet mark of a series.
func QuietMarkKey(series SeriesKey) ChangeKey {
	return ChangeKey{Series: series, OrderedAtUS: QuietMarkUS}
}

// IsQuietMark says the key is a series' quiet mark (not a change point,
// not a script's change tail: TailKey).
func (k ChangeKey) IsQuietMark() bool { return k.OrderedAtUS == QuietMarkUS && k.RunID == 0 }

// RunKey is a run's place in its script's series order.
type RunKey struct {
	OrderedAtUS int64
	RunID       int64
}

// Less reports whether k comes before o in series order.
func (k RunKey) Less(o RunKey) bool {
	return k.OrderedAtUS < o.OrderedAtUS || (k.OrderedAtUS == o.OrderedAtUS && k.RunID < o.RunID)
}

// StoredChange is a stored change point's key and the sizes of its
// samples, a series' quiet mark with the run it names, or a script's change
// tail.
type StoredChange struct {
	Key                   ChangeKey
	RunsBefore, RunsAfter int    // a change point's samples
	QuietFrom             RunKey // a quiet mark's run; zero for a change point
	Tail                  string // a change tail, packed (EncodeTail); empty otherwise
}

// StoredChanges returns the keys of the stored change points of the
// scripts, their series' quiet marks and the scripts' change tails.
func (s *Sink) StoredChanges(ctx context.Context, ids []int64) ([]StoredChange, error) {
	var out []StoredChange
	if len(ids) == 0 {
		return nil, nil
	}
	err := s.retry(ctx, func() error {
		out = out[:0]
		qctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"ids": int64List(ids)}))
		rows, err := s.conn.Query(qctx, sqlfiles.ClickHouseDetectStoredChanges)
		if err != nil {
			return sinkErrorf("clickhouse read change points: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var c StoredChange
			k := &c.Key
			var before, after uint64
			if err := rows.Scan(&k.Series.ScriptID, &k.Series.StepIndex, &k.OrderedAtUS, &k.RunID,
				&c.QuietFrom.OrderedAtUS, &c.QuietFrom.RunID, &c.Tail, &before, &after); err != nil {
				return sinkErrorf("clickhouse read change points: %w", err)
			}
			c.RunsBefore, c.RunsAfter = int(min(before, math.MaxInt32)), int(min(after, math.MaxInt32))
			if !k.IsQuietMark() {
				c.QuietFrom = RunKey{}
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	return out, err
}

// ChangeRow is one row of duration_changes.
type ChangeRow struct {
	Key           ChangeKey
	Day           transform.Day
	StepName      transform.NullString
	PreviousRunID int64
	ChangedAt     time.Time
	Change        transform.ChangePoint
	TopStepIndex  transform.NullInt32
	TopStepName   transform.NullString
	TopStepDelta  transform.NullFloat
	// QuietFrom is set on a quiet mark only (Key.IsQuietMark).
	QuietFrom RunKey
	// Tail is set on a change tail only (Key.IsTail; EncodeTail).
	Tail string
}

// WriteChanges writes change points and removes the ones in gone.
func (s *Sink) WriteChanges(ctx context.Context, rows []ChangeRow, gone []ChangeKey, version uint64) error {
	if len(rows)+len(gone) == 0 {
		return nil
	}
	return s.retry(ctx, func() error {
		batch, err := s.conn.PrepareBatch(ctx, sqlfiles.ClickHouseInsertDurationChanges)
		if err != nil {
			return sinkErrorf("clickhouse insert change points: %w", err)
		}
		defer batch.Abort()
		for i := range rows {
			r := &rows[i]
			c := &r.Change
			if err := batch.Append(r.Key.Series.ScriptID, r.Key.Series.StepIndex, r.Key.OrderedAtUS, r.Key.RunID,
				strPtr(r.StepName), &r.PreviousRunID, storableTime(r.ChangedAt), r.Day.Time(),
				uint64(c.RunsBefore), uint64(c.RunsAfter), c.MedianBefore, c.MedianAfter, c.Ratio, c.P, c.Effect,
				string(c.Direction), int32Ptr(r.TopStepIndex), strPtr(r.TopStepName), floatPtr(r.TopStepDelta),
				r.QuietFrom.OrderedAtUS, r.QuietFrom.RunID, r.Tail, version, uint8(0)); err != nil {
				return sinkErrorf("clickhouse insert change points: %w", err)
			}
		}
		for _, k := range gone {
			if err := batch.Append(k.Series.ScriptID, k.Series.StepIndex, k.OrderedAtUS, k.RunID,
				nil, nil, nil, time.Unix(0, 0).UTC(), uint64(0), uint64(0), 0., 0., 0., 0., 0., "",
				nil, nil, nil, int64(0), int64(0), "", version, uint8(1)); err != nil {
				return sinkErrorf("clickhouse insert change points: %w", err)
			}
		}
		if err := batch.Send(); err != nil {
			return sinkErrorf("clickhouse insert change points: %w", err)
		}
		return nil
	})
}

// HealthDue returns the scripts whose next health check is at or before
// asOf.
func (s *Sink) HealthDue(ctx context.Context, asOf time.Time) ([]int64, error) {
	var out []int64
	err := s.retry(ctx, func() error {
		out = out[:0]
		qctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"as_of_us": fmt.Sprint(asOf.UnixMicro())}))
		rows, err := s.conn.Query(qctx, sqlfiles.ClickHouseDetectHealthDue)
		if err != nil {
			return sinkErrorf("clickhouse read health checks: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return sinkErrorf("clickhouse read health checks: %w", err)
			}
			out = append(out, id)
		}
		return rows.Err()
	})
	return out, err
}

// StoredHealth returns the steps of the scripts that have a step_health
// row.
func (s *Sink) StoredHealth(ctx context.Context, ids []int64) ([]SeriesKey, error) {
	var out []SeriesKey
	if len(ids) == 0 {
		return nil, nil
	}
	err := s.retry(ctx, func() error {
		out = out[:0]
		qctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"ids": int64List(ids)}))
		rows, err := s.conn.Query(qctx, sqlfiles.ClickHouseDetectStoredHealth)
		if err != nil {
			return sinkErrorf("clickhouse read step health: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var k SeriesKey
			if err := rows.Scan(&k.ScriptID, &k.StepIndex); err != nil {
				return sinkErrorf("clickhouse read step health: %w", err)
			}
			out = append(out, k)
		}
		return rows.Err()
	})
	return out, err
}

// HealthRow is one row of step_health.
type HealthRow struct {
	Step          SeriesKey
	StepName      transform.NullString
	Health        transform.StepHealth
	LastFailureAt transform.NullTime
	LastError     transform.NullString
}

// HealthCheck is when a script's step health must be recomputed even
// without new data (NoCheck: never).
type HealthCheck struct {
	ScriptID int64
	Next     time.Time
	None     bool
}

// WriteHealth writes step health rows, removes the steps in gone, and
// records the scripts' next checks.
func (s *Sink) WriteHealth(ctx context.Context, rows []HealthRow, gone []SeriesKey, checks []HealthCheck, version uint64) error {
	if len(rows)+len(gone) > 0 {
		err := s.retry(ctx, func() error {
			batch, err := s.conn.PrepareBatch(ctx, sqlfiles.ClickHouseInsertStepHealth)
			if err != nil {
				return sinkErrorf("clickhouse insert step health: %w", err)
			}
			defer batch.Abort()
			for i := range rows {
				r := &rows[i]
				h := &r.Health
				if err := batch.Append(r.Step.ScriptID, r.Step.StepIndex, strPtr(r.StepName), string(h.State),
					timePtr(h.Since), uint64(h.Executions), uint64(h.Failures), floatPtr(h.FailureRate),
					floatPtr(h.FailureRateLow), floatPtr(h.FailureRateHigh), floatPtr(h.FlipRate),
					timePtr(r.LastFailureAt), strPtr(r.LastError), version, uint8(0)); err != nil {
					return sinkErrorf("clickhouse insert step health: %w", err)
				}
			}
			for _, k := range gone {
				if err := batch.Append(k.ScriptID, k.StepIndex, nil, "", nil, uint64(0), uint64(0), nil, nil, nil, nil,
					nil, nil, version, uint8(1)); err != nil {
					return sinkErrorf("clickhouse insert step health: %w", err)
				}
			}
			if err := batch.Send(); err != nil {
				return sinkErrorf("clickhouse insert step health: %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if len(checks) == 0 {
		return nil
	}
	return s.retry(ctx, func() error {
		batch, err := s.conn.PrepareBatch(ctx, sqlfiles.ClickHouseInsertHealthChecks)
		if err != nil {
			return sinkErrorf("clickhouse insert health checks: %w", err)
		}
		defer batch.Abort()
		for _, c := range checks {
			next, deleted := c.Next.UnixMicro(), uint8(0)
			if c.None {
				next, deleted = math.MaxInt64, 1
			}
			if err := batch.Append(c.ScriptID, next, version, deleted); err != nil {
				return sinkErrorf("clickhouse insert health checks: %w", err)
			}
		}
		if err := batch.Send(); err != nil {
			return sinkErrorf("clickhouse insert health checks: %w", err)
		}
		return nil
	})
}

// WriteDetectionAsOf records the time step health is as of.
func (s *Sink) WriteDetectionAsOf(ctx context.Context, asOf time.Time, version uint64) error {
	return s.retry(ctx, func() error {
		batch, err := s.conn.PrepareBatch(ctx, sqlfiles.ClickHouseInsertDetectionAsOf)
		if err != nil {
			return sinkErrorf("clickhouse write detection time: %w", err)
		}
		defer batch.Abort()
		if err := batch.Append(uint8(0), asOf.UTC(), version); err != nil {
			return sinkErrorf("clickhouse write detection time: %w", err)
		}
		if err := batch.Send(); err != nil {
			return sinkErrorf("clickhouse write detection time: %w", err)
		}
		return nil
	})
}

// storableTime is t, or nil outside what DateTime64(6) holds.
// StorableTime is t as a time column holds it: NULL outside the range of
// DateTime64(6) (a failure time of +infinity orders failures but is not
// stored).
func StorableTime(t time.Time) transform.NullTime {
	if p := storableTime(t); p != nil {
		return transform.NullTime{Time: *p, Valid: true}
	}
	return transform.NullTime{}
}

func storableTime(t time.Time) *time.Time {
	if !transform.Storable(t) {
		return nil
	}
	t = t.UTC()
	return &t
}
