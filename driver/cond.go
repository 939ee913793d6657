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

// StatusKeys lists the headless status keys, in their documented order,
// as phone.Status.Pairs gives them: a scenario file's status conditions
// are checked against it before anything runs.
func StatusKeys() []string {
	pairs := phone.Status{}.Pairs()
	keys := make([]string, len(pairs))
	for i, kv := range pairs {
		keys[i] = kv[0]
	}
	return keys
}

// FreshPackets is how many RTP packets must arrive after a condition's
// Since mark before a tone heard at the mark counts again: two tone
// windows of 200 ms, and a little for the jitter buffer.
const FreshPackets = 25

// Heard is what a phone had heard at one instant. A condition with a
// Since mark counts only the tone and DTMF heard after it, so a value left
// from before a hold, an earlier step or an earlier call does not pass.
type Heard struct {
	// Set says the mark was taken; a zero Heard counts everything.
	Set bool
	// Digits is dtmf_heard at the mark.
	Digits string
	// Tone is tone_hz at the mark; RX is rtp_rx.
	Tone string
	RX   uint64
}

// MarkHeard takes p's Heard mark now.
func MarkHeard(p *phone.Phone) (Heard, error) {
	st, err := p.Status()
	if err != nil {
		return Heard{}, err
	}
	return heardOf(statusMap(st)), nil
}

func heardOf(status map[string]string) Heard {
	rx, _ := strconv.ParseUint(status["rtp_rx"], 10, 64)
	return Heard{Set: true, Digits: status["dtmf_heard"], Tone: status["tone_hz"], RX: rx}
}

func statusMap(st [][2]string) map[string]string {
	m := make(map[string]string, len(st))
	for _, kv := range st {
		m[kv[0]] = kv[1]
	}
	return m
}

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
	// digits it has heard in the call. With a Since mark, both count only
	// what was heard after it.
	Tone int
	DTMF string
	// Since, when set, is the mark tone and DTMF count from.
	Since Heard
	// Not are conditions that must each fail, one key each (see Atoms):
	// a test that a phone does not show or do something.
	Not []Cond
}

// Atoms splits c into conditions of one key each (one LED, one status
// key), so that negating each says "none of these holds". Tone, DTMF and
// their mark are left out: a phone keeps what it heard, so their absence
// is not a condition a wait could meet.
func (c Cond) Atoms() []Cond {
	var out []Cond
	if c.Screen != nil {
		out = append(out, Cond{Screen: c.Screen})
	}
	if c.Call != "" {
		out = append(out, Cond{Call: c.Call})
	}
	if c.Registered != nil {
		out = append(out, Cond{Registered: c.Registered})
	}
	for _, k := range sortedKeys(c.LED) {
		out = append(out, Cond{LED: map[string]string{k: c.LED[k]}})
	}
	if c.Log != nil {
		out = append(out, Cond{Log: c.Log})
	}
	for _, k := range sortedKeys(c.Status) {
		out = append(out, Cond{Status: map[string]string{k: c.Status[k]}})
	}
	return out
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
	var logs []phone.LogLine
	if c.needsLogs() {
		logs = p.Logs(0)
	}
	return c.check(statusMap(st), p.Screen(), logs)
}

