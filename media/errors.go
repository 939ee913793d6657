package media

import "errors"

// Sentinel errors; test with errors.Is. Negotiation errors also wrap the
// sdp package's sentinels (sdp.ErrNoCommonCodec, sdp.ErrNoAcceptableCrypto,
// sdp.ErrUnsupportedProfile), on which a SIP UA replies 488.
var (
	// ErrClosed means the engine or session has been closed.
	ErrClosed = errors.New("media: closed")

	// ErrNoPorts means no RTP/RTCP port pair in the range was free.
	ErrNoPorts = errors.New("media: no free RTP port pair")

	// ErrConfig means a Config value is invalid.
	ErrConfig = errors.New("media: invalid configuration")

	// ErrNotNegotiated means the session has no offer/answer result yet
	// (Start before Answer or Accept, Accept without an Offer).
	ErrNotNegotiated = errors.New("media: session not negotiated")

	// ErrSource means a source cannot be built: a bad tone, a WAV file
	// that cannot be read or is not 8/16 kHz mono 16-bit.
	ErrSource = errors.New("media: invalid source")

	// ErrDTMF means a digit is not a DTMF key (0-9, *, #, A-D).
	ErrDTMF = errors.New("media: invalid DTMF digit")
)
