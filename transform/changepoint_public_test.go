package transform

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// nileFlow is the annual flow of the Nile at Aswan, 1871–1970 (10⁸ m³;
// R's datasets::Nile, statsmodels' nile). Its change point is published:
// Cobb (1978), "The problem of the Nile: conditional solution to a
// changepoint problem", Biometrika 65:243 — the level drops after 1898
// (the first dam at Aswan); strucchange's breakpoints() puts the last value
// before the break at observation 28, so the first value after it is index
// 28 (1899).
var nileFlow = []float64{
	1120, 1160, 963, 1210, 1160, 1160, 813, 1230, 1370, 1140, 995, 935, 1110, 994, 1020,
	960, 1180, 799, 958, 1140, 1100, 1210, 1150, 1250, 1260, 1220, 1030, 1100, 774, 840,
	874, 694, 940, 833, 701, 916, 692, 1020, 1050, 969, 831, 726, 456, 824, 702, 1120,
	1100, 832, 764, 821, 768, 845, 864, 862, 698, 845, 744, 796, 1040, 759, 781, 865, 845,
	944, 984, 897, 822, 1010, 771, 676, 649, 846, 812, 742, 801, 1040, 860, 874, 848, 890,
	744, 749, 838, 1050, 918, 986, 797, 923, 975, 815, 1020, 906, 901, 1170, 912, 746, 919,
	718, 714, 740,
}

// TestNileChangePoint: a public series with a published change point, as
// a script with one run a year (one value a day for the one-day rule):
// exactly one change, within ±2 positions of index 28, downwards.
func TestNileChangePoint(t *testing.T) {
	if len(nileFlow) != 100 {
		t.Fatalf("%d values, the series has 100", len(nileFlow))
	}
	days := make([]Day, len(nileFlow))
	for i := range days {
		days[i] = Day(i)
	}
	cps, err := DetectChanges(nileFlow, days, DefaultChangeOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(cps) != 1 {
		t.Fatalf("%d change points %+v, want the one published", len(cps), cps)
	}
	cp := cps[0]
	if cp.Index < 26 || cp.Index > 30 || cp.Direction != Faster {
		t.Fatalf("change point %+v, want index 28 ± 2, lower after", cp)
	}
	t.Logf("Nile: index %d, median %.0f → %.0f, p %.3g, δ %.2f", cp.Index, cp.MedianBefore, cp.MedianAfter, cp.P, cp.Effect)
}

// wellLogAgreed are the positions of TCPD's well_log (testdata/well_log,
// README.md there) that at least four of its five annotators marked
// (within ±2): the published annotations, not this method's output.
var wellLogAgreed = []int{179, 255, 281, 311, 343, 402, 412, 422, 432}

// TestWellLogChangePoints: the literature's classic series of short
// plateaus (segments of 10–76 values, shifts of 7–15 % under ~2 % noise),
// without days and with one value a day. Of the agreed positions, the
// method must find 179 (+13 %), 281 (−15 %) and 311 (+12 %, the end of a
// 31-value dip: method version 3's near level) within ±2, each the way
// the level moved there, and nothing more than 2 away from every agreed
// position. The others are not changes by the contract's definition or
// below its 12 runs: 255 (+7 %), 343 (−7 %) and 422 (+9 %) are under the
// 10 % magnitude threshold; 402, 412 and 432 bound plateaus of 10 values.
func TestWellLogChangePoints(t *testing.T) {
	values := readValues(t, filepath.Join("testdata", "well_log", "well_log.txt"))
	if len(values) != 675 {
		t.Fatalf("%d values, TCPD's well_log has 675", len(values))
	}
	days := make([]Day, len(values))
	for i := range days {
		days[i] = Day(i)
	}
	want := []struct {
		at  int
		dir Direction
	}{{179, Slower}, {281, Faster}, {311, Slower}}
	for _, d := range [][]Day{nil, days} {
		cps, err := DetectChanges(values, d, DefaultChangeOptions())
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !slices.ContainsFunc(cps, func(cp ChangePoint) bool { return abs(cp.Index-w.at) <= 2 && cp.Direction == w.dir }) {
				t.Errorf("days %v: no %s change within ±2 of %d in %+v", d != nil, w.dir, w.at, cps)
			}
		}
		for _, cp := range cps {
			if !slices.ContainsFunc(wellLogAgreed, func(a int) bool { return abs(cp.Index-a) <= 2 }) {
				t.Errorf("days %v: change point %+v is not within ±2 of an agreed position %v", d != nil, cp, wellLogAgreed)
			}
			t.Logf("days %v: index %d, %s, %d|%d runs, median %.0f → %.0f, p %.2g, δ %.2f",
				d != nil, cp.Index, cp.Direction, cp.RunsBefore, cp.RunsAfter, cp.MedianBefore, cp.MedianAfter, cp.P, cp.Effect)
		}
	}
}

// readValues reads a file of one number a line.
func readValues(t *testing.T, path string) []float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var values []float64
	for _, line := range strings.Fields(string(b)) {
		v, err := strconv.ParseFloat(line, 64)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		values = append(values, v)
	}
	return values
}
