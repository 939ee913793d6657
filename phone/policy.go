package phone

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/deskphone/deskphone/codecs"
	"github.com/deskphone/deskphone/internal/atomicfile"
	"github.com/deskphone/deskphone/phone/statedir"
)

// DefaultDialTimeout is UserDialTimeoutMS of the in-band policy: a number is
// dialled after this long without a key.
const DefaultDialTimeout = 5000 * time.Millisecond

// PolicyFile keeps, in the state directory, the last in-band policy the
// phone accepted, so a boot applies it before the cloud answers.
const PolicyFile = "policy.json"

// policyExpires is the lifetime of the provisioning subscription; it is
// renewed with every registration refresh, well before it runs out.
const policyExpires = time.Hour

// policy is the in-band policy part: the settings an administrator's policy
// sets on the phone (Set-CsIPPhonePolicy, Set-CsUCPhoneConfiguration). It
// starts from the documented defaults and what the phone was provisioned
// with, then takes the last policy kept in the state directory, then what
// the cloud pushes. Each field is checked on its own: a bad one is logged
// and the previous value stays.
type policy struct {
	// powerSave turns the display off after the idle time.
	saverTimer timer
	version    int
	fields     map[string]string // what was accepted, as pushed; kept on disk

	dialTimeout      time.Duration // UserDialTimeoutMS
	enforceLock      bool          // EnforcePhoneLock
	lockTimeout      time.Duration // PhoneLockTimeout
	minPIN           int           // MinPhonePinLength
	maxRetry         int           // KeyboardLockMaxPinRetry
	callsWhileLocked bool
	emergency        []string
	codecs           string // PrioritizedCodecsList, in the policy's spelling, as the phone applies it
	timeFormat       int    // DateTimeFormat; 0 leaves the phone's own
	deviceUpdate     bool   // EnableDeviceUpdate: the update agent polls only when set
	powerSave        bool
	powerSaveOffice  time.Duration
	powerSavePost    time.Duration
	oneTouchVM       bool
	btoe             bool
	btoeMode         string // Auto or Manual
	adminCode        string // AdminPassword; empty: the catalog's admin_code
	// updateService is the device update service the in-band
	// provisioning names; WithUpdateService overrides it.
	updateService string

	dimmed bool // power save has dimmed the screen
}

// newPolicy is the policy part at boot: the defaults, then the policy kept
// in the state directory.
func (p *Phone) newPolicy() policy {
	pol := policy{
		fields:          map[string]string{},
		dialTimeout:     p.dialTimeout,
		enforceLock:     true,
		lockTimeout:     10 * time.Minute,
		minPIN:          6,
		maxRetry:        5,
		emergency:       []string{"911", "112"},
		codecs:          "G722_8000;PCMU;PCMA",
		deviceUpdate:    true,
		powerSave:       true,
		powerSaveOffice: 15 * time.Minute,
		powerSavePost:   5 * time.Minute,
		oneTouchVM:      true,
		btoe:            true,
		btoeMode:        "Auto",
	}
	return pol
}

// policyField checks one field's value and sets it.
type policyField func(pol *policy, v string) error

