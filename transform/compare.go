package transform

import (
	"math"
	"sort"
)

// StepPair is one step index of a run comparison: the step as it was in
// run A and in run B (nil where the run has no step with that index).
type StepPair struct {
	Index         int32
	A, B          *Step
	StatusChanged bool
	// DurationDelta is B − A when both durations are valid numbers.
	DurationDelta NullFloat
}

// Comparison is the step-aligned diff of two runs.
type Comparison struct {
	Steps []StepPair
	// FirstDivergent is the smallest step index whose status differs (a
	// step present in only one run counts as differing).
	FirstDivergent NullInt32
	// DurationDelta is B − A of the runs' durations.
	DurationDelta NullFloat
}

// CompareSteps aligns two runs' steps by index. With duplicate indexes in
// one run, the first step of that index is the one compared (the same rule
// as the run_vs_previous view).
func CompareSteps(a, b []Step, durA, durB NullFloat) Comparison {
	byIndex := map[int32]*StepPair{}
	var order []int32
	pair := func(idx int32) *StepPair {
		p, ok := byIndex[idx]
		if !ok {
			p = &StepPair{Index: idx}
			byIndex[idx] = p
			order = append(order, idx)
		}
		return p
	}
	for i := range a {
		if p := pair(a[i].Index); p.A == nil {
			p.A = &a[i]
		}
	}
	for i := range b {
		if p := pair(b[i].Index); p.B == nil {
			p.B = &b[i]
		}
	}
	sort.Slice(order, func(i, j int) bool { return order[i] < order[j] })
	var c Comparison
	for _, idx := range order {
		p := byIndex[idx]
		p.StatusChanged = p.A == nil || p.B == nil || p.A.Status != p.B.Status
		if p.A != nil && p.B != nil {
			p.DurationDelta = delta(p.A.Duration, p.B.Duration)
		}
		if p.StatusChanged && !c.FirstDivergent.Valid {
			c.FirstDivergent = NullInt32{Int32: idx, Valid: true}
		}
		c.Steps = append(c.Steps, *p)
	}
	c.DurationDelta = delta(durA, durB)
	return c
}

func delta(a, b NullFloat) NullFloat {
	if !a.Valid || !b.Valid || math.IsNaN(a.Float64) || math.IsNaN(b.Float64) ||
		math.IsInf(a.Float64, 0) || math.IsInf(b.Float64, 0) {
		return NullFloat{}
	}
	return NullFloat{Float64: b.Float64 - a.Float64, Valid: true}
}
