package report

import (
	"fmt"
	"math"
	"sort"

	"github.com/scriptstats/scriptstats/transform"
)

// Wilson returns the Wilson score interval (z = 1.96) of k successes out of
// n, clamped to [0, 1] (CONTRACT.md section 2b). n = 0 gives [0, 1].
func Wilson(k, n uint64) (low, high float64) {
	if n == 0 {
		return 0, 1
	}
	const z = 1.96
	nf := float64(n)
	p := float64(k) / nf
	den := 1 + z*z/nf
	centre := (p + z*z/(2*nf)) / den
	half := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / den
	return math.Max(0, centre-half), math.Min(1, centre+half)
}

// Ranking windows: what "recent" and "open" mean in the overview.
const (
	// RecentDays is the window of the overview's recent success rate, and
	// the window in which a drop counts as open.
	RecentDays = 7
	// ChangeDays is the window in which a duration change point counts as recent.
	ChangeDays = 14
)

// Attention is why a script needs a look, and how much.
type Attention struct {
	// Score: 3 per open drop day and per broken step, 2 per recent slower
	// change and per newly failing step, 1 per recent faster change and per
	// flaky step. Only detection views feed it.
	Score   int
	Reasons []string
	// RecentTotal and RecentSuccess pool the script's last RecentDays days
	// of the period; RecentHigh is their Wilson upper bound (1 with no run).
	RecentTotal, RecentSuccess uint64
	RecentHigh                 float64
}

// attentionOf scores a script as of the period's last day.
func attentionOf(s *Script, to transform.Day) Attention {
	var a Attention
	recentFrom := to - RecentDays + 1
	for _, d := range s.Days {
		if d.Day >= recentFrom {
			a.RecentTotal += d.Total
			a.RecentSuccess += d.Success
		}
	}
	_, a.RecentHigh = Wilson(a.RecentSuccess, a.RecentTotal)
	open := 0
	for _, d := range s.Drops {
		if d.Day >= recentFrom {
			open++
		}
	}
	if open > 0 {
		a.Score += 3 * open
		a.Reasons = append(a.Reasons, fmt.Sprintf("%d success-rate drop day(s) in the last %d days", open, RecentDays))
	}
	for _, c := range s.Changes {
		if c.StepIndex.Valid || c.Day < to-ChangeDays+1 {
			continue
		}
		if c.Direction == "slower" {
			a.Score += 2
		} else {
			a.Score++
		}
		a.Reasons = append(a.Reasons, fmt.Sprintf("%s ×%.2f since %s", c.Direction, c.Ratio, c.Day))
	}
	weights := map[string]int{"broken": 3, "newly_failing": 2, "flaky": 1}
	for _, h := range s.Health {
		if w, ok := weights[h.State]; ok {
			a.Score += w
			a.Reasons = append(a.Reasons, fmt.Sprintf("step %d %s: %s", h.StepIndex, nameOr(h.StepName, "(unnamed)"), stateLabel(h.State)))
		}
	}
	return a
}

// ranked is a script with its attention, in overview order.
type ranked struct {
	*Script
	Attention Attention
}

// rank orders scripts by need of attention: score (detection views) first,
// then the lowest recent Wilson upper bound of the success rate (a script
// that is confidently failing more), then name and id.
func rank(d *Data) []ranked {
	out := make([]ranked, len(d.Scripts))
	for i := range d.Scripts {
		out[i] = ranked{Script: &d.Scripts[i], Attention: attentionOf(&d.Scripts[i], d.To)}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Attention, out[j].Attention
		if a.Score != b.Score {
			return a.Score > b.Score
		}
		if a.RecentHigh != b.RecentHigh {
			return a.RecentHigh < b.RecentHigh
		}
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func nameOr(n transform.NullString, def string) string {
	if n.Valid && n.String != "" {
		return n.String
	}
	return def
}

func stateLabel(s string) string {
	switch s {
	case "newly_failing":
		return "newly failing"
	}
	return s
}
