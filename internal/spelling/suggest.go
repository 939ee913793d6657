package spelling

import "strings"

// Suggest returns the word of known a person probably meant by got, or ""
// when none is near: first a word that means the same (someone who writes
// signin_state means session, which no edit distance finds), then the
// shortest known word got begins, then the closest in spelling if close
// enough to be a typo.
func Suggest(got string, known []string) string {
	if got == "" {
		return ""
	}
	if w := sameMeaning(got, known); w != "" {
		return w
	}
	lower := strings.ToLower(got)
	best, bestD := "", 1<<30
	// The shortest word got begins: "time" is times before timeout.
	for _, k := range known {
		if strings.HasPrefix(strings.ToLower(k), lower) && len(k) < bestD {
			best, bestD = k, len(k)
		}
	}
	if best != "" {
		return best
	}
	for _, k := range known {
		if d := Distance(lower, strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	if bestD > max(2, len(got)/3) {
		return ""
	}
	return best
}

// synonyms are groups of words that name the same thing in deskphone's
// files: the first of each group is the word the files use, the others
// what people write for it. Words compare without case, '_' or '-'. A
// word may stand in two groups when one of them names it as a file's own
// word (codecs is a status key and means PrioritizedCodecsList in a
// policy), as no list of known words holds both.
var synonyms = [][]string{
	// status keys
	{"session", "signin_state", "signin_status", "signed_in", "login", "login_state", "logged_in", "auth_state"},
	{"lock", "lock_state", "locked", "lock_status", "phone_lock"},
	{"registered", "registration", "registration_state", "reg_state", "register_state"},
	{"call", "call_state", "call_status"},
	{"firmware", "firmware_version", "fw", "fw_version", "software_version"},
	{"pin_set", "has_pin", "pin_exists"},
	{"pin_tries_left", "tries_left", "retries_left"},
	{"update", "update_state", "update_status"},
	{"codecs", "codec_list"},
	{"remote", "peer", "far_end", "remote_party"},
	{"dtmf_heard", "dtmf", "digits_heard"},
	{"tone_hz", "tone", "frequency", "tone_frequency"},
	// condition keys and actions
	{"screen", "display_text", "screen_text", "lcd"},
	{"log", "syslog"},
	{"led", "leds", "lamp", "light"},
	{"hangup", "end_call", "disconnect", "onhook"},
	{"answer", "pickup", "accept"},
	{"advance", "sleep", "wait_for_time", "skip"},
	{"press", "key", "keys", "button"},
	{"expect_error", "expect_fail", "expect_failure", "should_fail", "error"},
	// in-band policy fields
	{"PhoneLockTimeout", "LockTimeout", "IdleLockTimeout"},
	{"MinPhonePinLength", "MinPinLength", "PinLength", "PinMinLength"},
	{"KeyboardLockMaxPinRetry", "MaxPinRetry", "PinRetries", "MaxPinRetries"},
	{"UserDialTimeoutMS", "DialTimeout", "DialTimeoutMS", "InterDigitTimeout"},
	{"PrioritizedCodecsList", "Codecs", "CodecPriority", "CodecOrder"},
}

// normal is a word as synonyms compare it.
func normal(w string) string {
	return strings.NewReplacer("_", "", "-", "", " ", "").Replace(strings.ToLower(w))
}

// sameMeaning is the word of known in got's synonym group, or "".
func sameMeaning(got string, known []string) string {
	g := normal(got)
	for _, group := range synonyms {
		in := false
		for _, w := range group {
			if normal(w) == g {
				in = true
				break
			}
		}
		if !in {
			continue
		}
		for _, k := range known {
			for _, w := range group {
				if normal(w) == normal(k) && normal(k) != g {
					return k
				}
			}
		}
	}
	return ""
}
