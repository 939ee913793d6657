package phone_test

import (
	"testing"
	"unicode/utf8"

	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
)

// Every label a phone can show fits its model's softkey cell whole, as
// the label or the vendor's short form: no label is cut ("Credenti",
// "Postpon"). It goes over every model and every set of softkeys, the
// call screens' and the sign-in, lock and update screens'.
func TestEverySoftkeyLabelFits(t *testing.T) {
	cat, err := catalog.Builtin()
	must(t, err)
	for _, id := range cat.ModelIDs() {
		m, _ := cat.Model(id)
		width := phone.SoftkeyWidth(m.Display.Columns, m.Display.Softkeys)
		sets := m.Vendor.SoftkeySets()
		for _, want := range append(catalog.AllScreens(), "update", "more") {
			if _, ok := sets[want]; !ok {
				t.Errorf("%s: the softkey sets lack %q", id, want)
			}
		}
		for name, keys := range sets {
			for _, k := range keys {
				got := k.LabelFor(width)
				if utf8.RuneCountInString(got) > width || (got != k.Label && got != k.Short) {
					t.Errorf("%s (softkeys of %d characters): %s: %q shows as %q: give it a short form that fits", id, width, name, k.Label, got)
				}
			}
		}
	}
}