var policyFields = map[string]policyField{
	"EnforcePhoneLock": boolField(func(pol *policy, b bool) { pol.enforceLock = b }),
	"PhoneLockTimeout": func(pol *policy, v string) error {
		d, err := parseTimeSpan(v)
		if err != nil {
			return err
		}
		if d <= 0 || d >= time.Hour {
			return fmt.Errorf("%v is out of range: more than zero and under 1 h", d)
		}
		pol.lockTimeout = d
		return nil
	},
	"MinPhonePinLength":       intField(4, 15, func(pol *policy, n int) { pol.minPIN = n }),
	"KeyboardLockMaxPinRetry": intField(1, 20, func(pol *policy, n int) { pol.maxRetry = n }),
	"CallsWhileLocked":        boolField(func(pol *policy, b bool) { pol.callsWhileLocked = b }),
	"EmergencyNumbers": func(pol *policy, v string) error {
		var nums []string
		for _, n := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' }) {
			n = strings.TrimSpace(n)
			if n == "" || strings.Trim(n, "0123456789*#") != "" {
				return fmt.Errorf("%q is not a number", n)
			}
			nums = append(nums, n)
		}
		if len(nums) == 0 {
			return fmt.Errorf("no emergency number")
		}
		pol.emergency = nums
		return nil
	},
	"UserDialTimeoutMS": func(pol *policy, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 500 || n > 60000 {
			return fmt.Errorf("%q is not a count of milliseconds from 500 to 60000", v)
		}
		pol.dialTimeout = time.Duration(n) * time.Millisecond
		return nil
	},
	"PrioritizedCodecsList": func(pol *policy, v string) error {
		list, _ := codecs.ParseOrder(v)
		if len(list) == 0 {
			return fmt.Errorf("%q names no codec this phone has", v)
		}
		pol.codecs = codecs.PolicyList(list)
		return nil
	},
	"DateTimeFormat": func(pol *policy, v string) error {
		switch strings.TrimSpace(strings.ToLower(strings.TrimSuffix(strings.TrimSpace(v), "h"))) {
		case "24":
			pol.timeFormat = 24
		case "12":
			pol.timeFormat = 12
		default:
			return fmt.Errorf("%q is neither 24 nor 12", v)
		}
		return nil
	},
	"EnableDeviceUpdate":                  boolField(func(pol *policy, b bool) { pol.deviceUpdate = b }),
	"EnablePowerSaveMode":                 boolField(func(pol *policy, b bool) { pol.powerSave = b }),
	"PowerSaveDuringOfficeHoursTimeoutMS": msField(func(pol *policy, d time.Duration) { pol.powerSaveOffice = d }),
	"PowerSavePostOfficeHoursTimeoutMS":   msField(func(pol *policy, d time.Duration) { pol.powerSavePost = d }),
	"EnableOneTouchVoicemail":             boolField(func(pol *policy, b bool) { pol.oneTouchVM = b }),
	"EnableExchangeCalendaring":           boolField(func(*policy, bool) {}),
	"EnableBetterTogetherOverEthernet":    boolField(func(pol *policy, b bool) { pol.btoe = b }),
	"BetterTogetherOverEthernetPairingMode": func(pol *policy, v string) error {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "auto":
			pol.btoeMode = "Auto"
		case "manual":
			pol.btoeMode = "Manual"
		default:
			return fmt.Errorf("%q is neither Auto nor Manual", v)
		}
		return nil
	},
	"AdminPassword": func(pol *policy, v string) error {
		// Entered on the keypad of the lock screen: digits only.
		if v = strings.TrimSpace(v); len(v) < 4 || len(v) > 15 || strings.Trim(v, "0123456789") != "" {
			return fmt.Errorf("not a code of 4 to 15 digits")
		}
		pol.adminCode = v
		return nil
	},
	"LocalProvisioningServerAddress":  func(*policy, string) error { return nil },
	"LocalProvisioningServerType":     func(*policy, string) error { return nil },
	"LocalProvisioningServerUser":     func(*policy, string) error { return nil },
	"LocalProvisioningServerPassword": func(*policy, string) error { return nil },
}

func boolField(set func(*policy, bool)) policyField {
	return func(pol *policy, v string) error {
		switch strings.ToLower(strings.TrimPrefix(strings.TrimSpace(v), "$")) {
		case "true", "1", "yes":
			set(pol, true)
		case "false", "0", "no":
			set(pol, false)
		default:
			return fmt.Errorf("%q is neither true nor false", v)
		}
		return nil
	}
}

func intField(lo, hi int, set func(*policy, int)) policyField {
	return func(pol *policy, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("%q is not a number from %d to %d", v, lo, hi)
		}
		set(pol, n)
		return nil
	}
}

func msField(set func(*policy, time.Duration)) policyField {
	return func(pol *policy, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1000 || n > 24*3600*1000 {
			return fmt.Errorf("%q is not a count of milliseconds from 1000 to a day", v)
		}
		set(pol, time.Duration(n)*time.Millisecond)
		return nil
	}
}

// parseTimeSpan reads a PowerShell TimeSpan ("00:10:00"), a Go duration
// ("10m") or seconds ("600").
func parseTimeSpan(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if parts := strings.Split(v, ":"); len(parts) == 3 {
		var n [3]int
		for i, s := range parts {
			x, err := strconv.Atoi(s)
			if err != nil || x < 0 {
				return 0, fmt.Errorf("%q is not a time span like 00:10:00", v)
			}
			n[i] = x
		}
		return time.Duration(n[0])*time.Hour + time.Duration(n[1])*time.Minute + time.Duration(n[2])*time.Second, nil
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a time span like 00:10:00", v)
	}
	return d, nil
}

// policyDocument is the body of a provisioning NOTIFY and of PolicyFile.
type policyDocument struct {
	Version       int               `json:"version"`
	Policy        map[string]string `json:"policy"`
	UpdateService string            `json:"update_service,omitempty"`
}

// applyFields takes the fields of a policy one by one onto pol; what it
// refuses is returned, one reason per field, and leaves the previous
// value. An empty value keeps the phone's own.
func (pol *policy) applyFields(fields map[string]string) (problems []string) {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := fields[k]
		set, ok := policyFields[k]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("unknown field %s ignored", k))
		case v == "":
		default:
			if err := set(pol, v); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v; keeping the previous value", k, err))
				continue
			}
			pol.fields[k] = v
		}
	}
	return problems
}

// policyFileSpec is how PolicyFile is read: what every save writes.
var policyFileSpec = statedir.File{
	Name:     PolicyFile,
	Required: []string{"version", "policy"},
	New:      func() any { return &policyDocument{} },
}

