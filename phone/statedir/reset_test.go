package statedir_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/deskphone/deskphone/phone/statedir"
)

// A factory reset keeps the identity, the firmware slots and their images
// and removes the rest; the trash a killed reset left is cleared, and a
// directory in use is refused.
func TestReset(t *testing.T) {
	dir := t.TempDir()
	d, id, err := statedir.Open(dir, "430hd", "00:90:8f")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SaveConfig(statedir.Config{DND: true, Volume: 3}); err != nil {
		t.Fatal(err)
	}
	if err := d.SaveFirmware(statedir.Firmware{Active: "430HD_3.4.6.537", Backup: "UC430HD_3.2.1.580"}); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"phonelock.json": "{}", "policy.json": "{}", "gateway.json": "{}",
		"signin/tokens.json": "{}", "ca/imported/x.pem": "x",
		"firmware/slot-b.img": "image", "firmware/download.part": "part",
		"firmware/tuf/update-service/root.json": "{}",
		".reset-trash/0":                        "left by a killed reset",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Lock(); err != nil {
		t.Fatal(err)
	}
	if _, err := statedir.Reset(dir); !errors.Is(err, statedir.ErrInUse) {
		t.Fatalf("reset while the phone runs: %v, want ErrInUse", err)
	}
	removed, err := d.Reset()
	if err != nil {
		t.Fatal(err)
	}
	d.Unlock()
	want := []string{"ca", "config.json", "firmware/download.part", "firmware/tuf", "gateway.json", "phonelock.json", "policy.json", "signin"}
	if !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	for _, kept := range []string{"identity.json", "firmware.json", "firmware/slot-b.img"} {
		if _, err := os.Stat(filepath.Join(dir, kept)); err != nil {
			t.Errorf("%s lost: %v", kept, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".reset-trash")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the trash stays: %v", err)
	}
	// The directory boots: the same identity, default settings.
	d2, id2, err := statedir.Open(dir, "430hd", "00:90:8f")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := d2.LoadConfig()
	if err != nil || cfg.DND || id2 != id {
		t.Errorf("after the reset: config %+v (%v), identity %v, was %v", cfg, err, id2, id)
	}
	if fw, err := d2.LoadFirmware(); err != nil || fw.Active != "430HD_3.4.6.537" {
		t.Errorf("firmware slots %+v, %v", fw, err)
	}
	if removed, err := statedir.Reset(dir); err != nil || len(removed) != 0 {
		t.Errorf("a second reset: %v, %v", removed, err)
	}
}
