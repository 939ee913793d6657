package backend

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// In-band policy (Set-CsIPPhonePolicy, Set-CsUCPhoneConfiguration): the
// settings the cloud pushes to every signed-in phone. A phone subscribes
// to eventProvisioning after it registers; the cloud answers with a
// NOTIFY carrying the user's effective policy (the defaults, then the
// tenant's settings, then the user's own) and sends another whenever an
// administrator changes either. The cloud checks field names only: what
// a value means, and whether it is in range, is the phone's to judge, as
// with the real service, so an administrator can push a value a phone
// refuses.

// eventProvisioning is the SIP event package of the in-band policy.
const eventProvisioning = "vnd-microsoft-provisioning-v2"

// policyContentType is the NOTIFY body's type: a JSON PolicyDocument
// (the real service's XML is not public; design choice).
const policyContentType = "application/vnd.deskphone.policy+json"

// PolicyDefaults are the fields of the in-band policy with the documented
// defaults of the service.
var PolicyDefaults = map[string]string{
	"EnforcePhoneLock":                      "true",
	"PhoneLockTimeout":                      "00:10:00",
	"MinPhonePinLength":                     "6",
	"KeyboardLockMaxPinRetry":               "5",
	"CallsWhileLocked":                      "false",
	"EmergencyNumbers":                      "911;112",
	"UserDialTimeoutMS":                     "5000",
	"PrioritizedCodecsList":                 "G722_8000;PCMU;PCMA;G729",
	"DateTimeFormat":                        "24",
	"EnableDeviceUpdate":                    "true",
	"EnablePowerSaveMode":                   "true",
	"PowerSaveDuringOfficeHoursTimeoutMS":   "900000",
	"PowerSavePostOfficeHoursTimeoutMS":     "300000",
	"EnableOneTouchVoicemail":               "true",
	"EnableExchangeCalendaring":             "true",
	"EnableBetterTogetherOverEthernet":      "true",
	"BetterTogetherOverEthernetPairingMode": "Auto",
	"LocalProvisioningServerAddress":        "",
	"LocalProvisioningServerType":           "",
	"LocalProvisioningServerUser":           "",
	"LocalProvisioningServerPassword":       "",
	// AdminPassword is deskphone's own field (the service has none): the
	// administrator's code of phones that ask for it after too many wrong
	// PINs (AudioCodes); empty leaves the firmware's, from the catalog.
	"AdminPassword": "",
}

// PolicyFields are the field names of the in-band policy, sorted.
func PolicyFields() []string {
	names := make([]string, 0, len(PolicyDefaults))
	for k := range PolicyDefaults {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// ErrUnknownPolicyField means a policy change named a field the in-band
// policy does not have.
var ErrUnknownPolicyField = errors.New("backend: unknown policy field")

// PolicyDocument is what a provisioning NOTIFY carries: the effective
// policy of one user and the version of the cloud's policies it was taken
// from (it grows with every change).
type PolicyDocument struct {
	Version int               `json:"version"`
	Policy  map[string]string `json:"policy"`
	// UpdateService is the device update service's base URL, when the
	// cloud runs one (Config.UpdateService).
	UpdateService string `json:"update_service,omitempty"`
}

// PolicyInfo is a policy as the admin API shows it.
type PolicyInfo struct {
	Version int `json:"version"`
	// User is empty for the tenant's policy.
	User string `json:"user,omitempty"`
	// Set are the fields set at this level (tenant or user).
	Set map[string]string `json:"set"`
	// Effective is what a phone of this user (or, for the tenant, of a
	// user without settings of his own) gets.
	Effective map[string]string `json:"effective"`
}

// policyStore holds the tenant's policy and the users' own settings.
type policyStore struct {
	mu      sync.Mutex
	version int
	tenant  map[string]string
	users   map[string]map[string]string // by lower-case user name
}

// effective is the policy of user ("" for the tenant's). Called with mu held.
func (s *policyStore) effective(user string) map[string]string {
	out := make(map[string]string, len(PolicyDefaults))
	for k, v := range PolicyDefaults {
		out[k] = v
	}
	for k, v := range s.tenant {
		out[k] = v
	}
	for k, v := range s.users[strings.ToLower(user)] {
		out[k] = v
	}
	return out
}

// policyDocument is the NOTIFY body for user.
func (b *Backend) policyDocument(user string) []byte {
	s := &b.policies
	s.mu.Lock()
	doc := PolicyDocument{Version: s.version + 1, Policy: s.effective(user), UpdateService: b.cfg.UpdateService}
	s.mu.Unlock()
	data, err := json.Marshal(doc)
	if err != nil {
		return []byte("{}") // a map of strings always marshals
	}
	return data
}

// policyUser is the user a policy level names, as the directory spells it:
// "" for the tenant's level.
func (b *Backend) policyUser(user string) (string, error) {
	if user == "" {
		return "", nil
	}
	u, ok := b.lookupUser(user)
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrUnknownUser, user)
	}
	return u.User, nil
}

