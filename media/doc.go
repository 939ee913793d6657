// Package media is the phones' media engine: RTP and SRTP audio for the
// calls the SIP user agent sets up, sized so that one process carries a
// thousand calls.
//
// An [Engine] owns a UDP port range, a codec preference and an SRTP
// policy. Each call gets a [Session] ([Engine.NewSession]) bound to an even
// RTP port and the RTCP port above it. The session takes part in SDP
// offer/answer ([Session.Offer], [Session.Answer], [Session.Accept],
// [Session.Reoffer]) through package sdp, which also carries the SDES keys
// (a=crypto, RFC 4568); then [Session.Start] puts it on the air. What a
// session sends is a [Source] (a tone, a WAV file, silence or an echo of
// what it receives); what it hears is decoded, checked for tones and DTMF
// ([Session.Events], [Session.Stats]) and can be recorded to a WAV file.
//
// # Goroutines and buffers
//
// One sender goroutine per Engine ticks every 20 ms and sends one packet
// for every started session, rather than a goroutine and a ticker per
// call. Each session has one reader goroutine on its RTP socket and one on
// its RTCP socket, which block in the kernel between packets. RTP
// timestamps follow the engine's frame clock, so a late tick shows up as
// a timestamp gap (and jitter at the far end), never as drift.
//
// Every per-packet buffer (datagram, decrypted packet, jitter-buffer
// slots, PCM frames, detector state) lives in the session and is reused:
// this package allocates nothing per packet, nor does pion/srtp v3
// protecting and unprotecting into those buffers (see the benchmarks).
// Static sources (tones, WAV files, silence) are encoded once per codec
// and shared by every session that plays them, since encoding G.722
// costs more than the rest of a packet's journey.
// State is split by owner: the sender goroutine alone touches the send
// state, each reader its receive state; the API side publishes an
// immutable negotiated configuration through an atomic pointer, which the
// goroutines pick up on their next packet. Counters are atomics; the few
// composite statistics sit behind a small mutex.
//
// # Behaviour
//
//   - Symmetric RTP: a session sends to the address in the peer's SDP
//     until a valid packet (authenticated, for SRTP) arrives, then to where
//     packets come from.
//   - 20 ms packets, random SSRC, sequence number and timestamp, timestamp
//     steps of the codec's RTP clock (160 for G.711 and G.722).
//   - A reorder buffer of 8 packets that releases a packet once it is next
//     in sequence, or skips a gap once three packets wait behind it;
//     packets that come after their slot was skipped count as late.
//   - RTCP on RTP port + 1 (rtcp-mux is not offered, which every desk
//     phone accepts): an SR, or an RR while we do not send, with an SDES
//     CNAME every RTCPInterval (5 s, randomised ±50% per RFC 3550 §6.3.1);
//     interarrival jitter per RFC 3550 A.8, loss per A.3, round-trip time
//     from LSR and DLSR (§6.4.1).
//   - SRTP: replayed packets (RFC 3711 §3.3.2, a 64-packet window) and
//     packets failing authentication are counted apart and dropped before
//     the decoder. Garbage, truncated packets, a foreign SSRC once the
//     stream is locked, and payload types not negotiated count as bad
//     packets and are dropped. None of it stops the call.
//   - Keys change with every re-offer; for two seconds after a change
//     the receiver still accepts the previous key, so packets in flight
//     during the offer/answer exchange are not lost.
//   - What is heard: RFC 4733 telephone-events; steady tones (a zero
//     crossing estimate confirmed by codecs.DetectTone every 200 ms); and
//     in-band DTMF (codecs.DTMFDetector) when telephone-event was not
//     negotiated, as Asterisk's dtmfmode=auto does.
//   - Only the negotiated codec and telephone-event are accepted; a peer
//     switching to another payload type of the answer counts as bad
//     packets. Packets are sent every 20 ms whatever a=ptime says.
//
// Media runs on the wall clock: the network is real even when the phone's
// own clock is virtual.
package media
