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
// and the previous value stays. Power save is its own: it dims the screen
// after the idle time the policy sets.
type policy struct {
	env  *partEnv
	host policyHost

	// saverTimer turns the display off after the idle time.
	saverTimer timer
	version    int
	fields     map[string]string // what was accepted, as pushed; kept on disk

	dialTimeout     time.Duration // UserDialTimeoutMS
	lock            lockRules     // what the lock part acts on
	codecs          string        // PrioritizedCodecsList, in the policy's spelling, as the phone applies it
	timeFormat      int           // DateTimeFormat; 0 leaves the phone's own
	deviceUpdate    bool          // EnableDeviceUpdate: the update agent polls only when set
	powerSave       bool
	powerSaveOffice time.Duration
	powerSavePost   time.Duration
	oneTouchVM      bool
	// updateService is the device update service the in-band
	// provisioning names; WithUpdateService overrides it.
	updateService string

	dimmed bool // power save has dimmed the screen
}

// lockRules are the policy's settings the lock part acts on. The phone
// hands the lock a copy at boot and after every policy it applies, so the
// lock never reads the policy part.
type lockRules struct {
	enforce          bool          // EnforcePhoneLock
	timeout          time.Duration // PhoneLockTimeout
	minPIN           int           // MinPhonePinLength
	maxRetry         int           // KeyboardLockMaxPinRetry
	callsWhileLocked bool
	emergency        []string // replaced, never changed in place: copies share it
	btoe             bool
	btoeMode         string // Auto or Manual
	adminCode        string // AdminPassword; empty: the catalog's admin_code
}

// policyHost is what the policy part asks of the rest of the phone: power
// save keeps the screen lit while a call is up.
type policyHost interface {
	callState() CallState
}

// newPolicy is the policy part at boot: the defaults, with the dial timeout
// the phone was provisioned with, before the kept policy is loaded.
func newPolicy(env *partEnv, host policyHost, dialTimeout time.Duration) policy {
	return policy{
		env:         env,
		host:        host,
		fields:      map[string]string{},
		dialTimeout: dialTimeout,
		lock: lockRules{
			enforce:   true,
			timeout:   10 * time.Minute,
			minPIN:    6,
			maxRetry:  5,
			emergency: []string{"911", "112"},
			btoe:      true,
			btoeMode:  "Auto",
		},
		codecs:          "G722_8000;PCMU;PCMA",
		deviceUpdate:    true,
		powerSave:       true,
		powerSaveOffice: 15 * time.Minute,
		powerSavePost:   5 * time.Minute,
		oneTouchVM:      true,
	}
}

// policyField checks one field's value and sets it.
type policyField func(pol *policy, v string) error

