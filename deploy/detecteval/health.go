package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/scriptstats/scriptstats/transform"
)

// Planted step histories for step health: 14 days before asOf, 1–10
// executions a day, one planted state each. The classification is exact
// to contract 2b's definition, so this measures the definition against
// what was planted (how often a step flaky at 1 % is called flaky), not
// rounding.
var healthKinds = []string{
	"broken", "newly_failing", "flaky 1%", "flaky 5%", "flaky 10%", "flaky 30%", "recovered", "healthy",
}

var healthAsOf = time.Date(2026, time.May, 20, 6, 0, 0, 0, time.UTC)

type plantedHealth struct {
	execs []transform.StepExecution
	state transform.HealthState
	since time.Time // zero for healthy
}

func plantHealth(r *rand.Rand, kind string) plantedHealth {
	perDay := 1 + r.IntN(10)
	n := 14 * perDay
	gap := transform.HealthWindow / time.Duration(n+1)
	failed := make([]bool, n)
	var p plantedHealth
	sinceIdx := -1 // the planted since: that execution's time
	switch kind {
	case "broken": // failing from a known run on, ≥ 3 failures
		k := n - 3 - r.IntN(max(1, n/3))
		for i := k; i < n; i++ {
			failed[i] = true
		}
		p.state = transform.Broken
		sinceIdx = k
	case "newly_failing": // the last 1–2 executions of the last 24 h fail
		k := n - 1 - r.IntN(2)
		for i := k; i < n; i++ {
			failed[i] = true
		}
		p.state = transform.NewlyFailing
		sinceIdx = k
	case "recovered": // a streak of 3–10 failures, then ≥ 5 successes
		streak := 3 + r.IntN(8)
		end := n - 5 - r.IntN(max(1, n/4))
		for i := max(0, end-streak); i < end; i++ {
			failed[i] = true
		}
		p.state = transform.Recovered
		sinceIdx = end
	case "healthy":
		p.state = transform.Healthy
	default: // flaky at a rate
		var rate float64
		fmt.Sscanf(strings.TrimPrefix(kind, "flaky "), "%g%%", &rate)
		first := -1
		for i := range failed {
			failed[i] = r.Float64() < rate/100
			if failed[i] && first < 0 {
				first = i
			}
		}
		p.state = transform.Flaky
		if first >= 0 {
			sinceIdx = first
		}
	}
	from := healthAsOf.Add(-transform.HealthWindow)
	for i := range n {
		p.execs = append(p.execs, transform.StepExecution{At: from.Add(time.Duration(i+1) * gap), RunID: int64(i + 1), Failed: failed[i]})
	}
	if kind == "newly_failing" { // keep the failures within the last 24 h
		for i := n - 2; i < n; i++ {
			p.execs[i].At = healthAsOf.Add(-time.Duration(n-i) * time.Hour)
		}
	}
	if sinceIdx >= 0 {
		p.since = p.execs[sinceIdx].At
	}
	return p
}

// healthScore counts, per planted kind, the steps classified as planted
// and, of those, the ones with the planted `since`.
type healthScore struct {
	steps, right, sinceRight int
	got                      map[transform.HealthState]int
}

func evaluateHealth(lo, hi uint64, perKind int) map[string]*healthScore {
	out := map[string]*healthScore{}
	for seed := lo; seed <= hi; seed++ {
		r := rand.New(rand.NewPCG(seed, 0x4ea1))
		for _, kind := range healthKinds {
			hs := out[kind]
			if hs == nil {
				hs = &healthScore{got: map[transform.HealthState]int{}}
				out[kind] = hs
			}
			for range perKind {
				p := plantHealth(r, kind)
				h := transform.ClassifyStepHealth(p.execs, healthAsOf, time.UTC)
				hs.steps++
				hs.got[h.State]++
				if h.State == p.state {
					hs.right++
					if h.Since.Time.Equal(p.since) || (!h.Since.Valid && p.since.IsZero()) {
						hs.sinceRight++
					}
				}
			}
		}
	}
	return out
}

func healthTable(scores map[string]*healthScore) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-14s %6s %9s %9s  %s\n", "planted", "steps", "as such", "since ok", "classified as")
	for _, kind := range healthKinds {
		s := scores[kind]
		var got []string
		for _, st := range []transform.HealthState{transform.Broken, transform.NewlyFailing, transform.Flaky, transform.Recovered, transform.Healthy} {
			if s.got[st] > 0 {
				got = append(got, fmt.Sprintf("%s %d", st, s.got[st]))
			}
		}
		fmt.Fprintf(&b, "%-14s %6d %9s %9s  %s\n", kind, s.steps, ratio(s.right, s.steps), ratio(s.sinceRight, s.right), strings.Join(got, ", "))
	}
	return b.String()
}
