// The agent's record (update.json) and the firmware slots: what survives a reboot or a kill.

package update

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/deskphone/deskphone/internal/atomicfile"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

// File is the agent's record in the state directory.
const File = "update.json"

// RecordFile is how File is read: what every save writes.
func RecordFile() statedir.File {
	return statedir.File{
		Name:     File,
		Required: []string{"slot"},
		New:      func() any { return &record{} },
	}
}

// record is update.json.
type record struct {
	// Slot holds the running firmware: "a" or "b".
	Slot  string `json:"slot"`
	Trial *trial `json:"trial,omitempty"`
	// Result is what the last update came to when not a success:
	// rolled-back, loop-stopped.
	Result    string `json:"result,omitempty"`
	Error     string `json:"error,omitempty"`
	Postponed string `json:"postponed,omitempty"` // the version put off
	// Refused is a version that was rolled back: not installed again.
	Refused   string      `json:"refused,omitempty"`
	Postpones int         `json:"postpones,omitempty"`
	History   []installed `json:"history,omitempty"`
}

// trial is a firmware booted but not yet known good.
type trial struct {
	Version      string `json:"version"`
	Previous     string `json:"previous"`
	PreviousSlot string `json:"previous_slot"`
	Boots        int    `json:"boots"`
}

// installed is one install, to recognise an update loop.
type installed struct {
	Version string    `json:"version"`
	Source  string    `json:"source"`
	At      time.Time `json:"at"`
}

func (a *Agent) load() (record, error) {
	var rec record
	found, err := a.cfg.State.Load(RecordFile(), &rec)
	if err != nil {
		return record{Slot: "a"}, fmt.Errorf("update record: %w", err)
	}
	if !found {
		return record{Slot: "a"}, nil
	}
	if rec.Slot != "a" && rec.Slot != "b" {
		rec.Slot = "a"
	}
	return rec, nil
}

func (a *Agent) save(rec record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("update record: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(a.cfg.State.Path, File), b, 0o600); err != nil {
		return fmt.Errorf("update record: %w", err)
	}
	return nil
}

func otherSlot(s string) string {
	if s == "b" {
		return "a"
	}
	return "b"
}

// rollback reads the record at boot: a firmware on trial that already had
// its boot and never came up is rolled back to the previous slot, and an
// install cut short is forgotten. notes are what it decided, for the
// syslog once the boot is up.
func (a *Agent) rollback() (rec record, notes []string, damaged bool) {
	rec, err := a.load()
	if err != nil {
		notes = append(notes, err.Error())
		damaged = errors.Is(err, statedir.ErrDamaged)
	}
	t := rec.Trial
	if t == nil {
		return rec, notes, damaged
	}
	slots, err := a.cfg.State.LoadFirmware()
	switch {
	case err != nil:
		notes = append(notes, fmt.Sprintf("firmware slots: %v", err))
	case slots.Active != t.Version:
		// Killed between writing the image and switching slots: the old
		// firmware is still the active one.
		notes = append(notes, fmt.Sprintf("install of %s did not complete; running %s", t.Version, slots.Active))
		rec.Slot, rec.Trial = t.PreviousSlot, nil
	case t.Boots >= 1:
		msg := fmt.Sprintf("firmware %s did not come up; rolled back to %s", t.Version, t.Previous)
		if err := a.cfg.State.SaveFirmware(statedir.Firmware{Active: t.Previous, Backup: t.Version}); err != nil {
			notes = append(notes, fmt.Sprintf("rollback: %v", err))
			break
		}
		notes = append(notes, msg)
		rec.Slot, rec.Trial = t.PreviousSlot, nil
		rec.Result, rec.Error, rec.Refused = "rolled-back", msg, t.Version
	default:
		t.Boots++
	}
	if err := a.save(rec); err != nil {
		notes = append(notes, err.Error())
	}
	return rec, notes, damaged
}

// Activate resolves version ("" for the one in the active slot, or the
// model's default) and records it in the firmware slots of st: a version
// other than the active one becomes active and the old one the backup.
func Activate(st *statedir.Dir, m *catalog.Model, version string) (*catalog.Firmware, error) {
	slots, err := st.LoadFirmware()
	if err != nil {
		return nil, fmt.Errorf("install firmware: %w", err)
	}
	if version == "" {
		version = slots.Active
	}
	fw, err := m.FirmwareVersion(version)
	if err != nil {
		return nil, fmt.Errorf("install firmware: %w", err)
	}
	if slots.Active != fw.Version {
		if slots.Active != "" {
			slots.Backup = slots.Active
		}
		slots.Active = fw.Version
		if err := st.SaveFirmware(slots); err != nil {
			return nil, fmt.Errorf("install firmware: %w", err)
		}
	}
	return fw, nil
}
