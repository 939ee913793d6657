// What the agent shows: the status keys, the idle screen's lines, the offer screen.

package update

import (
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/firmware"
)

// Status is the agent's part of the phone's status.
func (a *Agent) Status() Status {
	u := &a.s
	st := Status{State: u.state, Progress: u.progress, Error: u.err, Slot: u.rec.Slot}
	switch {
	case u.offer != nil:
		st.Version = u.offer.version
	case u.rec.Trial != nil:
		st.Version = u.rec.Trial.Version
	}
	return st
}

// Offered tells the phone to show the offer screen: a vendor that asks,
// an offer not put off, no call. The phone shows it when nothing else
// (a text prompt) is on the screen.
func (a *Agent) Offered() bool {
	return a.cfg.Model.Vendor.Update.Ask && a.s.state == Available && a.env.Call() == ""
}

// Lines are the idle screen's lines about the update.
func (a *Agent) Lines() []string {
	u := &a.s
	up := a.cfg.Model.Vendor.Update
	v := ""
	if u.offer != nil {
		v = u.offer.version
	}
	switch u.state {
	case Available:
		if up.Ask || v != "" {
			return []string{strings.ReplaceAll(up.Offer, "{version}", v)}
		}
	case Downloading:
		return []string{fmt.Sprintf("Downloading %s: %d%%", v, u.progress)}
	case Verifying:
		return []string{"Verifying firmware " + v}
	case Installing, Rebooting:
		return []string{"Installing firmware " + v}
	case Failed, RolledBack, LoopStopped:
		return []string{a.words(v)}
	}
	return nil
}

// words is the vendor's wording of what went wrong with the update, for
// the screen (update_error keeps the raw text).
func (a *Agent) words(version string) string {
	u := &a.s
	why := cmp.Or(u.why, "failed")
	switch u.state {
	case RolledBack:
		why, version = "rolled_back", cmp.Or(u.rec.Refused, version)
	case LoopStopped:
		why = "loop_stopped"
	}
	return strings.ReplaceAll(a.cfg.Model.Vendor.Update.Reasons[why], "{version}", version)
}

// problem is the reason (a key of catalog.UpdateReasons) an update error
// stands for, which the screen words in the vendor's way.
func problem(err error) string {
	switch {
	case errors.Is(err, firmware.ErrNoSpace):
		return "no_space"
	case errors.Is(err, firmware.ErrUntrusted), errors.Is(err, firmware.ErrMismatch), errors.Is(err, firmware.ErrCorrupt),
		errors.Is(err, firmware.ErrTruncated), errors.Is(err, firmware.ErrWrongModel), errors.Is(err, firmware.ErrForeignHost):
		return "rejected"
	}
	if f := certs.Classify(err); f != certs.FailureNone && f != certs.FailureHandshake {
		return "untrusted"
	}
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		return "untrusted"
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return "unreachable"
	}
	return "failed"
}
