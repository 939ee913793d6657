package phone

import (
	"strconv"
	"strings"
	"time"

	"github.com/deskphone/deskphone/media"
)

// Status is the phone's state as the headless `status` command documents
// it, one field per key. Pairs gives the keys in their stable order and
// wording; the fields give a program the typed values.
type Status struct {
	Registered        bool
	RegistrationError string // empty, or the reason the last attempt failed
	User              string
	Server            string
	TLS               string // "1.0" .. "1.3" of the connection, empty when none
	CallDuration      string // mm:ss or h:mm:ss, empty when no call is up
	CallWaiting       string // the caller waiting, if any
	Model             string // the catalog model id
	Vendor            string
	Firmware          string
	MAC               string
	Serial            string
	Session           Session
	Lock              LockState
	Call              CallState
	Remote            string
	Digits            string
	Audio             AudioPath
	DND               bool
	Mute              bool
	// Conference: the focused call is joined with another in a
	// three-way conference on the phone (the `conference` verb); here
	// beside the other flags, where it takes no room of its own.
	Conference bool
	// MissedCalls is how many missed calls the account has not viewed
	// (the idle notice); an int32 beside the flags, where it takes no
	// room of its own.
	MissedCalls int32
	MWI         int // new voice messages
	Update      UpdateState
	Screen      string // the catalog screen: idle, dialing, ..., menu
	Menu        string // the open menu path
	Time        time.Time

	// The call's audio; zero without a call or a media engine.
	Codec        string
	SRTP         string // the SRTP suite, empty when the audio is not encrypted
	RTPSent      uint64
	RTPReceived  uint64
	RTPLost      uint64
	SRTPAuthFail uint64
	SRTPReplayed uint64
	JitterMS     float64
	MOS          float64
	ToneHz       float64 // the steady tone heard last, zero when none
	// ToneHz2 is the higher tone when the phone last heard a steady pair
	// (a conference's mix of two parties), ToneHz then the lower; tone_hz
	// shows both, "440+600".
	ToneHz2   float64
	DTMFHeard string

	// RemoteName is the far party's display name, when the call brought
	// one (Remote stays its user).
	RemoteName string
	// The phone lock and the in-band policy.
	LockType      string // phone-lock, device-lock or none, by firmware
	PINSet        bool
	PINTriesLeft  string
	Paired        bool // Better Together over Ethernet
	PolicyVersion int
	DialTimeoutMS int64
	Codecs        string // the policy's codec order as the phone offers it
	Display       string // on, or dim in power save
	// The update agent: the version offered or on trial, the download in
	// percent, what went wrong, and the slot the running firmware is in.
	UpdateVersion  string
	UpdateProgress int
	UpdateError    string
	FirmwareSlot   string
	// Sign-in: the method, the web sign-in code on the screen with its
	// address and seconds left, and why the last sign-in failed.
	SignInMethod    string
	SignInCode      string
	SignInURL       string
	SignInExpiresIn int
	SignInError     string
	// StateDamaged lists the state files the boot found damaged and
	// worked around (the lock record boots the phone locked), comma
	// separated; empty when all read back fine.
	StateDamaged string
	// Calls is how many calls the phone has (the `calls` command lists
	// them); the call keys above are about the focused one. HeldCalls is
	// how many of them are held.
	Calls     int
	HeldCalls int
	// Forward is the call forwarding in force: off, always:TARGET,
	// busy:TARGET or noanswer:TARGET:SECONDS.
	Forward string
	// CallStates counts the calls in each state (a fleet's gauge of
	// calls by state); no key of its own, `calls` lists them.
	CallStates CallCounts
	// The Teams SIP Gateway: where the phone stands with it, why it
	// refused or what failed, and the pairing code on the screen with its
	// address and seconds left.
	Gateway          GatewayState
	GatewayError     string
	PairingCode      string
	PairingURL       string
	PairingExpiresIn int
	// FirmwareMode is the running firmware's stream (the catalog's
	// mode): 3pip, sip or lpe.
	FirmwareMode string
}

// CallCounts counts calls by CallState.
type CallCounts [numCallStates]uint8

