package media

import (
	"fmt"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/transport/v5/replaydetector"

	"github.com/deskphone/deskphone/media/sdp"
)

// replayWindow is the SRTP replay window in packets; RFC 3711 §3.3.2 asks
// for at least 64.
const replayWindow = 64

// Highest SRTP and SRTCP indexes (RFC 3711 §3.3.1, §3.4).
const (
	maxSRTPIndex  = 1<<48 - 1
	maxSRTCPIndex = 1<<31 - 1
)

// keyMaterial is one direction's SDES key, ready for srtp.CreateContext.
// Each goroutine makes its own contexts from it, since a pion Context is
// stateful (rollover counter, replay window) and not safe for concurrent
// use. pion/srtp v3 protects and unprotects into the caller's buffer
// without allocating (v2 allocated four or five small buffers a packet),
// which is why we moved to it rather than write our own transform.
type keyMaterial struct {
	suite     string
	key, salt []byte
	profile   srtp.ProtectionProfile
	mki       []byte
	overhead  int // bytes SRTP adds to an RTP packet: tag and MKI
}

func newKeyMaterial(c sdp.Crypto) (*keyMaterial, error) {
	key, salt, profile, err := c.Key()
	if err != nil {
		return nil, fmt.Errorf("media: SRTP key: %w", err)
	}
	tag, err := profile.AuthTagRTPLen()
	if err != nil {
		return nil, fmt.Errorf("media: SRTP profile %v: %w", profile, err)
	}
	aead, err := profile.AEADAuthTagLen()
	if err != nil {
		return nil, fmt.Errorf("media: SRTP profile %v: %w", profile, err)
	}
	k := &keyMaterial{suite: c.Suite, key: key, salt: salt, profile: profile, mki: c.MKIBytes()}
	k.overhead = tag + aead + len(k.mki)
	// Fail now, at negotiation, rather than in a media goroutine.
	if _, err := k.sendContext(); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *keyMaterial) options() []srtp.ContextOption {
	if len(k.mki) == 0 {
		return nil
	}
	return []srtp.ContextOption{srtp.MasterKeyIndicator(k.mki)}
}

// sendContext protects what we send, RTP and RTCP alike.
func (k *keyMaterial) sendContext() (*srtp.Context, error) {
	c, err := srtp.CreateContext(k.key, k.salt, k.profile, k.options()...)
	if err != nil {
		return nil, fmt.Errorf("media: SRTP context: %w", err)
	}
	return c, nil
}

// recvContext is a receiving SRTP context with replay protection. Its
// replayed flag is set whenever the replay window refuses a packet.
type recvContext struct {
	ctx      *srtp.Context
	replayed bool
}

// recvContext verifies and decrypts what the peer sends. Each goroutine
// that receives (RTP, RTCP) makes its own.
func (k *keyMaterial) recvContext() (*recvContext, error) {
	rc := &recvContext{}
	opts := append(k.options(),
		srtp.SRTPReplayDetectorFactory(watchReplays(maxSRTPIndex, &rc.replayed)),
		srtp.SRTCPReplayDetectorFactory(watchReplays(maxSRTCPIndex, &rc.replayed)),
	)
	c, err := srtp.CreateContext(k.key, k.salt, k.profile, opts...)
	if err != nil {
		return nil, fmt.Errorf("media: SRTP context: %w", err)
	}
	rc.ctx = c
	return rc, nil
}

// decryptRTP unprotects an SRTP packet into dst and reports whether a
// failure was a replay.
func (rc *recvContext) decryptRTP(dst, pkt []byte, hdr *rtp.Header) (out []byte, replayed bool, err error) {
	rc.replayed = false
	out, err = rc.ctx.DecryptRTP(dst, pkt, hdr)
	return out, rc.replayed, err
}

// decryptRTCP unprotects an SRTCP packet into dst and reports whether a
// failure was a replay.
func (rc *recvContext) decryptRTCP(dst, pkt []byte) (out []byte, replayed bool, err error) {
	rc.replayed = false
	out, err = rc.ctx.DecryptRTCP(dst, pkt, nil)
	return out, rc.replayed, err
}

// watchReplays makes pion's sliding-window replay detectors, wrapped so
// that we learn when one refuses a packet: pion reports a replay with an
// unexported error type that errors.Is cannot match from outside. The
// wrapper keeps pion's allocation-free two-phase API (CheckSeq, Accept),
// which pion uses only when the detector offers it.
func watchReplays(max uint64, flag *bool) func() replaydetector.ReplayDetector {
	return func() replaydetector.ReplayDetector {
		inner := replaydetector.New(replayWindow, max)
		w := &replayWatch{inner: inner, flag: flag}
		if two, ok := inner.(replaydetector.CheckAccepter); ok {
			return &replayWatchTwoPhase{replayWatch: w, two: two}
		}
		return w
	}
}

// replayWatch notes in flag each packet its detector refuses.
type replayWatch struct {
	inner replaydetector.ReplayDetector
	flag  *bool
}

func (w *replayWatch) Check(seq uint64) (func() bool, bool) {
	accept, ok := w.inner.Check(seq)
	if !ok {
		*w.flag = true
	}
	return accept, ok
}

// replayWatchTwoPhase is a replayWatch over a detector with pion's
// allocation-free API, which pion prefers to Check when offered.
type replayWatchTwoPhase struct {
	*replayWatch
	two replaydetector.CheckAccepter
}

func (w *replayWatchTwoPhase) CheckSeq(seq uint64) replaydetector.Token {
	tok := w.two.CheckSeq(seq)
	if !tok.Passed() {
		*w.flag = true
	}
	return tok
}

func (w *replayWatchTwoPhase) Accept(tok replaydetector.Token) bool {
	return w.two.Accept(tok)
}
