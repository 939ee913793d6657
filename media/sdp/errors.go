package sdp

import (
	"errors"
	"fmt"
)

// Sentinel errors. Parse wraps them in a *ParseError that names the line;
// test with errors.Is.
var (
	// ErrSyntax means a line is not of the form <letter>=<value>, or a
	// field inside a known line is malformed.
	ErrSyntax = errors.New("sdp: syntax error")

	// ErrVersion means the description does not start with v=0.
	ErrVersion = errors.New("sdp: missing or unsupported version line")

	// ErrNoOrigin means the description has no o= line.
	ErrNoOrigin = errors.New("sdp: no origin line")

	// ErrNoAudio means the description has no m=audio line.
	ErrNoAudio = errors.New("sdp: no audio stream")

	// ErrNoConnection means neither the session nor the audio stream has a
	// c= line, so there is nowhere to send media.
	ErrNoConnection = errors.New("sdp: no connection address")

	// ErrTooLarge means the input exceeds MaxSize.
	ErrTooLarge = errors.New("sdp: description too large")

	// ErrNoCommonCodec means Answer found no audio codec both sides
	// support (telephone-event alone does not count). A SIP UA replies
	// 488 Not Acceptable Here.
	ErrNoCommonCodec = errors.New("sdp: no common codec")

	// ErrUnsupportedProfile means the offer's (or answer's) transport
	// profile is one the SRTP policy cannot accept: anything but RTP/AVP
	// and RTP/SAVP, RTP/SAVP with SRTP off, RTP/AVP with SRTP mandatory.
	// A SIP UA replies 488.
	ErrUnsupportedProfile = errors.New("sdp: unsupported media profile")

	// ErrNoAcceptableCrypto means SRTP is required (by the policy or by
	// an RTP/SAVP offer) and no a=crypto line is acceptable: none at all,
	// none with a suite we accept, or an answer whose key matches none we
	// offered. A SIP UA replies 488.
	ErrNoAcceptableCrypto = errors.New("sdp: no acceptable crypto attribute")

	// ErrUnknownSuite means a crypto-suite name is not one this package
	// implements (see Suites).
	ErrUnknownSuite = errors.New("sdp: unknown crypto-suite")

	// ErrSRTPMode means an SRTP mode name or value is not one of off,
	// optional and mandatory.
	ErrSRTPMode = errors.New("sdp: unknown SRTP mode")
)

// ParseError is a Parse failure on one line. It unwraps to one of the
// sentinel errors above.
type ParseError struct {
	Line int    // 1-based line number; 0 when the error is about the whole description
	Text string // the offending line, shortened for display
	Err  error  // the sentinel, possibly wrapped with detail
}

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return e.Err.Error()
	}
	return fmt.Sprintf("sdp: line %d %q: %v", e.Line, e.Text, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// maxErrText bounds ParseError.Text so a hostile line does not end up
// whole in a log.
const maxErrText = 60

func lineError(n int, line string, err error) *ParseError {
	if len(line) > maxErrText {
		line = line[:maxErrText] + "..."
	}
	return &ParseError{Line: n, Text: line, Err: err}
}
