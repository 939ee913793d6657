// Package sdp is the small part of the Session Description Protocol
// (RFC 4566) that a desk phone needs: one audio stream, offered and answered
// by the rules of RFC 3264.
//
// A [Session] holds the origin line, one connection address and one audio
// [Media]; m= lines of other kinds are kept in [Session.Other] only so that
// an answer can reject them in place (port 0), as RFC 3264 §6 requires.
// Codecs are values ([Format]): the well-known ones are [PCMU], [PCMA],
// [G722] and [TelephoneEvent].
//
// The usual flow:
//
//	offer := sdp.NewOffer("192.0.2.10", 40000, []sdp.Format{sdp.G722, sdp.PCMU, sdp.TelephoneEvent}, sdp.SendRecv)
//	body := offer.Marshal()
//	// ... peer side:
//	remote, err := sdp.Parse(body)
//	answer, err := sdp.Answer(remote, "192.0.2.20", 50000, supported, sdp.SendRecv)
//	if errors.Is(err, sdp.ErrNoCommonCodec) { /* reply 488 Not Acceptable Here */ }
//	// hold: re-offer the same session with a higher version
//	hold := offer.Reoffer(sdp.SendOnly)
//
// SRTP keys travel in the description itself (SDES, RFC 4568): [Media.Crypto]
// holds the a=crypto lines, and an [SRTPPolicy] (mode off, optional or
// mandatory, suites, MKI) makes offers, answers and checks answers:
//
//	policy := sdp.SRTPPolicy{Mode: sdp.SRTPMandatory}
//	offer := sdp.NewOffer(addr, port, formats, sdp.SendRecv)
//	err := policy.Offer(offer) // RTP/SAVP, a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:...
//	// ... peer side:
//	answer, err := peerPolicy.Answer(remote, addr2, port2, supported, sdp.SendRecv)
//	if errors.Is(err, sdp.ErrNoAcceptableCrypto) { /* reply 488 */ }
//	// ... back at the offerer:
//	keys, err := policy.Accept(offer, answer) // keys.Local protects, keys.Remote verifies
//
// Suites are values ([Suite], [LookupSuite]) mapped to pion/srtp protection
// profiles; lines with suites this package does not implement are skipped.
// A re-offer ([Session.Reoffer]) always carries fresh keys.
//
// Two attributes serve a receiver that shares its ports between calls:
// [Media.RTCPMux] (a=rtcp-mux, RFC 5761: RTCP on the RTP port) and
// [Media.SSRC] with [Media.CNAME] (the first a=ssrc, RFC 5576: the
// stream the party sends). [Answer] leaves them to the caller, which
// knows whether it multiplexes.
//
// [Parse] never panics: every input either yields a Session or an error
// naming the offending line ([ParseError]).
package sdp
