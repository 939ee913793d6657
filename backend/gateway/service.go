package gateway

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Times and limits of the gateway, on the cloud's clock.
const (
	// StaleSignedIn and StaleSignedOut offboard a device not seen for
	// that long, signed in and signed out.
	StaleSignedIn  = 30 * 24 * time.Hour
	StaleSignedOut = 14 * 24 * time.Hour
	// EnrollCodeLifetime is how long a common-area verification code is
	// good for.
	EnrollCodeLifetime = 24 * time.Hour
	// PollSeconds is how often the configuration tells phones to fetch
	// their provisioning.
	PollSeconds = 3600
	// CommonAreaFirst and CommonAreaLast bound the numbers common-area
	// accounts get when the cloud leaves the choice to the gateway.
	CommonAreaFirst = 7000
	CommonAreaLast  = 7999
	// Voicemail is what a bare *34* forwards to: the voicemail service.
	Voicemail = "voicemail"
)

// Errors of the admin's actions and of the handler.
var (
	ErrBadMAC          = errors.New("a MAC address is 12 hex digits, e.g. 00-90-8f-12-34-56")
	ErrBadLocation     = errors.New("a location is 1 to 64 printable characters")
	ErrUnknownDevice   = errors.New("no such device")
	ErrNotSignedIn     = errors.New("the device is not signed in")
	ErrNotProvisioned  = errors.New("the MAC address is not provisioned as a common-area phone: provision it with a location first")
	ErrNoBatch         = errors.New("no such batch")
	ErrBadRegion       = errors.New("a region is emea, noam or apac")
	ErrBadCSV          = errors.New("bad bulk sign-in CSV")
	ErrBatchTooLarge   = errors.New("a bulk sign-in batch holds at most 100 devices")
	ErrTooManyBatches  = errors.New("at most 3 bulk sign-in batches run at once in a region")
	ErrPairingNotReady = errors.New("pairing is not available")
)

// Service is the gateway: its device records and batches, guarded by one
// mutex, and the provisioning HTTP handler. Time-based changes (stale
// devices, code expiry, batch timeouts) are evaluated when a record is
// read, so no timer runs per device. The Service never calls a Config
// hook with its mutex held.
type Service struct {
	cfg Config

	mu        sync.Mutex
	registrar string
	devices   map[string]*device          // by MAC (lower-case, colons)
	byDevAcct map[string]*device          // by the device's own account (lower-case)
	byUser    map[string]map[*device]bool // signed-in devices, by lower-case user
	settings  map[string]Settings         // by lower-case user
	areas     map[string]*commonArea      // provisioned common-area phones, by MAC
	codes     map[string]*enrollCode      // verification codes, by code
	batches   map[string]*batch           // bulk sign-in batches, by id
	order     []string                    // batch ids, oldest first
	numbers   map[string]bool             // common-area numbers the gateway gave
	nextBatch int
	closed    bool // Close ran: no batch is processed any more
}

// device is one record, by MAC; a reset or offboarded phone that onboards
// again gets a new record.
type device struct {
	mac, key                      string
	vendor, model, firmware, mode string
	region, tenant                string
	state                         string
	user, cred                    string // signed in: the user and the password issued for this device
	own                           Account
	onboarded, signedOut, seen    time.Time
	why                           string // offboarded: the reason
	pairing                       *Pairing
	fetches                       int // /device answers, for a batch to see the device took its sign-in
}

type commonArea struct {
	location string
	code     string // the live code, "" when none
}

type enrollCode struct {
	mac     string
	expires time.Time
	used    bool
}

// New makes a gateway. Now and Lookup are required; a nil CheckSync does
// nothing, a nil Registered counts every device online.
func New(cfg Config) (*Service, error) {
	if cfg.Now == nil || cfg.Lookup == nil {
		return nil, errors.New("gateway: Config.Now and Config.Lookup are required")
	}
	if cfg.CheckSync == nil {
		cfg.CheckSync = func(string) {}
	}
	if cfg.Registered == nil {
		cfg.Registered = func(string) bool { return true }
	}
	return &Service{
		cfg:       cfg,
		registrar: cfg.Registrar,
		devices:   map[string]*device{},
		byDevAcct: map[string]*device{},
		byUser:    map[string]map[*device]bool{},
		settings:  map[string]Settings{},
		areas:     map[string]*commonArea{},
		codes:     map[string]*enrollCode{},
		batches:   map[string]*batch{},
		numbers:   map[string]bool{},
	}, nil
}

