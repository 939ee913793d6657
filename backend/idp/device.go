package idp

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// userCodeAlphabet has no vowels (no words) and no look-alikes (RFC 8628 §6.1).
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// deviceState is where a device authorization stands.
type deviceState int

const (
	devicePending deviceState = iota
	deviceApproved
	deviceDenied
)

// deviceAuth is one device authorization request. Guarded by Server.mu.
type deviceAuth struct {
	deviceCode   string
	userCode     string // normalised: 8 letters, no dash
	client       Client
	scope        string
	manufacturer string
	model        string
	label        string // set by the gateway: the whole name the page shows
	expires      time.Time
	interval     time.Duration
	lastPoll     time.Time // zero before the first poll
	state        deviceState
	user         string // who approved
	addr         string // the client address that asked for it
	viewed       bool   // someone entered its user code on the page
	viewer       string // the browser session that did (its CSRF cookie)
	gone         bool   // removed from the table (still in Server.order until compacted)
}

// Device describes a pending sign-in as the verification page shows it.
type Device struct {
	Manufacturer string
	Model        string
	// Name, when set, is the whole label: a SIP device the gateway pairs
	// ("SIP device: AudioCodes 430HD (00-90-8f-12-34-56)").
	Name string
}

// Label is Name, else "<Manufacturer> <Model>", or a generic name.
func (d Device) Label() string {
	if d.Name != "" {
		return d.Name
	}
	if l := strings.TrimSpace(d.Manufacturer + " " + d.Model); l != "" {
		return l
	}
	return "A phone"
}

// deviceAuthResponse is RFC 8628 §3.2's answer.
type deviceAuthResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
	Message                 string `json:"message"`
}

// deviceAuthorization is the device authorization endpoint (RFC 8628
// §3.1). Besides client_id and scope, the phone may send manufacturer and
// model, which the verification page names: the manufacturer only as the
// vendor the client ID is registered to (vendorName).
func (s *Server) deviceAuthorization(w http.ResponseWriter, r *http.Request) {
	form, clientID, basic, oe := parseClientForm(r)
	if oe != nil {
		writeErr(w, oe, basic)
		return
	}
	client, oe := s.checkClient(clientID)
	if oe != nil {
		s.log.Info("idp device authorization refused", "client_id", clientID, "error", oe.code, "description", oe.description)
		writeErr(w, oe, basic)
		return
	}
	manufacturer := s.vendorName(client, form.Get("manufacturer"))
	d := &deviceAuth{
		client:       client,
		scope:        scopeOf(form),
		manufacturer: manufacturer,
		model:        modelName(form.Get("model")),
		interval:     s.cfg.Interval,
		addr:         clientAddr(r),
	}
	var err error
	if d.deviceCode, err = randomString(32); err != nil {
		writeErr(w, serverError(err), false)
		return
	}
	now := s.clock.Now()
	d.expires = now.Add(s.cfg.DeviceCodeLifetime)
	s.mu.Lock()
	s.sweepLocked(now)
	if wait, oe := s.makeRoomLocked(d, now); oe != nil {
		s.mu.Unlock()
		if wait > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(int((wait+time.Second-1)/time.Second)))
		}
		s.log.Info("idp device authorization refused", "client_id", client.ID, "from", d.addr, "error", oe.description)
		writeErr(w, oe, false)
		return
	}
	for {
		if d.userCode, err = newUserCode(); err != nil {
			s.mu.Unlock()
			writeErr(w, serverError(err), false)
			return
		}
		if _, taken := s.byCode[d.userCode]; !taken {
			break
		}
	}
	s.addLocked(d)
	s.mu.Unlock()

	shown := FormatUserCode(d.userCode)
	verify := s.VerificationURI()
	s.log.Info("idp device code", "client_id", client.ID, "user_code", shown, "device", Device{Manufacturer: manufacturer, Model: d.model}.Label())
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, deviceAuthResponse{
		DeviceCode:              d.deviceCode,
		UserCode:                shown,
		VerificationURI:         verify,
		VerificationURIComplete: verify + "?code=" + url.QueryEscape(shown),
		ExpiresIn:               int(s.cfg.DeviceCodeLifetime / time.Second),
		Interval:                int(s.cfg.Interval / time.Second),
		Message:                 fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", verify, shown),
	})
}

