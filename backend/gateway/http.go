package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/deskphone/deskphone/internal/gwurl"
)

// MaxBody bounds a request body of the provisioning API.
const MaxBody = 64 << 10

// request is what every call of the wire carries; /device adds the
// phone's description. Unknown fields are ignored.
type request struct {
	MAC       string `json:"mac"`
	DeviceKey string `json:"device_key"`
	Vendor    string `json:"vendor"`
	Model     string `json:"model"`
	Firmware  string `json:"firmware"`
	Mode      string `json:"mode"`
}

// wireError is an error answer: {"error": code, "reason": ...}.
type wireError struct {
	status int
	code   string
	reason string
}

func (e *wireError) Error() string { return e.code + ": " + e.reason }

func badRequest(format string, args ...any) *wireError {
	return &wireError{http.StatusBadRequest, "bad-request", fmt.Sprintf(format, args...)}
}

// DeviceReply is the answer of /device and /signout: the device's key,
// state, where it registers and with which account, the screens and
// configuration pushed to it.
type DeviceReply struct {
	DeviceKey string       `json:"device_key"`
	State     string       `json:"state"`
	Registrar RegistrarRef `json:"registrar"`
	Account   Account      `json:"account"`
	Screens   Screens      `json:"screens"`
	Config    DeviceConfig `json:"config"`
}

// RegistrarRef is where a device registers.
type RegistrarRef struct {
	Server string `json:"server"`
	Domain string `json:"domain"`
}

// Screens are the sign-in screens the gateway pushes, one string a
// line; the pairing screen's {url}, {code} and {expires} are the phone's
// to fill.
type Screens struct {
	SignedOut []string `json:"signed_out"`
	Pairing   []string `json:"pairing"`
}

// DeviceConfig is the default configuration pushed at onboarding.
type DeviceConfig struct {
	PollSeconds int `json:"poll_seconds"`
}

// defaultScreens are the Teams sign-in screens.
func defaultScreens() Screens {
	return Screens{
		SignedOut: []string{"Microsoft Teams", "Press Sign In to sign in"},
		Pairing:   []string{"Sign in at {url}", "{code}", "Code expires in {expires}"},
	}
}

// PairReply is the answer of /pair.
type PairReply struct {
	PairingCode string `json:"pairing_code"`
	PairingURL  string `json:"pairing_url"`
	ExpiresIn   int    `json:"expires_in"`
	Interval    int    `json:"interval"`
}

// PollReply is the answer of /pair/poll: pending, signed-in, expired or
// denied (with the reason).
type PollReply struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// serveHTTP is the provisioning API: POST BASE/device, BASE/pair,
// BASE/pair/poll and BASE/signout, BASE being /REGION[/tenantid/GUID].
func (s *Service) serveHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			writeError(w, &wireError{http.StatusInternalServerError, "internal", fmt.Sprint("the gateway failed: ", v)})
		}
	}()
	var op string
	base := r.URL.Path
	for _, o := range []string{"/pair/poll", "/device", "/pair", "/signout"} {
		if b, ok := strings.CutSuffix(r.URL.Path, o); ok {
			op, base = o, b
			break
		}
	}
	prov, ok := gwurl.ParsePath(base)
	if op == "" || !ok {
		writeError(w, &wireError{http.StatusNotFound, "not-found", fmt.Sprintf(
			"no such endpoint %s: the gateway serves /REGION[/tenantid/GUID]/device, /pair, /pair/poll and /signout, REGION one of %s",
			r.URL.Path, strings.Join(gwurl.Regions, ", "))})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, &wireError{http.StatusMethodNotAllowed, "method-not-allowed", r.Method + " " + r.URL.Path + ": use POST"})
		return
	}
	req, werr := readRequest(w, r)
	if werr != nil {
		writeError(w, werr)
		return
	}
	var reply any
	switch op {
	case "/device":
		reply, werr = s.fetch(prov, req)
	case "/pair":
		reply, werr = s.pair(req)
	case "/pair/poll":
		reply, werr = s.poll(req)
	case "/signout":
		reply, werr = s.phoneSignOut(req)
	}
	if werr != nil {
		writeError(w, werr)
		return
	}
	writeJSON(w, http.StatusOK, reply)
}

