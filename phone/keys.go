package phone

import (
	"fmt"
	"strings"
)

// Key is a hard key on the phone's body.
type Key int

// The hard keys. Softkeys are pressed by number or label, not as Keys.
const (
	KeyUnknown Key = iota
	Key0
	Key1
	Key2
	Key3
	Key4
	Key5
	Key6
	Key7
	Key8
	Key9
	KeyStar
	KeyPound
	KeyUp
	KeyDown
	KeyLeft
	KeyRight
	KeyOK
	KeyBack
	KeyMenu
	KeyHome
	KeyHook
	KeySpeaker
	KeyHeadset
	KeyMute
	KeyHold
	KeyTransfer
	KeyMessage
	KeyVolUp
	KeyVolDown
)

var keyNames = [...]string{
	KeyUnknown: "unknown",
	Key0:       "0", Key1: "1", Key2: "2", Key3: "3", Key4: "4",
	Key5: "5", Key6: "6", Key7: "7", Key8: "8", Key9: "9",
	KeyStar: "*", KeyPound: "#",
	KeyUp: "up", KeyDown: "down", KeyLeft: "left", KeyRight: "right",
	KeyOK: "ok", KeyBack: "back", KeyMenu: "menu", KeyHome: "home",
	KeyHook: "hook", KeySpeaker: "speaker", KeyHeadset: "headset",
	KeyMute: "mute", KeyHold: "hold", KeyTransfer: "transfer",
	KeyMessage: "message", KeyVolUp: "volup", KeyVolDown: "voldown",
}

func (k Key) String() string {
	if k < 0 || int(k) >= len(keyNames) {
		return fmt.Sprintf("Key(%d)", int(k))
	}
	return keyNames[k]
}

// ParseKey reads a key name as the headless protocol and scenarios write it.
func ParseKey(s string) (Key, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for k, n := range keyNames {
		if Key(k) != KeyUnknown && n == name {
			return Key(k), nil
		}
	}
	return KeyUnknown, errorf(ErrUnknownKey, "unknown key %q (keys: %s)", s, strings.Join(KeyNames(), " "))
}

// KeyNames lists every key name ParseKey accepts.
func KeyNames() []string {
	return append([]string(nil), keyNames[1:]...)
}

// Digit returns the dial character of a keypad key.
func (k Key) Digit() (byte, bool) {
	switch {
	case k >= Key0 && k <= Key9:
		return byte('0' + int(k-Key0)), true
	case k == KeyStar:
		return '*', true
	case k == KeyPound:
		return '#', true
	}
	return 0, false
}

// KeyForDigit is the keypad key that types c.
func KeyForDigit(c rune) (Key, bool) {
	switch {
	case c >= '0' && c <= '9':
		return Key0 + Key(c-'0'), true
	case c == '*':
		return KeyStar, true
	case c == '#':
		return KeyPound, true
	}
	return KeyUnknown, false
}
