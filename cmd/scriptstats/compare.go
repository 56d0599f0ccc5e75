package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/transform"
)

// compareOptions: two runs from the views; the run ids are positional.
type compareOptions struct {
	connOptions
	JSON bool
}

func (o *compareOptions) register(f *flagSet) {
	o.connOptions.register(f, false)
	f.bool(&o.JSON, "json", "false", "print JSON instead of aligned text")
}

func (o *compareOptions) Validate() error { return o.connOptions.validate(false, true) }

func (a *app) compare(ctx context.Context, args []string) error {
	var o compareOptions
	f := newFlagSet("compare")
	o.register(f)
	// Allow flags after the run ids too: compare 1 2 --json. After "--"
	// everything is a run id: compare -- -5 -6 (a negative id is otherwise
	// read as a flag). The options are checked once every flag is read
	// (compare 1 2 --clickhouse-dsn … once said the DSN was missing).
	var ids []string
	rest := args
	for {
		if err := a.parseFlags(f, rest); err != nil {
			if negativeID(rest) {
				return fmt.Errorf("%w (negative run ids go after --: scriptstats compare [flags] -- -5 -6)", err)
			}
			return err
		}
		if consumed := len(rest) - f.NArg(); consumed > 0 && rest[consumed-1] == "--" {
			ids = append(ids, f.Args()...)
			break
		}
		if f.NArg() == 0 {
			break
		}
		ids = append(ids, f.Arg(0))
		rest = f.Args()[1:]
	}
	if err := a.setup(f, nil, &o); err != nil {
		return err
	}
	if len(ids) != 2 {
		return fmt.Errorf("%w: compare takes two run ids, got %d", errUsage, len(ids))
	}
	var runIDs [2]int64
	for i, s := range ids {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%w: run id %q is not a whole number", errUsage, s)
		}
		runIDs[i] = id
	}
	sink, err := load.OpenWith(ctx, o.ClickHouseDSN, o.sinkOptions())
	if err != nil {
		return err
	}
	defer sink.Close()
	ra, err := sink.Run(ctx, runIDs[0])
	if err != nil {
		return err
	}
	rb, err := sink.Run(ctx, runIDs[1])
	if err != nil {
		return err
	}
	cmp := transform.CompareSteps(ra.Steps, rb.Steps, ra.Duration, rb.Duration)
	if o.JSON {
		return writeCompareJSON(a.stdout, ra, rb, cmp)
	}
	return writeCompareText(a.stdout, ra, rb, cmp)
}

// negativeID reports whether args hold a negative whole number (which the
// flag package takes for a flag).
func negativeID(args []string) bool {
	for _, a := range args {
		if len(a) > 1 && a[0] == '-' {
			if _, err := strconv.ParseInt(a, 10, 64); err == nil {
				return true
			}
		}
	}
	return false
}

type jsonRun struct {
	RunID      int64    `json:"run_id"`
	ScriptID   int64    `json:"script_id"`
	ScriptName string   `json:"script_name"`
	Day        string   `json:"day"`
	Status     string   `json:"status"`
	StartedAt  *string  `json:"started_at"`
	Duration   *float64 `json:"duration"`
	Error      *string  `json:"error_message"`
}

type jsonStepSide struct {
	Name     *string  `json:"name"`
	Status   string   `json:"status"`
	Duration *float64 `json:"duration"`
	Error    *string  `json:"error"`
}

type jsonStep struct {
	Index         int32         `json:"step_index"`
	A             *jsonStepSide `json:"a"`
	B             *jsonStepSide `json:"b"`
	StatusChanged bool          `json:"status_changed"`
	DurationDelta *float64      `json:"duration_delta"`
}

type jsonComparison struct {
	A                  jsonRun    `json:"a"`
	B                  jsonRun    `json:"b"`
	SameScript         bool       `json:"same_script"`
	DurationDelta      *float64   `json:"duration_delta"`
	FirstDivergentStep *int32     `json:"first_divergent_step"`
	Steps              []jsonStep `json:"steps"`
}

func toJSONRun(r load.RunDetail) jsonRun {
	j := jsonRun{RunID: r.RunID, ScriptID: r.ScriptID, ScriptName: r.ScriptName, Day: r.Day.String(),
		Status: r.Status, Duration: finite(r.Duration), Error: optString(r.ErrorMessage)}
	if r.StartedAt.Valid {
		s := r.StartedAt.Time.UTC().Format(time.RFC3339Nano)
		j.StartedAt = &s
	}
	return j
}

