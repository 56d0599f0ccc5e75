package schedules

import (
	"context"
	"fmt"
	"time"

	"github.com/scriptstats/scriptstats/transform"
)

// ZoneDataMismatch compares the job's zone rules (Go's time zone data,
// embedded in the binary) with the source PostgreSQL's for the same zone
// name, from 1970 to two years after now, at every change of offset and
// twice a year. It returns how many probed instants differ and the first
// one, described; 0 when they agree. Days are always computed with the
// job's rules; a difference means the views and SQL run on the source
// (AT TIME ZONE) disagree on the days of the runs near those instants.
func (j *Job) ZoneDataMismatch(ctx context.Context) (int, string, error) {
	probes := ZoneProbes(j.Zone, j.Now())
	pg, err := j.Source.LocalTimes(ctx, j.ZoneName, probes)
	if err != nil {
		return 0, "", err
	}
	n, first := zoneMismatch(j.Zone, probes, pg)
	return n, first, nil
}

// ZoneProbes are the instants ZoneDataMismatch compares: from 1970 to two
// years after now.
func ZoneProbes(loc *time.Location, now time.Time) []time.Time {
	return transform.ZoneProbes(loc, time.Date(1970, time.January, 1, 0, 0, 0, 0, time.UTC), now.AddDate(2, 0, 0))
}

// zoneMismatch counts the probes whose wall-clock time by PostgreSQL's rules
// (pgLocal, YYYY-MM-DDTHH:MM:SS) differs from the job's, and describes the
// first.
func zoneMismatch(loc *time.Location, probes []time.Time, pgLocal []string) (n int, first string) {
	for i, t := range probes {
		goLocal := t.In(loc).Format("2006-01-02T15:04:05")
		if i >= len(pgLocal) || pgLocal[i] != goLocal {
			if n == 0 {
				pg := "nothing"
				if i < len(pgLocal) {
					pg = pgLocal[i]
				}
				first = fmt.Sprintf("at %s the job's rules give %s, PostgreSQL's %s", t.UTC().Format(time.RFC3339), goLocal, pg)
			}
			n++
		}
	}
	return n, first
}
