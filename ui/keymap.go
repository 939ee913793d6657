package ui

import (
	"strings"

	"github.com/gdamore/tcell/v2"

	"github.com/deskphone/deskphone/phone"
)

// command is something the terminal UI does itself rather than ask the phone.
type command int

// UI commands.
const (
	cmdNone command = iota // the binding drives the phone
	cmdLog                 // show or hide the log pane
	cmdHelp                // open or close the help overlay
	cmdQuit
)

// action is what a binding does: press a hard key, press a softkey (1-based),
// or run a UI command. Exactly one of the three is set.
type action struct {
	key     phone.Key
	softkey int
	cmd     command
	// text is typed into the phone's open text entry (Screen.Prompt).
	text string
	// unheeded is the notice shown when a key press leaves the phone's
	// screen as it was, for keys the phone heeds only in some states.
	unheeded string
}

func press(k phone.Key) action { return action{key: k} }
func softkey(n int) action     { return action{softkey: n} }
func do(c command) action      { return action{cmd: c} }

// trigger is one terminal key: a special key, or a character (Key is KeyRune).
type trigger struct {
	key tcell.Key
	ch  rune
}

func key(k tcell.Key) trigger { return trigger{key: k} }
func char(c rune) trigger     { return trigger{key: tcell.KeyRune, ch: c} }

// matches reports whether ev is this key. Characters typed with Alt or Ctrl
// are other keys, so that terminal shortcuts do not press phone keys.
func (t trigger) matches(ev *tcell.EventKey) bool {
	if t.key != tcell.KeyRune {
		return ev.Key() == t.key
	}
	return ev.Key() == tcell.KeyRune && ev.Rune() == t.ch && ev.Modifiers()&(tcell.ModAlt|tcell.ModCtrl) == 0
}

// String is the key as the help and the legend write it.
func (t trigger) String() string {
	switch t.key {
	case tcell.KeyRune:
		if t.ch == ' ' {
			return "Space"
		}
		return string(t.ch)
	case tcell.KeyUp:
		return "↑"
	case tcell.KeyDown:
		return "↓"
	case tcell.KeyLeft:
		return "←"
	case tcell.KeyRight:
		return "→"
	case tcell.KeyBackspace, tcell.KeyBackspace2:
		// Terminals send either for the same key.
		return "Backspace"
	}
	if name, ok := tcell.KeyNames[t.key]; ok {
		return name
	}
	return "?"
}

// binding ties terminal keys to one action.
type binding struct {
	keys []trigger
	do   action
	desc string
}

func bind(desc string, a action, keys ...trigger) binding {
	return binding{keys: keys, do: a, desc: desc}
}

// maxSoftkeys is how many softkeys the function keys can press: F1…F12.
const maxSoftkeys = 12

