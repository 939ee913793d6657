package driver

import (
	"regexp"
	"testing"

	"github.com/deskphone/deskphone/phone"
)

// Tone and DTMF after a mark count only what was heard since: a tone
// left from before a hold passes only once fresh audio came in, digits
// heard before the mark are not counted.
func TestHeardSinceMark(t *testing.T) {
	mark := Heard{Set: true, Digits: "12", Tone: "1000", RX: 500}
	tests := []struct {
		name   string
		cond   Cond
		status map[string]string
		ok     bool
	}{
		{"stale tone at once", Cond{Tone: 1000, Since: mark}, map[string]string{"tone_hz": "1000", "rtp_rx": "500"}, false},
		{"stale tone, few packets", Cond{Tone: 1000, Since: mark}, map[string]string{"tone_hz": "1000", "rtp_rx": "510"}, false},
		{"tone on fresh audio", Cond{Tone: 1000, Since: mark}, map[string]string{"tone_hz": "1000", "rtp_rx": "525"}, true},
		{"tone changed after the mark", Cond{Tone: 600, Since: mark}, map[string]string{"tone_hz": "600", "rtp_rx": "501"}, true},
		{"wrong tone", Cond{Tone: 600, Since: mark}, map[string]string{"tone_hz": "1000", "rtp_rx": "900"}, false},
		{"tone without a mark", Cond{Tone: 1000}, map[string]string{"tone_hz": "1000", "rtp_rx": "0"}, true},
		{"stale digits", Cond{DTMF: "12", Since: mark}, map[string]string{"dtmf_heard": "12"}, false},
		{"digits since", Cond{DTMF: "34", Since: mark}, map[string]string{"dtmf_heard": "1234"}, true},
		{"all digits are not since", Cond{DTMF: "1234", Since: mark}, map[string]string{"dtmf_heard": "1234"}, false},
		{"a new call's digits", Cond{DTMF: "9", Since: mark}, map[string]string{"dtmf_heard": "9"}, true},
		{"digits without a mark", Cond{DTMF: "12"}, map[string]string{"dtmf_heard": "12"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, why, err := tt.cond.check(tt.status, phone.Screen{}, nil)
			if err != nil || ok != tt.ok {
				t.Fatalf("ok=%v (%s), %v; want ok=%v", ok, why, err, tt.ok)
			}
		})
	}
}

// A message wrapped over the LCD's rows, or broken mid-word, matches as
// one line; the printed form still matches as before.
func TestScreenMatchAcrossRows(t *testing.T) {
	scr := phone.Screen{Columns: 20, Rows: 6, Lines: []phone.Line{{Text: "Failed: TLS:"}, {Text: "TLS version not"}, {Text: "supported"}}, Alert: "Import fail"}
	text := scr.Text()
	for _, tt := range []struct {
		re string
		ok bool
	}{
		{`TLS version not supported`, true},
		{`Failed: TLS: TLS version`, true},
		{`\|  supported\s*\|`, true},
		{`not supportedx`, false},
		{`version not\s+supported`, true},
	} {
		if got := ScreenMatch(regexp.MustCompile(tt.re), text); got != tt.ok {
			t.Errorf("%q on\n%s: %v, want %v", tt.re, text, got, tt.ok)
		}
	}
	broken := phone.Screen{Columns: 12, Rows: 4, Lines: []phone.Line{{Text: "Certificat"}, {Text: "e expired"}}}
	if !ScreenMatch(regexp.MustCompile(`Certificate expired`), broken.Text()) {
		t.Errorf("a word broken across rows does not match:\n%s", broken.Text())
	}
}

func TestStatusKeys(t *testing.T) {
	keys := StatusKeys()
	if len(keys) < 30 || keys[0] != "registered" || keys[len(keys)-1] == "" {
		t.Fatalf("%v", keys)
	}
}

// Each atom of not: must fail: the condition holds only when none of them
// does, and says which one held.
func TestNotCondition(t *testing.T) {
	yes := true
	locked := Cond{Screen: regexp.MustCompile("Locked"), Registered: &yes, Status: map[string]string{"lock": "locked", "pin_set": "yes"}, LED: map[string]string{"line": "blink"}}
	atoms := locked.Atoms()
	if len(atoms) != 5 {
		t.Fatalf("%d atoms: %v", len(atoms), atoms)
	}
	scr := phone.Screen{Lines: []phone.Line{{Text: "Idle"}}}
	tests := []struct {
		name   string
		status map[string]string
		ok     bool
		why    string
	}{
		{"none holds", map[string]string{"registered": "no", "lock": "none", "pin_set": "no"}, true, ""},
		{"one holds", map[string]string{"registered": "no", "lock": "locked", "pin_set": "no"}, false, "lock=locked holds"},
		{"two hold", map[string]string{"registered": "yes", "lock": "none", "pin_set": "yes"}, false, "registered=true holds, pin_set=yes holds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, why, err := Cond{Not: atoms}.check(tt.status, scr, nil)
			if err != nil || ok != tt.ok || why != tt.why {
				t.Fatalf("ok=%v why=%q err=%v; want ok=%v why=%q", ok, why, err, tt.ok, tt.why)
			}
		})
	}
	if _, _, err := (Cond{Not: []Cond{{Status: map[string]string{"nosuch": "x"}}}}).check(map[string]string{}, scr, nil); err == nil {
		t.Error("an unknown status key inside not: is no error")
	}
}

// TestToneInAPair: a tone condition holds on either tone of a pair, as
// a party of a conference hears the other two ("440+600").
func TestToneInAPair(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  int
		ok    bool
	}{
		{"1000", 1000, true},
		{"1010", 1000, true},
		{"440+600", 440, true},
		{"440+600", 600, true},
		{"440+600", 1000, false},
		{"", 1000, false},
	} {
		why := Cond{Tone: tc.want}.toneWhy(map[string]string{"tone_hz": tc.value})
		if (why == "") != tc.ok {
			t.Errorf("tone %d in tone_hz=%q: why %q, want holds=%v", tc.want, tc.value, why, tc.ok)
		}
	}
}
