package report

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/scriptstats/scriptstats/transform"
)

var (
	//go:embed page.html.tmpl
	pageTemplate string
	//go:embed style.css
	styleCSS string
	//go:embed heatmap.js
	heatmapJS string
)

// Display limits: what keeps 120 scripts × 90 days of report under 5 MB.
const (
	// ErrorChars is the longest error text shown (the views keep more; the
	// text is cut with a visible "…").
	ErrorChars = 300
)

var tmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"pct":      pct,
	"secs":     secs,
	"nullSecs": nullSecs,
	"when":     when,
	"nullWhen": func(t transform.NullTime) string {
		if !t.Valid {
			return "–"
		}
		return when(t.Time)
	},
	"clip":     clip,
	"nullClip": func(s transform.NullString) string { return clip(nameOr(s, "")) },
	"stepName": func(s transform.NullString) string { return nameOr(s, "(unnamed)") },
	"state":    stateLabel,
	"ratio":    func(v float64) string { return fmt.Sprintf("×%.2f", v) },
	"p":        func(v float64) string { return fmt.Sprintf("%.2g", v) },
	"f2":       func(v float64) string { return fmt.Sprintf("%.2f", v) },
	"rate":     func(k, n uint64) float64 { return float64(k) / float64(n) },
	"pairName": func(p transform.StepPair) string {
		for _, s := range []*transform.Step{p.B, p.A} {
			if s != nil && s.Name.Valid {
				return s.Name.String
			}
		}
		return "–"
	},
	"side": func(s *transform.Step) string {
		if s == nil {
			return "(absent)"
		}
		return s.Status
	},
	"sideDur": func(s *transform.Step) string {
		if s == nil {
			return "–"
		}
		return nullSecs(s.Duration)
	},
	"stepIdx": func(v transform.NullInt32) string {
		if !v.Valid {
			return "whole run"
		}
		return fmt.Sprint(v.Int32)
	},
}).Parse(pageTemplate))

// page is what the template reads.
type page struct {
	*Data
	Style     template.CSS
	Script    template.JS
	Period    string
	Generated string
	Freshness string
	Missing   []string
	Scripts   []scriptView
}

type scriptView struct {
	ranked
	Rank          int
	Open          bool
	Spark         template.HTML
	SuccessSVG    template.HTML
	DurationSVG   template.HTML
	Heatmap       template.JS
	PeriodTotal   uint64
	PeriodSuccess uint64
	Rows          []dayRow
	Runs          []runView
}

type dayRow struct {
	Day
	Drop   bool
	Change string
}

type runView struct {
	FailingRun
	Errors []string
}

// Render writes the report of d (d.GeneratedAt is the time it shows as made).
func Render(w io.Writer, d *Data) error {
	p := page{Data: d, Style: template.CSS(styleCSS), Script: template.JS(heatmapJS)}
	p.Period = fmt.Sprintf("%s to %s (%d days, calendar days in %s)", d.From, d.To, int(d.To-d.From)+1, d.Timezone)
	p.Generated = when(d.GeneratedAt)
	if d.StateUnreadable {
		p.Freshness = "unknown: the job's state (table job_state) cannot be read with this user; days are taken as UTC"
	} else if d.LastPassAt.IsZero() {
		p.Freshness = "unknown: the job has not completed a pass on this database"
	} else {
		p.Freshness = fmt.Sprintf("%s (%s before this report)", when(d.LastPassAt), age(d.GeneratedAt.Sub(d.LastPassAt)))
	}
	if !d.Detection.Drops {
		p.Missing = append(p.Missing, "success_rate_drops")
	}
	if !d.Detection.Changes {
		p.Missing = append(p.Missing, "duration_changes")
	}
	if !d.Detection.StepHealth {
		p.Missing = append(p.Missing, "step_health")
	}
	for i, r := range rank(d) {
		v, err := viewOf(r, d)
		if err != nil {
			return err
		}
		v.Rank, v.Open = i+1, i == 0
		p.Scripts = append(p.Scripts, v)
	}
	return tmpl.Execute(w, p)
}

