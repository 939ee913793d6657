package phone

import (
	"testing"

	"github.com/deskphone/deskphone/phone/catalog"
)

// Every action a catalog may name does something: a new catalog action
// without a handler fails here, not silently on a phone.
func TestEveryActionHasAHandler(t *testing.T) {
	for a := catalog.ActionNone + 1; a < catalog.ActionCount; a++ {
		if a == catalog.ActionOpen {
			continue // pressSoftkey opens the softkey's menu path
		}
		if actions[a] == nil {
			t.Errorf("no handler for action %s", a)
		}
	}
	if actions[catalog.ActionNone] != nil {
		t.Error("ActionNone has a handler")
	}
}

// Every key but the dial keys and the menu's cursor keys has a meaning on
// the idle and call screens.
func TestEveryKeyIsRouted(t *testing.T) {
	for k := KeyUnknown + 1; int(k) < len(keyNames); k++ {
		_, digit := k.Digit()
		_, mapped := callKeys[k]
		cursor := k == KeyUp || k == KeyDown
		if !digit && !cursor && !mapped {
			t.Errorf("key %s reaches no stage", k)
		}
	}
}
