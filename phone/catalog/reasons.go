package catalog

import (
	"fmt"
	"sort"
	"strings"
)

// Reason is one cause the phone may have to show: why a sign-in failed or
// a session ended, why an update did not happen. The phone keeps the raw
// text (an OAuth error, a Go error) for its syslog and its status; the
// screen shows the vendor's wording of the reason instead.
type Reason struct {
	// Failure: the screen puts the vendor's "failed" heading above the
	// wording (a sign-in that did not succeed, as opposed to a session
	// that ended or that the user left).
	Failure bool
	// Default is the wording of a vendor that gives none; empty shows
	// nothing.
	Default string
}

// SignInReasons are the causes of a failed sign-in or an ended session,
// the keys of a vendor's sign_in.reasons.
var SignInReasons = map[string]Reason{
	"denied":          {true, "Sign-in denied"},
	"legacy_auth":     {true, "Password sign-in is blocked: use Web Sign-in"},
	"client_refused":  {true, "This phone is not allowed to sign in: ask your administrator"},
	"refused":         {true, "Sign-in refused: check your user name and password"},
	"unreachable":     {true, "Cannot reach the sign-in service"},
	"pin_unavailable": {true, "PIN sign-in is not available"},
	"ended":           {false, "Your sign-in has ended: sign in again"},
	"too_many_pins":   {false, "Too many wrong PINs: signed out"},
	"line_failed":     {false, "Cannot connect to the phone service"},
	// The cloud ended Skype for Business (3PIP) phones: the registrar
	// refuses REGISTER (403 3PIP End Of Life), the provider every grant
	// (unauthorized_client, suberror 3pip_end_of_life).
	ReasonEndOfLife: {false, "Skype for Business phones are no longer supported: install SIP firmware"},
	"signed_out":    {false, ""},
	"cancelled":     {false, ""},
}

// ReasonEndOfLife is the key of the 3PIP end of life in SignInReasons,
// which the line's failure shows too.
const ReasonEndOfLife = "3pip_end_of_life"

// UpdateReasons are the causes of an update that did not happen, the keys
// of a vendor's update.reasons; the wording may name {version}.
var UpdateReasons = map[string]Reason{
	"failed":       {true, "Firmware update failed"},
	"unreachable":  {true, "Update server unreachable"},
	"untrusted":    {true, "Update server not trusted"},
	"rejected":     {true, "Firmware rejected: not genuine"},
	"no_space":     {true, "No space for the firmware"},
	"rolled_back":  {true, "Rolled back from {version}"},
	"loop_stopped": {true, "Update loop stopped"},
}

// fillReasons checks a vendor's wording of reasons (every key one of
// known) and fills in the defaults of the reasons it leaves out.
func fillReasons(field string, words *map[string]string, known map[string]Reason) *Error {
	if *words == nil {
		*words = map[string]string{}
	}
	for k := range *words {
		if _, ok := known[k]; !ok {
			names := make([]string, 0, len(known))
			for n := range known {
				names = append(names, n)
			}
			sort.Strings(names)
			return &Error{Field: field + "." + k, Msg: fmt.Sprintf("unknown reason (reasons: %s)", strings.Join(names, ", "))}
		}
	}
	for k, r := range known {
		if _, ok := (*words)[k]; !ok {
			(*words)[k] = r.Default
		}
	}
	return nil
}