// keymap is the one key table: the input handler, the help overlay, the
// legend and the softkey captions all read it, so they cannot disagree.
// Only the n softkeys the model has get a function key, so no key is
// advertised that would press nothing. Consecutive bindings with the same
// description are shown as one entry.
func keymap(n int) []binding {
	var out []binding
	for i := 1; i <= min(n, maxSoftkeys); i++ {
		out = append(out, bind("softkeys", softkey(i), key(tcell.KeyF1+tcell.Key(i-1))))
	}
	message := press(phone.KeyMessage)
	message.unheeded = "voicemail: only when idle"
	return append(out,
		bind("keypad", press(phone.Key0), char('0')),
		bind("keypad", press(phone.Key1), char('1')),
		bind("keypad", press(phone.Key2), char('2')),
		bind("keypad", press(phone.Key3), char('3')),
		bind("keypad", press(phone.Key4), char('4')),
		bind("keypad", press(phone.Key5), char('5')),
		bind("keypad", press(phone.Key6), char('6')),
		bind("keypad", press(phone.Key7), char('7')),
		bind("keypad", press(phone.Key8), char('8')),
		bind("keypad", press(phone.Key9), char('9')),
		bind("star, pound", press(phone.KeyStar), char('*')),
		bind("star, pound", press(phone.KeyPound), char('#')),
		bind("navigate", press(phone.KeyUp), key(tcell.KeyUp)),
		bind("navigate", press(phone.KeyDown), key(tcell.KeyDown)),
		bind("navigate", press(phone.KeyLeft), key(tcell.KeyLeft)),
		bind("navigate", press(phone.KeyRight), key(tcell.KeyRight)),
		bind("ok", press(phone.KeyOK), key(tcell.KeyEnter)),
		bind("back", press(phone.KeyBack), key(tcell.KeyEsc), key(tcell.KeyBackspace), key(tcell.KeyBackspace2)),
		bind("hook", press(phone.KeyHook), char(' ')),
		bind("speaker", press(phone.KeySpeaker), char('s')),
		bind("headset", press(phone.KeyHeadset), char('e')),
		bind("menu", press(phone.KeyMenu), char('m')),
		bind("home", press(phone.KeyHome), key(tcell.KeyHome), char('o')),
		bind("mute", press(phone.KeyMute), char('u')),
		bind("hold", press(phone.KeyHold), char('h')),
		bind("transfer", press(phone.KeyTransfer), char('t')),
		bind("voicemail (when idle)", message, char('v')),
		bind("volume up", press(phone.KeyVolUp), char('+'), char('=')),
		bind("volume down", press(phone.KeyVolDown), char('-')),
		bind("log pane", do(cmdLog), char('l')),
		bind("help", do(cmdHelp), char('?')),
		bind("quit", do(cmdQuit), char('q'), key(tcell.KeyCtrlC)),
	)
}

// helpCloser closes the help overlay, besides the help key itself. It is
// Esc, which is the phone's back key while the overlay is closed.
func helpCloser() trigger { return key(tcell.KeyEsc) }

// keyFor is the first terminal key of a UI command, "" when none has one.
func keyFor(keys []binding, c command) string {
	for _, b := range keys {
		if b.do.cmd == c && len(b.keys) > 0 {
			return b.keys[0].String()
		}
	}
	return ""
}

// lookup finds the binding of a terminal key.
func lookup(keys []binding, ev *tcell.EventKey) (action, bool) {
	for _, b := range keys {
		for _, t := range b.keys {
			if t.matches(ev) {
				return b.do, true
			}
		}
	}
	return action{}, false
}

// softkeyName is the terminal key that presses softkey n, "" when none does.
func softkeyName(keys []binding, n int) string {
	for _, b := range keys {
		if b.do.softkey == n && len(b.keys) > 0 {
			return b.keys[0].String()
		}
	}
	return ""
}

// entry is one line of the help: keys and what they do.
type entry struct {
	keys, desc string
	// short is the keys as the legend writes them: all of a numbered run,
	// else the first key.
	short string
}

// entries folds the key table into help lines: a run of bindings with one
// description becomes one line, and a run of more than two softkeys or
// digits shows its ends ("F1…F4", "0…9").
func entries(keys []binding) []entry {
	var out []entry
	for i := 0; i < len(keys); {
		j := i
		var names []string
		for ; j < len(keys) && keys[j].desc == keys[i].desc; j++ {
			for _, t := range keys[j].keys {
				if n := t.String(); len(names) == 0 || names[len(names)-1] != n {
					names = append(names, n)
				}
			}
		}
		label := strings.Join(names, " ")
		short := names[0]
		if numbered(keys[i:j]) {
			if j-i > 2 {
				label = names[0] + "…" + names[len(names)-1]
			}
			short = label
		}
		out = append(out, entry{keys: label, desc: keys[i].desc, short: short})
		i = j
	}
	return out
}

// numbered reports whether the bindings press numbered keys, all softkeys
// or all digits, so that they read as a range.
func numbered(bs []binding) bool {
	soft, digits := true, true
	for _, b := range bs {
		soft = soft && b.do.softkey > 0
		_, d := b.do.key.Digit()
		digits = digits && d
	}
	return soft || digits
}
