package driver

import (
	"context"
	"fmt"

	"github.com/deskphone/deskphone/firmware"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
)

// updateActions are the words of the update verb.
var updateActions = map[string]func(*phone.Phone) error{
	"check":    (*phone.Phone).UpdateCheck,
	"now":      (*phone.Phone).UpdateNow,
	"postpone": (*phone.Phone).UpdatePostpone,
}

func init() {
	Verbs = append(Verbs, &Verb{
		Name: "update", Usage: "check|now|postpone",
		Help:  "firmware update: check now; now is the Update softkey (download,\nverify, install and reboot at once); postpone puts the offer off",
		Parse: parseUpdate, Step: StepText,
		Run: func(_ context.Context, t *Target, a Args) (Result, error) {
			if err := updateActions[a.Text](t.Phone); err != nil {
				return Result{}, err
			}
			return screen(t), nil
		},
	})
}

func parseUpdate(text string) (Args, error) {
	if _, ok := updateActions[text]; !ok {
		return Args{}, &ArgError{Msg: fmt.Sprintf("update needs check, now or postpone, not %q", text), Got: text, Known: []string{"check", "now", "postpone"}}
	}
	return Args{Text: text}, nil
}

// FirmwareDescriber tells an update service what the catalog's firmware
// are, so that it can build and sign the image of any of them.
func FirmwareDescriber(cat *catalog.Catalog) func(model, version string) (firmware.Manifest, error) {
	return func(model, version string) (firmware.Manifest, error) {
		m, err := cat.Model(model)
		if err != nil {
			return firmware.Manifest{}, err
		}
		fw, err := m.FirmwareVersion(version)
		if err != nil {
			return firmware.Manifest{}, err
		}
		return ManifestOf(m, fw), nil
	}
}

// ManifestOf is the manifest of a catalog firmware, its traits included.
func ManifestOf(m *catalog.Model, fw *catalog.Firmware) firmware.Manifest {
	root := fw.UpdateRoot
	if root == "" {
		root = m.Vendor.Update.Root
	}
	return firmware.Manifest{
		Vendor: m.VendorID, Model: m.ID, Version: fw.Version,
		Traits: firmware.Traits{
			TLSMin: fw.TLSMin, TLSMax: fw.TLSMax, FactoryRoots: fw.FactoryRoots,
			SignIn: fw.SignIn, Lock: fw.Lock, ClientID: fw.ClientID, UpdateRoot: root,
			Mode: fw.Mode,
		},
	}
}
