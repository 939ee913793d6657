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
	expires      time.Time
	interval     time.Duration
	lastPoll     time.Time // zero before the first poll
	state        deviceState
	user         string // who approved
}

// Device describes a pending sign-in as the verification page shows it.
type Device struct {
	Manufacturer string
	Model        string
}

// Label is "<Manufacturer> <Model>", or a generic name.
func (d Device) Label() string {
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
// model, which the verification page names; without them the page names
// the vendor of the client ID.
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
	manufacturer := limit(form.Get("manufacturer"), 64)
	if manufacturer == "" {
		manufacturer = client.Manufacturer
	}
	d := &deviceAuth{
		client:       client,
		scope:        scopeOf(form),
		manufacturer: manufacturer,
		model:        limit(form.Get("model"), 64),
		interval:     s.cfg.Interval,
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
	if len(s.devices) >= MaxDeviceCodes {
		s.mu.Unlock()
		writeErr(w, &oauthError{http.StatusServiceUnavailable, "temporarily_unavailable", "too many sign-ins in progress: try again later"}, false)
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
	s.devices[d.deviceCode] = d
	s.byCode[d.userCode] = d
	s.mu.Unlock()

	shown := FormatUserCode(d.userCode)
	verify := s.VerificationURI()
	s.log.Info("idp device code", "client_id", client.ID, "user_code", shown, "device", Device{manufacturer, d.model}.Label())
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

func limit(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n]
	}
	return s
}

// MaxDeviceCodes bounds the device codes kept at once (pending, or
// expired less than an hour ago); more requests get temporarily_unavailable.
const MaxDeviceCodes = 10000

// sweepLocked forgets device codes an hour past their expiry (until then
// a poll still gets expired_token and the page still says "expired") and
// expired refresh tokens. At most once a minute of the IdP's clock.
func (s *Server) sweepLocked(now time.Time) {
	if now.Sub(s.lastSweep) < time.Minute {
		return
	}
	s.lastSweep = now
	for code, d := range s.devices {
		if now.Sub(d.expires) > time.Hour {
			delete(s.devices, code)
			if s.byCode[d.userCode] == d {
				delete(s.byCode, d.userCode)
			}
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
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "invalid_request", "device_code is required"}
	}
	now := s.clock.Now()
	s.mu.Lock()
	d, ok := s.devices[code]
	switch {
	case !ok:
		s.mu.Unlock()
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "invalid_grant", "unknown or already used device_code"}
	case d.client.ID != client.ID:
		s.mu.Unlock()
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "invalid_grant", "device_code was issued to another client"}
	case !now.Before(d.expires):
		s.mu.Unlock()
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "expired_token", "the device code expired: start a new sign-in"}
	case d.state == deviceDenied:
		s.mu.Unlock()
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "access_denied", "the user declined the sign-in"}
	case d.state == devicePending:
		fast := !d.lastPoll.IsZero() && now.Sub(d.lastPoll) < d.interval
		d.lastPoll = now
		if fast {
			d.interval += SlowDownStep
			s.mu.Unlock()
			return tokenResponse{}, &oauthError{http.StatusBadRequest, "slow_down",
				fmt.Sprintf("polling too fast: wait %d s between requests", int(d.interval/time.Second))}
		}
		s.mu.Unlock()
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "authorization_pending", "the user has not finished signing in yet"}
	}
	// Approved: the code is good once.
	delete(s.devices, code)
	delete(s.byCode, d.userCode)
	user, scope := d.user, d.scope
	disabled := s.userDisabled(user)
	s.mu.Unlock()
	if disabled {
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "access_denied", fmt.Sprintf("user %q is disabled", user)}
	}
	u, ok := s.cfg.Users(user)
	if !ok {
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "invalid_grant", "the user no longer exists"}
	}
	return s.issue(client, u, scope, "")
}
