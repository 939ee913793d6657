// The wording of the provider's failures: raw for the syslog and the
// status, a reason key for the vendor's screen.

package signin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// idpReason words a provider error for the screen: its error and
// description, or what went wrong on the way. It never includes the
// request (codes, passwords, tokens).
func idpReason(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		switch {
		case re.ErrorCode == "access_denied" || re.ErrorCode == "authorization_declined":
			return "Sign-in denied"
		case re.ErrorCode != "" && re.ErrorDescription != "":
			return re.ErrorCode + ": " + re.ErrorDescription
		case re.ErrorCode != "":
			return re.ErrorCode
		case re.Response != nil:
			return fmt.Sprintf("the provider answered %s without an OAuth error", re.Response.Status)
		}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return "identity provider unreachable: " + ue.Err.Error()
	}
	return err.Error()
}

// idpProblem is the reason (a key of catalog.SignInReasons) a provider
// error stands for, which the screen words in the vendor's way: from the
// OAuth error code, and for a refused password grant whether the provider
// says legacy authentication is blocked.
func idpProblem(err error) string {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		var ue *url.Error
		if errors.As(err, &ue) {
			return "unreachable"
		}
		return "refused"
	}
	desc := strings.ToLower(re.ErrorDescription)
	switch {
	case re.ErrorCode == "unauthorized_client" && subError(re) == WhyEndOfLife:
		return WhyEndOfLife
	case re.ErrorCode == "access_denied" || re.ErrorCode == "authorization_declined":
		return "denied"
	case re.ErrorCode == "invalid_client" || re.ErrorCode == "unauthorized_client":
		return "client_refused"
	case re.ErrorCode == "invalid_grant" && (strings.Contains(desc, "legacy") || strings.Contains(desc, "resource owner password")):
		return "legacy_auth"
	case re.ErrorCode == "":
		return "unreachable" // an answer that is not OAuth
	}
	return "refused"
}

// subError is the provider's suberror (Entra ID's refinement of the OAuth
// error), "" when it gives none or the body is not JSON.
func subError(re *oauth2.RetrieveError) string {
	var body struct {
		SubError string `json:"suberror"`
	}
	if json.Unmarshal(re.Body, &body) != nil {
		return ""
	}
	return body.SubError
}

// sessionProblem is the reason a refused refresh ends a session for: the
// client ID refused (the cutoff) says so; anything else ended the
// sign-in (revoked, expired, a disabled user).
func sessionProblem(err error) string {
	if why := idpProblem(err); why == "client_refused" || why == WhyEndOfLife {
		return why
	}
	return WhyEnded
}
