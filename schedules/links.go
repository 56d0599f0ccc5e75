package schedules

import "context"

// fpMidRelink: groups recomputed, some run links written, not all.
const fpMidRelink = "mid_relink"

// relink brings run_links (the run_vs_previous view) up to date for every
// group journaled after the last completed pass. It runs after the groups
// are recomputed and before the state is written, so a pass killed in it
// leaves the journal and the next pass relinks those groups again.
func relink(ctx context.Context, job *Job, after, version uint64) error {
	start := job.Now()
	groups, err := job.Sink.Relink(ctx, after, version, func() error {
		return job.failpoint(ctx, fpMidRelink)
	})
	if err == nil {
		job.Log.Debug().Int("groups", groups).Dur("relink_duration", job.Now().Sub(start)).Msg("run links written")
	}
	return err
}
