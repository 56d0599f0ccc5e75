// Command detecteval measures the change-point detection of
// transform.DetectChanges against planted truth (`make detect-eval`): it
// generates script-months of durations with known level shifts, spikes and
// stable noise (planted.go) — short ones (30–300 runs, 1–10 a day) and
// high-frequency long ones (about 20, 80 and 200 runs a day, 300–9,000
// runs) — runs the detection and prints per kind of series the recall and
// precision of the shifts (a hit is a change point within ±2 positions of
// a planted shift), the change points raised on spikes, and the false
// changes per 100 script-months of stable series, over all series and per
// frequency.
//
// The exit status says whether the targets of contract 2b hold: precision
// ≥ 0.9 on the lognormal shifts ≥ 20 %, recall ≥ 0.9 on those whose noise
// has σ ≤ 0.1 (CV ≤ 10 %; at σ near 0.2 a 20 % shift has a population
// Cliff's δ below the contract's 0.5, so no method within the definition
// finds it — the recall over all noise levels is printed beside), no
// change on spikes, ≤ 1 per 100 stable script-months.
//
// Seeds 1–5 are the ones the defaults were tuned on; the report's figures
// are from seeds 1001–1005, never looked at while tuning method version 1
// (-seeds picks others; version 2 was designed from the change points on
// the spike series of 1–5, 1001–1005 and 3001–3005, and held out on
// 7001–7005; version 3 held out on 9001–9005: docs/detection.md,
// "Measured scores"). The staircase kinds (staircase.go) are scored
// beside the targets. -tcpd DIR evaluates on the public series of a
// checkout of the Turing Change Point Dataset instead (tcpd.go).
package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/scriptstats/scriptstats/transform"
)

func main() {
	seeds := flag.String("seeds", "1001-1005", "seeds to evaluate on, a range lo-hi (1-5 are the tuning seeds)")
	perKind := flag.Int("series", 200, "series (script-months) of each kind per seed")
	window := flag.Int("window", 12, "scan window w")
	confirm := flag.Int("confirm-window", transform.DefaultChangeOptions().ConfirmWindow, "persistence check window (0: the reference method alone)")
	only := flag.String("kinds", "", "evaluate only the kinds starting with one of these comma-separated prefixes (the series are drawn as without it: the same series per seed)")
	show := flag.Bool("show", false, "list every change point raised on a spike or stable series (seed, kind, series, where the spike is, the change point's figures)")
	tcpd := flag.String("tcpd", "", "instead, evaluate on the public series of a checkout of the Turing Change Point Dataset at this directory (github.com/alan-turing-institute/TCPD; tcpd.go)")
	flag.Parse()
	if *tcpd != "" {
		opt := transform.DefaultChangeOptions()
		opt.Window, opt.ConfirmWindow = *window, *confirm
		results, err := evaluateTCPD(*tcpd, opt)
		if err != nil {
			fmt.Fprintln(os.Stderr, "detecteval:", err)
			os.Exit(1)
		}
		fmt.Printf("TCPD at %s, w=%d, confirm window %d\n\n", *tcpd, opt.Window, opt.ConfirmWindow)
		printTCPD(os.Stdout, results)
		return
	}
	var lo, hi uint64
	if _, err := fmt.Sscanf(*seeds, "%d-%d", &lo, &hi); err != nil || lo > hi {
		fmt.Fprintf(os.Stderr, "detecteval: -seeds %q: want a range lo-hi\n", *seeds)
		os.Exit(2)
	}
	opt := transform.DefaultChangeOptions()
	opt.Window, opt.ConfirmWindow = *window, *confirm
	sel := selection{show: *show}
	if *only != "" {
		sel.prefixes = strings.Split(*only, ",")
	}
	sc, err := evaluateSelected(lo, hi, *perKind, opt, sel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "detecteval:", err)
		os.Exit(1)
	}
	fmt.Printf("seeds %d–%d, %d series per kind per seed, w=%d, confirm window %d\n\n", lo, hi, *perKind, opt.Window, opt.ConfirmWindow)
	fmt.Print(sc.table())
	fmt.Printf("\nstep health, %d steps of each planted state per seed (informative: the classification is the contract's definition)\n\n", *perKind)
	fmt.Print(healthTable(evaluateHealth(lo, hi, *perKind)))
	if fails := sc.targetMisses(); len(fails) > 0 {
		fmt.Printf("\ntargets NOT met: %s\n", strings.Join(fails, "; "))
		os.Exit(1)
	}
	fmt.Println("\ntargets met: precision ≥ 0.9 on shifts ≥ 20 %, recall ≥ 0.9 on those at noise σ ≤ 0.1, no change on spikes, ≤ 1 false change per 100 stable script-months")
}

