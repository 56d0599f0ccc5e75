package transform

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// benchSteps is a realistic steps text of n steps, one failed.
func benchSteps(n int) []byte {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		if i == n-1 {
			fmt.Fprintf(&b, `{"error": "timeout waiting for selector #submit", "index": %d, "name": "step number %d", "status": "failed", "duration": 30.001}`, i, i)
			continue
		}
		fmt.Fprintf(&b, `{"error": null, "index": %d, "name": "step number %d", "status": "success", "duration": %d.25}`, i, i, i)
	}
	b.WriteByte(']')
	return []byte(b.String())
}

func benchSource(id int64, steps []byte) SourceRun {
	start := time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC).Add(time.Duration(id) * time.Second)
	return SourceRun{
		ID: id, ScriptID: 42, Status: "failed",
		StartedAt:  NullTime{Time: start, Valid: true},
		FinishedAt: NullTime{Time: start.Add(95 * time.Second), Valid: true},
		CreatedAt:  start, UpdatedAt: start,
		ErrorMessage: NullString{String: "step 9 failed: timeout waiting for selector #submit", Valid: true},
		Steps:        steps,
	}
}

func BenchmarkNormalize(b *testing.B) {
	benchNormalize(b, Normalize)
}

// BenchmarkNormalizer is BenchmarkNormalize through one Normalizer, as a
// pass normalizes its runs: the step names and the error repeat.
func BenchmarkNormalizer(b *testing.B) {
	var n Normalizer
	benchNormalize(b, n.Normalize)
}

func benchNormalize(b *testing.B, normalize func(SourceRun, *time.Location, Limits) (Run, Issues, bool)) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		b.Fatal(err)
	}
	src := benchSource(1, benchSteps(10))
	b.SetBytes(int64(len(src.Steps)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := normalize(src, ny, DefaultLimits); !ok {
			b.Fatal("rejected")
		}
	}
}

func BenchmarkNormalize100kSteps(b *testing.B) {
	src := benchSource(1, benchSteps(100_000))
	b.SetBytes(int64(len(src.Steps)))
	b.ReportAllocs()
	for b.Loop() {
		if run, _, _ := Normalize(src, time.UTC, DefaultLimits); len(run.Steps) != 100_000 {
			b.Fatal(len(run.Steps))
		}
	}
}

func BenchmarkAggregate(b *testing.B) {
	steps := benchSteps(10)
	runs := make([]Run, 500)
	for i := range runs {
		src := benchSource(int64(i+1), steps)
		src.Duration = NullFloat{Float64: float64(i%97) + 0.5, Valid: true}
		if i%5 == 0 {
			src.Status = "success"
		}
		var ok bool
		runs[i], _, ok = Normalize(src, time.UTC, DefaultLimits)
		if !ok {
			b.Fatal("rejected")
		}
	}
	b.Run("Aggregator", func(b *testing.B) {
		var a Aggregator
		b.ReportAllocs()
		for b.Loop() {
			if _, _, st := a.Aggregate(runs); len(st) != 10 {
				b.Fatal(len(st))
			}
		}
	})
	b.Run("func", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, st := Aggregate(runs); len(st) != 10 {
				b.Fatal(len(st))
			}
		}
	})
}
