package sdp

import (
	"fmt"
	"strings"
)

// SRTPMode is a party's SRTP policy for SDES (RFC 4568) negotiation. The
// zero value is SRTPOff.
type SRTPMode int

// SRTP modes.
const (
	// SRTPOff offers plain RTP/AVP without keys and refuses RTP/SAVP
	// offers; a=crypto lines in an RTP/AVP offer are ignored.
	SRTPOff SRTPMode = iota
	// SRTPOptional offers RTP/AVP with a=crypto lines ("best effort"
	// SRTP, what the Skype for Business policy calls "supported") and
	// accepts either: SRTP when the peer's keys are acceptable, plain RTP
	// when it sends none.
	SRTPOptional
	// SRTPMandatory offers RTP/SAVP with keys and accepts only RTP/SAVP
	// with an acceptable key.
	SRTPMandatory
)

// String is the mode's name as ParseSRTPMode reads it.
func (m SRTPMode) String() string {
	switch m {
	case SRTPOff:
		return "off"
	case SRTPOptional:
		return "optional"
	case SRTPMandatory:
		return "mandatory"
	}
	return fmt.Sprintf("SRTPMode(%d)", int(m))
}

// ParseSRTPMode reads "off", "optional" or "mandatory" in any case, and
// the Skype for Business names "rejected", "supported" and "required".
func ParseSRTPMode(s string) (SRTPMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "off", "rejected":
		return SRTPOff, nil
	case "optional", "supported":
		return SRTPOptional, nil
	case "mandatory", "required":
		return SRTPMandatory, nil
	}
	return 0, fmt.Errorf("%w: %q, want off, optional or mandatory", ErrSRTPMode, s)
}

// SRTPPolicy is how a party negotiates SRTP: its mode, the suites it
// accepts and offers, and whether its keys carry an MKI.
type SRTPPolicy struct {
	Mode SRTPMode
	// Suites are the acceptable suite names in preference order; empty
	// means DefaultSuite alone.
	Suites []string
	// MKI writes Microsoft's "|2^31|1:1" (lifetime and a one-byte MKI)
	// on our keys. Peers' keys are accepted with or without one.
	MKI bool
}

func (p SRTPPolicy) suites() []string {
	if len(p.Suites) == 0 {
		return []string{DefaultSuite}
	}
	return p.Suites
}

// Offer prepares s, a new offer from NewOffer, as an offer under p: the
// RTP/SAVP profile and a=crypto lines for SRTPMandatory, RTP/AVP with
// a=crypto lines for SRTPOptional, plain RTP/AVP for SRTPOff. Each
// suite gets one line (tags 1, 2, ...) with a fresh key. Re-offers need
// no call: Session.Reoffer renews the keys it carries. It fails with
// ErrUnknownSuite for a suite this package does not implement.
func (p SRTPPolicy) Offer(s *Session) error {
	s.Media.Profile = ProfileAVP
	s.Media.Crypto = nil
	if p.Mode == SRTPOff {
		return nil
	}
	if p.Mode == SRTPMandatory {
		s.Media.Profile = ProfileSAVP
	}
	for i, name := range p.suites() {
		c, err := NewCrypto(i+1, name, p.MKI)
		if err != nil {
			return err
		}
		s.Media.Crypto = append(s.Media.Crypto, c)
	}
	return nil
}

// Answer is the package-level Answer under p: the same codec and
// direction rules, plus RFC 4568's. It accepts an RTP/AVP or RTP/SAVP
// offer as the mode allows (see SRTPMode), picks the first offered
// crypto line it accepts (SelectCrypto) and answers it with the same tag
// and suite and a fresh key of its own. Errors, for a 488 reply:
// ErrUnsupportedProfile, ErrNoCommonCodec, ErrNoAcceptableCrypto.
func (p SRTPPolicy) Answer(offer *Session, addr string, port int, supported []Format, dir Direction) (*Session, error) {
	if offer == nil {
		return nil, ErrNoAudio
	}
	prof := offer.Media.Profile
	savp := strings.EqualFold(prof, ProfileSAVP)
	if !savp && !strings.EqualFold(prof, ProfileAVP) {
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedProfile, prof)
	}
	var want bool // the answer must carry a key
	switch p.Mode {
	case SRTPOff:
		if savp {
			return nil, fmt.Errorf("%w: %q offered and SRTP is off", ErrUnsupportedProfile, prof)
		}
	case SRTPOptional:
		want = savp
	case SRTPMandatory:
		if !savp && len(offer.Media.Crypto) == 0 {
			return nil, fmt.Errorf("%w: SRTP is mandatory and the offer is plain RTP", ErrNoAcceptableCrypto)
		}
		if !savp {
			return nil, fmt.Errorf("%w: SRTP is mandatory and the offer is %q", ErrUnsupportedProfile, prof)
		}
		want = true
	default:
		return nil, fmt.Errorf("%w: %v", ErrSRTPMode, p.Mode)
	}
	ans, err := answerCodecs(offer, addr, port, supported, dir)
	if err != nil {
		return nil, err
	}
	if p.Mode == SRTPOff || (!savp && len(offer.Media.Crypto) == 0) {
		return ans, nil
	}
	pick, err := SelectCrypto(offer.Media.Crypto, p.suites())
	if err != nil {
		if want {
			return nil, err
		}
		return ans, nil // optional: no usable key, plain RTP
	}
	ours, err := NewCrypto(pick.Tag, pick.Suite, p.MKI)
	if err != nil {
		return nil, err
	}
	ans.Media.Crypto = []Crypto{ours}
	return ans, nil
}