// kindScore counts the outcome on the series of one kind.
type kindScore struct {
	series, planted, found    int // series, planted shifts, change points raised
	hits, trueChanges, extras int // planted shifts found; change points near a planted shift; the others
	quietPlanted, quietHits   int // planted and found on series with noise σ ≤ 0.1 (CV ≤ 10 %)
	// strongPlanted, strongHits: planted and found among the shifts of a
	// staircase by at least staircaseBigShift.
	strongPlanted, strongHits int
}

type scores struct {
	byKind map[string]*kindScore
}

// selection narrows an evaluation to some kinds and asks for the list of
// the change points raised on spike and stable series.
type selection struct {
	prefixes []string // kinds starting with one of them (none: all)
	show     bool
}

func (sel selection) keeps(kind string) bool {
	if len(sel.prefixes) == 0 {
		return true
	}
	for _, p := range sel.prefixes {
		if strings.HasPrefix(kind, p) {
			return true
		}
	}
	return false
}

func evaluate(lo, hi uint64, perKind int, opt transform.ChangeOptions) (scores, error) {
	return evaluateSelected(lo, hi, perKind, opt, selection{})
}

func evaluateSelected(lo, hi uint64, perKind int, opt transform.ChangeOptions, sel selection) (scores, error) {
	// One goroutine per seed (each has its own generator, so the figures
	// do not depend on scheduling), at most GOMAXPROCS at a time.
	type result struct {
		byKind map[string]*kindScore
		shown  []string
		err    error
	}
	results := make([]result, hi-lo+1)
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for seed := lo; seed <= hi; seed++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			byKind, shown, err := evaluateSeed(seed, perKind, opt, sel)
			results[seed-lo] = result{byKind, shown, err}
		}()
	}
	wg.Wait()
	sc := scores{byKind: map[string]*kindScore{}}
	for _, r := range results {
		if r.err != nil {
			return sc, r.err
		}
		for _, line := range r.shown {
			fmt.Println(line)
		}
		for kind, k := range r.byKind {
			t := sc.byKind[kind]
			if t == nil {
				t = &kindScore{}
				sc.byKind[kind] = t
			}
			t.merge(*k)
		}
	}
	return sc, nil
}

func evaluateSeed(seed uint64, perKind int, opt transform.ChangeOptions, sel selection) (map[string]*kindScore, []string, error) {
	byKind := map[string]*kindScore{}
	var shown []string
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	for _, kind := range kinds {
		ks := &kindScore{}
		byKind[kind] = ks
		count := perKind
		if _, perDay := baseKind(kind); perDay > 0 {
			count = max(1, perKind/4) // 300–9,000 values each
		}
		for series := range count {
			s := plant(r, kind) // drawn for every kind: the stream stays the same
			if !sel.keeps(kind) {
				continue
			}
			days := make([]transform.Day, len(s.days))
			for i, d := range s.days {
				days[i] = transform.Day(d)
			}
			cps, err := transform.DetectChanges(s.values, days, opt)
			if err != nil {
				return nil, nil, err
			}
			ks.add(s, cps)
			if sel.show && len(s.changes) == 0 {
				for _, cp := range cps {
					shown = append(shown, describe(seed, series, s, cp))
				}
			}
		}
		if ks.series == 0 {
			delete(byKind, kind)
		}
	}
	return byKind, shown, nil
}

