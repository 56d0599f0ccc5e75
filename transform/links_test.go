package transform

import (
	"reflect"
	"testing"
)

func TestLinkGroups(t *testing.T) {
	k := func(s int64, d Day) GroupKey { return GroupKey{ScriptID: s, Day: d} }
	cases := []struct {
		name               string
		journaled, settled []GroupKey
		wantRead, wantEmit []GroupKey
	}{
		{
			name:      "a new day after settled days: read the day before, nothing after",
			journaled: []GroupKey{k(1, 10)},
			settled:   []GroupKey{k(1, 3), k(1, 7), k(1, 9)},
			wantRead:  []GroupKey{k(1, 9), k(1, 10)},
			wantEmit:  []GroupKey{k(1, 10)},
		},
		{
			name:      "a late run in the middle: the next settled day is re-emitted",
			journaled: []GroupKey{k(1, 5)},
			settled:   []GroupKey{k(1, 3), k(1, 7), k(1, 9)},
			wantRead:  []GroupKey{k(1, 3), k(1, 5), k(1, 7)},
			wantEmit:  []GroupKey{k(1, 5), k(1, 7)},
		},
		{
			name:      "journaled days also listed as settled count as journaled; other scripts are independent",
			journaled: []GroupKey{k(2, 4), k(1, 7), k(1, 3)},
			settled:   []GroupKey{k(1, 3), k(1, 7), k(1, 9), k(2, 1), k(3, 5)},
			wantRead:  []GroupKey{k(1, 3), k(1, 7), k(1, 9), k(2, 1), k(2, 4)},
			wantEmit:  []GroupKey{k(1, 3), k(1, 7), k(1, 9), k(2, 4)},
		},
		{
			name:      "the first day of a script",
			journaled: []GroupKey{k(1, 1)},
			wantRead:  []GroupKey{k(1, 1)},
			wantEmit:  []GroupKey{k(1, 1)},
		},
	}
	for _, c := range cases {
		read, emit := LinkGroups(c.journaled, c.settled)
		if !reflect.DeepEqual(read, c.wantRead) || !reflect.DeepEqual(emit, c.wantEmit) {
			t.Errorf("%s: read %v emit %v, want read %v emit %v", c.name, read, emit, c.wantRead, c.wantEmit)
		}
	}
}
