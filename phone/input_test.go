package phone_test

import (
	"strings"
	"testing"

	"github.com/deskphone/deskphone/phone"
)

// The router logs every key but the digits of a PIN: typed into a secret
// entry they are stars, typed into any other entry they are the digits.
func TestSecretEntryKeysNotLogged(t *testing.T) {
	p, _ := newPhone(t, "c450hd", "")
	navigate(t, p, []string{"Menu", "Phone Lock", "Change PIN"})
	if s := p.Screen(); s.Prompt == "" {
		t.Fatalf("no PIN entry:\n%s", s.Text())
	}
	must(t, p.Dial("2468"))
	if s := p.Screen(); s.Input != "****" {
		t.Fatalf("PIN entry shows %q, want ****", s.Input)
	}
	logs := logTexts(p)
	if stars := countOf(logs, "key *"); stars != 4 || countOf(logs, "key 2") != 0 {
		t.Fatalf("PIN digits in the log (%d stars): %q", stars, logs)
	}
	must(t, p.Press(phone.KeyHome)) // cancels the entry, leaves the menu
	navigate(t, p, []string{"Menu", "Administration", "Certificates", "Import Root CA"})
	must(t, p.Press(phone.Key7))
	if logs := logTexts(p); countOf(logs, "key 7") != 1 {
		t.Fatalf("a file name's digit is not in the log: %q", logs)
	}
}

// countOf counts the syslog lines whose message is msg.
func countOf(lines []string, msg string) int {
	n := 0
	for _, l := range lines {
		if strings.HasSuffix(l, "] "+msg) {
			n++
		}
	}
	return n
}