// describe is one line about a change point raised on a series without a
// planted shift: where it is, the spike's position and day (for spike
// series), and the change point's figures.
func describe(seed uint64, series int, s plantedSeries, cp transform.ChangePoint) string {
	spike := ""
	if s.spikeAt >= 0 {
		first, last := s.spikeAt, s.spikeAt
		for first > 0 && s.spikeDay && s.days[first-1] == s.days[s.spikeAt] {
			first--
		}
		for last+1 < len(s.days) && s.spikeDay && s.days[last+1] == s.days[s.spikeAt] {
			last++
		}
		spike = fmt.Sprintf(" spike at [%d,%d] (day %d) ×%.2f;", first, last, s.days[s.spikeAt], s.spikeFactor)
	}
	return fmt.Sprintf("seed %d %s #%d: n=%d σ=%.3f;%s change at %d (day %d): %d|%d runs, medians %.4g→%.4g, p=%.3g, δ=%.3f",
		seed, s.kind, series, len(s.values), s.sigma, spike, cp.Index, s.days[cp.Index], cp.RunsBefore, cp.RunsAfter,
		cp.MedianBefore, cp.MedianAfter, cp.P, cp.Effect)
}

func (k *kindScore) merge(o kindScore) {
	k.series += o.series
	k.planted += o.planted
	k.found += o.found
	k.hits += o.hits
	k.trueChanges += o.trueChanges
	k.extras += o.extras
	k.quietPlanted += o.quietPlanted
	k.quietHits += o.quietHits
	k.strongPlanted += o.strongPlanted
	k.strongHits += o.strongHits
}

// add scores the change points found on one series: a planted shift is hit
// when a change point is within ±2 positions of it; a change point is true
// when it is within ±2 of a planted shift.
func (k *kindScore) add(s plantedSeries, cps []transform.ChangePoint) {
	k.series++
	k.planted += len(s.changes)
	k.found += len(cps)
	near := func(a, b int) bool { return abs(a-b) <= 2 }
	quiet := s.sigma <= 0.1
	for n, c := range s.changes {
		strong := strings.HasPrefix(s.kind, "staircase") && math.Abs(s.factors[n]-1) >= staircaseBigShift-1e-12
		if quiet {
			k.quietPlanted++
		}
		if strong {
			k.strongPlanted++
		}
		for _, cp := range cps {
			if near(cp.Index, c) {
				k.hits++
				if quiet {
					k.quietHits++
				}
				if strong {
					k.strongHits++
				}
				break
			}
		}
	}
	for _, cp := range cps {
		hit := false
		for _, c := range s.changes {
			hit = hit || near(cp.Index, c)
		}
		if hit {
			k.trueChanges++
		} else {
			k.extras++
		}
	}
}

func ratio(a, b int) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.3f", float64(a)/float64(b))
}

