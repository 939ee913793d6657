// Package catalog holds what makes one vendor's phone differ from another's:
// display, softkeys per screen, menu tree, syslog format, and for each
// firmware version the traits later behaviour acts on (TLS versions, factory
// root CAs, sign-in methods, lock type, client ID). The phone firmware reads
// these values; it never branches on a vendor name.
package catalog

import (
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

//go:embed models.yaml
var builtin []byte

// BuiltinName is the file name errors in the embedded catalog refer to.
const BuiltinName = "catalog/models.yaml"

// Catalog is a validated set of vendors and models.
type Catalog struct {
	Vendors map[string]*Vendor
	Models  map[string]*Model
}

// Vendor carries what all of one vendor's models share.
type Vendor struct {
	ID   string `yaml:"-"`
	Name string `yaml:"name"`
	// OUI is the first three octets of the vendor's MAC addresses.
	OUI string `yaml:"oui"`
	// VersionFormat describes the firmware version string for humans;
	// VersionPattern checks it.
	VersionFormat  string `yaml:"version_format"`
	VersionPattern string `yaml:"version_pattern"`
	// FirmwareMode is the mode of a firmware that names none (one of
	// FirmwareModes; 3pip when the vendor says nothing either).
	FirmwareMode string   `yaml:"firmware_mode"`
	TimeFormat   int      `yaml:"time_format"`
	DateFormat   string   `yaml:"date_format"`
	Softkeys     Softkeys `yaml:"softkeys"`
	Menu         []*Item  `yaml:"menu"`
	// FirmwarePath is the menu path (labels) to the screen that shows the
	// firmware version, as the vendor documents it.
	FirmwarePath []string `yaml:"firmware_path"`
	Syslog       Syslog   `yaml:"syslog"`
	Boot         []string `yaml:"boot"`
	IdleLines    []string `yaml:"idle_lines"`
	// Lock is the vendor's wording of the phone lock and what it does
	// after too many wrong PINs; missing entries take DefaultLock's.
	Lock Lock `yaml:"lock"`
	// Update is the self-update behaviour (update.go).
	Update Update `yaml:"update"`
	// SignIn is how the vendor's sign-in screens read.
	SignIn SignInUI `yaml:"sign_in"`
	// Calls is how the line takes several calls.
	Calls Calls `yaml:"calls"`
	// History is the call history's size and wording.
	History History `yaml:"history"`
	// Forward is how the phone words call forwarding.
	Forward Forward `yaml:"forward"`
	// Gateway is how the SIP firmware shows the Teams SIP Gateway
	// (gateway.go).
	Gateway Gateway `yaml:"gateway"`
}

// Forward is a vendor's call forwarding: the no-answer delay its phones
// ship with and its wording; missing entries take DefaultForward's. The
// wording takes {target} and {seconds}.
type Forward struct {
	// NoAnswerSeconds is how long a call rings before forwarding on no
	// answer sends it on, when the user gives no other.
	NoAnswerSeconds int `yaml:"no_answer_seconds"`
	// Always, Busy and NoAnswer are the idle screen's line while that
	// forwarding is on.
	Always   string `yaml:"always"`
	Busy     string `yaml:"busy"`
	NoAnswer string `yaml:"no_answer"`
	// Prompt asks for the target when forwarding is set from the menu.
	Prompt string `yaml:"prompt"`
	// Off is the alert when forwarding is turned off.
	Off string `yaml:"off"`
	// Forwarded is the caller's call screen line once its call went on to
	// another party (a 3xx, or the proxy's History-Info or Diversion).
	Forwarded string `yaml:"forwarded"`
}

// DefaultForward is forwarding worded plainly, on no answer after 20 s.
var DefaultForward = Forward{
	NoAnswerSeconds: 20,
	Always:          "Forward: {target}",
	Busy:            "Forward when busy: {target}",
	NoAnswer:        "Forward after {seconds}s: {target}",
	Prompt:          "Forward to:",
	Off:             "Forwarding off",
	Forwarded:       "Forwarded to {target}",
}

// History is how a vendor keeps and words the call history; missing
// entries take DefaultHistory's. The lists' screens are menu entries
// (history_missed, history_received, history_placed), titled by them.
type History struct {
	// Max is how many entries each list keeps, the newest first.
	Max int `yaml:"max"`
	// Notice is the idle screen's line while missed calls are unviewed,
	// with {n} their number ("{n} Missed Calls").
	Notice string `yaml:"notice"`
	// Empty is the line of a list without an entry.
	Empty string `yaml:"empty"`
}

// DefaultHistory is a history of 100 calls per list.
var DefaultHistory = History{Max: 100, Notice: "{n} Missed Calls", Empty: "No calls"}

// Calls is how a vendor's line takes several calls; missing entries take
// DefaultCalls'.
type Calls struct {
	// Max is how many calls the line holds at once (the current, held and
	// waiting ones); a call beyond gets 486 Busy Here.
	Max int `yaml:"max"`
	// RejectCode is what Reject answers a waiting call: 486 Busy Here or
	// 603 Decline.
	RejectCode int `yaml:"reject_code"`
	// WaitingTone is what the user hears over the current call while a
	// call waits.
	WaitingTone Tone `yaml:"waiting_tone"`
}

// Tone is a cadenced tone: Hz for OnMS, silence for OffMS, again.
type Tone struct {
	Hz    int `yaml:"hz"`
	OnMS  int `yaml:"on_ms"`
	OffMS int `yaml:"off_ms"`
}

// DefaultCalls is a line of two calls whose Reject is busy and whose
// waiting tone is the common one: a 300 ms beep of 440 Hz every ten
// seconds.
var DefaultCalls = Calls{Max: 2, RejectCode: 486, WaitingTone: Tone{Hz: 440, OnMS: 300, OffMS: 9700}}

// SignInUI is the wording of a vendor's sign-in screens. The softkeys of
// the screens signin (signed out: the methods), signin_code (the web
// sign-in code) and signin_expired (the code ran out) are in Softkeys; a
// method softkey shows only where the firmware offers that method.
type SignInUI struct {
	// Title heads the signed-out screen.
	Title string `yaml:"title"`
	// Code are the lines of the web sign-in screen, with {signin_url},
	// {signin_code} and {signin_expires} (minutes left).
	Code []string `yaml:"code"`
	// Expired are the lines shown when the code ran out.
	Expired []string `yaml:"expired"`
	// Failed heads the reason a sign-in failed.
	Failed string `yaml:"failed"`
	// ClientIDs is the OAuth client ID per client ID kind (shared,
	// vendor) the firmware signs in with.
	ClientIDs map[string]string `yaml:"client_ids"`
	// Reasons words each of SignInReasons for the screen; the ones left
	// out take the defaults.
	Reasons map[string]string `yaml:"reasons"`
}

// Lock is how a vendor's phone lock speaks and acts.
type Lock struct {
	Title      string `yaml:"title"`       // the lock screen's title
	EnterPIN   string `yaml:"enter_pin"`   // the lock screen's PIN entry
	CreatePIN  string `yaml:"create_pin"`  // first entry of a new PIN
	ConfirmPIN string `yaml:"confirm_pin"` // second entry
	OldPIN     string `yaml:"old_pin"`     // changing the PIN
	AdminCode  string `yaml:"admin_code_prompt"`
	Unsecured  string `yaml:"unsecured"` // the idle line of a phone left without its PIN
	// KeptLocked is the lock screen's line of a phone that was locked when
	// its firmware changed to another lock type: only the PIN it had
	// unlocks it.
	KeptLocked string `yaml:"kept_locked"`
	// Damaged is the lock screen's line of a phone whose lock record
	// cannot be read: it boots locked.
	Damaged string `yaml:"damaged"`
	// RetryAction is what too many wrong PINs do: sign_out or admin_code.
	RetryAction string `yaml:"retry_action"`
	// AdminCodeValue is the administrator's code that unlocks a phone
	// whose RetryAction is admin_code (the phone's admin password).
	AdminCodeValue string `yaml:"admin_code"`
	// DeviceLockRetries are the wrong codes a Device-Lock takes before its
	// RetryAction.
	DeviceLockRetries int `yaml:"device_lock_retries"`
}

// DefaultLock is the wording a vendor that says nothing of its lock gets.
var DefaultLock = Lock{
	Title: "Phone Locked", EnterPIN: "Enter PIN:", CreatePIN: "Create PIN:",
	ConfirmPIN: "Confirm PIN:", OldPIN: "Current PIN:", AdminCode: "Admin code:",
	Unsecured: "Phone not secured: create a PIN", RetryAction: "sign_out",
	KeptLocked:        "Locked before the firmware change: enter the PIN it had",
	Damaged:           "Lock record damaged: no PIN can unlock",
	DeviceLockRetries: 6,
}

// RetryActions are what a phone lock may do after too many wrong PINs.
var RetryActions = []string{"sign_out", "admin_code"}

// Model is one phone model with its firmware versions.
type Model struct {
	ID       string      `yaml:"-"`
	VendorID string      `yaml:"vendor"`
	Name     string      `yaml:"name"`
	Hostname string      `yaml:"hostname"`
	Display  Display     `yaml:"display"`
	Firmware []*Firmware `yaml:"firmware"`
	// DefaultFirmware is the version a new phone of this model boots.
	DefaultFirmware string `yaml:"default_firmware"`

	Vendor *Vendor `yaml:"-"`
}

// Display is the LCD in character cells, and the number of softkeys under it.
type Display struct {
	Columns  int `yaml:"columns"`
	Rows     int `yaml:"rows"`
	Softkeys int `yaml:"softkeys"`
}

// Firmware is one firmware version and its traits.
type Firmware struct {
	Version string `yaml:"version"`
	// Mode is the stream the firmware belongs to (one of FirmwareModes):
	// Skype for Business (3pip), plain SIP for the Teams SIP Gateway
	// (sip) or Lync Phone Edition (lpe). Moving between streams is a
	// firmware update like any other.
	Mode string `yaml:"mode"`
	// TLSMin and TLSMax are "1.0" .. "1.3".
	TLSMin       string   `yaml:"tls_min"`
	TLSMax       string   `yaml:"tls_max"`
	FactoryRoots []string `yaml:"factory_roots"`
	SignIn       []string `yaml:"sign_in"`
	Lock         string   `yaml:"lock"`
	ClientID     string   `yaml:"client_id"`
	// UpdateRoot is the update root this firmware ships when it is not
	// the vendor's (Update.Root).
	UpdateRoot string `yaml:"update_root"`
}

// Softkeys lists the softkeys shown on each screen of the phone.
type Softkeys map[string][]Softkey

// Softkey is a label on the screen bound to a phone action.
type Softkey struct {
	Label string `yaml:"label"`
	// Short is the vendor's abbreviation, shown when Label does not fit
	// the model's softkey cell ("Trnsfer" for "Transfer").
	Short string `yaml:"short"`
	// ActionName is the action as the file names it; Action is what it
	// parsed to when the catalog loaded.
	ActionName string `yaml:"action"`
	Action     Action `yaml:"-"`
	// Open is the menu path (labels) the "open" action goes to.
	Open []string `yaml:"open"`
}

// Item is one entry of the menu tree: a submenu (Items), an information
// screen (Show, with {placeholders}) or an action.
type Item struct {
	Label string   `yaml:"label"`
	Items []*Item  `yaml:"items"`
	Show  []string `yaml:"show"`
	// ActionName is the action as the file names it; Action is what it
	// parsed to when the catalog loaded (ActionNone for a submenu or an
	// information screen).
	ActionName string `yaml:"action"`
	Action     Action `yaml:"-"`
}

// Syslog is the vendor's log line format and its wording for known events.
type Syslog struct {
	// Format has the placeholders {time} {host} {level} {seq} {tag} {msg}.
	Format string `yaml:"format"`
	// TimeLayout is a Go time layout for {time}.
	TimeLayout string `yaml:"time_layout"`
	// Events maps an event name to the vendor's tag and message template.
	Events map[string]SyslogEvent `yaml:"events"`
}

// SyslogEvent is how one vendor words one event.
type SyslogEvent struct {
	Level string `yaml:"level"`
	Tag   string `yaml:"tag"`
	Msg   string `yaml:"msg"`
}

// Screens are the phone screens that carry softkeys; each vendor lists them
// all, except the OptionalScreens.
var Screens = []string{"idle", "dialing", "calling", "ringing", "connected", "held", "menu", "transfer"}

// OptionalScreens may be left out of a vendor's softkeys; each then shows
// the softkeys of the screen it names (the transfer target is entered like
// a number being dialled), or none when it names none (the lock screen).
var OptionalScreens = map[string]string{"transfer": "dialing", "locked": "",
	// A call rings while one is up (call waiting): its status screen
	// stays the current call's, its softkeys are these.
	"waiting": "connected",
	// The focused call is in a conference on the phone.
	"conference": "connected",
	// Two calls are up (one held): the focused one's status screen, these
	// softkeys.
	"two_calls": "connected",
	"signin":    "", "signin_code": "", "signin_expired": ""}

// AllScreens are Screens and then the optional screens not among them, in
// a fixed order.
func AllScreens() []string {
	all := slices.Clone(Screens)
	var extra []string
	for s := range OptionalScreens {
		if !slices.Contains(all, s) {
			extra = append(extra, s)
		}
	}
	slices.Sort(extra)
	return append(all, extra...)
}

// For returns the softkeys of a screen; an optional screen the vendor
// leaves out has those of the screen it falls back to.
func (s Softkeys) For(screen string) []Softkey {
	if keys, ok := s[screen]; ok {
		return keys
	}
	return s[OptionalScreens[screen]]
}

// MoreSoftkey is the built-in key that pages through a screen's softkeys
// when they outnumber the model's keys.
var MoreSoftkey = Softkey{Label: "More", ActionName: "more", Action: ActionMore}

// SoftkeySets are every set of softkeys a phone of the vendor can show,
// by name: each of AllScreens (an optional screen left out has those of
// the screen it falls back to), the update offer's ("update") and the
// built-in More key ("more").
func (v *Vendor) SoftkeySets() map[string][]Softkey {
	sets := map[string][]Softkey{"update": v.Update.Softkeys, "more": {MoreSoftkey}}
	for _, s := range AllScreens() {
		sets[s] = v.Softkeys.For(s)
	}
	return sets
}

// LabelFor returns the softkey's label for a cell of width characters: the
// full label when it fits, else the short one, cut to the cell when even
// that is too wide.
func (k Softkey) LabelFor(width int) string {
	l := k.Label
	if utf8.RuneCountInString(l) > width && k.Short != "" {
		l = k.Short
	}
	if utf8.RuneCountInString(l) > width {
		l = string([]rune(l)[:width])
	}
	return l
}

// The firmware modes (streams).
const (
	Mode3PIP = "3pip"
	ModeSIP  = "sip"
	ModeLPE  = "lpe"
)

// FirmwareModes are the streams a firmware may belong to.
var FirmwareModes = []string{Mode3PIP, ModeSIP, ModeLPE}

// SignInMethods are the sign-in methods a firmware may offer.
var SignInMethods = []string{"user", "web", "pin", "pc", "usb"}

// LockTypes are the phone-lock implementations.
var LockTypes = []string{"none", "device-lock", "phone-lock"}

// ClientIDKinds say which OAuth client ID a firmware signs in with (seed 000).
var ClientIDKinds = []string{"shared", "vendor"}

// TLSVersions are the TLS versions a firmware may speak.
var TLSVersions = []string{"1.0", "1.1", "1.2", "1.3"}

// Placeholders may appear in info screens and idle lines.
var Placeholders = []string{
	"vendor", "model", "firmware", "mac", "serial", "ip", "user", "server",
	"registration", "hostname", "tls", "uptime", "time_format", "ca_count",
}

// Lookup errors, for callers that tell a wrong name from other failures
// with errors.Is.
var (
	ErrUnknownModel    = errors.New("unknown model")
	ErrUnknownFirmware = errors.New("unknown firmware version")
)

// lookupError keeps a lookup's full message while matching its sentinel.
type lookupError struct {
	msg string
	err error
}

func (e *lookupError) Error() string { return e.msg }
func (e *lookupError) Unwrap() error { return e.err }

// Model returns the model with the given id (case-insensitive).
func (c *Catalog) Model(id string) (*Model, error) {
	if m, ok := c.Models[strings.ToLower(id)]; ok {
		return m, nil
	}
	return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownModel, id, strings.Join(c.ModelIDs(), ", "))
}

