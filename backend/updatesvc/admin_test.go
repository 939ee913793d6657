package updatesvc

import (
	"strings"
	"testing"
)

// A command line makes its request; words that are no command's are
// refused with the usage.
func TestParseCommand(t *testing.T) {
	tests := []struct {
		line, verb string
		want       Request
	}{
		{"approve 430hd 3.4.6.537", "approve", Request{Model: "430hd", Version: "3.4.6.537"}},
		{"pending 430hd 3.4.6.537 00:11 00:12", "pending", Request{Model: "430hd", Version: "3.4.6.537", MACs: []string{"00:11", "00:12"}}},
		{"rotate poly lab-2022", "rotate", Request{Vendor: "poly", Root: "lab-2022"}},
		{"down", "down", Request{Down: true}},
		{"up", "down", Request{}},
	}
	for _, tt := range tests {
		c, r, err := ParseCommand(strings.Fields(tt.line))
		if err != nil || c.Verb != tt.verb || r.Model != tt.want.Model || r.Version != tt.want.Version ||
			strings.Join(r.MACs, " ") != strings.Join(tt.want.MACs, " ") || r.Vendor != tt.want.Vendor || r.Root != tt.want.Root || r.Down != tt.want.Down {
			t.Errorf("%s = %v %+v %v", tt.line, c, r, err)
		}
		if c != nil && commandOf(c.Verb) == nil {
			t.Errorf("%s: no endpoint serves %s", tt.line, c.Verb)
		}
	}
	for _, bad := range []string{"", "approve 430hd", "pending 430hd 3.4.6.537", "down now", "frob"} {
		if _, _, err := ParseCommand(strings.Fields(bad)); err == nil || !strings.Contains(err.Error(), "want approve MODEL VERSION, restore MODEL VERSION, pending MODEL VERSION MAC..., rotate VENDOR ROOT, down or up") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
