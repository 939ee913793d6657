package driver

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/deskphone/deskphone/phone"
)

// ToneTolerance is how far a heard tone may be from the one expected, in Hz.
const ToneTolerance = 15

// CallStates are the values of the call status key a condition may name.
var CallStates = []string{"idle", "dialing", "calling", "ringing", "connected", "held"}

// LEDNames are the LEDs a condition may name.
var LEDNames = []string{"message", "line", "speaker", "headset", "mute"}

// Cond is what wait and expect check on a phone: every set field must hold.
// Scenario files and the headless KEY=VALUE form both become a Cond.
type Cond struct {
	// Screen is a regular expression on the screen text.
	Screen     *regexp.Regexp
	Call       string
	Registered *bool
	// LED maps an LED name to on, off or blink.
	LED map[string]string
	// Log is a regular expression one syslog line must match.
	Log *regexp.Regexp
	// Status maps status keys to the values they must have.
	Status map[string]string
	// Tone is a frequency the phone hears (within ToneTolerance); DTMF the
	// digits it has heard in the call so far.
	Tone int
	DTMF string
}

// Audio reports whether the condition waits on what the call hears: audio
// flows in real time, so such a wait must not move a virtual clock.
func (c Cond) Audio() bool { return c.Tone != 0 || c.DTMF != "" }

// Check evaluates the condition on p. When it does not hold, why says what
// was seen instead; err means it never can (an unknown status key).
func (c Cond) Check(p *phone.Phone) (ok bool, why string, err error) {
	st, err := p.Status()
	if err != nil {
		return false, "", err
	}
	status := make(map[string]string, len(st))
	for _, kv := range st {
		status[kv[0]] = kv[1]
	}
	for k := range c.Status {
		if _, known := status[k]; !known {
			return false, "", fmt.Errorf("no status key %q", k)
		}
	}
	var whys []string
	scr := p.Screen()
	// A message matches whatever the model's width wrapped.
	if c.Screen != nil && !c.Screen.MatchString(scr.Text()) && !c.Screen.MatchString(scr.Plain()) {
		whys = append(whys, fmt.Sprintf("screen does not match %q", c.Screen.String()))
	}
	if c.Call != "" && status["call"] != c.Call {
		whys = append(whys, "call="+status["call"])
	}
	if c.Registered != nil && (status["registered"] == "yes") != *c.Registered {
		s := "registered=" + status["registered"]
		if e := status["registration_error"]; e != "" {
			s += " (" + e + ")"
		}
		whys = append(whys, s)
	}
	leds := map[string]phone.LED{"message": scr.LEDs.Message, "line": scr.LEDs.Line, "speaker": scr.LEDs.Speaker, "headset": scr.LEDs.Headset, "mute": scr.LEDs.Mute}
	for _, k := range sortedKeys(c.LED) {
		if got := leds[k].String(); got != c.LED[k] {
			whys = append(whys, "led "+k+"="+got)
		}
	}
	if c.Log != nil && !logged(p, c.Log) {
		whys = append(whys, fmt.Sprintf("no log line matches %q", c.Log.String()))
	}
	if c.Tone != 0 {
		hz, _ := strconv.Atoi(status["tone_hz"])
		if hz < c.Tone-ToneTolerance || hz > c.Tone+ToneTolerance {
			whys = append(whys, "tone_hz="+status["tone_hz"])
		}
	}
	if c.DTMF != "" && status["dtmf_heard"] != c.DTMF {
		whys = append(whys, "dtmf_heard="+status["dtmf_heard"])
	}
	for _, k := range sortedKeys(c.Status) {
		if got := status[k]; got != c.Status[k] {
			whys = append(whys, k+"="+got)
		}
	}
	return len(whys) == 0, strings.Join(whys, ", "), nil
}

func logged(p *phone.Phone, re *regexp.Regexp) bool {
	for _, l := range p.Logs(0) {
		if re.MatchString(l.Text) {
			return true
		}
	}
	return false
}

// String is the condition as a progress line shows it.
func (c Cond) String() string {
	var parts []string
	if c.Screen != nil {
		parts = append(parts, fmt.Sprintf("screen ~ %q", c.Screen.String()))
	}
	if c.Call != "" {
		parts = append(parts, "call="+c.Call)
	}
	if c.Registered != nil {
		parts = append(parts, fmt.Sprintf("registered=%v", *c.Registered))
	}
	for _, k := range sortedKeys(c.LED) {
		parts = append(parts, "led "+k+"="+c.LED[k])
	}
	if c.Log != nil {
		parts = append(parts, fmt.Sprintf("log ~ %q", c.Log.String()))
	}
	for _, k := range sortedKeys(c.Status) {
		parts = append(parts, k+"="+c.Status[k])
	}
	if c.Tone != 0 {
		parts = append(parts, fmt.Sprintf("tone %d Hz", c.Tone))
	}
	if c.DTMF != "" {
		parts = append(parts, "dtmf "+c.DTMF)
	}
	return strings.Join(parts, ", ")
}

// ParseStatusCond reads the text form of a condition, KEY=VALUE on a
// status key; the value may be empty or hold spaces.
func ParseStatusCond(text string) (Cond, error) {
	key, want, ok := strings.Cut(strings.TrimSpace(text), "=")
	if !ok || key == "" {
		return Cond{}, fmt.Errorf("want KEY=VALUE on a status key, e.g. registered=yes, not %q", text)
	}
	return Cond{Status: map[string]string{key: want}}, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
