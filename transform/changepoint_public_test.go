package transform

import "testing"

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
