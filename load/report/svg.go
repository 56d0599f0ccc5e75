package report

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"

	"github.com/scriptstats/scriptstats/transform"
)

// Charts are drawn here as inline SVG: no library, no network, a few KB
// each. Colours are from the Okabe–Ito palette (distinguishable with the
// common colour-vision deficiencies) and every series also differs by line
// style or marker shape, never by colour alone.
const (
	colourLine   = "#0072b2" // blue: success rate, p50
	colourBand   = "#56b4e9" // sky blue: Wilson band
	colourP95    = "#e69f00" // orange: p95
	colourMarker = "#d55e00" // vermillion: drops, change points
)

// frame is the drawing area of a chart: the period on x, [yMin, yMax] on y.
type frame struct {
	w, h                     float64
	left, right, top, bottom float64
	from, to                 transform.Day
	yMin, yMax               float64
}

func newFrame(from, to transform.Day, yMin, yMax float64) frame {
	return frame{w: 720, h: 260, left: 72, right: 16, top: 16, bottom: 48, from: from, to: to, yMin: yMin, yMax: yMax}
}

func (f frame) x(d transform.Day) float64 {
	pw := f.w - f.left - f.right
	if f.to <= f.from {
		return f.left + pw/2
	}
	return f.left + pw*float64(d-f.from)/float64(f.to-f.from)
}

func (f frame) y(v float64) float64 {
	ph := f.h - f.top - f.bottom
	if f.yMax <= f.yMin {
		return f.top + ph
	}
	v = math.Max(f.yMin, math.Min(f.yMax, v))
	return f.top + ph*(1-(v-f.yMin)/(f.yMax-f.yMin))
}

// num writes a coordinate with one decimal (enough at this scale).
func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func esc(s string) string { return html.EscapeString(s) }

// axes draws the grid, the y ticks (formatted by yLabel), the day ticks
// and the two axis titles.
func (f frame) axes(b *strings.Builder, yTicks []float64, yLabel func(float64) string, xTitle, yTitle string) {
	for _, t := range yTicks {
		y := f.y(t)
		fmt.Fprintf(b, `<path class="g" d="M%s %sH%s"/>`, num(f.left), num(y), num(f.w-f.right))
		fmt.Fprintf(b, `<text x="%s" y="%s" class="yt">%s</text>`, num(f.left-6), num(y+4), esc(yLabel(t)))
	}
	base := f.h - f.bottom
	fmt.Fprintf(b, `<path class="a" d="M%s %sH%s"/>`, num(f.left), num(base), num(f.w-f.right))
	for _, d := range dayTicks(f.from, f.to, 6) {
		x := f.x(d)
		fmt.Fprintf(b, `<path class="a" d="M%s %sv5"/><text x="%s" y="%s" class="xt">%s</text>`, num(x), num(base), num(x), num(base+18), d.Time().Format("Jan 2"))
	}
	fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle" class="axis">%s</text>`, num(f.left+(f.w-f.left-f.right)/2), num(f.h-6), esc(xTitle))
	fmt.Fprintf(b, `<text transform="translate(14 %s) rotate(-90)" text-anchor="middle" class="axis">%s</text>`, num(f.top+(f.h-f.top-f.bottom)/2), esc(yTitle))
}

// dayTicks picks about n evenly spaced days of [from, to], ends included.
func dayTicks(from, to transform.Day, n int) []transform.Day {
	if to <= from {
		return []transform.Day{from}
	}
	span := int(to - from)
	step := max(1, (span+n-1)/n)
	var out []transform.Day
	for d := from; d <= to; d += transform.Day(step) {
		out = append(out, d)
	}
	return out
}

// niceTicks returns 0 and about four round steps up to at least max.
func niceTicks(maxV float64) []float64 {
	if !(maxV > 0) || math.IsInf(maxV, 0) {
		return []float64{0, 1}
	}
	raw := maxV / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	for v := 0.0; ; v += step {
		out = append(out, v)
		if v >= maxV {
			break
		}
	}
	return out
}