// Accept checks the answer to an offer made under p, as the offerer,
// and returns the keys to use: Keys{} (plain RTP) when the answer
// carries none and p allows that. It fails with ErrNoAcceptableCrypto
// when SRTP is mandatory and the answer has no key, or the answer's key
// does not match one we offered (RFC 4568 §7.1.3), and with
// ErrUnsupportedProfile for a profile other than RTP/AVP and RTP/SAVP.
func (p SRTPPolicy) Accept(offer, answer *Session) (Keys, error) {
	if offer == nil || answer == nil {
		return Keys{}, ErrNoAudio
	}
	prof := answer.Media.Profile
	savp := strings.EqualFold(prof, ProfileSAVP)
	if !savp && !strings.EqualFold(prof, ProfileAVP) {
		return Keys{}, fmt.Errorf("%w: %q", ErrUnsupportedProfile, prof)
	}
	if answer.Media.Port == 0 {
		return Keys{}, nil // stream refused: nothing to protect
	}
	keys, matched := MatchCrypto(&offer.Media, &answer.Media)
	switch p.Mode {
	case SRTPOff:
		if savp {
			return Keys{}, fmt.Errorf("%w: %q answered and SRTP is off", ErrUnsupportedProfile, prof)
		}
		return Keys{}, nil
	case SRTPOptional:
		if len(answer.Media.Crypto) == 0 && !savp {
			return Keys{}, nil
		}
	case SRTPMandatory:
		if !savp {
			return Keys{}, fmt.Errorf("%w: SRTP is mandatory and the answer is %q", ErrNoAcceptableCrypto, prof)
		}
	default:
		return Keys{}, fmt.Errorf("%w: %v", ErrSRTPMode, p.Mode)
	}
	if !matched {
		return Keys{}, fmt.Errorf("%w: the answer's key matches none offered", ErrNoAcceptableCrypto)
	}
	return keys, nil
}

// Keys is a negotiated SDES association: Local is the key we protect
// what we send with, Remote the key the peer protects with. The zero
// value means plain RTP.
type Keys struct {
	Local, Remote Crypto
}

// Secure reports whether the keys protect anything.
func (k Keys) Secure() bool { return k.Local.Suite != "" && k.Remote.Suite != "" }

// MatchCrypto finds the pair of lines, one in our description and one
// in the peer's, with the same tag and suite (RFC 4568 §7.1.3: the
// answer repeats the tag it accepts). It works for either role, since
// one side of an offer/answer pair holds a single line.
func MatchCrypto(local, remote *Media) (Keys, bool) {
	for _, l := range local.Crypto {
		for _, r := range remote.Crypto {
			if l.Tag == r.Tag && strings.EqualFold(l.Suite, r.Suite) {
				if _, ok := l.suite(); !ok {
					continue
				}
				if _, ok := r.suite(); !ok {
					continue
				}
				return Keys{Local: l.clone(), Remote: r.clone()}, true
			}
		}
	}
	return Keys{}, false
}

// SelectCrypto picks the first offered line (the offerer lists them in
// its order of preference) whose suite is in suites and whose session
// parameters we honour. It returns ErrNoAcceptableCrypto when none is;
// a SIP UA then replies 488.
func SelectCrypto(offered []Crypto, suites []string) (Crypto, error) {
	for _, c := range offered {
		if _, ok := c.suite(); !ok || !acceptableParams(c.SessionParams) {
			continue
		}
		for _, name := range suites {
			if strings.EqualFold(c.Suite, name) {
				return c.clone(), nil
			}
		}
	}
	return Crypto{}, fmt.Errorf("%w: %d offered, accepting %s", ErrNoAcceptableCrypto, len(offered), strings.Join(suites, ", "))
}

// acceptableParams reports whether every session parameter is one we
// honour. Only the window-size hint is: UNENCRYPTED_SRTP and friends,
// KDR and FEC change the packet format, and RFC 4568 §6.3 has an
// answerer refuse a line with parameters it does not support.
func acceptableParams(params []string) bool {
	for _, p := range params {
		name, _, _ := strings.Cut(p, "=")
		if !strings.EqualFold(name, "WSH") {
			return false
		}
	}
	return true
}