// Of is how many calls are in state s.
func (c CallCounts) Of(s CallState) int {
	if s < 0 || int(s) >= len(c) {
		return 0
	}
	return int(c[s])
}

// Pairs lists the status as ordered key=value pairs: the stable contract of
// the headless `status` command. Keys are only ever added, never renamed.
func (s Status) Pairs() [][2]string {
	onoff := map[bool]string{true: "on", false: "off"}
	yesno := map[bool]string{true: "yes", false: "no"}
	srtp := s.SRTP
	if srtp == "" {
		srtp = "off"
	}
	tone := ""
	if s.ToneHz > 0 {
		tone = strconv.Itoa(int(s.ToneHz + 0.5))
		if s.ToneHz2 > 0 {
			tone += "+" + strconv.Itoa(int(s.ToneHz2+0.5))
		}
	}
	expiresIn := ""
	if s.SignInCode != "" {
		expiresIn = strconv.Itoa(s.SignInExpiresIn)
	}
	pairingLeft := ""
	if s.PairingCode != "" {
		pairingLeft = strconv.Itoa(s.PairingExpiresIn)
	}
	return [][2]string{
		{"registered", yesno[s.Registered]},
		{"registration_error", s.RegistrationError},
		{"user", s.User},
		{"server", s.Server},
		{"tls", s.TLS},
		{"call_duration", s.CallDuration},
		{"call_waiting", s.CallWaiting},
		{"model", s.Model},
		{"vendor", s.Vendor},
		{"firmware", s.Firmware},
		{"mac", s.MAC},
		{"serial", s.Serial},
		{"session", s.Session.String()},
		{"lock", s.Lock.String()},
		{"call", s.Call.String()},
		{"remote", s.Remote},
		{"digits", s.Digits},
		{"audio", s.Audio.String()},
		{"dnd", onoff[s.DND]},
		{"mute", onoff[s.Mute]},
		{"mwi", strconv.Itoa(s.MWI)},
		{"update", s.Update.String()},
		{"screen", s.Screen},
		{"menu", s.Menu},
		{"time", s.Time.Format(time.RFC3339)},
		{"codec", s.Codec},
		{"srtp", srtp},
		{"rtp_tx", strconv.FormatUint(s.RTPSent, 10)},
		{"rtp_rx", strconv.FormatUint(s.RTPReceived, 10)},
		{"rtp_lost", strconv.FormatUint(s.RTPLost, 10)},
		{"srtp_auth_fail", strconv.FormatUint(s.SRTPAuthFail, 10)},
		{"srtp_replayed", strconv.FormatUint(s.SRTPReplayed, 10)},
		{"jitter_ms", strconv.FormatFloat(s.JitterMS, 'f', 1, 64)},
		{"mos", strconv.FormatFloat(s.MOS, 'f', 2, 64)},
		{"tone_hz", tone},
		{"dtmf_heard", s.DTMFHeard},
		{"remote_name", s.RemoteName},
		{"lock_type", s.LockType},
		{"pin_set", yesno[s.PINSet]},
		{"pin_tries_left", s.PINTriesLeft},
		{"paired", yesno[s.Paired]},
		{"policy_version", strconv.Itoa(s.PolicyVersion)},
		{"dial_timeout_ms", strconv.FormatInt(s.DialTimeoutMS, 10)},
		{"codecs", s.Codecs},
		{"display", s.Display},
		{"update_version", s.UpdateVersion},
		{"update_progress", strconv.Itoa(s.UpdateProgress)},
		{"update_error", s.UpdateError},
		{"firmware_slot", s.FirmwareSlot},
		{"signin_method", s.SignInMethod},
		{"signin_code", s.SignInCode},
		{"signin_url", s.SignInURL},
		{"signin_expires_in", expiresIn},
		{"signin_error", s.SignInError},
		{"state_damaged", s.StateDamaged},
		{"calls", strconv.Itoa(s.Calls)},
		{"held_calls", strconv.Itoa(s.HeldCalls)},
		{"conference", yesno[s.Conference]},
		{"forward", s.Forward},
		{"missed_calls", strconv.Itoa(int(s.MissedCalls))},
		{"gateway", s.Gateway.String()},
		{"gateway_error", s.GatewayError},
		{"pairing_code", s.PairingCode},
		{"pairing_url", s.PairingURL},
		{"pairing_expires_in", pairingLeft},
		{"firmware_mode", s.FirmwareMode},
	}
}