func toJSONSide(s *transform.Step) *jsonStepSide {
	if s == nil {
		return nil
	}
	return &jsonStepSide{Name: optString(s.Name), Status: s.Status, Duration: finite(s.Duration), Error: optString(s.Error)}
}

// finite returns the value, or nil for NULL, NaN and ±Inf (not JSON numbers).
func finite(v transform.NullFloat) *float64 {
	if !v.Valid || v.Float64 != v.Float64 || v.Float64 > 1.7976931348623157e308 || v.Float64 < -1.7976931348623157e308 {
		return nil
	}
	x := v.Float64
	return &x
}

func optString(v transform.NullString) *string {
	if !v.Valid {
		return nil
	}
	s := v.String
	return &s
}

func writeCompareJSON(w io.Writer, ra, rb load.RunDetail, c transform.Comparison) error {
	out := jsonComparison{A: toJSONRun(ra), B: toJSONRun(rb), SameScript: ra.ScriptID == rb.ScriptID,
		DurationDelta: finite(c.DurationDelta), Steps: []jsonStep{}}
	if c.FirstDivergent.Valid {
		v := c.FirstDivergent.Int32
		out.FirstDivergentStep = &v
	}
	for _, p := range c.Steps {
		out.Steps = append(out.Steps, jsonStep{Index: p.Index, A: toJSONSide(p.A), B: toJSONSide(p.B),
			StatusChanged: p.StatusChanged, DurationDelta: finite(p.DurationDelta)})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeCompareText(w io.Writer, ra, rb load.RunDetail, c transform.Comparison) error {
	fmt.Fprintf(w, "A: run %d  %s (script %d)  %s  status %s  duration %s\n", ra.RunID, ra.ScriptName, ra.ScriptID, ra.Day, ra.Status, showDur(ra.Duration))
	fmt.Fprintf(w, "B: run %d  %s (script %d)  %s  status %s  duration %s\n", rb.RunID, rb.ScriptName, rb.ScriptID, rb.Day, rb.Status, showDur(rb.Duration))
	if ra.ScriptID != rb.ScriptID {
		fmt.Fprintf(w, "note: the runs belong to different scripts (%d and %d); steps are aligned by index anyway\n", ra.ScriptID, rb.ScriptID)
	}
	fmt.Fprintf(w, "duration delta (B-A): %s\n", showDelta(c.DurationDelta))
	if c.FirstDivergent.Valid {
		fmt.Fprintf(w, "first divergent step: %d\n\n", c.FirstDivergent.Int32)
	} else {
		fmt.Fprintf(w, "first divergent step: none\n\n")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "step\tname\tA status\tB status\tA duration\tB duration\tdelta\t")
	for _, p := range c.Steps {
		mark := ""
		if p.StatusChanged {
			mark = "  <- differs"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Index, stepName(p), sideStatus(p.A), sideStatus(p.B),
			sideDur(p.A), sideDur(p.B), showDelta(p.DurationDelta), mark)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range c.Steps {
		for i, s := range []*transform.Step{p.A, p.B} {
			if s != nil && s.Status == transform.StepFailed && s.Error.Valid {
				fmt.Fprintf(w, "step %d error in %s: %s\n", p.Index, "AB"[i:i+1], s.Error.String)
			}
		}
	}
	if ra.ErrorMessage.Valid {
		fmt.Fprintf(w, "run A error: %s\n", ra.ErrorMessage.String)
	}
	if rb.ErrorMessage.Valid {
		fmt.Fprintf(w, "run B error: %s\n", rb.ErrorMessage.String)
	}
	return nil
}

func stepName(p transform.StepPair) string {
	for _, s := range []*transform.Step{p.B, p.A} {
		if s != nil && s.Name.Valid {
			return s.Name.String
		}
	}
	return "-"
}

func sideStatus(s *transform.Step) string {
	if s == nil {
		return "(absent)"
	}
	return s.Status
}

func sideDur(s *transform.Step) string {
	if s == nil {
		return "-"
	}
	return showDur(s.Duration)
}

func showDur(v transform.NullFloat) string {
	if !v.Valid {
		return "-"
	}
	return strconv.FormatFloat(v.Float64, 'f', 3, 64) + "s"
}

func showDelta(v transform.NullFloat) string {
	if !v.Valid {
		return "-"
	}
	return strconv.FormatFloat(v.Float64, 'f', 3, 64) + "s"
}