// check evaluates the condition on a status, a screen and syslog lines.
func (c Cond) check(status map[string]string, scr phone.Screen, logs []phone.LogLine) (ok bool, why string, err error) {
	for k := range c.Status {
		if _, known := status[k]; !known {
			return false, "", fmt.Errorf("no status key %q", k)
		}
	}
	var whys []string
	// A message matches whatever the model's width wrapped or cut.
	if c.Screen != nil && !ScreenMatch(c.Screen, scr.Text()) && !c.Screen.MatchString(scr.Plain()) {
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
	if c.Log != nil && !anyLine(logs, c.Log) {
		whys = append(whys, fmt.Sprintf("no log line matches %q", c.Log.String()))
	}
	if c.Tone != 0 {
		if w := c.toneWhy(status); w != "" {
			whys = append(whys, w)
		}
	}
	if c.DTMF != "" {
		if got := c.digitsSince(status["dtmf_heard"]); got != c.DTMF {
			s := "dtmf_heard=" + status["dtmf_heard"]
			if c.Since.Set {
				s = fmt.Sprintf("dtmf heard since the step began=%s", got)
			}
			whys = append(whys, s)
		}
	}
	for _, k := range sortedKeys(c.Status) {
		if got := status[k]; got != c.Status[k] {
			whys = append(whys, k+"="+got)
		}
	}
	for _, n := range c.Not {
		held, _, err := n.check(status, scr, logs)
		if err != nil {
			return false, "", err
		}
		if held {
			whys = append(whys, n.String()+" holds")
		}
	}
	return len(whys) == 0, strings.Join(whys, ", "), nil
}

// needsLogs reports whether checking c reads the syslog.
func (c Cond) needsLogs() bool {
	if c.Log != nil {
		return true
	}
	for _, n := range c.Not {
		if n.needsLogs() {
			return true
		}
	}
	return false
}

// toneWhy says why the tone condition fails, or "" when it holds. The
// tone_hz status keeps the last tone heard; after a Since mark where it
// already showed the tone, it counts only once FreshPackets more packets
// were received, so a tone left from before a hold does not pass at once.
func (c Cond) toneWhy(status map[string]string) string {
	if !hearsTone(status["tone_hz"], c.Tone) {
		return "tone_hz=" + status["tone_hz"]
	}
	if !c.Since.Set {
		return ""
	}
	if !hearsTone(c.Since.Tone, c.Tone) {
		return "" // it changed to the tone after the mark
	}
	rx, _ := strconv.ParseUint(status["rtp_rx"], 10, 64)
	if rx < c.Since.RX+FreshPackets {
		return fmt.Sprintf("tone_hz=%s heard before the step began, %d packets received since", status["tone_hz"], rx-min(rx, c.Since.RX))
	}
	return ""
}

// hearsTone reports whether a tone_hz value holds want: a single tone
// ("1000") or either tone of a pair ("440+600", a conference's mix).
func hearsTone(value string, want int) bool {
	for part := range strings.SplitSeq(value, "+") {
		if hz, err := strconv.Atoi(part); err == nil && near(hz, want) {
			return true
		}
	}
	return false
}

func near(hz, want int) bool { return hz >= want-ToneTolerance && hz <= want+ToneTolerance }

// digitsSince is what heard (dtmf_heard) holds after the Since mark; a
// value that does not go on from the mark's is a new call's.
func (c Cond) digitsSince(heard string) string {
	if c.Since.Set {
		if rest, ok := strings.CutPrefix(heard, c.Since.Digits); ok {
			return rest
		}
	}
	return heard
}

// ScreenMatch reports whether re matches the screen text: as printed
// (rows as cut or wrapped to the model's width, with the LCD's borders),
// or the LCD's rows with borders and line breaks removed, each row trimmed
// and joined by one space, or joined with nothing for a word broken across
// rows. So a message matches whatever the model's width.
func ScreenMatch(re *regexp.Regexp, text string) bool {
	if re.MatchString(text) {
		return true
	}
	var rows []string
	for _, l := range strings.Split(text, "\n") {
		inner, ok := strings.CutPrefix(l, "|")
		if !ok {
			continue
		}
		inner = strings.TrimSpace(strings.TrimSuffix(inner, "|"))
		if inner == "" || strings.Trim(inner, "-") == "" {
			continue // blank rows and the rule under the status bar
		}
		rows = append(rows, strings.Join(strings.Fields(inner), " "))
	}
	return re.MatchString(strings.Join(rows, " ")) || re.MatchString(strings.Join(rows, ""))
}

func anyLine(logs []phone.LogLine, re *regexp.Regexp) bool {
	for _, l := range logs {
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
	for _, n := range c.Not {
		parts = append(parts, "not "+n.String())
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
