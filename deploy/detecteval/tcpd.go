package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/scriptstats/scriptstats/transform"
)

// The Turing Change Point Dataset (TCPD; van den Burg and Williams, "An
// Evaluation of Change Point Detection Algorithms", 2020;
// github.com/alan-turing-institute/TCPD) holds public series with change
// points marked by five annotators each. `detecteval -tcpd DIR` reads a
// checkout of it (DIR/annotations.json and DIR/datasets/<name>/<name>.json;
// the series that must be downloaded by their own script are skipped when
// absent), keeps the univariate series whose values are all present and
// ≥ 0 (a duration series), runs DetectChanges with the default options
// twice — without days and with one value a day (the one-day rule then
// leaves out single values) — and prints TCPD's F1 per series and the
// mean.

// tcpdSeries is one TCPD series file (the fields used).
type tcpdSeries struct {
	NObs   int `json:"n_obs"`
	NDim   int `json:"n_dim"`
	Series []struct {
		Raw []*float64 `json:"raw"`
	} `json:"series"`
}

// tcpdResult is the outcome on one series.
type tcpdResult struct {
	name                string
	n                   int
	skipped             string // why it is not evaluated ("" if it is)
	foundNil, foundDays []int
	f1Nil, f1Days       float64
	annotations         map[string][]int
}

// tcpdMargin is TCPD's margin: a change point within 5 positions of an
// annotation is a true positive.
const tcpdMargin = 5

// evaluateTCPD runs the evaluation on the checkout at dir.
func evaluateTCPD(dir string, opt transform.ChangeOptions) ([]tcpdResult, error) {
	b, err := os.ReadFile(filepath.Join(dir, "annotations.json"))
	if err != nil {
		return nil, fmt.Errorf("tcpd: %w (want a checkout of github.com/alan-turing-institute/TCPD)", err)
	}
	var annotations map[string]map[string][]int
	if err := json.Unmarshal(b, &annotations); err != nil {
		return nil, fmt.Errorf("tcpd: annotations.json: %w", err)
	}
	names := make([]string, 0, len(annotations))
	for name := range annotations {
		names = append(names, name)
	}
	slices.Sort(names)
	var out []tcpdResult
	for _, name := range names {
		r := tcpdResult{name: name, annotations: annotations[name]}
		values, why, err := readTCPDSeries(filepath.Join(dir, "datasets", name, name+".json"))
		if err != nil {
			return nil, err
		}
		r.n, r.skipped = len(values), why
		if why == "" {
			days := make([]transform.Day, len(values))
			for i := range days {
				days[i] = transform.Day(i)
			}
			if r.foundNil, err = changeIndexes(values, nil, opt); err != nil {
				return nil, fmt.Errorf("tcpd: %s: %w", name, err)
			}
			if r.foundDays, err = changeIndexes(values, days, opt); err != nil {
				return nil, fmt.Errorf("tcpd: %s: %w", name, err)
			}
			r.f1Nil = tcpdF1(annotations[name], r.foundNil)
			r.f1Days = tcpdF1(annotations[name], r.foundDays)
		}
		out = append(out, r)
	}
	return out, nil
}

// readTCPDSeries returns the values of a univariate series, or why it is
// not evaluated.
func readTCPDSeries(path string) ([]float64, string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "not in the checkout (downloaded by its own script)", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("tcpd: %w", err)
	}
	var s tcpdSeries
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, "", fmt.Errorf("tcpd: %s: %w", path, err)
	}
	if s.NDim != 1 || len(s.Series) != 1 {
		return nil, fmt.Sprintf("%d dimensions", s.NDim), nil
	}
	values := make([]float64, len(s.Series[0].Raw))
	for i, v := range s.Series[0].Raw {
		switch {
		case v == nil:
			return nil, "missing values", nil
		case *v < 0 || math.IsNaN(*v) || math.IsInf(*v, 0):
			return nil, "negative values", nil
		}
		values[i] = *v
	}
	return values, "", nil
}

func changeIndexes(values []float64, days []transform.Day, opt transform.ChangeOptions) ([]int, error) {
	cps, err := transform.DetectChanges(values, days, opt)
	if err != nil {
		return nil, err
	}
	idx := make([]int, len(cps))
	for k, cp := range cps {
		idx[k] = cp.Index
	}
	return idx, nil
}

// tcpdF1 is TCPD's F-measure (its metrics.f_measure, α = 0.5, margin 5):
// 0 is added to every annotator's set and to the predictions; precision
// is the share of predictions matched by the union of the annotations,
// recall the mean over annotators of the share of their annotations
// matched; each annotation matches the nearest unmatched prediction within
// the margin (annotations in ascending order, ties to the earlier
// prediction).
func tcpdF1(annotations map[string][]int, predicted []int) float64 {
	x := withZero(predicted)
	var union []int
	var recall float64
	for _, a := range annotations {
		t := withZero(a)
		union = append(union, t...)
		recall += float64(tcpdTruePositives(t, x)) / float64(len(t))
	}
	recall /= float64(len(annotations))
	precision := float64(tcpdTruePositives(withZero(union), x)) / float64(len(x))
	if precision+recall == 0 {
		return 0
	}
	return 2 * precision * recall / (precision + recall)
}

// withZero is the set of a and 0, ascending.
func withZero(a []int) []int {
	s := append([]int{0}, a...)
	slices.Sort(s)
	return slices.Compact(s)
}

// tcpdTruePositives counts the annotations t (a set, ascending) matched by
// the predictions x (a set).
func tcpdTruePositives(t, x []int) int {
	free := slices.Clone(x)
	n := 0
	for _, tau := range t {
		best := -1
		for k, p := range free {
			if d := abs(tau - p); d <= tcpdMargin && (best < 0 || d < abs(tau-free[best])) {
				best = k
			}
		}
		if best >= 0 {
			free = slices.Delete(free, best, best+1)
			n++
		}
	}
	return n
}

// printTCPD writes the table of results and the means.
func printTCPD(w io.Writer, results []tcpdResult) {
	var sumNil, sumDays float64
	var n int
	fmt.Fprintf(w, "%-20s %5s %7s %7s  %-28s %s\n", "series", "n", "F1", "F1 days", "found (days: if different)", "annotations (by annotator)")
	for _, r := range results {
		if r.skipped != "" {
			fmt.Fprintf(w, "%-20s skipped: %s\n", r.name, r.skipped)
			continue
		}
		n++
		sumNil += r.f1Nil
		sumDays += r.f1Days
		found := fmt.Sprint(r.foundNil)
		if !slices.Equal(r.foundNil, r.foundDays) {
			found += " (" + fmt.Sprint(r.foundDays) + ")"
		}
		keys := make([]string, 0, len(r.annotations))
		for k := range r.annotations {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var ann []string
		for _, k := range keys {
			ann = append(ann, fmt.Sprint(r.annotations[k]))
		}
		fmt.Fprintf(w, "%-20s %5d %7.3f %7.3f  %-28s %s\n", r.name, r.n, r.f1Nil, r.f1Days, found, strings.Join(ann, " "))
	}
	if n > 0 {
		fmt.Fprintf(w, "\nmean F1 over %d series: %.3f without days, %.3f with one value a day (margin %d)\n", n, sumNil/float64(n), sumDays/float64(n), tcpdMargin)
	}
}
