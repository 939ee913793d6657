// Package media is the phones' media engine: RTP and SRTP audio for the
// calls the SIP user agent sets up, sized so that one process carries a
// thousand calls.
//
// An [Engine] owns a UDP port range, a codec preference and an SRTP
// policy. Each call gets a [Session] ([Engine.NewSession]) on a local
// port pair: an even RTP port and the RTCP port above it. The session
// takes part in SDP offer/answer ([Session.Offer], [Session.Answer],
// [Session.Accept], [Session.Reoffer]) through package sdp, which also
// carries the SDES keys (a=crypto, RFC 4568); then [Session.Start] puts
// it on the air. What a session sends is a [Source] (a tone, a WAV file,
// silence or an echo of what it receives); what it hears is decoded,
// checked for tones and DTMF ([Session.Events], [Session.Stats]) and can
// be recorded to a WAV file. [Config.Tap] sees every plain RTP packet
// sent and received (after SRTP is removed), for captures.
//
// # Ports
//
// By default ([PortsShared]) the calls of an engine share a few port
// pairs (four, or one per sender goroutine if there are more; each bound
// on first use), rather than binding two sockets per call: a thousand
// calls use eight ports, not two thousand. More than one pair per CPU
// gives the kernel more socket buffer to hold a burst while a reader is
// late. Each session's SDP names its shared port, and received
// packets are demultiplexed to their session:
//
//   - by the far end's SSRC, which our SDP announces (a=ssrc:N cname:...,
//     RFC 5576) and the peer's announces when it writes a=ssrc;
//   - without it, a session awaiting its far end's first packet takes
//     one from the address the peer's SDP names (or, behind a NAT, from
//     elsewhere): with SRTP only a packet its key authenticates, with
//     plain RTP only when it is the one session that could take it;
//     that first valid packet fixes the SSRC;
//   - with SRTP, a packet counts for a session only if the session's key
//     authenticates it, so a packet cannot reach the wrong call whatever
//     its SSRC says;
//   - the far SSRCs of a closed session stay refused for 30 s, so late
//     packets of an ended call (its far end has not stopped yet) are
//     dropped, never taken by the next call on the port.
//
// What no session can claim (another process's stream, late packets,
// garbage from an address no single call talks to) is counted by
// [Engine.StrayPackets], not charged to a call.
//
// [PortsPerCall] binds a pair per call, as before sharing. Use it for far
// ends that tell our calls apart by our port only, and for plain RTP far
// ends that send every call from one address without a=ssrc (some SBCs
// and gateways): then a shared port cannot tell their calls apart until
// each has sent, and two calls awaiting the same address wait in vain.
//
// RTCP shares the RTP port when both sides agree on rtcp-mux (RFC 5761:
// we offer a=rtcp-mux and accept it when offered); RTP and RTCP are told
// apart by the second byte (packet types 192-223 are RTCP, §4). Without
// it RTCP uses the port above, as every desk phone expects.
//
// # Goroutines and buffers
//
// Sender goroutines (one per CPU, at least two) each send for the
// started sessions of their shared ports: every 20 ms, one packet per
// session, collected into batches of 64 and written with one sendmmsg
// (golang.org/x/net/ipv4 WriteBatch). On Linux the datagrams of a batch
// that go to one address with one size leave as one segmented send
// (UDP_SEGMENT): the kernel cuts it into the same datagrams, and calls
// between a few shared ports, as in a fleet, cost a few sends a tick
// rather than one per datagram; a kernel that refuses it gets one
// datagram per message from then on. Per-call ports and RTCP without
// rtcp-mux are written one datagram at a time. All senders follow one
// engine clock (a common epoch, each sender offset by a fraction of a
// frame so that their bursts do not meet), and RTP timestamps follow the
// frame number read from that clock, so a late tick shows up as a
// timestamp gap (and jitter at the far end), never as drift.
//
// Each port has one reader goroutine per socket (two per pair), which
// reads in batches of 64 and hands each datagram to its session under
// the port's lock; a session taken out of the port's index (Close, under
// that lock) receives nothing afterwards. On Linux the reader calls
// recvmmsg itself, into fixed buffers and address slots (x/net's
// ReadBatch, used on other platforms, allocates each sender's address);
// where batched calls fail (a sandbox refusing them) the sockets fall
// back to one datagram per call.
//
// Every per-packet buffer (datagram batches, decrypted packet, jitter-
// buffer slots, PCM frames, detector state) lives in the session or the
// port and is reused: this package allocates nothing per packet sent or
// received, nor does pion/srtp v3 protecting and unprotecting into those
// buffers (see the benchmarks). Static sources (tones, WAV files,
// silence) are encoded once per codec and shared by every session that
// plays them, since encoding G.722 costs more than the rest of a
// packet's journey.
// State is split by owner: the sender goroutine alone touches the send
// state, the port's readers (under its lock) the receive state; the API
// side publishes an immutable negotiated configuration through an atomic
// pointer, which the goroutines pick up on their next packet. Counters
// are atomics; the few composite statistics sit behind a small mutex.
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
//   - RTCP (on the RTP port with rtcp-mux, else on the port above): an
//     SR, or an RR while we do not send, with an SDES CNAME every
//     RTCPInterval (5 s, randomised ±50% per RFC 3550 §6.3.1);
//     interarrival jitter per RFC 3550 A.8, loss per A.3, round-trip time
//     from LSR and DLSR (§6.4.1).
//   - SRTP: replayed packets (RFC 3711 §3.3.2, a 64-packet window) and
//     packets failing authentication are counted apart and dropped before
//     the decoder. Garbage, truncated packets, a foreign SSRC once the
//     stream is locked, and payload types not negotiated count as bad
//     packets of the call they were sent to (on a shared port: the call
//     whose SSRC they carry, or whose far end's address they come from)
//     and are dropped. None of it stops the call.
//   - Keys change with every re-offer; for two seconds after a change
//     the receiver still accepts the previous key, so packets in flight
//     during the offer/answer exchange are not lost.
//   - What is heard: RFC 4733 telephone-events; steady tones (a zero
//     crossing estimate confirmed by codecs.DetectTone every 200 ms); and
//     in-band DTMF (codecs.DTMFDetector) when telephone-event was not
//     negotiated, as Asterisk's dtmfmode=auto does. On a G.722 call that
//     nothing else listens to (no echo, conference, cue or recording),
//     only the codec's lower sub-band is decoded and the detectors run on
//     it at 8 kHz, which costs about 40 % of the full decoder: tones
//     between 4 and 8 kHz are then not heard (DTMF and call-progress
//     tones all lie below 4 kHz). A recording, echo, conference or cue
//     that starts mid-call brings the full decoder back, its upper band
//     settling within a few milliseconds.
//   - Only the negotiated codec and telephone-event are accepted; a peer
//     switching to another payload type of the answer counts as bad
//     packets. Packets are sent every 20 ms whatever a=ptime says.
//
// Media runs on the wall clock: the network is real even when the phone's
// own clock is virtual.
package media
