package transform

import (
	"fmt"
	"testing"
)

// BenchmarkTextInterner: 300 distinct step names, each seen again and
// again (the cost of sharing a text seen before).
func BenchmarkTextInterner(b *testing.B) {
	names := make([][]byte, 300)
	for i := range names {
		names[i] = fmt.Appendf(nil, "step %d of script %d", i%12, i/12)
	}
	var t textInterner
	b.ReportAllocs()
	for b.Loop() {
		for _, n := range names {
			t.cut(n, DefaultLimits.NameBytes)
		}
	}
}
