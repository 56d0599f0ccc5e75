package schedules

import (
	"fmt"
	"time"

	"github.com/scriptstats/scriptstats/extract"
)

// Guarantee issues: why the incremental guarantee of CONTRACT.md section 1
// does not hold at this source (schedules/watermark.go has the argument).
const (
	IssueStandby        = "standby"
	IssueHiddenSessions = "hidden_sessions"
)

// heldBackWarning is how far back an open transaction may hold the next
// incremental read before the pass warns about it.
const heldBackWarning = time.Hour

// guaranteeIssue returns the kind of issue and a one-line explanation, or
// "" when the guarantee holds.
func guaranteeIssue(a extract.Activity, lookback time.Duration) (kind, why string) {
	switch {
	case a.InRecovery:
		return IssueStandby, fmt.Sprintf("the source is a hot standby: transactions on the primary cannot be seen from it, so a row stamped more than --lookback (%s) before its commit can be missed; point --pg-dsn at the primary", lookback)
	case a.HiddenSessions > 0:
		return IssueHiddenSessions, fmt.Sprintf("%d session(s) of other roles hide when their transactions began (grant pg_read_all_stats to the job's role): a row stamped more than --lookback (%s) before its transaction's first write can be missed", a.HiddenSessions, lookback)
	}
	return "", ""
}

// checkGuarantee records in the summary whether the guarantee holds, and
// says loudly when it does not, or when an old open transaction holds the
// next read back.
func (j *Job) checkGuarantee(a extract.Activity, sum *Summary) {
	kind, why := guaranteeIssue(a, j.Lookback)
	sum.GuaranteeIssue = kind
	if kind != "" {
		j.Log.Warn().Str("guarantee", "incremental").Str("issue", kind).Msg(why)
	}
	if a.InRecovery || a.OldestStart.IsZero() {
		return
	}
	sum.HeldBack = a.ReadAt.Sub(a.OldestStart)
	if sum.HeldBack > heldBackWarning {
		j.Log.Warn().Time("open_since", a.OldestStart).Str("session", a.OldestSession).
			Dur("held_back", sum.HeldBack).
			Msg("an open transaction holds the next incremental read back to its start; end it, or set idle_in_transaction_session_timeout on the source")
	}
}
