package phone_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/sipua"
	"github.com/deskphone/deskphone/phone/statedir"
)

// pathTo is the menu path (labels) to the entry with action a, nil when
// the vendor's menu has none.
func pathTo(items []*catalog.Item, a catalog.Action) []string {
	for _, it := range items {
		if it.Action == a {
			return []string{it.Label}
		}
		if sub := pathTo(it.Items, a); sub != nil {
			return append([]string{it.Label}, sub...)
		}
	}
	return nil
}

// Factory Reset, the last entry of each vendor's settings or
// administration menu, clears the user's state but the identity and the
// firmware, and reboots; the phone registers again with the account its
// options give it at every power-on.
func TestFactoryResetFromMenu(t *testing.T) {
	for _, model := range []string{"430hd", "vvx501", "t46g", "cx600"} {
		t.Run(model, func(t *testing.T) {
			p, line, _ := onFakeLine(t, model)
			path := pathTo(p.Model().Vendor.Menu, catalog.ActionFactoryReset)
			if path == nil {
				t.Fatal("no factory_reset entry in the menu")
			}
			items := p.Model().Vendor.Menu
			if trail, _ := p.Model().Vendor.Find(path[:len(path)-1]); len(trail) > 0 {
				items = trail[len(trail)-1].Items
			}
			if items[len(items)-1].Action != catalog.ActionFactoryReset {
				t.Errorf("Factory Reset is not the last entry of %v", path[:len(path)-1])
			}
			mac, fw := status(t, p, "mac"), status(t, p, "firmware")
			navigate(t, p, pathTo(p.Model().Vendor.Menu, catalog.ActionDND))
			must(t, p.Press(phone.KeyHome))
			must(t, p.SetPIN("24681357"))
			dir := p.StateDir()
			must(t, os.MkdirAll(filepath.Join(dir, "ca", "imported"), 0o700))
			must(t, os.WriteFile(filepath.Join(dir, "ca", "imported", "x.pem"), []byte("x"), 0o600))
			if status(t, p, "dnd") != "on" || status(t, p, "pin_set") != "yes" {
				t.Fatalf("set-up: dnd=%s pin_set=%s", status(t, p, "dnd"), status(t, p, "pin_set"))
			}
			registers := countOps(line, "REGISTER 1h0m0s")

			navigate(t, p, path)

			for key, want := range map[string]string{"dnd": "off", "pin_set": "no", "lock": "none", "mac": mac, "firmware": fw, "screen": "idle", "user": "alice"} {
				if got := status(t, p, key); got != want {
					t.Errorf("after the reset %s=%s, want %s", key, got, want)
				}
			}
			for _, gone := range []string{phone.LockFile, "ca/imported/x.pem"} {
				if _, err := os.Stat(filepath.Join(dir, gone)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s survived the reset: %v", gone, err)
				}
			}
			for _, kept := range []string{statedir.IdentityFile, statedir.FirmwareFile} {
				if _, err := os.Stat(filepath.Join(dir, kept)); err != nil {
					t.Errorf("%s lost: %v", kept, err)
				}
			}
			if n := countOps(line, "REGISTER 1h0m0s"); n != registers+1 {
				t.Errorf("REGISTERs %d after the reset, want %d: %v", n, registers+1, line.Ops())
			}
			if !slices.ContainsFunc(p.Logs(0), func(l phone.LogLine) bool { return strings.Contains(l.Text, "factory reset") }) {
				t.Error("the syslog does not say factory reset")
			}
			line.Send(sipua.Registered{Expires: time.Hour})
			if got := status(t, p, "registered"); got != "yes" {
				t.Errorf("registered=%s after the reset", got)
			}
		})
	}
}

// A locked phone never reaches the menu, so neither its Factory Reset.
func TestFactoryResetNotFromLockedPhone(t *testing.T) {
	p, _, _ := onFakeLine(t, "430hd")
	must(t, p.SetPIN("24681357"))
	must(t, p.Lock())
	must(t, p.Press(phone.KeyMenu))
	if got := status(t, p, "menu"); got != "" {
		t.Fatalf("a locked phone opened the menu %q", got)
	}
	if got := status(t, p, "pin_set"); got != "yes" {
		t.Fatalf("pin_set=%s", got)
	}
}
