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
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

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

// ErrLoose is returned (wrapped with the directory, its mode and the fix)
// when a state directory is writable by another user, or owned by one: they
// could delete or replace the phone lock, the tokens or the firmware slots.
// The phone refuses it, as ssh refuses a key file others can write.
var ErrLoose = errors.New("state directory is writable by other users")

// ErrDamaged is returned (wrapped in a *DamagedError that names the file)
// when a state file cannot be read back as what was written. The phone never
// boots on defaults in its place: that would drop acknowledged settings
// without a word. Repair moves the file aside.
var ErrDamaged = errors.New("damaged state file")

// DamagedError names the damaged file and why it is refused.
type DamagedError struct {
	Path   string
	Reason string
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("state file %s is damaged: %s (deskphone state repair --state %s moves it aside)", e.Path, e.Reason, filepath.Dir(e.Path))
}

// Unwrap lets errors.Is match ErrDamaged.
func (e *DamagedError) Unwrap() error { return ErrDamaged }

// Dir is an opened state directory.
type Dir struct {
	Path string
	lock *os.File // held while a phone runs on the directory
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
	// Forward is the call forwarding the user set; nil when off, so a
	// phone without it keeps nothing for it.
	Forward *Forward `json:"forward,omitempty"`
	// Provisioning is the Teams SIP Gateway provisioning URL the phone
	// onboards with at every boot (what DHCP option 66/160 gives a real
	// phone); "" when none.
	Provisioning string `json:"provisioning,omitempty"`
	// Revision counts saves; it tells which of two writes survived.
	Revision int64 `json:"revision"`
}

// Forward is the call forwarding in force: every call (always), calls
// while the phone is busy (busy), or calls not answered within Seconds
// (noanswer), sent on to Target.
type Forward struct {
	Mode    string `json:"mode"`
	Target  string `json:"target"`
	Seconds int    `json:"seconds,omitempty"`
}

// ForwardModes are the modes a Forward may have.
var ForwardModes = []string{"always", "busy", "noanswer"}

