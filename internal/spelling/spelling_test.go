package spelling

import "testing"

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "abc", 3}, {"abc", "", 3}, {"pasword", "password", 1},
		{"registerd", "registered", 1}, {"kitten", "sitting", 3}, {"same", "same", 0},
		{"t84g", "t48g", 1}, {"ab", "ba", 1}, {"abc", "ca", 3},
	} {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := Distance(tt.b, tt.a); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, not symmetric", tt.b, tt.a, got)
		}
	}
}