// SetRegistrar sets the SIP server phones register to, once the cloud's
// listeners are up ("sips:HOST:PORT").
func (s *Service) SetRegistrar(r string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.registrar = r
}

// Handler serves the provisioning API at /REGION[/tenantid/GUID]/...
func (s *Service) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Credentials are the passwords the gateway issued for SIP account name
// (a device's own account, or a user signed in on some devices): the
// registrar accepts any of them, and a registration with one of them is a
// gateway registration (no 3PIP cut-off applies to it). nil when none, or
// when the device holding it was offboarded.
func (s *Service) Credentials(account string) []string {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	if d := s.byDevAcct[strings.ToLower(account)]; d != nil && s.live(d, now) {
		out = append(out, d.own.Password)
	}
	for _, d := range s.userDevices(account, now) {
		out = append(out, d.cred)
	}
	return out
}

// Seen records that account registered (or refreshed) now: a device not
// seen for 30 days signed in, 14 signed out, is offboarded.
func (s *Service) Seen(account string) {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.byDevAcct[strings.ToLower(account)]; d != nil && s.live(d, now) {
		d.seen = now
	}
	for _, d := range s.userDevices(account, now) {
		d.seen = now
	}
}

// Enroll is *55*CODE dialled from a signed-out device's own account:
// the common-area phone is signed in with the code's account, and told
// by check-sync. ErrNotDevice, ErrBadEnrollCode, ErrUsedEnrollCode.
func (s *Service) Enroll(deviceAccount, code string) error {
	now := s.cfg.Now()
	s.mu.Lock()
	d, c, err := s.enrollable(deviceAccount, code, now)
	var location string
	if err == nil {
		location = s.areas[d.mac].location
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	u, err := s.commonAreaUser(d.mac, location)
	if err != nil {
		return fmt.Errorf("gateway: common-area account for %s: %w", d.mac, err)
	}
	s.mu.Lock()
	d2, c2, err := s.enrollable(deviceAccount, code, now)
	if err == nil && (d2 != d || c2 != c) {
		err = ErrBadEnrollCode
	}
	if err != nil {
		s.mu.Unlock()
		return err
	}
	c.used = true
	s.areas[d.mac].code = ""
	prev := s.signIn(d, u.Name)
	s.mu.Unlock()
	s.cfg.CheckSync(prev)
	return nil
}

// enrollable finds the signed-out device of deviceAccount and the code it
// may enroll with. Called with s.mu held.
func (s *Service) enrollable(deviceAccount, code string, now time.Time) (*device, *enrollCode, error) {
	d := s.byDevAcct[strings.ToLower(deviceAccount)]
	if d == nil || !s.live(d, now) || d.state != StateSignedOut {
		return nil, nil, ErrNotDevice
	}
	c := s.codes[code]
	switch {
	case c != nil && c.used:
		// Whoever dials it: the code is spent.
		return nil, nil, ErrUsedEnrollCode
	case c == nil || c.mac != d.mac:
		return nil, nil, ErrBadEnrollCode
	case !now.Before(c.expires):
		return nil, nil, ErrBadEnrollCode
	}
	return d, c, nil
}

// commonAreaUser is the account a common-area phone at mac signs in
// with: cap- and the MAC's 12 hex digits, the location as its display
// name, a number the cloud (Config.AddCommonArea) or the gateway picks.
func (s *Service) commonAreaUser(mac, location string) (User, error) {
	name := "cap-" + strings.ReplaceAll(mac, ":", "")
	if s.cfg.AddCommonArea != nil {
		return s.cfg.AddCommonArea(name, location)
	}
	if u, ok := s.cfg.Lookup(name); ok {
		return u, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for n := CommonAreaFirst; n <= CommonAreaLast; n++ {
		num := fmt.Sprint(n)
		if !s.numbers[num] {
			s.numbers[num] = true
			return User{Name: name, DisplayName: location, Number: num}, nil
		}
	}
	return User{}, errors.New("no common-area number left")
}

var numberRE = regexp.MustCompile(`^\+?[0-9]{1,15}$`)

// FeatureCode applies *30*..*35* (dialled: the whole number, "*33*1002")
// to the settings of user, the account that dialled it. *55* and *99* are
// the caller's (Enroll, and the voicemail service). ErrUnknownCode.
//
// *32* resets all forwarding: ForwardTo, ForwardNoAnswer and SimRing; a
// bare *34* forwards on no answer to Voicemail; a bare *35* ends
// simultaneous ring. A trailing # is ignored.
func (s *Service) FeatureCode(user, dialled string) (Settings, error) {
	code, arg, err := parseFeatureCode(dialled)
	if err != nil {
		return Settings{}, err
	}
	key := strings.ToLower(user)
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.settings[key]
	switch code {
	case "30":
		st.DND = true
	case "31":
		st.DND = false
	case "32":
		st.ForwardTo, st.ForwardNoAnswer, st.SimRing = "", "", ""
	case "33":
		st.ForwardTo = arg
	case "34":
		st.ForwardNoAnswer = arg
		if arg == "" {
			st.ForwardNoAnswer = Voicemail
		}
	case "35":
		st.SimRing = arg
	}
	if st == (Settings{}) {
		delete(s.settings, key)
	} else {
		s.settings[key] = st
	}
	return st, nil
}

// parseFeatureCode reads *NN* and its number.
func parseFeatureCode(dialled string) (code, arg string, err error) {
	d := strings.TrimSuffix(strings.TrimSpace(dialled), "#")
	if len(d) < 4 || d[0] != '*' || d[3] != '*' {
		return "", "", fmt.Errorf("%w: %q", ErrUnknownCode, dialled)
	}
	code, arg = d[1:3], d[4:]
	switch code {
	case "30", "31", "32":
		if arg == "" {
			return code, "", nil
		}
	case "33":
		if numberRE.MatchString(arg) {
			return code, arg, nil
		}
	case "34", "35":
		if arg == "" || numberRE.MatchString(arg) {
			return code, arg, nil
		}
	}
	return "", "", fmt.Errorf("%w: %q", ErrUnknownCode, dialled)
}

// Settings are user's gateway call settings, and whether user is signed
// in on any gateway device (only then do they route the user's calls).
func (s *Service) Settings(user string) (Settings, bool) {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settings[strings.ToLower(user)], len(s.userDevices(user, now)) > 0
}

// IsDeviceAccount says whether account is a device's own (signed-out)
// account: it may dial *55* and nothing else.
func (s *Service) IsDeviceAccount(account string) bool {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.byDevAcct[strings.ToLower(account)]
	return d != nil && s.live(d, now)
}

// live offboards d if it went stale and says whether it is still
// onboarded. Called with s.mu held.
func (s *Service) live(d *device, now time.Time) bool {
	if d.state == StateOffboarded {
		return false
	}
	idle := now.Sub(d.seen)
	switch {
	case d.state == StateSignedIn && idle >= StaleSignedIn:
		s.offboard(d, "This device was offboarded after 30 days without a connection. Reset it to factory settings to onboard it again.")
	case d.state == StateSignedOut && idle >= StaleSignedOut:
		s.offboard(d, "This device was offboarded after 14 days signed out without a connection. Reset it to factory settings to onboard it again.")
	default:
		return true
	}
	return false
}

func (s *Service) offboard(d *device, why string) {
	s.unindexUser(d)
	d.state, d.why, d.user, d.cred = StateOffboarded, why, "", ""
	s.dropPairing(d)
}

// userDevices are the live devices user is signed in on. Called with
// s.mu held.
func (s *Service) userDevices(user string, now time.Time) []*device {
	set := s.byUser[strings.ToLower(user)]
	if len(set) == 0 {
		return nil
	}
	var out []*device
	for d := range set {
		if s.live(d, now) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b *device) int { return strings.Compare(a.mac, b.mac) })
	return out
}

// account is the SIP account d registers with now.
func (d *device) account() string {
	if d.state == StateSignedIn {
		return d.user
	}
	return d.own.User
}

// signIn signs d in as user with a password of its own, and returns the
// account it was registered with. Called with s.mu held.
func (s *Service) signIn(d *device, user string) string {
	prev := d.account()
	s.unindexUser(d)
	s.dropPairing(d)
	d.state, d.user, d.cred = StateSignedIn, user, randomText()
	key := strings.ToLower(user)
	if s.byUser[key] == nil {
		s.byUser[key] = map[*device]bool{}
	}
	s.byUser[key][d] = true
	return prev
}

// signOut returns d to its own account. Called with s.mu held.
func (s *Service) signOut(d *device, now time.Time) string {
	prev := d.account()
	s.unindexUser(d)
	s.dropPairing(d)
	d.state, d.user, d.cred, d.signedOut = StateSignedOut, "", "", now
	return prev
}

func (s *Service) unindexUser(d *device) {
	if d.user == "" {
		return
	}
	key := strings.ToLower(d.user)
	delete(s.byUser[key], d)
	if len(s.byUser[key]) == 0 {
		delete(s.byUser, key)
	}
}

// dropPairing forgets d's pairing and tells the identity provider.
func (s *Service) dropPairing(d *device) {
	if p := d.pairing; p != nil {
		d.pairing = nil
		if p.Cancel != nil {
			p.Cancel()
		}
	}
}

// DeviceInfo is a device as the admin's device list shows it.
type DeviceInfo struct {
	MAC       string `json:"mac"`
	Vendor    string `json:"vendor,omitempty"`
	Model     string `json:"model,omitempty"`
	Firmware  string `json:"firmware,omitempty"`
	Mode      string `json:"mode,omitempty"`
	Region    string `json:"region,omitempty"`
	Tenant    string `json:"tenant,omitempty"`
	State     string `json:"state"` // signed-out, signed-in, offboarded; provisioned before it onboards
	User      string `json:"user,omitempty"`
	Location  string `json:"location,omitempty"`
	Onboarded string `json:"onboarded,omitempty"`
	LastSeen  string `json:"last_seen,omitempty"`
	SignedOut string `json:"signed_out,omitempty"`
	Reason    string `json:"reason,omitempty"` // why it was offboarded
	// The signed-in user's settings (dnd, forward_to, ...); none when
	// nobody is signed in.
	*Settings
}

// StateProvisioned is a common-area MAC the admin added that has not
// onboarded yet (the device list only).
const StateProvisioned = "provisioned"

// Devices lists the records and the provisioned MACs, by MAC.
func (s *Service) Devices() []DeviceInfo {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []DeviceInfo{}
	for mac, d := range s.devices {
		s.live(d, now)
		out = append(out, s.infoLocked(mac))
	}
	for mac := range s.areas {
		if s.devices[mac] == nil {
			out = append(out, s.infoLocked(mac))
		}
	}
	slices.SortFunc(out, func(a, b DeviceInfo) int { return strings.Compare(a.MAC, b.MAC) })
	return out
}

// Device is one device as the list shows it.
func (s *Service) Device(mac string) (DeviceInfo, error) {
	m, ok := ParseMAC(mac)
	if !ok {
		return DeviceInfo{}, ErrBadMAC
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.devices[m]
	if d == nil && s.areas[m] == nil {
		return DeviceInfo{}, fmt.Errorf("%w: %s", ErrUnknownDevice, m)
	}
	if d != nil {
		s.live(d, now)
	}
	return s.infoLocked(m), nil
}

func (s *Service) infoLocked(mac string) DeviceInfo {
	info := DeviceInfo{MAC: mac, State: StateProvisioned}
	if a := s.areas[mac]; a != nil {
		info.Location = a.location
	}
	d := s.devices[mac]
	if d == nil {
		return info
	}
	info.Vendor, info.Model, info.Firmware, info.Mode = d.vendor, d.model, d.firmware, d.mode
	info.Region, info.Tenant, info.State, info.User, info.Reason = d.region, d.tenant, d.state, d.user, d.why
	info.Onboarded, info.LastSeen, info.SignedOut = stamp(d.onboarded), stamp(d.seen), stamp(d.signedOut)
	if d.user != "" {
		st := s.settings[strings.ToLower(d.user)]
		info.Settings = &st
	}
	return info
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Provision adds a common-area phone: its MAC and location, before or
// after it onboards.
func (s *Service) Provision(mac, location string) (DeviceInfo, error) {
	m, ok := ParseMAC(mac)
	if !ok {
		return DeviceInfo{}, fmt.Errorf("%w, not %q", ErrBadMAC, mac)
	}
	location = strings.TrimSpace(location)
	if location == "" || len(location) > 64 || !printable(location) {
		return DeviceInfo{}, ErrBadLocation
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.areas[m]; a != nil {
		a.location = location
	} else {
		s.areas[m] = &commonArea{location: location}
	}
	return s.infoLocked(m), nil
}

// EnrollCode is a one-time verification code for a common-area phone.
type EnrollCode struct {
	MAC     string `json:"mac"`
	Code    string `json:"code"`
	Expires string `json:"expires"`
}

// Code makes a one-time verification code for the provisioned phone at
// mac: 8 random digits, good once for EnrollCodeLifetime; a new code
// replaces the MAC's unused one.
func (s *Service) Code(mac string) (EnrollCode, error) {
	m, ok := ParseMAC(mac)
	if !ok {
		return EnrollCode{}, fmt.Errorf("%w, not %q", ErrBadMAC, mac)
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.areas[m]
	if a == nil {
		return EnrollCode{}, fmt.Errorf("%w: %s", ErrNotProvisioned, m)
	}
	for code, c := range s.codes {
		if !now.Before(c.expires) {
			delete(s.codes, code)
		}
	}
	if old := s.codes[a.code]; old != nil && !old.used {
		delete(s.codes, a.code)
	}
	var code string
	for {
		n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
		if err != nil {
			return EnrollCode{}, fmt.Errorf("gateway: random: %w", err)
		}
		if code = fmt.Sprintf("%08d", n.Int64()); s.codes[code] == nil {
			break
		}
	}
	c := &enrollCode{mac: m, expires: now.Add(EnrollCodeLifetime)}
	s.codes[code], a.code = c, code
	return EnrollCode{MAC: m, Code: code, Expires: stamp(c.expires)}, nil
}

// SignOut is the admin's remote sign-out of the device at mac; the phone
// hears of it by check-sync.
func (s *Service) SignOut(mac string) (DeviceInfo, error) {
	m, ok := ParseMAC(mac)
	if !ok {
		return DeviceInfo{}, fmt.Errorf("%w, not %q", ErrBadMAC, mac)
	}
	now := s.cfg.Now()
	s.mu.Lock()
	d := s.devices[m]
	if d == nil || !s.live(d, now) {
		s.mu.Unlock()
		return DeviceInfo{}, fmt.Errorf("%w: %s", ErrUnknownDevice, m)
	}
	if d.state != StateSignedIn {
		s.mu.Unlock()
		return DeviceInfo{}, fmt.Errorf("%w: %s", ErrNotSignedIn, m)
	}
	prev := s.signOut(d, now)
	info := s.infoLocked(m)
	s.mu.Unlock()
	s.cfg.CheckSync(prev)
	return info, nil
}

var macRE = regexp.MustCompile(`^[0-9a-fA-F]{2}([:-]?)[0-9a-fA-F]{2}(?:([:-]?)[0-9a-fA-F]{2}){4}$`)

// ParseMAC reads a MAC address as xx:xx:xx:xx:xx:xx, xx-xx-xx-xx-xx-xx
// or 12 hex digits, in either case; it returns it lower-case with
// colons.
func ParseMAC(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if !macRE.MatchString(s) {
		return "", false
	}
	hex := strings.ToLower(strings.NewReplacer(":", "", "-", "").Replace(s))
	if len(hex) != 12 || (len(s) != 12 && len(s) != 17) || (len(s) == 17 && strings.Count(s, string(s[2])) != 5) {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < 12; i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(hex[i : i+2])
	}
	return b.String(), true
}

// dashed is a MAC as the admin and the verification page write it.
func dashed(mac string) string { return strings.ReplaceAll(mac, ":", "-") }

func printable(s string) bool {
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

func randomText() string { return rand.Text() }