func viewOf(r ranked, d *Data) (scriptView, error) {
	v := scriptView{ranked: r}
	v.Spark = template.HTML(sparkline(r.Script, d.From, d.To))
	v.SuccessSVG = template.HTML(successChart(r.Script, d.From, d.To, d.Timezone))
	v.DurationSVG = template.HTML(durationChart(r.Script, d.From, d.To, d.Timezone))
	drops := map[transform.Day]bool{}
	for _, x := range r.Drops {
		drops[x.Day] = true
	}
	changes := map[transform.Day]string{}
	for _, c := range r.Changes {
		if !c.StepIndex.Valid {
			changes[c.Day] = fmt.Sprintf("%s ×%.2f", c.Direction, c.Ratio)
		}
	}
	for _, x := range r.Days {
		v.PeriodTotal += x.Total
		v.PeriodSuccess += x.Success
		v.Rows = append(v.Rows, dayRow{Day: x, Drop: drops[x.Day], Change: changes[x.Day]})
	}
	hm, err := heatmapJSON(r.Script, d.From, d.To, d.Timezone)
	if err != nil {
		return v, err
	}
	v.Heatmap = template.JS(hm)
	for _, fr := range r.FailingRuns {
		rv := runView{FailingRun: fr}
		for _, p := range fr.Comparison.Steps {
			if p.B != nil && p.B.Status == transform.StepFailed && p.B.Error.Valid {
				rv.Errors = append(rv.Errors, fmt.Sprintf("step %d: %s", p.Index, clip(p.B.Error.String)))
			}
		}
		if fr.Run.ErrorMessage.Valid && len(rv.Errors) == 0 {
			rv.Errors = append(rv.Errors, "run: "+clip(fr.Run.ErrorMessage.String))
		}
		v.Runs = append(v.Runs, rv)
	}
	return v, nil
}

// heatmapData is the compact form the page's script draws the heatmap
// from: per step, attempts and failures of each day of the period (index
// 0 = From). Drawn in the browser because one SVG cell with its tooltip per
// step-day would not fit the report's size budget.
type heatmapData struct {
	From  string        `json:"from"`
	Days  int           `json:"days"`
	TZ    string        `json:"tz"`
	Steps []heatmapStep `json:"steps"`
}

type heatmapStep struct {
	Index int32    `json:"i"`
	Name  string   `json:"n"`
	A     []uint64 `json:"a"`
	F     []uint64 `json:"f"`
}

func heatmapJSON(s *Script, from, to transform.Day, tz string) (string, error) {
	n := int(to-from) + 1
	h := heatmapData{From: from.String(), Days: n, TZ: tz, Steps: []heatmapStep{}}
	for _, st := range s.Steps {
		hs := heatmapStep{Index: st.Index, Name: nameOr(st.Name, ""), A: make([]uint64, n), F: make([]uint64, n)}
		for _, d := range st.Days {
			if i := int(d.Day - from); i >= 0 && i < n {
				hs.A[i], hs.F[i] = d.Attempts, d.Failures
			}
		}
		h.Steps = append(h.Steps, hs)
	}
	b, err := json.Marshal(h) // escapes <, > and & for use inside <script>
	if err != nil {
		return "", fmt.Errorf("report: encode heatmap of script %d: %w", s.ID, err)
	}
	return string(b), nil
}

func when(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

func age(d time.Duration) string {
	switch {
	case d < 0:
		return "0 min"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	}
	return fmt.Sprintf("%.1f days", d.Hours()/24)
}

// clip cuts a text to ErrorChars characters with a visible marker.
func clip(s string) string {
	r := []rune(s)
	if len(r) <= ErrorChars {
		return s
	}
	return strings.TrimSpace(string(r[:ErrorChars])) + " …[cut]"
}
