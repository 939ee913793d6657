package numbered

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"load{n:05d}", 17, "load00017"},
		{"load{n:05d}", 123456, "load123456"},
		{"u{n}", 3, "u3"},
		{"desk-{n:03d}-a", 9, "desk-009-a"},
		{"alice", 5, "alice"},
	}
	for _, tt := range tests {
		p, err := Parse(tt.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		if got := p.Name(tt.n); got != tt.want {
			t.Errorf("Parse(%q).Name(%d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
		if got := p.String(); got != tt.in {
			t.Errorf("String() = %q, want %q", got, tt.in)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"load{n", "load}", "a{n}{n}", "a{x}", "a{n:5d}", "a{n:0d}", "a{n:099d}"} {
		if _, err := Parse(in); !errors.Is(err, ErrPattern) {
			t.Errorf("Parse(%q) = %v, want ErrPattern", in, err)
		}
	}
}

// A count's errors name the value and the bound.
func TestParseCount(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"2000000", "2000000 is more than 1000000"},
		{"0", "0 is less than 1"},
		{"many", `"many" is not a whole number`},
		{"1e3", `"1e3" is not a whole number`},
	} {
		if _, err := ParseCount(tt.in); err == nil || err.Error() != tt.want {
			t.Errorf("ParseCount(%q) = %v, want %q", tt.in, err, tt.want)
		}
	}
	if n, err := ParseCount("1000000"); n != MaxCount || err != nil {
		t.Errorf("ParseCount(1000000) = %d, %v", n, err)
	}
}
