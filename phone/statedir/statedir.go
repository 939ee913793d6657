// Package statedir keeps what a phone must not forget across a crash or a
// reboot: its identity (model, MAC, serial), its configuration and its
// firmware slots. Each is one JSON file, replaced atomically, so a kill -9 at
// any instant leaves the previous or the new version, never a torn one.
package statedir

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/deskphone/deskphone/internal/atomicfile"
)

// File names inside a state directory.
const (
	IdentityFile = "identity.json"
	ConfigFile   = "config.json"
	FirmwareFile = "firmware.json"
)

// ErrOtherModel is returned when a state directory belongs to another model.
var ErrOtherModel = errors.New("state directory belongs to another model")

// Dir is an opened state directory.
type Dir struct {
	Path string
}

// Identity is generated once, when the directory is first used.
type Identity struct {
	Model  string `json:"model"`
	MAC    string `json:"mac"`
	Serial string `json:"serial"`
}

// Account is a SIP account the phone signs in with.
type Account struct {
	Server      string `json:"server,omitempty"`
	User        string `json:"user,omitempty"`
	Password    string `json:"password,omitempty"`
	Domain      string `json:"domain,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
}

// Config is the user's and administrator's settings.
type Config struct {
	// TimeFormat is 12 or 24; zero means the vendor's default.
	TimeFormat int     `json:"time_format,omitempty"`
	DND        bool    `json:"dnd,omitempty"`
	Volume     int     `json:"volume"`
	LastDialed string  `json:"last_dialed,omitempty"`
	Voicemail  string  `json:"voicemail,omitempty"`
	Account    Account `json:"account"`
	// Revision counts saves; it tells which of two writes survived.
	Revision int64 `json:"revision"`
}

// Firmware records the installed images: the one that boots and the previous
// one, kept as a backup.
type Firmware struct {
	Active string `json:"active"`
	Backup string `json:"backup,omitempty"`
}

// DefaultConfig is the configuration of a phone out of the box.
func DefaultConfig() Config { return Config{Volume: 5, Voicemail: "voicemail"} }

// Open opens dir (creating it) for a phone of the given model, generating its
// identity on first use. The MAC starts with the vendor's OUI (three octets
// like "00:90:8f"); an empty OUI gives a locally administered address.
func Open(dir, model, oui string) (*Dir, Identity, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, Identity{}, fmt.Errorf("state directory: %w", err)
	}
	d := &Dir{Path: dir}
	// A crash between creating a temporary file and renaming it leaves the
	// temporary behind; it was never acknowledged, so it goes.
	if stale, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*")); len(stale) > 0 {
		for _, f := range stale {
			os.Remove(f)
		}
	}
	var id Identity
	found, err := d.read(IdentityFile, &id)
	if err != nil {
		return nil, Identity{}, err
	}
	if found {
		if !strings.EqualFold(id.Model, model) {
			return nil, Identity{}, fmt.Errorf("%s: %w: %s, not %s", dir, ErrOtherModel, id.Model, model)
		}
		return d, id, nil
	}
	id, err = newIdentity(model, oui)
	if err != nil {
		return nil, Identity{}, err
	}
	if err := d.write(IdentityFile, id); err != nil {
		return nil, Identity{}, err
	}
	return d, id, nil
}

// LoadConfig returns the saved configuration, or the default when none was
// saved yet.
func (d *Dir) LoadConfig() (Config, error) {
	c := DefaultConfig()
	_, err := d.read(ConfigFile, &c)
	return c, err
}

// SaveConfig replaces the configuration atomically; when it returns nil the
// new configuration survives any crash.
func (d *Dir) SaveConfig(c Config) error { return d.write(ConfigFile, c) }

// LoadFirmware returns the firmware slots; Active is empty on a new phone.
func (d *Dir) LoadFirmware() (Firmware, error) {
	var f Firmware
	_, err := d.read(FirmwareFile, &f)
	return f, err
}

// SaveFirmware replaces the firmware slots atomically.
func (d *Dir) SaveFirmware(f Firmware) error { return d.write(FirmwareFile, f) }

func (d *Dir) read(name string, v any) (bool, error) {
	path := filepath.Join(d.Path, name)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("state: %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("state: %s is damaged: %w", path, err)
	}
	return true, nil
}

func (d *Dir) write(name string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("state: %s: %w", name, err)
	}
	return atomicfile.Write(filepath.Join(d.Path, name), append(data, '\n'), 0o600)
}

func newIdentity(model, oui string) (Identity, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Identity{}, fmt.Errorf("identity: %w", err)
	}
	mac := fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0]&0xfe|0x02, b[1], b[2], b[3], b[4], b[5])
	if oui != "" {
		mac = fmt.Sprintf("%s:%02x:%02x:%02x", strings.ToLower(oui), b[3], b[4], b[5])
	}
	serial := fmt.Sprintf("%X", b[:6])
	return Identity{Model: strings.ToLower(model), MAC: mac, Serial: serial}, nil
}

// Peek reads the identity and firmware slots of an existing state directory
// without creating anything, for tools that work on a phone's state.
func Peek(dir string) (Identity, Firmware, error) {
	d := &Dir{Path: dir}
	var id Identity
	found, err := d.read(IdentityFile, &id)
	if err != nil {
		return Identity{}, Firmware{}, err
	}
	if !found {
		return Identity{}, Firmware{}, fmt.Errorf("%s is not a phone's state directory (no %s)", dir, IdentityFile)
	}
	fw, err := d.LoadFirmware()
	return id, fw, err
}