var policyFields = map[string]policyField{
	"EnforcePhoneLock": boolField(func(pol *policy, b bool) { pol.lock.enforce = b }),
	"PhoneLockTimeout": func(pol *policy, v string) error {
		d, err := parseTimeSpan(v)
		if err != nil {
			return err
		}
		if d <= 0 || d >= time.Hour {
			return fmt.Errorf("%v is out of range: more than zero and under 1 h", d)
		}
		pol.lock.timeout = d
		return nil
	},
	"MinPhonePinLength":       intField(4, 15, func(pol *policy, n int) { pol.lock.minPIN = n }),
	"KeyboardLockMaxPinRetry": intField(1, 20, func(pol *policy, n int) { pol.lock.maxRetry = n }),
	"CallsWhileLocked":        boolField(func(pol *policy, b bool) { pol.lock.callsWhileLocked = b }),
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
		pol.lock.emergency = nums
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
	"EnableBetterTogetherOverEthernet":    boolField(func(pol *policy, b bool) { pol.lock.btoe = b }),
	"BetterTogetherOverEthernetPairingMode": func(pol *policy, v string) error {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "auto":
			pol.lock.btoeMode = "Auto"
		case "manual":
			pol.lock.btoeMode = "Manual"
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
		pol.lock.adminCode = v
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

// load applies the policy kept in the state directory (boot). A damaged
// file stopped the power-on (Phone.open); one damaged while the phone ran
// is reported by name at the reboot, which runs on the defaults until the
// cloud sends the policy again.
func (pol *policy) load() {
	var doc policyDocument
	found, err := pol.env.state.Load(policyFileSpec, &doc)
	if err != nil {
		pol.env.damaged(PolicyFile)
		pol.env.logf("policy", "err", "policy", "kept policy unreadable, using the defaults: %v", err)
		return
	}
	if !found {
		return
	}
	for _, pr := range pol.applyFields(doc.Policy) {
		pol.env.logf("policy", "warn", "policy", "kept policy: %s", pr)
	}
	pol.version = doc.Version
	pol.updateService = doc.UpdateService
	pol.env.logf("policy", "info", "policy", "applied kept policy version %d", doc.Version)
}

// policyNews is what a provisioning NOTIFY changed, for the phone to tell
// the parts that depend on it.
type policyNews struct {
	applied bool // a new version was applied (the lock, codecs, power save)
	service bool // the update service moved
}

// notified is the part's reaction to a provisioning NOTIFY: every field it
// accepts takes effect at once and is kept, the rest is logged and
// ignored.
func (pol *policy) notified(body []byte) policyNews {
	var doc policyDocument
	if err := json.Unmarshal(body, &doc); err != nil || doc.Policy == nil {
		if err == nil {
			err = fmt.Errorf("no policy object")
		}
		pol.env.logf("policy", "err", "policy", "policy NOTIFY ignored: not a policy document: %v", err)
		pol.env.alert("Policy update ignored: unreadable")
		return policyNews{}
	}
	// The update service may move with the same policy (a cloud
	// restarted on another port): it is taken whatever the version.
	var news policyNews
	if doc.UpdateService != pol.updateService {
		news.service = true
		pol.updateService = doc.UpdateService
		pol.env.logf("policy", "info", "update", "the in-band provisioning names the update service %q", doc.UpdateService)
	}
	if doc.Version != 0 && doc.Version == pol.version {
		// A subscription refresh brings the policy the phone has: nothing
		// to apply, nothing to write (but a new update service).
		if news.service {
			pol.save()
		}
		return news
	}
	problems := pol.applyFields(doc.Policy)
	for _, pr := range problems {
		pol.env.logf("policy", "warn", "policy", "policy version %d: %s", doc.Version, pr)
	}
	if len(problems) > 0 {
		pol.env.alert(fmt.Sprintf("Policy: %s ignored, see the log", count(len(problems), "setting", "settings")))
	}
	pol.version = doc.Version
	pol.env.logf("policy", "notice", "policy", "policy version %d applied", doc.Version)
	pol.save()
	news.applied = true
	return news
}

// save keeps the accepted fields for the next boot.
func (pol *policy) save() {
	doc := policyDocument{Version: pol.version, Policy: pol.fields, UpdateService: pol.updateService}
	data, err := json.Marshal(doc)
	if err == nil {
		err = atomicfile.Write(filepath.Join(pol.env.state.Path, PolicyFile), data, 0o600)
	}
	if err != nil {
		pol.env.logf("policy", "err", "policy", "saving the policy failed: %v", err)
	}
}

// policyPushed is the phone's reaction to a provisioning NOTIFY: the
// policy part takes it, then the phone tells the parts that act on it, in
// the order they always re-armed (the lock's idle timer, the codecs of the
// next offer, power save), and the update agent of a new service.
func (h *phoneHost) policyPushed(body []byte) {
	p := (*Phone)(h)
	news := p.s.policy.notified(body)
	if news.applied {
		p.s.lock.policyChanged(p.s.policy.lock)
		if p.s.line != nil {
			p.s.line.ua.SetCodecOrder(p.s.policy.codecs)
		}
		p.s.policy.armPowerSave()
	}
	if news.service {
		p.upd.PolicyChanged()
	}
}

// lines is the policy in force as the headless `policy` command prints it:
// version first, then each field as the phone applies it.
func (pol *policy) lines() [][2]string {
	tf := "phone"
	if pol.timeFormat != 0 {
		tf = strconv.Itoa(pol.timeFormat)
	}
	return [][2]string{
		{"policy_version", strconv.Itoa(pol.version)},
		{"EnforcePhoneLock", strconv.FormatBool(pol.lock.enforce)},
		{"PhoneLockTimeout", pol.lock.timeout.String()},
		{"MinPhonePinLength", strconv.Itoa(pol.lock.minPIN)},
		{"KeyboardLockMaxPinRetry", strconv.Itoa(pol.lock.maxRetry)},
		{"CallsWhileLocked", strconv.FormatBool(pol.lock.callsWhileLocked)},
		{"EmergencyNumbers", strings.Join(pol.lock.emergency, ";")},
		{"UserDialTimeoutMS", strconv.FormatInt(pol.dialTimeout.Milliseconds(), 10)},
		{"PrioritizedCodecsList", pol.codecs},
		{"DateTimeFormat", tf},
		{"EnableDeviceUpdate", strconv.FormatBool(pol.deviceUpdate)},
		{"EnablePowerSaveMode", strconv.FormatBool(pol.powerSave)},
		{"PowerSaveDuringOfficeHoursTimeoutMS", strconv.FormatInt(pol.powerSaveOffice.Milliseconds(), 10)},
		{"PowerSavePostOfficeHoursTimeoutMS", strconv.FormatInt(pol.powerSavePost.Milliseconds(), 10)},
		{"EnableOneTouchVoicemail", strconv.FormatBool(pol.oneTouchVM)},
		{"EnableBetterTogetherOverEthernet", strconv.FormatBool(pol.lock.btoe)},
		{"BetterTogetherOverEthernetPairingMode", pol.lock.btoeMode},
	}
}

// PolicyLines is the policy in force as the headless `policy` command
// prints it: version first, then each field as the phone applies it.
func (p *Phone) PolicyLines() ([][2]string, error) {
	var out [][2]string
	err := p.do(func() { out = p.s.policy.lines() })
	return out, err
}
