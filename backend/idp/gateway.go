package idp

import (
	"errors"
	"fmt"
	"time"
)

// GatewayClientID is the client the Teams SIP Gateway asks device codes
// as, on behalf of SIP phones that run no OAuth of their own. No phone
// signs in with it, so Clients does not list it.
const GatewayClientID = "deskphone-sip-gateway"

// Errors a device pairing ends with.
var (
	ErrDeviceDenied  = errors.New("idp: the user declined the sign-in")
	ErrDeviceExpired = errors.New("idp: the device code expired")
)

// DevicePairing is a device authorization made in process for the
// gateway: the code the phone shows, and how it ends.
type DevicePairing struct {
	UserCode        string // XXXX-XXXX
	VerificationURI string
	Expires         time.Time
	Interval        time.Duration
	// Poll is ("", nil) while pending, (user, nil) once approved (once
	// only), ErrDeviceDenied or ErrDeviceExpired.
	Poll func() (string, error)
	// Cancel forgets the code (the device asked for another one).
	Cancel func()
}

// StartDevicePairing makes a device code whose verification page names
// the device by label ("SIP device: AudioCodes 430HD (00-90-8f-12-34-56)"),
// with the limits of the device authorization endpoint; each label counts
// as its own client address.
func (s *Server) StartDevicePairing(label string) (DevicePairing, error) {
	if label == "" || len(label) > 128 || !printableLabel(label) {
		return DevicePairing{}, fmt.Errorf("idp: device label %q: 1 to 128 printable characters", label)
	}
	verify := s.VerificationURI()
	if s.BaseURL() == "" {
		return DevicePairing{}, errors.New("idp: no identity provider listening")
	}
	d := &deviceAuth{
		client:   Client{ID: GatewayClientID},
		scope:    DefaultScope,
		label:    label,
		interval: s.cfg.Interval,
		addr:     "gateway " + label,
	}
	var err error
	if d.deviceCode, err = randomString(32); err != nil {
		return DevicePairing{}, err
	}
	now := s.clock.Now()
	d.expires = now.Add(s.cfg.DeviceCodeLifetime)
	s.mu.Lock()
	s.sweepLocked(now)
	if _, oe := s.makeRoomLocked(d, now); oe != nil {
		s.mu.Unlock()
		return DevicePairing{}, fmt.Errorf("idp: %s", oe.description)
	}
	for {
		if d.userCode, err = newUserCode(); err != nil {
			s.mu.Unlock()
			return DevicePairing{}, err
		}
		if _, taken := s.byCode[d.userCode]; !taken {
			break
		}
	}
	s.addLocked(d)
	s.mu.Unlock()
	s.log.Info("idp device code", "client_id", GatewayClientID, "user_code", FormatUserCode(d.userCode), "device", label)
	return DevicePairing{
		UserCode: FormatUserCode(d.userCode), VerificationURI: verify,
		Expires: d.expires, Interval: d.interval,
		Poll:   func() (string, error) { return s.pollPairing(d) },
		Cancel: func() { s.mu.Lock(); s.removeLocked(d); s.mu.Unlock() },
	}, nil
}

// pollPairing is how d stands; a code that ended is forgotten.
func (s *Server) pollPairing(d *deviceAuth) (string, error) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case d.gone || !now.Before(d.expires):
		s.removeLocked(d)
		return "", ErrDeviceExpired
	case d.state == deviceDenied:
		s.removeLocked(d)
		return "", ErrDeviceDenied
	case d.state == devicePending:
		return "", nil
	}
	s.removeLocked(d)
	if s.userDisabled(d.user) {
		return "", ErrDeviceDenied
	}
	return d.user, nil
}

func printableLabel(s string) bool {
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return false
		}
	}
	return true
}