// vendorName is the manufacturer the page names: the vendor the client ID
// is registered to, or, for the shared ID, the one sent if it is a vendor
// some client is registered to, in that spelling. Anything else a client
// sends is not shown: the page's title is not the client's to write
// ("Security check - enter your password").
func (s *Server) vendorName(client Client, sent string) string {
	if client.Manufacturer != "" {
		return client.Manufacturer
	}
	sent = strings.TrimSpace(sent)
	for _, c := range s.cfg.Clients {
		if c.Manufacturer != "" && strings.EqualFold(c.Manufacturer, sent) {
			return c.Manufacturer
		}
	}
	return ""
}

// modelName is the model a phone sent if it looks like one (letters,
// digits, spaces, ".-_+/", at most 32), else nothing.
func modelName(sent string) string {
	sent = strings.TrimSpace(sent)
	if sent == "" || len(sent) > 32 {
		return ""
	}
	for _, r := range sent {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune(" .-_+/", r)) {
			return ""
		}
	}
	return sent
}

func limit(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Bounds of the device-code table, so that a flood of device
// authorization requests cannot stop everyone's sign-in (issue 19):
//
//   - one client address holds at most Config.CodesPerAddress live codes;
//     more get 429 temporarily_unavailable with Retry-After (phones on
//     loopback share 127.0.0.1: raise it for fleets);
//   - one client ID holds at most half the table, and the table
//     MaxDeviceCodes (pending, or expired less than an hour ago); a new
//     code there takes the place of the oldest expired code, else of the
//     oldest code nobody has entered on the page yet (of that client
//     first), so a flood pushes out only codes nobody is using. A code a
//     person has entered is never pushed out; only when every code is one
//     do requests get 503 temporarily_unavailable.
const (
	MaxDeviceCodes         = 10000
	DefaultCodesPerAddress = 50
)

// makeRoomLocked makes room for d or says why not (with how long to wait,
// when known). Called with s.mu held.
func (s *Server) makeRoomLocked(d *deviceAuth, now time.Time) (time.Duration, *oauthError) {
	if s.codesByAddr[d.addr] >= s.cfg.CodesPerAddress &&
		!s.evictLocked(now, true, func(o *deviceAuth) bool { return o.addr == d.addr }) {
		wait := time.Duration(0)
		for _, o := range s.order {
			if !o.gone && o.addr == d.addr && o.expires.After(now) {
				wait = o.expires.Sub(now) // the oldest live code of the address
				break
			}
		}
		return wait, &oauthError{http.StatusTooManyRequests, "temporarily_unavailable",
			fmt.Sprintf("too many sign-ins in progress from this address (%d): finish or let one expire", s.cfg.CodesPerAddress), 0}
	}
	full := &oauthError{http.StatusServiceUnavailable, "temporarily_unavailable", "too many sign-ins in progress: try again later", 0}
	ofClient := func(o *deviceAuth) bool { return o.client.ID == d.client.ID }
	if s.codesByClient[d.client.ID] >= s.cfg.MaxDeviceCodes/2 &&
		!s.evictLocked(now, true, ofClient) && !s.evictLocked(now, false, ofClient) {
		return 0, full
	}
	anyCode := func(*deviceAuth) bool { return true }
	if len(s.devices) >= s.cfg.MaxDeviceCodes &&
		!s.evictLocked(now, true, anyCode) && !s.evictLocked(now, false, anyCode) {
		return 0, full
	}
	return 0, nil
}

// evictLocked removes the oldest code that match selects and that has
// expired (expiredOnly) or else is pending and was never entered on the
// page; false when there is none.
func (s *Server) evictLocked(now time.Time, expiredOnly bool, match func(*deviceAuth) bool) bool {
	for _, o := range s.order {
		if o.gone || !match(o) {
			continue
		}
		expired := !now.Before(o.expires)
		if expired || (!expiredOnly && !o.viewed && o.state == devicePending) {
			s.removeLocked(o)
			return true
		}
	}
	return false
}

// addLocked and removeLocked keep the table, its indexes and counts in
// step. Called with s.mu held.
func (s *Server) addLocked(d *deviceAuth) {
	s.devices[d.deviceCode] = d
	s.byCode[d.userCode] = d
	s.codesByAddr[d.addr]++
	s.codesByClient[d.client.ID]++
	s.order = append(s.order, d)
}

func (s *Server) removeLocked(d *deviceAuth) {
	if d.gone {
		return
	}
	d.gone = true
	delete(s.devices, d.deviceCode)
	if s.byCode[d.userCode] == d {
		delete(s.byCode, d.userCode)
	}
	if s.codesByAddr[d.addr]--; s.codesByAddr[d.addr] <= 0 {
		delete(s.codesByAddr, d.addr)
	}
	if s.codesByClient[d.client.ID]--; s.codesByClient[d.client.ID] <= 0 {
		delete(s.codesByClient, d.client.ID)
	}
	if len(s.order) > 2*len(s.devices)+64 {
		live := s.order[:0]
		for _, o := range s.order {
			if !o.gone {
				live = append(live, o)
			}
		}
		clear(s.order[len(live):])
		s.order = live
	}
}

// sweepLocked forgets device codes an hour past their expiry (until then
// a poll still gets expired_token and the page still says "expired") and
// expired refresh tokens. At most once a minute of the IdP's clock.
func (s *Server) sweepLocked(now time.Time) {
	if now.Sub(s.lastSweep) < time.Minute {
		return
	}
	s.lastSweep = now
	for _, d := range s.devices {
		if now.Sub(d.expires) > time.Hour {
			s.removeLocked(d)
		}
	}
	for id, rt := range s.refresh {
		if !now.Before(rt.expires) {
			delete(s.refresh, id)
		}
	}
}

func newUserCode() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("idp: random: %w", err)
	}
	out := make([]byte, len(b))
	for i, v := range b {
		// 256 = 12*20 + 16: the bias toward the first 16 letters is small
		// and harmless for a lab.
		out[i] = userCodeAlphabet[int(v)%len(userCodeAlphabet)]
	}
	return string(out), nil
}