// loadPolicy applies the policy kept in the state directory (boot). A
// damaged file stopped the power-on (Phone.open); one damaged while the
// phone ran is reported by name at the reboot, which runs on the defaults
// until the cloud sends the policy again.
func (p *Phone) loadPolicy() {
	var doc policyDocument
	found, err := p.state.Load(policyFileSpec, &doc)
	if err != nil {
		p.stateDamaged(PolicyFile)
		p.logf("policy", "err", "policy", "kept policy unreadable, using the defaults: %v", err)
		return
	}
	if !found {
		return
	}
	for _, pr := range p.s.policy.applyFields(doc.Policy) {
		p.logf("policy", "warn", "policy", "kept policy: %s", pr)
	}
	p.s.policy.version = doc.Version
	p.s.policy.updateService = doc.UpdateService
	p.logf("policy", "info", "policy", "applied kept policy version %d", doc.Version)
}

// onPolicy is the phone's reaction to a provisioning NOTIFY: every field
// it accepts takes effect at once, the rest is logged and ignored.
func (p *Phone) onPolicy(body []byte) {
	var doc policyDocument
	if err := json.Unmarshal(body, &doc); err != nil || doc.Policy == nil {
		if err == nil {
			err = fmt.Errorf("no policy object")
		}
		p.logf("policy", "err", "policy", "policy NOTIFY ignored: not a policy document: %v", err)
		p.showAlert("Policy update ignored: unreadable")
		return
	}
	// The update service may move with the same policy (a cloud
	// restarted on another port): it is taken whatever the version.
	newService := doc.UpdateService != p.s.policy.updateService
	if newService {
		p.s.policy.updateService = doc.UpdateService
		p.logf("policy", "info", "update", "the in-band provisioning names the update service %q", doc.UpdateService)
	}
	if doc.Version != 0 && doc.Version == p.s.policy.version {
		// A subscription refresh brings the policy the phone has: nothing
		// to apply, nothing to write (but a new update service).
		if newService {
			p.savePolicy()
			p.upd.PolicyChanged()
		}
		return
	}
	before := p.s.policy
	problems := p.s.policy.applyFields(doc.Policy)
	for _, pr := range problems {
		p.logf("policy", "warn", "policy", "policy version %d: %s", doc.Version, pr)
	}
	if len(problems) > 0 {
		p.showAlert(fmt.Sprintf("Policy: %s ignored, see the log", count(len(problems), "setting", "settings")))
	}
	p.s.policy.version = doc.Version
	p.logf("policy", "notice", "policy", "policy version %d applied", doc.Version)
	p.savePolicy()
	p.policyChanged(before)
	if newService {
		p.upd.PolicyChanged()
	}
}

// savePolicy keeps the accepted fields for the next boot.
func (p *Phone) savePolicy() {
	doc := policyDocument{Version: p.s.policy.version, Policy: p.s.policy.fields, UpdateService: p.s.policy.updateService}
	data, err := json.Marshal(doc)
	if err == nil {
		err = atomicfile.Write(filepath.Join(p.state.Path, PolicyFile), data, 0o600)
	}
	if err != nil {
		p.logf("policy", "err", "policy", "saving the policy failed: %v", err)
	}
}

// policyChanged re-arms what depends on the policy.
func (p *Phone) policyChanged(before policy) {
	if before.lockTimeout != p.s.policy.lockTimeout {
		p.armIdleLock()
	}
	if p.s.line != nil {
		p.s.line.ua.SetCodecOrder(p.s.policy.codecs)
	}
	p.armPowerSave()
}

// PolicyLines is the policy in force as the headless `policy` command
// prints it: version first, then each field as the phone applies it.
func (p *Phone) PolicyLines() ([][2]string, error) {
	var out [][2]string
	err := p.do(func() {
		pol := p.s.policy
		tf := "phone"
		if pol.timeFormat != 0 {
			tf = strconv.Itoa(pol.timeFormat)
		}
		out = [][2]string{
			{"policy_version", strconv.Itoa(pol.version)},
			{"EnforcePhoneLock", strconv.FormatBool(pol.enforceLock)},
			{"PhoneLockTimeout", pol.lockTimeout.String()},
			{"MinPhonePinLength", strconv.Itoa(pol.minPIN)},
			{"KeyboardLockMaxPinRetry", strconv.Itoa(pol.maxRetry)},
			{"CallsWhileLocked", strconv.FormatBool(pol.callsWhileLocked)},
			{"EmergencyNumbers", strings.Join(pol.emergency, ";")},
			{"UserDialTimeoutMS", strconv.FormatInt(pol.dialTimeout.Milliseconds(), 10)},
			{"PrioritizedCodecsList", pol.codecs},
			{"DateTimeFormat", tf},
			{"EnableDeviceUpdate", strconv.FormatBool(pol.deviceUpdate)},
			{"EnablePowerSaveMode", strconv.FormatBool(pol.powerSave)},
			{"PowerSaveDuringOfficeHoursTimeoutMS", strconv.FormatInt(pol.powerSaveOffice.Milliseconds(), 10)},
			{"PowerSavePostOfficeHoursTimeoutMS", strconv.FormatInt(pol.powerSavePost.Milliseconds(), 10)},
			{"EnableOneTouchVoicemail", strconv.FormatBool(pol.oneTouchVM)},
			{"EnableBetterTogetherOverEthernet", strconv.FormatBool(pol.btoe)},
			{"BetterTogetherOverEthernetPairingMode", pol.btoeMode},
		}
	})
	return out, err
}
