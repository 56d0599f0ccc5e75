package load

import (
	"reflect"
	"strings"
	"testing"

	"github.com/scriptstats/scriptstats/transform"
)

func TestStepCodecRoundTrip(t *testing.T) {
	name := func(s string) transform.NullString { return transform.NullString{String: s, Valid: true} }
	steps := []transform.Step{
		{Index: 0, Name: name("open"), Status: transform.StepSuccess, Error: name("ignored: not failed")},
		{Index: -7, Name: transform.NullString{}, Status: transform.StepFailed, Error: name("boom \x00 é")},
		{Index: 2147483647, Name: name(strings.Repeat("n", 300)), Status: transform.StepSkipped},
		{Index: 3, Name: name(""), Status: transform.StepFailed},
	}
	want := []transform.Step{steps[0], steps[1], steps[2], steps[3]}
	want[0].Error = transform.NullString{} // only failed steps keep their error
	var d stepDecoder
	got, err := d.decode(string(encodeSteps(nil, steps)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if got, err := d.decode(string(encodeSteps(nil, nil)), nil); err != nil || len(got) != 0 {
		t.Fatalf("no steps: %v %v", got, err)
	}
	for _, bad := range []string{"", "\x05", "\x01\x00", "\x01\x00\x01\x01\x09ab"} {
		if _, err := d.decode(bad, nil); err == nil {
			t.Errorf("decode(%q) accepted corrupt input", bad)
		}
	}
}
