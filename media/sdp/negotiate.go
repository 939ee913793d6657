package sdp

import (
	"crypto/rand"
	"encoding/binary"
	"slices"
)

// NewOffer builds an initial offer (RFC 3264 §5) for one audio stream at
// addr:port with formats in preference order. The session id is random and
// the version starts at 1; use Reoffer for later offers in the same session.
func NewOffer(addr string, port int, formats []Format, dir Direction) *Session {
	return &Session{
		Username:       "-",
		SessionID:      newSessionID(),
		SessionVersion: 1,
		OriginAddr:     addr,
		Name:           "-",
		ConnectionAddr: addr,
		Media: Media{
			Port:      port,
			Profile:   ProfileAVP,
			Formats:   slices.Clone(formats),
			Direction: dir,
		},
	}
}

// Answer answers offer (RFC 3264 §6) for a party at addr:port that can
// handle the supported formats and wants media direction dir, with SRTP
// off: it is SRTPPolicy{}.Answer.
//
//   - The answer lists the formats common to both, in the offerer's order,
//     with the offerer's payload type numbers and fmtp (§6.1: the answerer
//     sends with the offerer's numbers, and reusing them for receiving
//     avoids surprises).
//   - Its direction is what dir allows in reverse of the offer: sendonly is
//     answered recvonly, recvonly sendonly, inactive inactive, and sendrecv
//     with dir itself.
//   - Other m= lines are rejected with port 0 in place.
//   - An offered port of 0 (stream disabled) is answered with port 0.
//   - a=crypto lines in an RTP/AVP offer are ignored: the answer is plain.
//
// It returns ErrNoCommonCodec when no audio codec is common (a shared
// telephone-event alone does not make a call) and ErrUnsupportedProfile
// when the offer's profile is not RTP/AVP; a SIP UA then replies 488.
// SRTPPolicy.Answer negotiates RTP/SAVP and keys as well.
func Answer(offer *Session, addr string, port int, supported []Format, dir Direction) (*Session, error) {
	return SRTPPolicy{}.Answer(offer, addr, port, supported, dir)
}

// answerCodecs builds the answer's codecs, direction and other streams;
// the caller has checked the profile.
func answerCodecs(offer *Session, addr string, port int, supported []Format, dir Direction) (*Session, error) {
	var common []Format
	audio := false
	for _, of := range offer.Media.Formats {
		for _, sf := range supported {
			if of.Matches(sf) {
				common = append(common, of)
				audio = audio || !of.IsTelephoneEvent()
				break
			}
		}
	}
	if !audio {
		return nil, ErrNoCommonCodec
	}
	ans := NewOffer(addr, port, common, answerDirection(offer.Media.Direction, dir))
	ans.Media.Profile = offer.Media.Profile
	ans.Media.PTime = offer.Media.PTime
	if offer.Media.Port == 0 {
		ans.Media.Port = 0
	}
	for _, o := range offer.Other {
		o.Port = 0
		o.Formats = slices.Clone(o.Formats)
		ans.Other = append(ans.Other, o)
	}
	return ans, nil
}

// answerDirection is RFC 3264 §6.1: the answerer may send only if the
// offerer receives, and receive only if the offerer sends.
func answerDirection(offered, local Direction) Direction {
	return directionOf(local.Sends() && offered.Receives(), local.Receives() && offered.Sends())
}

// Reoffer returns a copy of s for a new offer in the same session (RFC 3264
// §8): the version is one higher and the direction is dir. Hold is
// Reoffer(SendOnly) (or Inactive when the peer already holds), resume
// Reoffer(SendRecv). Every a=crypto line keeps its tag, suite, lifetime
// and MKI but gets a fresh key, so no key outlives an offer (RFC 4568
// §7.1.4 lets a re-offer change keys; renewing them always means a key
// leaked from one offer does not unlock the rest of the call).
func (s *Session) Reoffer(dir Direction) *Session {
	c := s.Clone()
	c.SessionVersion++
	c.Media.Direction = dir
	for i := range c.Media.Crypto {
		c.Media.Crypto[i].KeySalt = newKey(len(c.Media.Crypto[i].KeySalt))
	}
	return c
}

// newSessionID returns a random id below 2^62, which keeps it a positive
// 64-bit integer for peers that parse it signed.
func newSessionID() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return binary.BigEndian.Uint64(b[:]) >> 2
}