// readRequest reads and checks a body: JSON, at most MaxBody, a MAC
// address, fields of sane size.
func readRequest(w http.ResponseWriter, r *http.Request) (request, *wireError) {
	var req request
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody))
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return req, &wireError{http.StatusRequestEntityTooLarge, "too-large", fmt.Sprintf("the body is larger than %d bytes", MaxBody)}
		}
		return req, badRequest("the body is not a JSON object with mac and device_key: %v", err)
	}
	mac, ok := ParseMAC(req.MAC)
	if !ok {
		return req, badRequest("mac %q is not a MAC address (00:90:8f:12:34:56)", limit(req.MAC, 40))
	}
	req.MAC = mac
	for _, f := range []struct{ name, v string }{
		{"device_key", req.DeviceKey}, {"vendor", req.Vendor}, {"model", req.Model}, {"firmware", req.Firmware}, {"mode", req.Mode},
	} {
		if len(f.v) > 64 || !printable(f.v) {
			return req, badRequest("%s: at most 64 printable characters", f.name)
		}
	}
	return req, nil
}

func limit(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *wireError) {
	writeJSON(w, e.status, map[string]string{"error": e.code, "reason": e.reason})
}

// fetch is /device: onboard, or answer the device's provisioning.
func (s *Service) fetch(prov gwurl.Provisioning, req request) (DeviceReply, *wireError) {
	if req.Model == "" || req.Firmware == "" {
		return DeviceReply{}, badRequest("/device needs model and firmware")
	}
	switch req.Mode {
	case ModeSIP, Mode3PIP, ModeLPE:
	default:
		return DeviceReply{}, badRequest("mode %q: want sip, 3pip or lpe", req.Mode)
	}
	if why := refusal(req.Model, req.Firmware, req.Mode); why != "" {
		return DeviceReply{}, &wireError{http.StatusForbidden, "refused", why}
	}
	now := s.cfg.Now()
	s.mu.Lock()
	d := s.devices[req.MAC]
	if d != nil {
		s.live(d, now)
	}
	switch {
	case d == nil:
		// Never seen, or a record the cloud lost: onboard.
		d = s.onboard(req.MAC, now)
	case d.state == StateOffboarded:
		if req.DeviceKey != "" {
			s.mu.Unlock()
			return DeviceReply{}, &wireError{http.StatusGone, "offboarded", d.why}
		}
		d = s.onboard(req.MAC, now)
	case req.DeviceKey == d.key:
	case d.state == StateSignedIn:
		s.mu.Unlock()
		return DeviceReply{}, &wireError{http.StatusConflict, "in-use", "This device is signed in with another device key: sign it out in the admin center first."}
	case req.DeviceKey == "":
		// A signed-out phone that was reset onboards again.
		s.dropPairing(d)
		d = s.onboard(req.MAC, now)
	default:
		s.mu.Unlock()
		return DeviceReply{}, &wireError{http.StatusConflict, "in-use", "The device key is not this device's: reset the phone to onboard it again."}
	}
	d.vendor, d.model, d.firmware, d.mode = req.Vendor, req.Model, req.Firmware, req.Mode
	d.region, d.tenant = prov.Region, prov.Tenant
	d.seen = now
	d.fetches++
	reply, user := s.replyLocked(d)
	s.mu.Unlock()
	return s.withUser(reply, user), nil
}

// onboard makes a new record for mac. Called with s.mu held.
func (s *Service) onboard(mac string, now time.Time) *device {
	if old := s.devices[mac]; old != nil {
		s.unindexUser(old)
		delete(s.byDevAcct, strings.ToLower(old.own.User))
	}
	d := &device{
		mac: mac, key: randomText(), state: StateSignedOut, onboarded: now, seen: now,
		own: Account{User: "dev-" + strings.ReplaceAll(mac, ":", ""), Password: randomText()},
	}
	s.devices[mac] = d
	s.byDevAcct[strings.ToLower(d.own.User)] = d
	return d
}

// replyLocked is d's provisioning, and the user whose name and number
// the account needs ("" when signed out). Called with s.mu held.
func (s *Service) replyLocked(d *device) (DeviceReply, string) {
	r := DeviceReply{
		DeviceKey: d.key, State: d.state,
		Registrar: RegistrarRef{Server: s.registrar, Domain: s.cfg.Domain},
		Account:   d.own,
		Screens:   defaultScreens(),
		Config:    DeviceConfig{PollSeconds: PollSeconds},
	}
	if d.state == StateSignedIn {
		r.Account = Account{User: d.user, Password: d.cred}
		return r, d.user
	}
	return r, ""
}

// withUser fills the account's display name and number from the
// directory, outside the Service's lock.
func (s *Service) withUser(r DeviceReply, user string) DeviceReply {
	if user == "" {
		return r
	}
	if u, ok := s.cfg.Lookup(user); ok {
		r.Account.User, r.Account.DisplayName, r.Account.Number = u.Name, u.DisplayName, u.Number
	}
	return r
}

