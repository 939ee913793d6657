package phone_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
)

// lineText is the first body line of the screen starting with prefix.
func lineText(t *testing.T, s phone.Screen, prefix string) string {
	t.Helper()
	for _, l := range s.Lines {
		if strings.HasPrefix(l.Text, prefix) {
			return l.Text
		}
	}
	t.Fatalf("no line starting with %q on:\n%s", prefix, s.Text())
	return ""
}

// factoryRoots lists the factory roots in the phone's current CA store.
func factoryRoots(p *phone.Phone) int {
	n := 0
	for _, e := range p.CAStore().List() {
		if e.Source == certs.SourceFactory && e.Active {
			n++
		}
	}
	return n
}

// A phone's firmware changes while it runs: installed into the active slot,
// it boots at the reboot that follows, and the phone then shows and uses
// the new firmware's traits (version, TLS versions, factory roots).
func TestInstallFirmwareAndReboot(t *testing.T) {
	p, _ := newPhone(t, "430hd", "3.2.1.580")
	sipStatus := []string{"Menu", "Device Status", "SIP Status"}
	trustedRoots := []string{"Menu", "Administration", "Certificates", "Trusted Root CAs"}
	show := func(path []string, prefix string) string {
		t.Helper()
		navigate(t, p, path)
		defer p.Press(phone.KeyHome)
		return lineText(t, p.Screen(), prefix)
	}

	if v := p.Firmware().Version; v != "UC430HD_3.2.1.580" {
		t.Fatalf("booted %s", v)
	}
	if got := show(sipStatus, "TLS"); got != "TLS 1.2-1.2 (not connected)" {
		t.Fatalf("TLS before the update: %q", got)
	}
	if got := show(trustedRoots, "Trusted roots"); got != "Trusted roots: 1" {
		t.Fatalf("before the update: %q", got)
	}
	if n := factoryRoots(p); n != 1 {
		t.Fatalf("%d factory roots before the update, want 1", n)
	}

	if err := p.InstallFirmware("9.9.9.9"); !errors.Is(err, catalog.ErrUnknownFirmware) {
		t.Fatalf("unknown version: %v, want ErrUnknownFirmware", err)
	}
	if v := status(t, p, "firmware"); v != "UC430HD_3.2.1.580" {
		t.Fatalf("a failed install changed the firmware to %s", v)
	}

	must(t, p.InstallFirmware("3.4.6.537"))
	if v := p.Firmware().Version; v != "UC430HD_3.4.6.537" {
		t.Fatalf("Firmware() after the update: %s", v)
	}
	if v := status(t, p, "firmware"); v != "UC430HD_3.4.6.537" {
		t.Fatalf("status firmware after the update: %s", v)
	}
	if v := status(t, p, "update"); v != "none" {
		t.Fatalf("update=%s after the reboot", v)
	}
	if got := show(sipStatus, "TLS"); got != "TLS 1.2-1.3 (not connected)" {
		t.Fatalf("TLS after the update: %q", got)
	}
	if got := show(trustedRoots, "Trusted roots"); got != "Trusted roots: 2" {
		t.Fatalf("after the update: %q", got)
	}
	if n := factoryRoots(p); n != 2 {
		t.Fatalf("%d factory roots after the update, want 2 (lab-2019, lab-2022)", n)
	}
	if !logged(p, "Booting 430HD firmware UC430HD_3.4.6.537") {
		t.Fatalf("no boot line for the new firmware:\n%s", strings.Join(logTexts(p), "\n"))
	}
	data, err := os.ReadFile(filepath.Join(p.StateDir(), "firmware.json"))
	must(t, err)
	if s := string(data); !strings.Contains(s, `"active": "UC430HD_3.4.6.537"`) || !strings.Contains(s, `"backup": "UC430HD_3.2.1.580"`) {
		t.Fatalf("firmware slots after the update: %s", s)
	}
}

// The seed 002 story the other way round: rather than importing the new
// root, the 430HD is updated to the firmware that ships it, and registers
// with that firmware's TLS versions.
func TestFirmwareUpdateFixesRootRotation(t *testing.T) {
	b := cloud(t)
	p := signedIn(t, b, "430hd", "3.2.1.580", "alice", "secret")
	waitStatus(t, p, "registered", "yes")
	if got := status(t, p, "tls"); got != "1.2" {
		t.Fatalf("3.2.1.580 negotiated TLS %s, its firmware allows 1.2 only", got)
	}
	must(t, b.RotateCertificate(certs.FactoryRoot2022))
	must(t, p.Reboot())
	waitStatus(t, p, "registration_error", "TLS: Untrusted certificate")

	must(t, p.InstallFirmware("UC430HD_3.4.6.537"))
	waitStatus(t, p, "registered", "yes")
	if got := status(t, p, "tls"); got != "1.3" {
		t.Fatalf("3.4.6.537 negotiated TLS %s, want 1.3 (its tls_max)", got)
	}
}

// An active slot naming firmware the model does not have (a damaged or
// foreign image) boots the backup slot, and says so in the syslog.
func TestBootFallsBackToTheBackupSlot(t *testing.T) {
	p, _ := newPhone(t, "t46g", "28.8.1.52")
	slots := `{"active": "28.9.9.99", "backup": "28.8.0.30"}`
	must(t, os.WriteFile(filepath.Join(p.StateDir(), "firmware.json"), []byte(slots), 0o600))
	must(t, p.Reboot())
	if v := p.Firmware().Version; v != "28.8.0.30" {
		t.Fatalf("booted %s, want the backup 28.8.0.30", v)
	}
	if v := status(t, p, "firmware"); v != "28.8.0.30" {
		t.Fatalf("status firmware %s", v)
	}
	if !logged(p, "booting the backup 28.8.0.30") {
		t.Fatalf("fallback not logged:\n%s", strings.Join(logTexts(p), "\n"))
	}
}
