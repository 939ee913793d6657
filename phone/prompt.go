package phone

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

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

// ask opens a text entry.
func (p *Phone) ask(label string, submit func(string)) {
	p.s.prompt = &prompt{label: label, submit: submit, depth: len(p.s.menu)}
}

// submitPrompt closes the text entry and hands it what was typed.
func (p *Phone) submitPrompt() {
	pr := p.s.prompt
	p.s.prompt = nil
	pr.submit(pr.text)
}

// leftMenu closes a text entry opened in a menu level that has just been
// left (Back, Exit, Home, the menu key, a call): it never stays behind on
// another screen taking keys.
func (p *Phone) leftMenu() {
	if pr := p.s.prompt; pr != nil && pr.depth > len(p.s.menu) {
		p.s.prompt = nil
	}
}

// promptKey is the text entry's stage of the input router, first in line:
// digits type, OK submits, Back deletes or cancels; Home and Menu cancel
// the entry and go on to the next stage.
func (p *Phone) promptKey(k Key) bool {
	pr := p.s.prompt
	if pr == nil {
		return false
	}
	if c, ok := k.Digit(); ok {
		pr.text += string(c)
		return true
	}
	switch k {
	case KeyOK:
		p.submitPrompt()
	case KeyBack, KeyLeft:
		if pr.text == "" {
			p.s.prompt = nil
		} else {
			r := []rune(pr.text)
			pr.text = string(r[:len(r)-1])
		}
	case KeyHome, KeyMenu:
		p.s.prompt = nil
		return false
	default:
		return false
	}
	return true
}

// importCA asks for a certificate file and imports it into the CA store;
// like the real phones, it is trusted from the next boot on.
func (p *Phone) importCA() {
	p.ask("Certificate file:", func(path string) {
		if strings.TrimSpace(path) == "" {
			p.showAlert("Import failed: no file given")
			return
		}
		entries, err := p.s.cas.ImportFile(path)
		if err != nil {
			p.logf("ca", "err", "ca", "import of %s failed: %v", path, err)
			p.showAlert("Import failed: " + importProblem(path, err))
			return
		}
		for _, e := range entries {
			p.logf("ca", "notice", "ca", "imported root %s (%s), active after reboot", e.Subject, e.Fingerprint[:16])
		}
		p.showAlert(fmt.Sprintf("Imported %s. Reboot to apply", count(len(entries), "certificate", "certificates")))
	})
}

// importProblem words a failed import for the LCD; the syslog has the error
// in full.
func importProblem(path string, err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no file " + path
	case errors.Is(err, fs.ErrPermission):
		return "cannot read " + path
	}
	return err.Error()
}
