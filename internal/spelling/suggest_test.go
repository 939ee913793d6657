package spelling

import "testing"

func TestSuggest(t *testing.T) {
	status := []string{"registered", "registration_error", "session", "lock", "signin_error", "signin_code", "signin_url", "tone_hz", "dtmf_heard", "codecs"}
	policy := []string{"EnforcePhoneLock", "PhoneLockTimeout", "MinPhonePinLength", "PrioritizedCodecsList", "UserDialTimeoutMS"}
	conds := []string{"screen", "call", "registered", "led", "log", "status", "tone", "dtmf", "not"}
	for _, tt := range []struct {
		got   string
		known []string
		want  string
	}{
		// close meanings, which no edit distance finds
		{"signin_state", status, "session"},
		{"SignInState", status, "session"},
		{"logged-in", status, "session"},
		{"lock_state", status, "lock"},
		{"frequency", status, "tone_hz"},
		{"frequency", conds, "tone"},
		{"tone", status, "tone_hz"},
		{"syslog", conds, "log"},
		{"LockTimeout", policy, "PhoneLockTimeout"},
		{"Codecs", policy, "PrioritizedCodecsList"},
		{"codec_list", status, "codecs"},
		// close spellings
		{"registerd", status, "registered"},
		{"PhoneLockTimout", policy, "PhoneLockTimeout"},
		{"sess", status, "session"},
		{"time", []string{"phone", "timeout", "times"}, "times"},
		{"Session", status, "session"},
		// nothing near
		{"volume", status, ""},
		{"", status, ""},
		{"signin_state", []string{"call", "screen"}, ""},
	} {
		if got := Suggest(tt.got, tt.known); got != tt.want {
			t.Errorf("Suggest(%q) = %q, want %q", tt.got, got, tt.want)
		}
	}
}

// A word of the synonym table belongs to one group, or a suggestion would
// depend on the table's order; a file's own word may also be another
// group's synonym.
func TestSynonymsDisjoint(t *testing.T) {
	own := map[string]bool{}
	for _, g := range synonyms {
		own[normal(g[0])] = true
	}
	seen := map[string]string{}
	for _, g := range synonyms {
		for _, w := range g {
			if first, dup := seen[normal(w)]; dup && !own[normal(w)] {
				t.Errorf("%q is in the groups of %q and %q", w, first, g[0])
			}
			seen[normal(w)] = g[0]
		}
	}
}
