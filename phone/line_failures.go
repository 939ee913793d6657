// How the line words what went wrong: a refused registration, a transport or TLS failure, a failed call.

package phone

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/phone/sipua"
)

// RegistrationReasons are the registration_error values in the phone's own
// words, known before any registration fails: a fleet's metrics start
// each at zero.
func RegistrationReasons() []string {
	return []string{reasonWrongPassword401, reasonWrongPassword407, reasonForbidden, reasonUnknownUser,
		reasonConnectionLost, reasonNoResponse, reasonBadResponse, reasonNotKept, reasonDNS,
		reasonUnreachable, reasonTimeout, reasonHandshake, reasonEndOfLife}
}

// registerFailed: the registration did not go through; it is retried
// with a doubling back-off.
func (l *line) registerFailed(ev sipua.RegisterFailed) {
	if ev.TokenError != "" && l.on.tokenRefused(ev.TokenError) {
		l.registered, l.regError = false, "Token refused: "+ev.TokenError
		return
	}
	l.registered = false
	if ev.Code == 403 && strings.EqualFold(ev.Reason, endOfLifePhrase) && l.on.endOfLife(ev.Reason) {
		// A signed-in session ends with the reason (signed out, the
		// signed-out screen says why); the line is gone with it.
		l.regError = reasonEndOfLife
		return
	}
	if (ev.Code == 401 || ev.Code == 403) && l.on.accountRefused() {
		// The gateway may have given the phone another account: the
		// failure shows if the fetch leaves it with this one.
		l.env.logf("sip", "warn", "sip", "registration refused (%d): asking the gateway", ev.Code)
		return
	}
	l.on.lineLost()
	reason := ""
	switch {
	case ev.Code == 403 && strings.EqualFold(ev.Reason, endOfLifePhrase):
		// The cloud ended Skype for Business firmware: the idle screen
		// words it the vendor's way (registration).
		reason = reasonEndOfLife
	case ev.Code == 401 || ev.Code == 407:
		reason = reasonWrongPassword401
		if ev.Code == 407 {
			reason = reasonWrongPassword407
		}
	case ev.Code == 403 && ev.Reason != "" && !strings.EqualFold(ev.Reason, "Forbidden"):
		// The server says why (a lockout after wrong passwords, a
		// disabled account): its words are the reason.
		reason = fmt.Sprintf("%s (403)", ev.Reason)
	case ev.Code == 403:
		reason = reasonForbidden
	case ev.Code == 404:
		reason = reasonUnknownUser
	case ev.Code != 0:
		reason = fmt.Sprintf("%s (%d)", ev.Reason, ev.Code)
	default:
		reason = l.transportFailure(ev.Err)
	}
	wait := l.retry - jitterOf(l.jitter, l.retry)
	l.env.logf("sip", "err", "sip", "registration failed: %s (retry in %v)", reason, wait)
	l.regError = reason
	l.env.tm.start(&l.reg, wait, func() {
		if !l.retired {
			l.env.logf("sip", "info", "sip", "registration retry after %v", wait)
			l.ua.Register(registerExpires)
		}
	})
	l.retry = min(l.retry*2, retryMax)
}

// endOfLifePhrase is the reason phrase of the registrar's refusal of
// Skype for Business (3PIP) firmware after the cloud's cut-off.
const endOfLifePhrase = "3PIP End Of Life"

// transportFailure names a failure to reach the server and logs it the way
// the vendor's firmware does (seed 002's AudioCodes lines come from the
// catalog's syslog events).
func (l *line) transportFailure(err error) string {
	now := l.env.clock.Now()
	if err == nil {
		return reasonNoResponse
	}
	var netErr net.Error
	var dnsErr *net.DNSError
	switch f := certs.Classify(err); {
	case errors.Is(err, sipua.ErrBadResponse):
		l.env.logf("sip", "err", "sip", "the server's reply could not be read as SIP, or it closed the connection: %v", err)
		return reasonBadResponse
	case errors.Is(err, sipua.ErrNoBinding):
		l.env.logf("sip", "err", "sip", "the server answered 200 but kept no binding (Expires: 0)")
		return reasonNotKept
	case errors.As(err, &dnsErr):
		// Before any TLS: the server's name does not resolve.
		l.env.logf("sip", "err", "sip", "server %s not found: %v", dnsErr.Name, err)
		return reasonDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return reasonUnreachable
	case errors.As(err, &netErr) && netErr.Timeout():
		return reasonTimeout
	case f.IsVerify():
		vars := map[string]string{"code": fmt.Sprint(f.OpenSSLCode()), "text": f.OpenSSLText(), "reason": f.Reason()}
		l.env.log.event(now, "tls_verify_failed", "err", "tls", fmt.Sprintf("server certificate rejected: %s (%v)", f.Reason(), err), vars)
		l.env.log.event(now, "tls_failed", "warn", "tls", "TLS connection failed", vars)
		return "TLS: " + f.Reason()
	case f == certs.FailureProtocolVersion:
		l.env.log.event(now, "tls_version", "err", "tls", fmt.Sprintf("TLS handshake failed: %v", err), nil)
		return "TLS: " + f.Reason()
	case f == certs.FailureHandshake:
		return reasonHandshake
	}
	return "Error: " + err.Error()
}

// failureReason is the screen text for a failed outgoing call.
func failureReason(code int, reason string, err error) string {
	switch code {
	case 486, 600:
		return "Busy"
	case 404, 604:
		return "Not found"
	case 480:
		return "Unavailable"
	case 408:
		return "No answer"
	case 603:
		return "Declined"
	case 488, 606:
		return "Not acceptable"
	case 0:
		if err != nil {
			return "Call failed: " + err.Error()
		}
		return "Call failed"
	}
	return fmt.Sprintf("%s (%d)", reason, code)
}
