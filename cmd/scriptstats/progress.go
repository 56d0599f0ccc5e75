package main

import (
	"time"

	"github.com/rs/zerolog"
	"github.com/schollz/progressbar/v3"
)

// newProgress returns the progress reporter of long passes: a bar with rate
// and ETA on a terminal, otherwise a log line every 10 seconds.
func (a *app) newProgress() func(done, total int64) {
	if f, ok := underlyingFile(a.stderr); ok && isTerminal(f) {
		var bar *progressbar.ProgressBar
		return func(done, total int64) {
			if bar == nil {
				bar = progressbar.NewOptions64(total,
					progressbar.OptionSetWriter(a.stderr),
					progressbar.OptionSetDescription("loading runs"),
					progressbar.OptionShowCount(),
					progressbar.OptionShowIts(),
					progressbar.OptionSetItsString("runs"),
					progressbar.OptionThrottle(200*time.Millisecond),
					progressbar.OptionClearOnFinish(),
				)
			}
			if done > total {
				bar.ChangeMax64(done)
			}
			_ = bar.Set64(done)
		}
	}
	start := time.Now()
	var last time.Time
	return func(done, total int64) {
		now := time.Now()
		if now.Sub(last) < 10*time.Second {
			return
		}
		last = now
		logProgress(a.log.Info(), done, total, now.Sub(start))
	}
}

func logProgress(ev *zerolog.Event, done, total int64, elapsed time.Duration) {
	rate := float64(done) / elapsed.Seconds()
	ev = ev.Int64("runs_done", done).Int64("runs_estimated", total).Float64("runs_per_second", rate)
	if rate > 0 && total > done {
		ev = ev.Dur("eta", time.Duration(float64(total-done)/rate*float64(time.Second)))
	}
	ev.Msg("loading runs")
}