func (sc scores) table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-24s %7s %8s %7s %9s %9s %11s %9s\n", "kind", "series", "planted", "found", "recall", "precision", "recall σ≤.1", "changes/100 series")
	for _, kind := range kinds {
		k := sc.byKind[kind]
		if k == nil { // not evaluated (-kinds)
			continue
		}
		fmt.Fprintf(&b, "%-24s %7d %8d %7d %9s %9s %11s %9.2f\n", kind, k.series, k.planted, k.found,
			ratio(k.hits, k.planted), ratio(k.trueChanges, k.found), ratio(k.quietHits, k.quietPlanted), 100*float64(k.found)/float64(k.series))
	}
	groups := []struct {
		name string
		keep func(string) bool
	}{
		{"all series", func(string) bool { return true }},
		{"script-months of 30–300 runs (1–10 a day)", func(kind string) bool { return !strings.Contains(kind, "@") }},
	}
	for _, perDay := range []int{20, 80, 200} {
		suffix := fmt.Sprintf("@%d/d", perDay)
		groups = append(groups, struct {
			name string
			keep func(string) bool
		}{fmt.Sprintf("high frequency, about %d runs a day", perDay), func(kind string) bool { return strings.HasSuffix(kind, suffix) }})
	}
	for _, g := range groups {
		keep := func(pred func(string) bool) kindScore {
			return sc.sum(func(kind string) bool { return g.keep(kind) && pred(kind) })
		}
		fmt.Fprintf(&b, "\n%s:\n", g.name)
		big := keep(isBigShift)
		fmt.Fprintf(&b, "  shifts ≥ 20 %% (up and down, lognormal): recall %s, precision %s (%d planted, %d found); recall at noise σ ≤ 0.1: %s\n",
			ratio(big.hits, big.planted), ratio(big.trueChanges, big.found), big.planted, big.found, ratio(big.quietHits, big.quietPlanted))
		bimodal := keep(func(kind string) bool { return strings.Contains(kind, "/bimodal") })
		fmt.Fprintf(&b, "  shifts ≥ 20 %% (up and down, bimodal): recall %s, precision %s (%d planted, %d found)\n",
			ratio(bimodal.hits, bimodal.planted), ratio(bimodal.trueChanges, bimodal.found), bimodal.planted, bimodal.found)
		spikes := keep(func(kind string) bool { return strings.HasPrefix(kind, "spike") })
		fmt.Fprintf(&b, "  spikes: %d change points on %d series\n", spikes.found, spikes.series)
		stable := keep(func(kind string) bool { return strings.HasPrefix(kind, "stable") })
		if stable.series > 0 { // none when -kinds leaves them out
			fmt.Fprintf(&b, "  stable: %.2f false changes per 100 script-months (%d on %d)\n",
				100*float64(stable.found)/float64(stable.series), stable.found, stable.series)
		}
	}
	stairs := sc.sum(func(kind string) bool { return strings.HasPrefix(kind, "staircase") })
	if stairs.series > 0 {
		fmt.Fprintf(&b, "\nstaircases (3–6 shifts of ±10–20 %%, plateaus of 12–40 runs, σ ≤ 0.08; not in the targets):\n")
		fmt.Fprintf(&b, "  recall %s (shifts ≥ %.0f %%: %s), precision %s (%d planted, %d found, on %d series)\n",
			ratio(stairs.hits, stairs.planted), 100*staircaseBigShift, ratio(stairs.strongHits, stairs.strongPlanted),
			ratio(stairs.trueChanges, stairs.found), stairs.planted, stairs.found, stairs.series)
	}
	return b.String()
}

func (sc scores) sum(keep func(string) bool) kindScore {
	var t kindScore
	for kind, k := range sc.byKind {
		if keep(kind) {
			t.merge(*k)
		}
	}
	return t
}

// targetMisses lists the targets of contract 2b the scores miss.
func (sc scores) targetMisses() []string {
	var miss []string
	big := sc.sum(isBigShift)
	if big.quietPlanted > 0 && float64(big.quietHits) < 0.9*float64(big.quietPlanted) {
		miss = append(miss, "recall on shifts ≥ 20 % at noise σ ≤ 0.1 below 0.9")
	}
	if big.found > 0 && float64(big.trueChanges) < 0.9*float64(big.found) {
		miss = append(miss, "precision on shifts ≥ 20 % below 0.9")
	}
	if spikes := sc.sum(func(kind string) bool { return strings.HasPrefix(kind, "spike") }); spikes.found > 0 {
		miss = append(miss, fmt.Sprintf("%d change points on spikes", spikes.found))
	}
	if stable := sc.sum(func(kind string) bool { return strings.HasPrefix(kind, "stable") }); 100*stable.found > stable.series {
		miss = append(miss, "more than 1 false change per 100 stable script-months")
	}
	return miss
}

// isBigShift: the kinds the precision and recall targets are about, level
// shifts ≥ 20 % on lognormal durations (the bimodal ones are reported
// beside them).
func isBigShift(kind string) bool {
	x := shiftOf(kind)
	return !strings.Contains(kind, "/bimodal") && (x >= 0.2 || x <= -0.2)
}
