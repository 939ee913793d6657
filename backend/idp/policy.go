package idp

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Errors of the policy calls, for errors.Is.
var (
	ErrUnknownClient = errors.New("unknown client")
	ErrUnknownUser   = errors.New("unknown user")
)

// Policy is the tenant's sign-in policy as the admin API shows it.
type Policy struct {
	// BlockLegacyAuth refuses the resource-owner password grant, as an
	// Okta app sign-on policy that blocks legacy authentication does (seed
	// 003): the phone's "User Credentials" sign-in fails, web sign-in works.
	BlockLegacyAuth bool `json:"block_legacy_auth"`
	// VendorClientCutoff, when set, is the instant from which the shared
	// client ID is refused and each vendor's app needs the tenant's
	// consent (seed 000).
	VendorClientCutoff *time.Time `json:"vendor_client_cutoff,omitempty"`
	// Consented lists the client IDs the tenant consented to.
	Consented []string `json:"consented"`
	// DisabledUsers cannot sign in, and their tokens stop working.
	DisabledUsers []string `json:"disabled_users"`
}

type policyState struct {
	blockLegacy bool
	cutoff      time.Time // zero: none
	consented   map[string]bool
	disabled    map[string]bool // lower-case user names
}

func newPolicyState() policyState {
	return policyState{consented: map[string]bool{}, disabled: map[string]bool{}}
}

// Policy returns the current policy.
func (s *Server) Policy() Policy {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := Policy{BlockLegacyAuth: s.policy.blockLegacy, Consented: []string{}, DisabledUsers: []string{}}
	if !s.policy.cutoff.IsZero() {
		c := s.policy.cutoff
		p.VendorClientCutoff = &c
	}
	for id := range s.policy.consented {
		p.Consented = append(p.Consented, id)
	}
	for u := range s.policy.disabled {
		p.DisabledUsers = append(p.DisabledUsers, u)
	}
	slices.Sort(p.Consented)
	slices.Sort(p.DisabledUsers)
	return p
}

// SetBlockLegacyAuth turns the legacy-authentication block on or off.
func (s *Server) SetBlockLegacyAuth(block bool) {
	s.mu.Lock()
	s.policy.blockLegacy = block
	s.mu.Unlock()
	s.log.Info("idp policy", "block_legacy_auth", block)
}

// SetVendorClientCutoff sets the instant from which the shared client ID
// is refused; the zero time removes the cutoff.
func (s *Server) SetVendorClientCutoff(t time.Time) {
	s.mu.Lock()
	s.policy.cutoff = t
	s.mu.Unlock()
	s.log.Info("idp policy", "vendor_client_cutoff", t)
}

// Consent records (or, with grant false, withdraws) the tenant's consent
// to a vendor's app.
func (s *Server) Consent(clientID string, grant bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[clientID]; !ok {
		return fmt.Errorf("%w %q", ErrUnknownClient, clientID)
	}
	if grant {
		s.policy.consented[clientID] = true
	} else {
		delete(s.policy.consented, clientID)
	}
	s.log.Info("idp consent", "client_id", clientID, "granted", grant)
	return nil
}

// SetUserDisabled disables (or enables) a user: a disabled user cannot
// sign in, and the tokens already issued stop validating.
func (s *Server) SetUserDisabled(name string, disabled bool) error {
	u, ok := s.cfg.Users(name)
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownUser, name)
	}
	key := strings.ToLower(u.Name)
	s.mu.Lock()
	if disabled {
		s.policy.disabled[key] = true
	} else {
		delete(s.policy.disabled, key)
	}
	s.mu.Unlock()
	s.log.Info("idp user", "user", u.Name, "disabled", disabled)
	return nil
}

// RevokeUser revokes every token issued to the user so far, access and
// refresh alike; the user can sign in again. It returns how many refresh
// tokens it dropped.
func (s *Server) RevokeUser(name string) (int, error) {
	u, ok := s.cfg.Users(name)
	if !ok {
		return 0, fmt.Errorf("%w %q", ErrUnknownUser, name)
	}
	key := strings.ToLower(u.Name)
	s.mu.Lock()
	s.gen[key]++
	n := 0
	for id, rt := range s.refresh {
		if rt.user == key {
			delete(s.refresh, id)
			n++
		}
	}
	s.mu.Unlock()
	s.log.Info("idp tokens revoked", "user", u.Name, "refresh_tokens", n)
	return n, nil
}

// userDisabled reports whether the user is disabled. Called with s.mu held.
func (s *Server) userDisabled(name string) bool { return s.policy.disabled[strings.ToLower(name)] }

// oauthError is an RFC 6749 §5.2 error answer.
type oauthError struct {
	status      int
	code        string
	description string
	retryAfter  int // seconds, for Retry-After; 0: none
}

func (e *oauthError) Error() string { return e.code + ": " + e.description }

// SubError3PIPEndOfLife is the suberror of a grant refused after the
// Skype for Business (3PIP) phones' end of life.
const SubError3PIPEndOfLife = "3pip_end_of_life"

// endOfLife refuses every grant of a phone's client once the 3PIP end of
// life has come (Config.EndOfLife), with Microsoft's suberror beside the
// code; the exempt clients (the gateway's) go on. ok is false when it
// refuses.
func (s *Server) endOfLife(c Client) (refusal map[string]string, ok bool) {
	if s.cfg.EndOfLife == nil || slices.Contains(s.cfg.EndOfLifeExempt, c.ID) {
		return nil, true
	}
	t, set := s.cfg.EndOfLife()
	if !set || s.clock.Now().Before(t) {
		return nil, true
	}
	return map[string]string{
		"error":    "unauthorized_client",
		"suberror": SubError3PIPEndOfLife,
		"error_description": fmt.Sprintf("Skype for Business phones (3PIP) are no longer supported since %s: "+
			"move the phone to its SIP firmware and sign in through the Teams SIP Gateway", t.UTC().Format(time.DateOnly)),
	}, false
}

// checkClient finds the client and applies the client policy at now:
// unknown IDs are invalid_client; from the cutoff the shared ID is
// invalid_client too (the description names the deadline) and a vendor
// app without the tenant's consent is unauthorized_client.
func (s *Server) checkClient(id string) (Client, *oauthError) {
	if id == "" {
		return Client{}, &oauthError{http.StatusUnauthorized, "invalid_client", "client_id is required", 0}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[id]
	if !ok {
		return Client{}, &oauthError{http.StatusUnauthorized, "invalid_client", fmt.Sprintf("unknown client_id %q", id), 0}
	}
	cutoff := s.policy.cutoff
	if cutoff.IsZero() || s.clock.Now().Before(cutoff) {
		return c, nil
	}
	if c.Shared {
		return Client{}, &oauthError{http.StatusUnauthorized, "invalid_client", fmt.Sprintf(
			"the shared client_id %q is no longer accepted since %s: phones need firmware with their vendor's own client ID",
			id, cutoff.UTC().Format(time.RFC3339)), 0}
	}
	if !s.policy.consented[id] {
		return Client{}, &oauthError{http.StatusBadRequest, "unauthorized_client", fmt.Sprintf(
			"the tenant has not consented to the %s app (client_id %q), required since %s: an administrator must grant consent",
			c.Manufacturer, id, cutoff.UTC().Format(time.RFC3339)), 0}
	}
	return c, nil
}
