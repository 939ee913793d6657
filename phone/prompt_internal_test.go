package phone

import (
	"slices"
	"testing"
)

// An entry types digits, deletes, submits once, and hands the submit a
// closed entry, so that a submit may ask the next question.
func TestEntryKeys(t *testing.T) {
	var e entry
	e.menuDepth = func() int { return 0 }
	var got []string
	e.ask("User:", func(user string) {
		if e.isOpen() {
			t.Error("the entry is still open while it submits")
		}
		got = append(got, user)
		e.ask("Password:", func(pw string) { got = append(got, pw) }).secret = true
	})
	for _, k := range []Key{Key1, Key2, Key3, KeyBack, KeyStar} {
		if !e.key(k) {
			t.Fatalf("the entry did not take %s", k)
		}
	}
	if !e.typeText("ü") || !e.key(KeyLeft) {
		t.Fatal("typing or deleting a letter failed")
	}
	var s Screen
	e.render(&s)
	if s.Prompt != "User:" || s.Input != "12*" {
		t.Fatalf("screen %q %q, want User: 12*", s.Prompt, s.Input)
	}
	if !e.key(KeyOK) || !e.secret() {
		t.Fatal("OK did not submit and open the password entry")
	}
	e.typeText("pässword")
	s = Screen{}
	e.render(&s)
	if s.Input != "********" {
		t.Errorf("a secret shows %q", s.Input)
	}
	if !e.ok() || e.isOpen() || e.ok() {
		t.Error("ok did not submit once")
	}
	if want := []string{"12*", "pässword"}; !slices.Equal(got, want) {
		t.Errorf("submitted %q, want %q", got, want)
	}
}

// Back on an empty entry cancels it; Home and Menu cancel it and go on
// to the next stage; a closed entry takes nothing.
func TestEntryCancel(t *testing.T) {
	for _, tt := range []struct {
		key   Key
		taken bool
	}{{KeyBack, true}, {KeyLeft, true}, {KeyHome, false}, {KeyMenu, false}} {
		var e entry
		e.menuDepth = func() int { return 0 }
		e.ask("PIN:", func(string) { t.Errorf("%s submitted", tt.key) })
		if taken := e.key(tt.key); taken != tt.taken || e.isOpen() {
			t.Errorf("%s: taken %v, open %v; want taken %v, closed", tt.key, taken, e.isOpen(), tt.taken)
		}
		if e.key(Key1) || e.key(KeyOK) || e.typeText("1") {
			t.Errorf("after %s: a closed entry took input", tt.key)
		}
	}
	var e entry
	e.menuDepth = func() int { return 0 }
	e.ask("File:", nil)
	if e.key(KeyHook) || e.key(KeyVolUp) || !e.isOpen() {
		t.Error("the entry took a key that is not its own, or closed on it")
	}
}

// An entry belongs to the menu level it opened in and, a PIN entry, to
// the session: leaving either closes it, and nothing else does.
func TestEntryLifetime(t *testing.T) {
	depth := 2
	e := entry{menuDepth: func() int { return depth }}

	e.ask("File:", nil)
	e.left(2)
	e.sessionEnded()
	e.closeSecret()
	if !e.isOpen() {
		t.Fatal("the entry closed while its menu level is open")
	}
	e.left(1)
	if e.isOpen() {
		t.Fatal("the entry stayed open after its menu level was left")
	}

	depth = 0
	e.askSecret("PIN:", nil)
	e.left(0)
	if !e.isOpen() || !e.secret() {
		t.Fatal("a PIN entry outside the menu closed when the menu closed")
	}
	e.sessionEnded()
	if e.isOpen() {
		t.Fatal("a PIN entry stayed open after the session ended")
	}

	e.askSecret("PIN:", nil)
	e.closeSecret()
	if e.isOpen() {
		t.Fatal("closeSecret left a PIN entry open")
	}
	e.ask("Extension:", nil)
	e.sessionEnded()
	e.closeSecret()
	if !e.isOpen() {
		t.Fatal("an entry of no session closed with the session or as a secret")
	}
	e.close()
	if e.isOpen() {
		t.Fatal("close left the entry open")
	}
}