// ModelIDs returns the model ids sorted by vendor, then name.
func (c *Catalog) ModelIDs() []string {
	ids := make([]string, 0, len(c.Models))
	for id := range c.Models {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		a, b := c.Models[ids[i]], c.Models[ids[j]]
		if a.VendorID != b.VendorID {
			return a.VendorID < b.VendorID
		}
		return a.ID < b.ID
	})
	return ids
}

// FirmwareVersion returns the firmware of the model named v. It matches the
// full version string or its numeric part with the vendor prefix left out
// ("3.4.6.537" finds "UC430HD_3.4.6.537"); an empty v gives the default.
func (m *Model) FirmwareVersion(v string) (*Firmware, error) {
	if v == "" {
		v = m.DefaultFirmware
	}
	for _, f := range m.Firmware {
		if strings.EqualFold(f.Version, v) {
			return f, nil
		}
	}
	want, err := ParseVersion(v)
	if err == nil {
		for _, f := range m.Firmware {
			if have, err := ParseVersion(f.Version); err == nil && have.Compare(want) == 0 && have.Suffix == want.Suffix {
				return f, nil
			}
		}
	}
	known := make([]string, len(m.Firmware))
	for i, f := range m.Firmware {
		known[i] = f.Version
	}
	return nil, &lookupError{
		msg: fmt.Sprintf("model %s has no firmware %q (known: %s)", m.ID, v, strings.Join(known, ", ")),
		err: ErrUnknownFirmware,
	}
}

// Title is the vendor and model as printed on the bezel.
func (m *Model) Title() string { return m.Vendor.Name + " " + m.Name }

// HasSignIn reports whether the firmware offers the sign-in method.
func (f *Firmware) HasSignIn(method string) bool { return contains(f.SignIn, method) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// LogLevels are the syslog severities a vendor event may carry.
var LogLevels = []string{"debug", "info", "notice", "warn", "err", "crit"}

// Find follows a path of menu labels (case-insensitive) from the top of the
// vendor's menu and returns the items passed on the way.
func (v *Vendor) Find(path []string) ([]*Item, error) {
	items := v.Menu
	var trail []*Item
	for i, label := range path {
		var found *Item
		for _, it := range items {
			if strings.EqualFold(it.Label, label) {
				found = it
				break
			}
		}
		if found == nil {
			return nil, fmt.Errorf("no menu entry %q under %q", label, strings.Join(path[:i], " > "))
		}
		trail = append(trail, found)
		items = found.Items
	}
	return trail, nil
}