// polyline draws the points as one path, broken where a point is missing.
func polyline(b *strings.Builder, pts [][2]float64, ok []bool, attrs string) {
	var p strings.Builder
	pen := false
	for i, pt := range pts {
		if !ok[i] {
			pen = false
			continue
		}
		if pen {
			p.WriteString("L")
		} else {
			p.WriteString("M")
			pen = true
		}
		p.WriteString(num(pt[0]) + " " + num(pt[1]))
	}
	if p.Len() > 0 {
		fmt.Fprintf(b, `<path d="%s" fill="none" %s/>`, p.String(), attrs)
	}
}

// successChart draws the daily success rate with its Wilson band and the
// drop days.
func successChart(s *Script, from, to transform.Day, tz string) string {
	f := newFrame(from, to, 0, 1)
	var b strings.Builder
	title := "Success rate by day, with its 95 % Wilson interval"
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %s %s" role="img" aria-labelledby="sc-%d-t"><title id="sc-%d-t">%s</title>`, num(f.w), num(f.h), s.ID, s.ID, esc(title))
	f.axes(&b, []float64{0, 0.25, 0.5, 0.75, 1}, func(v float64) string { return fmt.Sprintf("%.0f%%", v*100) }, "Day ("+tz+")", "Success rate (%)")
	if len(s.Days) > 0 {
		var band strings.Builder
		for _, d := range s.Days {
			band.WriteString(num(f.x(d.Day)) + "," + num(f.y(d.High)) + " ")
		}
		for i := len(s.Days) - 1; i >= 0; i-- {
			d := s.Days[i]
			band.WriteString(num(f.x(d.Day)) + "," + num(f.y(d.Low)) + " ")
		}
		fmt.Fprintf(&b, `<polygon class="band" points="%s" fill="%s" fill-opacity="0.35" stroke="none"/>`, strings.TrimSpace(band.String()), colourBand)
		pts, ok := daySeries(s.Days, f, func(d Day) (float64, bool) { return d.SuccessRate, true })
		polyline(&b, pts, ok, `class="line" stroke="`+colourLine+`" stroke-width="2"`)
	}
	for _, dr := range s.Drops {
		x, y := f.x(dr.Day), f.y(dr.SuccessRate)
		fmt.Fprintf(&b, `<path class="drop" d="M%s %sl6 10h-12z" fill="%s"><title>Drop on %s: %s success (Wilson high %s) vs baseline %s (low %s, %d runs)</title></path>`,
			num(x), num(y-5), colourMarker, dr.Day, pct(dr.SuccessRate), pct(dr.High), pct(dr.BaselineRate), pct(dr.BaselineLow), dr.BaselineRuns)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// daySeries maps the days that exist to points; a gap of days with no row
// breaks the line.
func daySeries(days []Day, f frame, v func(Day) (float64, bool)) ([][2]float64, []bool) {
	var pts [][2]float64
	var ok []bool
	for i, d := range days {
		if i > 0 && d.Day != days[i-1].Day+1 {
			pts, ok = append(pts, [2]float64{}), append(ok, false)
		}
		val, valid := v(d)
		pts = append(pts, [2]float64{f.x(d.Day), f.y(val)})
		ok = append(ok, valid)
	}
	return pts, ok
}

// durationChart draws the daily p50 and p95 duration and the run-level
// change points.
func durationChart(s *Script, from, to transform.Day, tz string) string {
	maxV := 0.0
	for _, d := range s.Days {
		if d.DurationP95.Valid && !math.IsInf(d.DurationP95.Float64, 0) {
			maxV = math.Max(maxV, d.DurationP95.Float64)
		}
		if d.DurationP50.Valid && !math.IsInf(d.DurationP50.Float64, 0) {
			maxV = math.Max(maxV, d.DurationP50.Float64)
		}
	}
	ticks := niceTicks(maxV)
	f := newFrame(from, to, 0, ticks[len(ticks)-1])
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %s %s" role="img" aria-labelledby="dc-%d-t"><title id="dc-%d-t">Duration of successful runs by day: median (p50) and p95</title>`, num(f.w), num(f.h), s.ID, s.ID)
	f.axes(&b, ticks, func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }, "Day ("+tz+")", "Duration (seconds)")
	for _, c := range s.Changes {
		if c.StepIndex.Valid {
			continue
		}
		x := f.x(c.Day)
		// The label goes left of the line near the right edge.
		lx, anchor := x+4, "start"
		if x > f.w-f.right-70 {
			lx, anchor = x-4, "end"
		}
		fmt.Fprintf(&b, `<g class="change"><line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="2" stroke-dasharray="2 3"/><text x="%s" y="%s" text-anchor="%s" class="mark">×%.2f</text><title>Change point on %s (run %d): median %s → %s, ×%.2f, %s</title></g>`,
			num(x), num(x), num(f.top), num(f.h-f.bottom), colourMarker, num(lx), num(f.top+12), anchor, c.Ratio, c.Day, c.RunID, secs(c.MedianBefore), secs(c.MedianAfter), c.Ratio, c.Direction)
	}
	p50, ok50 := daySeries(s.Days, f, func(d Day) (float64, bool) { return d.DurationP50.Float64, d.DurationP50.Valid })
	polyline(&b, p50, ok50, `class="p50" stroke="`+colourLine+`" stroke-width="2"`)
	p95, ok95 := daySeries(s.Days, f, func(d Day) (float64, bool) { return d.DurationP95.Float64, d.DurationP95.Valid })
	polyline(&b, p95, ok95, `class="p95" stroke="`+colourP95+`" stroke-width="2" stroke-dasharray="6 3"`)
	b.WriteString(`</svg>`)
	return b.String()
}

// sparkline is the overview's small daily success-rate line (0–100 %).
func sparkline(s *Script, from, to transform.Day) string {
	var b strings.Builder
	lo, loDay := 2.0, transform.Day(0)
	for _, d := range s.Days {
		if d.SuccessRate < lo {
			lo, loDay = d.SuccessRate, d.Day
		}
	}
	// The scale starts at the lowest rate rounded down to 10 %, so that a
	// script's own ups and downs show; the title says where it starts.
	yMin := math.Min(0.9, math.Floor(math.Max(lo, 0)*10)/10)
	f := frame{w: 160, h: 32, left: 2, right: 2, top: 3, bottom: 3, from: from, to: to, yMin: yMin, yMax: 1}
	label := "no counted runs in the period"
	if len(s.Days) > 0 {
		last := s.Days[len(s.Days)-1]
		label = fmt.Sprintf("daily success rate (scale %.0f–100%%): lowest %s on %s, last %s on %s", yMin*100, pct(lo), loDay, pct(last.SuccessRate), last.Day)
	}
	fmt.Fprintf(&b, `<svg class="spark" viewBox="0 0 160 32" width="160" height="32" role="img"><title>%s</title>`, esc(label))
	fmt.Fprintf(&b, `<rect x="2" y="3" width="156" height="26" fill="#f4f6f8"/>`)
	pts, ok := daySeries(s.Days, f, func(d Day) (float64, bool) { return d.SuccessRate, true })
	polyline(&b, pts, ok, `stroke="`+colourLine+`" stroke-width="1.5"`)
	b.WriteString(`</svg>`)
	return b.String()
}

// pct formats a fraction as a percentage with two decimals.
func pct(v float64) string { return strconv.FormatFloat(v*100, 'f', 2, 64) + "%" }

// secs formats seconds with three decimals (as compare does).
func secs(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) + " s" }

func nullSecs(v transform.NullFloat) string {
	if !v.Valid {
		return "–"
	}
	return secs(v.Float64)
}
