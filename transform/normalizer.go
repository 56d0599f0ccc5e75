package transform

import (
	"slices"
	"time"
)

// Texts share one string per distinct value across runs: the step names
// of a script repeat in every run (about ten a run in the bench data), and
// so do the errors of its failed steps. A first load of 1M runs made
// ~10M step names, each its own allocation and UTF-8 check; with a
// Normalizer, a text seen before costs one map lookup and no allocation
// (docs/performance.md, "Ninth round: the load path's CPU").

// Bounds of what a Normalizer keeps: texts longer than internMaxText are
// not kept, and it stops adding once it holds internMaxBytes of text (a
// source with millions of distinct names keeps the first ones; the rest
// are made as before).
const (
	internMaxText  = 256
	internMaxBytes = 4 << 20
)

// textInterner maps the text of a JSON string as it appears in steps (its
// bytes, when they need no repair and no cut) to the one string kept for
// it. The zero value keeps nothing until first used.
type textInterner struct {
	texts map[string]string
	bytes int
}

// cut is cutBytes(b, limit), sharing the string of a text seen before. A
// kept text was clean and uncut, so for a b equal to it within limit
// cutBytes returns the same bytes, with nothing repaired or cut.
func (t *textInterner) cut(b []byte, limit int) (out string, repaired, cut bool) {
	if t == nil || len(b) > internMaxText || (limit > 0 && len(b) > limit) {
		return cutBytes(b, limit)
	}
	if s, ok := t.texts[string(b)]; ok {
		return s, false, false
	}
	out, repaired, cut = cutBytes(b, limit)
	if !repaired && !cut && t.bytes+len(out) <= internMaxBytes {
		if t.texts == nil {
			t.texts = make(map[string]string, 256)
		}
		t.texts[out] = out
		t.bytes += len(out)
	}
	return out, repaired, cut
}

// Normalizer normalizes runs as Normalize does, sharing the strings of
// the step names and errors that repeat from run to run. It is not safe
// for concurrent use; its zero value is ready.
type Normalizer struct {
	texts textInterner
	steps stepSlab
	// The step names of each script's last run by element position (up
	// to scriptsNamed scripts): a script's runs name their steps alike,
	// so a name is most often the one before at its position, found by a
	// comparison rather than texts' hash lookup.
	lastNames map[int64]*[positionNames]string
}

// Bounds of Normalizer.lastNames: the element positions and the scripts
// remembered (at most ~4 MiB of string headers).
const (
	positionNames = 64
	scriptsNamed  = 4096
)

// stepSharing is what a Normalizer shares with the parse of one run's
// steps; the zero value shares nothing.
type stepSharing struct {
	texts     *textInterner
	slab      *stepSlab
	lastNames *[positionNames]string
}

func (n *Normalizer) sharing(scriptID int64) stepSharing {
	if n == nil {
		return stepSharing{}
	}
	names := n.lastNames[scriptID]
	if names == nil && len(n.lastNames) < scriptsNamed {
		if n.lastNames == nil {
			n.lastNames = make(map[int64]*[positionNames]string)
		}
		names = new([positionNames]string)
		n.lastNames[scriptID] = names
	}
	return stepSharing{texts: &n.texts, slab: &n.steps, lastNames: names}
}

// Normalize is the package's Normalize; the Run it returns is the same.
func (n *Normalizer) Normalize(src SourceRun, loc *time.Location, lim Limits) (run Run, issues Issues, ok bool) {
	return normalize(&src, loc, lim, n)
}

// stepSlab hands out the runs' step slices from shared blocks: one
// allocation per slabSteps steps instead of one per run. A block is never
// reused, so a run's steps stay its own however long it is kept (a kept
// run keeps its block alive). The zero value is ready.
type stepSlab struct {
	free []Step // the unused rest of the current block
}

// slabSteps is a block's size; a run with more than slabSteps/8 steps
// gets its own slice.
const slabSteps = 4096

// clone returns a copy of steps whose capacity is its length.
func (s *stepSlab) clone(steps []Step) []Step {
	n := len(steps)
	if s == nil || n > slabSteps/8 {
		return slices.Clone(steps)
	}
	if len(s.free) < n {
		s.free = make([]Step, slabSteps)
	}
	out := s.free[:n:n]
	s.free = s.free[n:]
	copy(out, steps)
	return out
}
