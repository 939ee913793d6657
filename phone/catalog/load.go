package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// file is the YAML shape of a catalog file.
type file struct {
	Vendors map[string]*Vendor `yaml:"vendors"`
	Models  map[string]*Model  `yaml:"models"`
}

// Error is a catalog validation error. It names the file, the vendor or
// model, and the field.
type Error struct {
	File   string
	Vendor string
	Model  string
	Field  string
	Msg    string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Vendor != "" {
		fmt.Fprintf(&b, ": vendor %q", e.Vendor)
	}
	if e.Model != "" {
		fmt.Fprintf(&b, ": model %q", e.Model)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": %s", e.Field)
	}
	fmt.Fprintf(&b, ": %s", e.Msg)
	return b.String()
}

// Builtin returns the catalog shipped in the binary.
func Builtin() (*Catalog, error) {
	return Parse(BuiltinName, builtin, nil)
}

// Load returns the built-in catalog extended by the files named: a vendor or
// model in a file replaces the one with the same id, new ones are added.
func Load(files ...string) (*Catalog, error) {
	c, err := Builtin()
	if err != nil {
		return nil, err
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
		if c, err = Parse(name, data, c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Parse decodes a catalog file on top of base (which may be nil) and
// validates the result. Unknown keys are errors.
func Parse(name string, data []byte, base *Catalog) (*Catalog, error) {
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c := &Catalog{Vendors: map[string]*Vendor{}, Models: map[string]*Model{}}
	if base != nil {
		for id, v := range base.Vendors {
			c.Vendors[id] = v
		}
		for id, m := range base.Models {
			c.Models[id] = m
		}
	}
	for id, v := range f.Vendors {
		v.ID = strings.ToLower(id)
		c.Vendors[v.ID] = v
	}
	for id, m := range f.Models {
		m.ID = strings.ToLower(id)
		c.Models[m.ID] = m
	}
	if err := c.validate(name); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Catalog) validate(file string) error {
	if len(c.Models) == 0 {
		return &Error{File: file, Msg: "no models"}
	}
	for _, id := range sortedKeys(c.Vendors) {
		if err := c.Vendors[id].validate(); err != nil {
			err.File, err.Vendor = file, id
			return err
		}
	}
	for _, id := range sortedKeys(c.Models) {
		m := c.Models[id]
		if err := c.validateModel(m); err != nil {
			err.File, err.Model = file, id
			return err
		}
	}
	return nil
}

func (v *Vendor) validate() *Error {
	switch {
	case v.Name == "":
		return &Error{Field: "name", Msg: "missing"}
	case v.VersionPattern == "":
		return &Error{Field: "version_pattern", Msg: "missing"}
	case v.TimeFormat != 12 && v.TimeFormat != 24:
		return &Error{Field: "time_format", Msg: fmt.Sprintf("%d: must be 12 or 24", v.TimeFormat)}
	case v.Syslog.Format == "":
		return &Error{Field: "syslog.format", Msg: "missing"}
	case v.Syslog.TimeLayout == "":
		return &Error{Field: "syslog.time_layout", Msg: "missing"}
	}
	if _, err := regexp.Compile(v.VersionPattern); err != nil {
		return &Error{Field: "version_pattern", Msg: err.Error()}
	}
	if v.FirmwareMode == "" {
		v.FirmwareMode = Mode3PIP
	}
	if !contains(FirmwareModes, v.FirmwareMode) {
		return &Error{Field: "firmware_mode", Msg: fmt.Sprintf("%q: must be one of %s", v.FirmwareMode, strings.Join(FirmwareModes, ", "))}
	}
	for name := range v.Softkeys {
		if !contains(AllScreens(), name) {
			return &Error{Field: "softkeys." + name, Msg: fmt.Sprintf("unknown screen (screens: %s)", strings.Join(AllScreens(), ", "))}
		}
	}
	if err := v.Lock.validate(); err != nil {
		return err
	}
	if err := v.Calls.validate(); err != nil {
		return err
	}
	if err := v.History.validate(); err != nil {
		return err
	}
	if err := v.Forward.validate(); err != nil {
		return err
	}
	if err := v.Gateway.validate(); err != nil {
		return err
	}
	if err := fillReasons("sign_in.reasons", &v.SignIn.Reasons, SignInReasons); err != nil {
		return err
	}
	if len(v.Menu) == 0 {
		return &Error{Field: "menu", Msg: "missing"}
	}
	if err := validateItems("menu", v.Menu); err != nil {
		return err
	}
	for _, s := range AllScreens() {
		keys, ok := v.Softkeys[s]
		if !ok {
			if _, optional := OptionalScreens[s]; optional {
				continue
			}
			return &Error{Field: "softkeys." + s, Msg: "missing"}
		}
		for i, k := range keys {
			field := fmt.Sprintf("softkeys.%s[%d]", s, i)
			if err := checkSoftkey(field, &keys[i]); err != nil {
				return err
			}
			a := keys[i].Action
			if (a == ActionOpen) != (len(k.Open) > 0) {
				return &Error{Field: field + ".open", Msg: "a menu path goes with the open action, and only with it"}
			}
			if _, err := v.Find(k.Open); err != nil {
				return &Error{Field: field + ".open", Msg: err.Error()}
			}
		}
	}
	if err := v.Update.validate(v.ID); err != nil {
		return err
	}
	if len(v.FirmwarePath) == 0 {
		return &Error{Field: "firmware_path", Msg: "missing"}
	}
	if _, err := v.Find(v.FirmwarePath); err != nil {
		// The path may start with the key that opens the menu ("Menu").
		if len(v.FirmwarePath) < 2 {
			return &Error{Field: "firmware_path", Msg: err.Error()}
		}
		if _, err := v.Find(v.FirmwarePath[1:]); err != nil {
			return &Error{Field: "firmware_path", Msg: err.Error()}
		}
	}
	for i, line := range v.Boot {
		if err := checkPlaceholders(line); err != nil {
			return &Error{Field: fmt.Sprintf("boot[%d]", i), Msg: err.Error()}
		}
	}
	for i, line := range v.IdleLines {
		if err := checkPlaceholders(line); err != nil {
			return &Error{Field: fmt.Sprintf("idle_lines[%d]", i), Msg: err.Error()}
		}
	}
	for name, ev := range v.Syslog.Events {
		if !contains(LogLevels, ev.Level) {
			return &Error{Field: "syslog.events." + name + ".level", Msg: fmt.Sprintf("unknown level %q (levels: %s)", ev.Level, strings.Join(LogLevels, ", "))}
		}
	}
	return nil
}

func validateItems(path string, items []*Item) *Error {
	for i, it := range items {
		field := fmt.Sprintf("%s[%d]", path, i)
		kinds := 0
		if len(it.Items) > 0 {
			kinds++
		}
		if len(it.Show) > 0 {
			kinds++
		}
		if it.ActionName != "" {
			kinds++
		}
		switch {
		case it.Label == "":
			return &Error{Field: field + ".label", Msg: "missing"}
		case kinds != 1:
			return &Error{Field: field, Msg: fmt.Sprintf("%q needs exactly one of items, show or action", it.Label)}
		}
		if it.ActionName != "" {
			a, err := ParseAction(it.ActionName)
			if err != nil {
				return &Error{Field: field + ".action", Msg: err.Error()}
			}
			it.Action = a
		}
		for j, line := range it.Show {
			if err := checkPlaceholders(line); err != nil {
				return &Error{Field: fmt.Sprintf("%s.show[%d]", field, j), Msg: err.Error()}
			}
		}
		if err := validateItems(field+".items", it.Items); err != nil {
			return err
		}
	}
	return nil
}

var placeholderRE = regexp.MustCompile(`\{([a-z_]+)\}`)

func checkPlaceholders(s string) error {
	for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
		if !contains(Placeholders, m[1]) {
			return fmt.Errorf("unknown placeholder {%s} (known: %s)", m[1], strings.Join(Placeholders, ", "))
		}
	}
	return nil
}

func (c *Catalog) validateModel(m *Model) *Error {
	v, ok := c.Vendors[strings.ToLower(m.VendorID)]
	switch {
	case m.VendorID == "":
		return &Error{Field: "vendor", Msg: "missing"}
	case !ok:
		return &Error{Field: "vendor", Msg: fmt.Sprintf("unknown vendor %q", m.VendorID)}
	case m.Name == "":
		return &Error{Field: "name", Msg: "missing"}
	case m.Display.Columns < 20 || m.Display.Columns > 80:
		return &Error{Field: "display.columns", Msg: fmt.Sprintf("%d: must be 20..80", m.Display.Columns)}
	case m.Display.Rows < 3 || m.Display.Rows > 16:
		return &Error{Field: "display.rows", Msg: fmt.Sprintf("%d: must be 3..16", m.Display.Rows)}
	case m.Display.Softkeys < 1 || m.Display.Softkeys > 6:
		return &Error{Field: "display.softkeys", Msg: fmt.Sprintf("%d: must be 1..6", m.Display.Softkeys)}
	case len(m.Firmware) == 0:
		return &Error{Field: "firmware", Msg: "missing"}
	}
	m.Vendor = v
	if m.Hostname == "" {
		m.Hostname = m.Name
	}
	pattern := regexp.MustCompile(v.VersionPattern)
	seen := map[string]bool{}
	for i, f := range m.Firmware {
		field := fmt.Sprintf("firmware[%d]", i)
		if f.Version == "" {
			return &Error{Field: field + ".version", Msg: "missing"}
		}
		if !pattern.MatchString(f.Version) {
			return &Error{Field: field + ".version", Msg: fmt.Sprintf("bad version string %q: %s firmware looks like %s", f.Version, v.Name, v.VersionFormat)}
		}
		if _, err := ParseVersion(f.Version); err != nil {
			return &Error{Field: field + ".version", Msg: err.Error()}
		}
		if seen[f.Version] {
			return &Error{Field: field + ".version", Msg: fmt.Sprintf("%q listed twice", f.Version)}
		}
		seen[f.Version] = true
		if f.Mode == "" {
			f.Mode = v.FirmwareMode
		}
		if err := f.validate(); err != nil {
			err.Field = field + "." + err.Field
			return err
		}
	}
	if m.DefaultFirmware == "" {
		m.DefaultFirmware = m.Firmware[len(m.Firmware)-1].Version
	}
	if !seen[m.DefaultFirmware] {
		return &Error{Field: "default_firmware", Msg: fmt.Sprintf("%q is not in the firmware list", m.DefaultFirmware)}
	}
	return nil
}

func (f *Firmware) validate() *Error {
	switch {
	case !contains(TLSVersions, f.TLSMin):
		return &Error{Field: "tls_min", Msg: fmt.Sprintf("%q: must be one of %s", f.TLSMin, strings.Join(TLSVersions, ", "))}
	case !contains(TLSVersions, f.TLSMax):
		return &Error{Field: "tls_max", Msg: fmt.Sprintf("%q: must be one of %s", f.TLSMax, strings.Join(TLSVersions, ", "))}
	case f.TLSMin > f.TLSMax:
		return &Error{Field: "tls_min", Msg: fmt.Sprintf("%s is above tls_max %s", f.TLSMin, f.TLSMax)}
	case len(f.FactoryRoots) == 0:
		return &Error{Field: "factory_roots", Msg: "missing"}
	case f.SignIn == nil:
		// An empty list is valid: the firmware offers no sign-in of its
		// own (SIP firmware signs in through the gateway).
		return &Error{Field: "sign_in", Msg: "missing (write [] for none)"}
	case !contains(FirmwareModes, f.Mode):
		return &Error{Field: "mode", Msg: fmt.Sprintf("%q: must be one of %s", f.Mode, strings.Join(FirmwareModes, ", "))}
	case f.Mode == ModeSIP && len(f.SignIn) > 0:
		return &Error{Field: "sign_in", Msg: fmt.Sprintf("%s: SIP firmware offers no Skype for Business sign-in (it signs in through the gateway): write []", strings.Join(f.SignIn, ", "))}
	case !contains(LockTypes, f.Lock):
		return &Error{Field: "lock", Msg: fmt.Sprintf("%q: must be one of %s", f.Lock, strings.Join(LockTypes, ", "))}
	case !contains(ClientIDKinds, f.ClientID):
		return &Error{Field: "client_id", Msg: fmt.Sprintf("%q: must be one of %s", f.ClientID, strings.Join(ClientIDKinds, ", "))}
	}
	for i, s := range f.SignIn {
		if !contains(SignInMethods, s) {
			return &Error{Field: fmt.Sprintf("sign_in[%d]", i), Msg: fmt.Sprintf("unknown method %q (methods: %s)", s, strings.Join(SignInMethods, ", "))}
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// validate fills in what a vendor left out and checks the rest.
func (c *Calls) validate() *Error {
	if c.Max == 0 {
		c.Max = DefaultCalls.Max
	}
	if c.RejectCode == 0 {
		c.RejectCode = DefaultCalls.RejectCode
	}
	if c.WaitingTone == (Tone{}) {
		c.WaitingTone = DefaultCalls.WaitingTone
	}
	w := c.WaitingTone
	switch {
	case w.Hz < 100 || w.Hz > 4000:
		return &Error{Field: "calls.waiting_tone.hz", Msg: fmt.Sprintf("%d: must be 100..4000", w.Hz)}
	case w.OnMS < 50 || w.OnMS > 10000 || w.OffMS < 0 || w.OffMS > 60000:
		return &Error{Field: "calls.waiting_tone", Msg: fmt.Sprintf("on %d ms, off %d ms: on must be 50..10000, off 0..60000", w.OnMS, w.OffMS)}
	}
	switch {
	case c.Max < 1 || c.Max > 8:
		return &Error{Field: "calls.max", Msg: fmt.Sprintf("%d: must be 1..8", c.Max)}
	case c.RejectCode != 486 && c.RejectCode != 603:
		return &Error{Field: "calls.reject_code", Msg: fmt.Sprintf("%d: must be 486 (Busy Here) or 603 (Decline)", c.RejectCode)}
	}
	return nil
}

// validate fills in what a vendor left out and checks the rest.
func (h *History) validate() *Error {
	d := DefaultHistory
	if h.Max == 0 {
		h.Max = d.Max
	}
	if h.Notice == "" {
		h.Notice = d.Notice
	}
	if h.Empty == "" {
		h.Empty = d.Empty
	}
	switch {
	case h.Max < 1 || h.Max > 500:
		return &Error{Field: "history.max", Msg: fmt.Sprintf("%d: must be 1..500", h.Max)}
	case !strings.Contains(h.Notice, "{n}"):
		return &Error{Field: "history.notice", Msg: fmt.Sprintf("%q: must hold {n}, the number of missed calls", h.Notice)}
	}
	return nil
}

// validate fills in what a vendor left out of its forwarding and checks
// the delay: below the three minutes an unanswered call rings at most.
func (f *Forward) validate() *Error {
	d := DefaultForward
	if f.NoAnswerSeconds == 0 {
		f.NoAnswerSeconds = d.NoAnswerSeconds
	}
	for _, w := range []struct {
		v   *string
		def string
	}{
		{&f.Always, d.Always}, {&f.Busy, d.Busy}, {&f.NoAnswer, d.NoAnswer},
		{&f.Prompt, d.Prompt}, {&f.Off, d.Off}, {&f.Forwarded, d.Forwarded},
	} {
		if *w.v == "" {
			*w.v = w.def
		}
	}
	if f.NoAnswerSeconds < 1 || f.NoAnswerSeconds > MaxNoAnswerSeconds {
		return &Error{Field: "forward.no_answer_seconds", Msg: fmt.Sprintf("%d: must be 1..%d", f.NoAnswerSeconds, MaxNoAnswerSeconds)}
	}
	return nil
}

// MaxNoAnswerSeconds bounds forwarding on no answer: an incoming call
// rings three minutes at most.
const MaxNoAnswerSeconds = 120

// validate fills in the wording a vendor left out and checks the rest.
func (l *Lock) validate() *Error {
	d := DefaultLock
	for _, f := range []struct {
		v   *string
		def string
	}{
		{&l.Title, d.Title}, {&l.EnterPIN, d.EnterPIN}, {&l.CreatePIN, d.CreatePIN},
		{&l.ConfirmPIN, d.ConfirmPIN}, {&l.OldPIN, d.OldPIN}, {&l.AdminCode, d.AdminCode},
		{&l.Unsecured, d.Unsecured}, {&l.RetryAction, d.RetryAction},
		{&l.KeptLocked, d.KeptLocked}, {&l.Damaged, d.Damaged},
	} {
		if *f.v == "" {
			*f.v = f.def
		}
	}
	if l.DeviceLockRetries == 0 {
		l.DeviceLockRetries = d.DeviceLockRetries
	}
	switch {
	case !contains(RetryActions, l.RetryAction):
		return &Error{Field: "lock.retry_action", Msg: fmt.Sprintf("unknown action %q (actions: %s)", l.RetryAction, strings.Join(RetryActions, ", "))}
	case l.RetryAction == "admin_code" && (l.AdminCodeValue == "" || strings.Trim(l.AdminCodeValue, "0123456789") != ""):
		return &Error{Field: "lock.admin_code", Msg: "admin_code needs a code of digits"}
	case l.DeviceLockRetries < 1 || l.DeviceLockRetries > 20:
		return &Error{Field: "lock.device_lock_retries", Msg: fmt.Sprintf("%d: must be 1..20", l.DeviceLockRetries)}
	}
	return nil
}
