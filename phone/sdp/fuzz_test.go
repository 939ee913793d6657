package sdp

import (
	"reflect"
	"testing"
)

// FuzzParse checks that Parse never panics and that whatever it accepts
// marshals to a description that parses back to the same Session. The seed
// corpus is in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(polyOffer))
	f.Add([]byte(audiocodesOffer))
	f.Fuzz(func(t *testing.T, data []byte) {
		s1, err := Parse(data)
		if err != nil {
			return
		}
		out := s1.Marshal()
		s2, err := Parse(out)
		if err != nil {
			t.Fatalf("Marshal output does not parse: %v\n%q", err, out)
		}
		if !reflect.DeepEqual(s1, s2) {
			t.Fatalf("round trip changed the session:\n%+v\n%+v\n%q", s1, s2, out)
		}
	})
}
