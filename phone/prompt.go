// The text entry: the first stage of the input router.

package phone

import "strings"

// prompt is a text entry the phone is waiting for.
type prompt struct {
	label  string
	text   string
	secret bool // a PIN or a password: the screen shows stars
	submit func(text string)
	// depth is how many menu levels were open when the entry opened: it
	// belongs to that menu screen and closes when the menu is left.
	depth int
	// ofSession: the entry belongs to the signed-in user's session (the
	// phone lock's PIN entries) and closes when the session ends.
	ofSession bool
}

// entry is the text entry part: the one entry open, if any, on top of
// whatever screen opened it. It needs one thing of its phone: how deep the
// menu under it is, so that leaving that menu level closes it.
type entry struct {
	open *prompt
	// menuDepth is how many menu levels are open.
	menuDepth func() int
}

// ask opens a text entry, in place of one already open; the caller may
// mark the entry it returns secret or of the session.
func (e *entry) ask(label string, submit func(string)) *prompt {
	e.open = &prompt{label: label, submit: submit, depth: e.menuDepth()}
	return e.open
}

// askSecret opens a PIN entry: the screen masks its text, and it belongs
// to the session (its end closes it).
func (e *entry) askSecret(label string, submit func(string)) {
	pr := e.ask(label, submit)
	pr.secret, pr.ofSession = true, true
}

// isOpen reports whether an entry is on the screen.
func (e *entry) isOpen() bool { return e.open != nil }

// secret reports whether the open entry is a PIN or a password.
func (e *entry) secret() bool { return e.open != nil && e.open.secret }

// close closes the open entry, if any, without submitting it.
func (e *entry) close() { e.open = nil }

// closeSecret closes an open PIN or password entry: its PIN was set
// another way.
func (e *entry) closeSecret() {
	if e.secret() {
		e.open = nil
	}
}

// sessionEnded closes an entry that belongs to the session that ended (a
// PIN typed after it would be saved for nobody).
func (e *entry) sessionEnded() {
	if e.open != nil && e.open.ofSession {
		e.open = nil
	}
}

// left closes an entry opened in a menu level that has just been left
// (Back, Exit, Home, the menu key, a call), the menu being down to depth
// levels: an entry never stays behind on another screen taking keys.
func (e *entry) left(depth int) {
	if e.open != nil && e.open.depth > depth {
		e.open = nil
	}
}

// ok is OK: it closes the open entry and hands it what was typed; it
// reports false when no entry is open.
func (e *entry) ok() bool {
	pr := e.open
	if pr == nil {
		return false
	}
	e.open = nil
	pr.submit(pr.text)
	return true
}

// typeText types text into the open entry; it reports false when none is
// open.
func (e *entry) typeText(text string) bool {
	if e.open == nil {
		return false
	}
	e.open.text += text
	return true
}

// key is the text entry's stage of the input router, first in line:
// digits type, OK submits, Back deletes or cancels; Home and Menu cancel
// the entry and go on to the next stage.
func (e *entry) key(k Key) bool {
	pr := e.open
	if pr == nil {
		return false
	}
	if c, ok := k.Digit(); ok {
		pr.text += string(c)
		return true
	}
	switch k {
	case KeyOK:
		e.ok()
	case KeyBack, KeyLeft:
		if pr.text == "" {
			e.open = nil
		} else {
			r := []rune(pr.text)
			pr.text = string(r[:len(r)-1])
		}
	case KeyHome, KeyMenu:
		e.open = nil
		return false
	default:
		return false
	}
	return true
}

// render shows the open entry's label and text, a secret one as stars.
func (e *entry) render(s *Screen) {
	pr := e.open
	if pr == nil {
		return
	}
	s.Prompt, s.Input = pr.label, pr.text
	if pr.secret {
		s.Input = strings.Repeat("*", len([]rune(pr.text)))
	}
}
