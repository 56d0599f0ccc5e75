package load

import (
	"fmt"
	"testing"

	"github.com/scriptstats/scriptstats/transform"
)

// BenchmarkStepDecoder decodes 1,000 runs' agg_steps of ten steps each,
// a script's runs one after another (as a group's are read), 20 scripts,
// one failed step in five runs.
func BenchmarkStepDecoder(b *testing.B) {
	var values []string
	for i := range 1000 {
		var steps []transform.Step
		for j := range 10 {
			st := transform.Step{Index: int32(j), Name: transform.NullString{String: fmt.Sprintf("step %d of script %d", j, i/50), Valid: true}, Status: transform.StepSuccess}
			if i%5 == 0 && j == 9 {
				st.Status = transform.StepFailed
				st.Error = transform.NullString{String: fmt.Sprintf("TimeoutError: waiting for selector #id-%d exceeded 30000 ms", i%40), Valid: true}
			}
			steps = append(steps, st)
		}
		values = append(values, string(encodeSteps(nil, steps)))
	}
	b.ReportAllocs()
	for b.Loop() {
		var d stepDecoder
		var out []transform.Step
		for _, v := range values {
			var err error
			if out, err = d.decode(v, out); err != nil {
				b.Fatal(err)
			}
		}
	}
}
