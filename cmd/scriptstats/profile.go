package main

import (
	"os"
	"runtime"
	"runtime/pprof"
)

// startProfiles writes a CPU profile to $SCRIPTSTATS_CPUPROFILE and, when
// the command ends, a heap profile to $SCRIPTSTATS_HEAPPROFILE (a debugging
// aid for performance work; both unset normally). The returned func stops
// them.
func startProfiles() func() {
	var stops []func()
	if path := os.Getenv("SCRIPTSTATS_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			stops = append(stops, func() { pprof.StopCPUProfile(); _ = f.Close() })
		}
	}
	if path := os.Getenv("SCRIPTSTATS_HEAPPROFILE"); path != "" {
		stops = append(stops, func() {
			if f, err := os.Create(path); err == nil {
				runtime.GC()
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				_ = f.Close()
			}
		})
	}
	return func() {
		for _, stop := range stops {
			stop()
		}
	}
}
