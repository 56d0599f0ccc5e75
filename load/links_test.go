package load

import (
	"testing"

	"github.com/scriptstats/scriptstats/transform"
)

func TestRunsTableFor(t *testing.T) {
	var incremental, firstLoad []transform.GroupKey
	for s := int64(1); s <= 200; s++ { // every script's last two days
		incremental = append(incremental, transform.GroupKey{ScriptID: s, Day: 20000}, transform.GroupKey{ScriptID: s, Day: 20001})
	}
	for s := int64(1); s <= 16; s++ { // a first load's chunk: 16 scripts, 90 days
		for d := transform.Day(19911); d <= 20000; d++ {
			firstLoad = append(firstLoad, transform.GroupKey{ScriptID: s, Day: d})
		}
	}
	for _, c := range []struct {
		name   string
		groups []transform.GroupKey
		want   string
	}{
		{"200 scripts over 2 days", incremental, "runs_by_id"},
		{"16 scripts over 90 days", firstLoad, "runs_state"},
		{"one group", incremental[:1], "runs_by_id"},
	} {
		if got := runsTableFor(c.groups); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