// Policy returns the tenant's policy (user "") or a user's.
func (b *Backend) Policy(user string) (PolicyInfo, error) {
	user, err := b.policyUser(user)
	if err != nil {
		return PolicyInfo{}, err
	}
	s := &b.policies
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.tenant
	if user != "" {
		set = s.users[strings.ToLower(user)]
	}
	info := PolicyInfo{Version: s.version + 1, User: user, Set: map[string]string{}, Effective: s.effective(user)}
	for k, v := range set {
		info.Set[k] = v
	}
	return info, nil
}

// SetPolicy changes fields of the tenant's policy (user "") or of a
// user's, and sends the new policy to every phone it reaches. An empty
// value removes the setting from that level.
func (b *Backend) SetPolicy(user string, set map[string]string) (PolicyInfo, error) {
	if len(set) == 0 {
		return PolicyInfo{}, fmt.Errorf("%w: no field to set (fields: %s)", ErrUnknownPolicyField, strings.Join(PolicyFields(), ", "))
	}
	for k := range set {
		if _, ok := PolicyDefaults[k]; !ok {
			return PolicyInfo{}, fmt.Errorf("%w %q (fields: %s)", ErrUnknownPolicyField, k, strings.Join(PolicyFields(), ", "))
		}
	}
	user, err := b.policyUser(user)
	if err != nil {
		return PolicyInfo{}, err
	}
	s := &b.policies
	s.mu.Lock()
	level := s.tenant
	if user != "" {
		if s.users == nil {
			s.users = map[string]map[string]string{}
		}
		level = s.users[strings.ToLower(user)]
	}
	if level == nil {
		level = map[string]string{}
	}
	for k, v := range set {
		if v == "" {
			delete(level, k)
		} else {
			level[k] = v
		}
	}
	if user == "" {
		s.tenant = level
	} else {
		s.users[strings.ToLower(user)] = level
	}
	s.version++
	s.mu.Unlock()
	b.log.Info("policy changed", "user", user, "fields", len(set))
	b.pushPolicy(user)
	return b.Policy(user)
}

// pushPolicy notifies the provisioning subscriptions of user (all of them
// for the tenant's policy).
func (b *Backend) pushPolicy(user string) {
	now := b.clock.Now()
	type pending struct {
		sub  *subscription
		left time.Duration
	}
	var subs []pending
	b.mu.Lock()
	for _, s := range b.subs {
		if s.event == eventProvisioning && (user == "" || strings.EqualFold(s.user, user)) {
			subs = append(subs, pending{s, max(s.expires.Sub(now), time.Second)})
		}
	}
	b.mu.Unlock()
	for _, p := range subs {
		b.notify(p.sub, p.left)
	}
}

// policyChange is the admin API's body for POST /admin/policy.
type policyChange struct {
	Tenant string         `json:"tenant,omitempty"`
	User   string         `json:"user,omitempty"`
	Set    map[string]any `json:"set"`
}