// Check reports what is wrong with a forwarding setting, nil when it is
// whole: a known mode, a target, and seconds for noanswer only.
func (f *Forward) Check() error {
	switch {
	case !slices.Contains(ForwardModes, f.Mode):
		return fmt.Errorf("forward mode %q is not one of %s", f.Mode, strings.Join(ForwardModes, ", "))
	case f.Target == "":
		return errors.New("forward has no target")
	case f.Mode == "noanswer" && f.Seconds <= 0:
		return fmt.Errorf("forward on no answer after %d seconds", f.Seconds)
	case f.Mode != "noanswer" && f.Seconds != 0:
		return fmt.Errorf("forward %s takes no seconds", f.Mode)
	}
	return nil
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
func Open(dir, model, oui string) (*Dir, Identity, error) { return OpenWithMAC(dir, model, oui, "") }

// OpenWithMAC is Open, giving a fresh directory the MAC mac ("" draws
// one): a scenario's or a test's phone whose MAC the cloud must know in
// advance. A directory that has an identity keeps its own.
func OpenWithMAC(dir, model, oui, mac string) (*Dir, Identity, error) {
	if mac != "" {
		hw, err := net.ParseMAC(mac)
		if err != nil || len(hw) != 6 {
			return nil, Identity{}, fmt.Errorf("MAC %q: want six octets like 00:90:8f:12:34:56", mac)
		}
		mac = hw.String()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, Identity{}, fmt.Errorf("state directory: %w", err)
	}
	if err := CheckMode(dir); err != nil {
		return nil, Identity{}, err
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
	if mac != "" {
		id.MAC = mac
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
	if _, err := d.read(ConfigFile, &c); err != nil {
		return c, err
	}
	if c.Forward != nil {
		if err := c.Forward.Check(); err != nil {
			// Written whole, so read back otherwise it is damage: never
			// a forwarding silently dropped or half applied.
			return c, &DamagedError{Path: filepath.Join(d.Path, ConfigFile), Reason: err.Error()}
		}
	}
	return c, nil
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

// CheckMode refuses a state directory that a user other than this
// process's (or root) owns or that group or others may write: they could
// delete phonelock.json and open a locked phone. The error names the
// directory and the chmod that fixes it.
func CheckMode(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("state directory %s: not a directory", dir)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("%s: %w (mode %#o): another local user could delete or replace the phone's lock and files; run chmod go-w %s (or chmod 700)", dir, ErrLoose, perm, dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() && st.Uid != 0 {
		return fmt.Errorf("%s: %w: it belongs to user id %d, not to this user (%d); use a directory of your own", dir, ErrLoose, st.Uid, os.Geteuid())
	}
	return nil
}

// File describes a state file kept by a part of the phone outside this
// package (the lock record, the policy, the update agent's record), so that
// it is read, checked and repaired by the same rules as the files here.
type File struct {
	Name string
	// Required are the keys every write of the file holds.
	Required []string
	// New returns a pointer to a zero value of the file's type, to check
	// that its fields decode.
	New func() any
}

// Load reads the state file f into v by the rules of every state file: a
// regular file (never a symbolic link or a FIFO, which is opened without
// blocking), a JSON object with f's required keys whose fields decode into
// v. It reports whether the file exists; anything else is a
// *DamagedError naming the file.
func (d *Dir) Load(f File, v any) (bool, error) { return d.readKeys(f.Name, f.Required, v) }

// Save replaces the state file f with v atomically (mode 0600).
func (d *Dir) Save(f File, v any) error { return d.write(f.Name, v) }

func (d *Dir) read(name string, v any) (bool, error) {
	return d.readKeys(name, requiredKeys[name], v)
}

func (d *Dir) readKeys(name string, required []string, v any) (bool, error) {
	path := filepath.Join(d.Path, name)
	data, err := readRegular(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	damaged := func(reason string) error { return &DamagedError{Path: path, Reason: reason} }
	// What was written is always an object holding the file's required
	// keys; null, another type or an object without them is damage, not
	// "nothing saved yet".
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return false, damaged(jsonReason(err))
	}
	if raw == nil {
		return false, damaged("it holds null, not a JSON object")
	}
	for _, key := range required {
		if _, ok := raw[key]; !ok {
			return false, damaged(fmt.Sprintf("the %q field is missing", key))
		}
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, damaged(jsonReason(err))
	}
	return true, nil
}

// requiredKeys are the fields every write of a state file contains.
var requiredKeys = map[string][]string{
	IdentityFile: {"model", "mac", "serial"},
	ConfigFile:   {"volume", "account", "revision"},
	FirmwareFile: {"active"},
}

// jsonReason words a JSON decoding error for a person.
func jsonReason(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("not valid JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ) && typ.Field == "":
		return fmt.Sprintf("it holds a JSON %s, not an object", typ.Value)
	case errors.As(err, &typ):
		return fmt.Sprintf("the %q field holds a %s, not a %s", typ.Field, typ.Value, typ.Type)
	}
	return err.Error()
}

// readRegular reads a state file, refusing anything but a regular file. It
// opens without blocking, so a FIFO or device put in a file's place cannot
// hang the boot.
func readRegular(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, &DamagedError{Path: path, Reason: "it is a symbolic link, not a regular file"}
		}
		return nil, fmt.Errorf("state: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, &DamagedError{Path: path, Reason: fmt.Sprintf("it is a %s, not a regular file", fileKind(fi.Mode()))}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxStateFile+1))
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	if len(data) > maxStateFile {
		return nil, &DamagedError{Path: path, Reason: fmt.Sprintf("it is larger than %d bytes", maxStateFile)}
	}
	return data, nil
}

// maxStateFile bounds what a state file may hold; the real ones are a few
// hundred bytes.
const maxStateFile = 1 << 20

func fileKind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "named pipe (FIFO)"
	case m&os.ModeSocket != 0:
		return "socket"
	case m&os.ModeDevice != 0:
		return "device"
	case m.IsDir():
		return "directory"
	}
	return m.Type().String()
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

// PeekConfig reads the configuration of an existing state directory
// without creating or locking anything; the default one when none was
// saved.
func PeekConfig(dir string) (Config, error) {
	return (&Dir{Path: dir}).LoadConfig()
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