// FormatUserCode shows a normalised user code as XXXX-XXXX.
func FormatUserCode(c string) string {
	if len(c) == 8 {
		return c[:4] + "-" + c[4:]
	}
	return c
}

// NormalizeUserCode is what a user typed, upper-cased, without dashes or
// spaces: codes compare case-insensitively and with or without the dash.
func NormalizeUserCode(typed string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, typed)
}

// deviceCodeGrant is the device access token request (RFC 8628 §3.4, §3.5).
func (s *Server) deviceCodeGrant(client Client, form url.Values) (tokenResponse, *oauthError) {
	code := form.Get("device_code")
	if code == "" {
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "invalid_request", "device_code is required", 0}
	}
	now := s.clock.Now()
	s.mu.Lock()
	d, ok := s.devices[code]
	switch {
	case !ok:
		s.mu.Unlock()
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "invalid_grant", "unknown or already used device_code", 0}
	case d.client.ID != client.ID:
		s.mu.Unlock()
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "invalid_grant", "device_code was issued to another client", 0}
	case !now.Before(d.expires):
		s.mu.Unlock()
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "expired_token", "the device code expired: start a new sign-in", 0}
	case d.state == deviceDenied:
		s.mu.Unlock()
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "access_denied", "the user declined the sign-in", 0}
	case d.state == devicePending:
		fast := !d.lastPoll.IsZero() && now.Sub(d.lastPoll) < d.interval
		d.lastPoll = now
		if fast {
			d.interval += SlowDownStep
			s.mu.Unlock()
			return tokenResponse{}, &oauthError{http.StatusBadRequest, "slow_down",
				fmt.Sprintf("polling too fast: wait %d s between requests", int(d.interval/time.Second)), 0}
		}
		s.mu.Unlock()
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "authorization_pending", "the user has not finished signing in yet", 0}
	}
	// Approved: the code is good once.
	s.removeLocked(d)
	user, scope := d.user, d.scope
	disabled := s.userDisabled(user)
	s.mu.Unlock()
	if disabled {
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "access_denied", fmt.Sprintf("user %q is disabled", user), 0}
	}
	u, ok := s.cfg.Users(user)
	if !ok {
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "invalid_grant", "the user no longer exists", 0}
	}
	return s.issue(client, u, scope, "")
}