// Calls lists the phone's calls, oldest first; Status's call keys are
// about the one marked Focused.
func (p *Phone) Calls() ([]CallInfo, error) {
	var out []CallInfo
	if err := p.query(func() { out = p.s.calls.info() }); err != nil {
		return nil, err
	}
	return out, nil
}

// fillStatus writes the phone's state into s. It fills in place rather
// than returning a value so that the loop, which does it after every task,
// keeps a small stack: ten thousand phones' loops each keep whatever their
// deepest task needed.
func (p *Phone) fillStatus(s *Status) {
	l := p.s.line
	if l == nil {
		l = &line{}
	}
	upd := p.upd.Status()
	*s = Status{
		Registered:        l.registered,
		RegistrationError: l.regError,
		User:              p.s.cfg.Account.User,
		Server:            p.s.cfg.Account.Server,
		TLS:               tlsName(l.tlsVersion),
		CallDuration:      p.s.calls.duration(),
		Model:             p.model.ID,
		Vendor:            p.model.Vendor.Name,
		Firmware:          p.s.fw.Version,
		MAC:               p.id.MAC,
		Serial:            p.id.Serial,
		Session:           p.s.session.State(),
		Lock:              p.s.lock.state,
		Call:              p.s.calls.state(),
		Calls:             len(p.s.calls.list),
		HeldCalls:         p.s.calls.heldCount(),
		CallStates:        p.s.calls.counts(),
		Conference:        p.s.calls.conference() != nil,
		MissedCalls:       int32(p.s.history.unviewed(historyUser(p))),
		Forward:           forwardStatus(p.s.cfg.Forward),
		Audio:             p.s.audio,
		DND:               p.s.cfg.DND,
		Mute:              p.s.muted,
		MWI:               p.s.mwi,
		Update:            upd.State,
		Screen:            p.screenName(),
		Menu:              p.s.menu.path(),
		Time:              p.clock.Now(),
		UpdateVersion:     upd.Version,
		UpdateProgress:    upd.Progress,
		UpdateError:       upd.Error,
		FirmwareSlot:      upd.Slot,
		FirmwareMode:      p.s.fw.Mode,
	}
	if f := p.s.calls.focus; f != nil {
		s.Remote, s.RemoteName, s.Digits = f.remote, f.remoteName, f.digits
	}
	if w := p.s.calls.waiting(); w != nil {
		s.CallWaiting = w.remote
	}
	p.s.lock.status(s)
	p.s.policy.status(s, p.media)
	s.StateDamaged = strings.Join(p.s.damaged, ",")
	s.SignInMethod, s.SignInError = string(p.s.session.Method()), p.s.session.Err()
	if t := p.s.session.Tokens(); t != nil && s.User == "" {
		s.User = t.User
	}
	if code, u, left := p.s.session.Code(); code != "" {
		s.SignInCode, s.SignInURL, s.SignInExpiresIn = code, u, int(left/time.Second)
	}
	gatewayStatus(p, s)
	if ms, err := p.s.calls.media(); err == nil {
		s.setMedia(ms.Stats())
	}
	if mix := p.s.calls.confMix(); mix != nil {
		// The user hears both far ends: the tones of their mix.
		s.ToneHz, s.ToneHz2 = mix.Tones()
	}
}

func (s *Status) setMedia(st media.Stats) {
	s.Codec = st.Codec
	s.SRTP = st.SRTPSuite
	s.RTPSent, s.RTPReceived, s.RTPLost = st.PacketsSent, st.PacketsReceived, st.Lost
	s.SRTPAuthFail, s.SRTPReplayed = st.SRTPAuthFailed, st.SRTPReplayed
	s.JitterMS, s.MOS, s.ToneHz, s.ToneHz2 = st.JitterMS, st.MOS, st.ToneHz, st.ToneHz2
	s.DTMFHeard = st.DTMFHeard
}
