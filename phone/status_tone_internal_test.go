package phone

import "testing"

// TestToneHzPair: tone_hz shows one tone as before and a pair (a
// conference's mix of two parties) as "LOW+HIGH".
func TestToneHzPair(t *testing.T) {
	for _, tc := range []struct {
		st   Status
		want string
	}{
		{Status{}, ""},
		{Status{ToneHz: 999.6}, "1000"},
		{Status{ToneHz: 440, ToneHz2: 600}, "440+600"},
	} {
		got := "missing"
		for _, kv := range tc.st.Pairs() {
			if kv[0] == "tone_hz" {
				got = kv[1]
			}
		}
		if got != tc.want {
			t.Errorf("tone_hz of %v+%v = %q, want %q", tc.st.ToneHz, tc.st.ToneHz2, got, tc.want)
		}
	}
}
