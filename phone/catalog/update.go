package catalog

import (
	"fmt"
	"time"
)

// Update is how a vendor's firmware updates itself: the update root its
// firmware ships, whether it asks the user (Poly's Update / Postpone),
// how often it may be put off, how long the phone must be idle before it
// installs, and how long a new firmware has to come up before it is
// rolled back.
type Update struct {
	// Root names the lab update root (TUF) the firmware ships; a firmware
	// may name another (Firmware.UpdateRoot). Default: "<vendor>-1".
	Root string `yaml:"root"`
	// Ask shows the offer with Softkeys and waits for the user, up to
	// MaxPostpones postponements; without it the phone installs when idle.
	Ask          bool          `yaml:"ask"`
	MaxPostpones int           `yaml:"max_postpones"`
	PostponeFor  time.Duration `yaml:"postpone_for"`
	IdleFor      time.Duration `yaml:"idle_for"`
	TrialFor     time.Duration `yaml:"trial_for"`
	// Offer is the screen text of an offer, with {version}.
	Offer    string    `yaml:"offer"`
	Softkeys []Softkey `yaml:"softkeys"`
	// Reasons words each of UpdateReasons for the screen; the ones left
	// out take the defaults.
	Reasons map[string]string `yaml:"reasons"`
}

// Defaults of the update behaviour.
const (
	DefaultMaxPostpones = 3
	DefaultPostponeFor  = time.Hour
	DefaultIdleFor      = 5 * time.Minute
	DefaultTrialFor     = 10 * time.Minute
)

// validate fills the defaults and parses the softkeys' actions.
func (u *Update) validate(vendorID string) *Error {
	if u.Root == "" {
		u.Root = vendorID + "-1"
	}
	if u.MaxPostpones == 0 {
		u.MaxPostpones = DefaultMaxPostpones
	}
	if u.PostponeFor == 0 {
		u.PostponeFor = DefaultPostponeFor
	}
	if u.IdleFor == 0 {
		u.IdleFor = DefaultIdleFor
	}
	if u.TrialFor == 0 {
		u.TrialFor = DefaultTrialFor
	}
	if u.Offer == "" {
		u.Offer = "Firmware {version} available"
	}
	switch {
	case u.MaxPostpones < 0:
		return &Error{Field: "update.max_postpones", Msg: fmt.Sprintf("%d: must not be negative", u.MaxPostpones)}
	case u.PostponeFor < 0 || u.IdleFor < 0 || u.TrialFor < 0:
		return &Error{Field: "update", Msg: "durations must not be negative"}
	case u.Ask && len(u.Softkeys) == 0:
		return &Error{Field: "update.softkeys", Msg: "a vendor that asks needs softkeys for the offer"}
	}
	if err := fillReasons("update.reasons", &u.Reasons, UpdateReasons); err != nil {
		return err
	}
	for i, k := range u.Softkeys {
		field := fmt.Sprintf("update.softkeys[%d]", i)
		if k.Label == "" {
			return &Error{Field: field + ".label", Msg: "missing"}
		}
		a, err := ParseAction(k.ActionName)
		if err != nil {
			return &Error{Field: field + ".action", Msg: err.Error()}
		}
		u.Softkeys[i].Action = a
	}
	return nil
}