// authLocked finds the onboarded device a request of pair, poll or
// signout is from. Called with s.mu held.
func (s *Service) authLocked(req request, now time.Time) (*device, *wireError) {
	d := s.devices[req.MAC]
	switch {
	case d == nil:
		return nil, &wireError{http.StatusForbidden, "refused", "This device is not onboarded: fetch its provisioning first."}
	case req.DeviceKey == "" || req.DeviceKey != d.key:
		return nil, &wireError{http.StatusForbidden, "refused", "The device key is not this device's: fetch its provisioning again."}
	case !s.live(d, now):
		return nil, &wireError{http.StatusGone, "offboarded", d.why}
	}
	d.seen = now
	return d, nil
}

// pair is /pair: a new pairing code (replacing the device's last).
func (s *Service) pair(req request) (PairReply, *wireError) {
	if s.cfg.StartPairing == nil {
		return PairReply{}, &wireError{http.StatusServiceUnavailable, "unavailable", "Sign-in is not available: the cloud has no identity provider."}
	}
	now := s.cfg.Now()
	s.mu.Lock()
	d, werr := s.authLocked(req, now)
	if werr == nil && d.state == StateSignedIn {
		werr = &wireError{http.StatusConflict, "in-use", "This device is already signed in."}
	}
	if werr != nil {
		s.mu.Unlock()
		return PairReply{}, werr
	}
	s.dropPairing(d)
	label := fmt.Sprintf("SIP device: %s (%s)", strings.TrimSpace(d.vendor+" "+d.model), dashed(d.mac))
	s.mu.Unlock()

	p, err := s.cfg.StartPairing(label)
	if err != nil {
		return PairReply{}, &wireError{http.StatusServiceUnavailable, "unavailable", "Sign-in is not available now: " + err.Error()}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.devices[req.MAC] != d || d.state != StateSignedOut {
		if p.Cancel != nil {
			p.Cancel()
		}
		return PairReply{}, &wireError{http.StatusConflict, "in-use", "The device changed while the code was made: try again."}
	}
	s.dropPairing(d)
	d.pairing = &p
	return PairReply{
		PairingCode: p.Code, PairingURL: p.VerificationURI,
		ExpiresIn: max(0, int(p.Expires.Sub(now)/time.Second)), Interval: max(1, int(p.Interval/time.Second)),
	}, nil
}

// poll is /pair/poll: how the device's pairing stands; once approved the
// device is signed in as the user.
func (s *Service) poll(req request) (PollReply, *wireError) {
	now := s.cfg.Now()
	s.mu.Lock()
	d, werr := s.authLocked(req, now)
	if werr != nil {
		s.mu.Unlock()
		return PollReply{}, werr
	}
	p := d.pairing
	switch {
	case d.state == StateSignedIn:
		s.mu.Unlock()
		return PollReply{Status: StateSignedIn}, nil
	case p == nil:
		s.mu.Unlock()
		return PollReply{Status: "expired"}, nil
	case !now.Before(p.Expires):
		s.dropPairing(d)
		s.mu.Unlock()
		return PollReply{Status: "expired"}, nil
	}
	s.mu.Unlock()

	name, err := p.Poll()
	end := func(r PollReply) (PollReply, *wireError) {
		s.mu.Lock()
		if d.pairing == p {
			s.dropPairing(d)
		}
		s.mu.Unlock()
		return r, nil
	}
	switch {
	case errors.Is(err, ErrPairingExpired):
		return end(PollReply{Status: "expired"})
	case errors.Is(err, ErrPairingDenied):
		return end(PollReply{Status: "denied", Reason: "The sign-in was declined."})
	case err != nil:
		return PollReply{}, &wireError{http.StatusServiceUnavailable, "unavailable", "Sign-in is not available now: " + err.Error()}
	case name == "":
		return PollReply{Status: "pending"}, nil
	}
	u, ok := s.cfg.Lookup(name)
	switch {
	case !ok:
		return end(PollReply{Status: "denied", Reason: RowUserNotFound})
	case u.Number == "":
		return end(PollReply{Status: "denied", Reason: RowNoNumber})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.pairing != p || s.devices[req.MAC] != d {
		return PollReply{Status: "expired"}, nil
	}
	s.signIn(d, u.Name)
	return PollReply{Status: StateSignedIn}, nil
}

// phoneSignOut is /signout: Sign-Out pressed on the phone.
func (s *Service) phoneSignOut(req request) (DeviceReply, *wireError) {
	now := s.cfg.Now()
	s.mu.Lock()
	d, werr := s.authLocked(req, now)
	if werr != nil {
		s.mu.Unlock()
		return DeviceReply{}, werr
	}
	if d.state == StateSignedIn {
		s.signOut(d, now)
	}
	s.dropPairing(d)
	reply, _ := s.replyLocked(d)
	s.mu.Unlock()
	return reply, nil
}
