//go:build !unix

package transform

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
