// The Teams SIP Gateway's SIP side: the registrar accepts the credentials
// the gateway issues (a device's own account, a user signed in on a
// device), the cloud tells a phone to fetch its provisioning again
// (check-sync), answers the feature codes a gateway phone dials, routes
// calls to a user signed in on the gateway by the user's settings (Do Not
// Disturb, forwarding, simultaneous ring), and carries out the Skype for
// Business (3PIP) phones' end of life.

package backend

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/deskphone/deskphone/backend/gateway"
)

// gatewayHooks is what the SIP side asks of the gateway's service.
type gatewayHooks interface {
	Credentials(account string) []string
	Seen(account string)
	Enroll(deviceAccount, code string) error
	FeatureCode(user, dialled string) (gateway.Settings, error)
	Settings(user string) (gateway.Settings, bool)
	IsDeviceAccount(account string) bool
}

var _ gatewayHooks = (*gateway.Service)(nil)

// Reason phrases of the gateway's refusals, as the phones show them.
const (
	reasonSignInFirst   = "Sign In First"
	reasonBadEnrollCode = "Verification Code Not Valid"
	reasonUsedEnroll    = "Verification Code Already Used"
	reasonUnknownCode   = "Unknown Feature Code"
	reason3PIPEndOfLife = "3PIP End Of Life"
)

// confirmFor is how long a feature code's confirmation tone plays before
// the cloud hangs up, on its clock.
const confirmFor = 2 * time.Second

// gateway is the gateway the SIP side consults, nil when there is none.
func (b *Backend) gateway() gatewayHooks {
	if b.gwHooks != nil {
		return b.gwHooks
	}
	if b.gw != nil {
		return b.gw
	}
	return nil
}

// gatewayCredentials are the passwords the gateway issued for account,
// which the registrar accepts beside the directory's.
func (b *Backend) gatewayCredentials(account string) []string {
	if gw := b.gateway(); gw != nil {
		return gw.Credentials(account)
	}
	return nil
}

// lookupAccount finds who a REGISTER or credentials name: a user of the
// directory, else a gateway device's own account (no directory password:
// only the gateway's credentials authenticate it).
func (b *Backend) lookupAccount(name string) (User, bool) {
	if u, ok := b.lookupUser(name); ok {
		return u, true
	}
	if _, svc := lookupService(name); svc || name == "" {
		return User{}, false
	}
	if len(b.gatewayCredentials(name)) > 0 {
		return User{User: name, DisplayName: name}, true
	}
	return User{}, false
}

// gatewayRegistered says whether account has a live binding: registered
// and, over TCP or TLS, its connection still up.
func (b *Backend) gatewayRegistered(user string) bool {
	for _, bd := range b.contactsOf(user) {
		if b.connected(bd.flow()) {
			return true
		}
	}
	return false
}

// gatewayCheckSync tells the phones registered as user to fetch their
// provisioning again: an out-of-dialog NOTIFY (Event: check-sync) to each
// contact, over the flow it registered on, sent in the background and
// held until answered. It never blocks.
func (b *Backend) gatewayCheckSync(user string) {
	for _, bd := range b.contactsOf(user) {
		var target sip.Uri
		if err := sip.ParseUri(bd.Contact, &target); err != nil {
			continue
		}
		req := sip.NewRequest(sip.NOTIFY, target)
		from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", Host: b.cfg.Domain}, Params: sip.NewParams()}
		from.Params.Add("tag", sip.GenerateTagN(10))
		req.AppendHeader(from)
		req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: bd.AOR, Host: b.cfg.Domain}})
		callID := sip.CallIDHeader(sip.GenerateTagN(16) + "@" + b.cfg.Domain)
		req.AppendHeader(&callID)
		req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.NOTIFY})
		mf := sip.MaxForwardsHeader(70)
		req.AppendHeader(&mf)
		req.AppendHeader(sip.NewHeader("Event", "check-sync"))
		req.AppendHeader(sip.NewHeader("Subscription-State", "terminated"))
		req.SetBody(nil) // Content-Length: 0
		f := bd.flow()
		req.SetTransport(f.transport)
		req.SetDestination(f.addr)
		b.log.Info("check-sync", "user", bd.AOR, "flow", f.transport+" "+f.addr)
		b.goRequest(func() { b.do(req, sipgo.ClientRequestAddVia) })
	}
}

// onGatewayFlow says whether user registered over f with a credential
// the gateway issued.
func (b *Backend) onGatewayFlow(f flow, user string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, bd := range b.byFlow[f] {
		if bd.gateway && strings.EqualFold(bd.AOR, user) {
			return true
		}
	}
	return false
}

// gatewayDialled handles what a gateway phone dials that the gateway
// answers rather than a user: a device's own account may dial *55*CODE
// and nothing else; a user registered through the gateway dials feature
// codes (*99* is voicemail). It reports whether it took req.
func (b *Backend) gatewayDialled(caller User, req *sip.Request, tx sip.ServerTransaction) bool {
	gw := b.gateway()
	if gw == nil {
		return false
	}
	dialled := req.Recipient.User
	if gw.IsDeviceAccount(caller.User) {
		code, enroll := strings.CutPrefix(dialled, "*55*")
		if !enroll || !req.IsInvite() {
			b.log.Info("gateway device dialled before sign-in", "account", caller.User, "dialled", dialled)
			b.reply(req, tx, sip.StatusForbidden, reasonSignInFirst)
			return true
		}
		code = strings.TrimSuffix(code, "#")
		if err := gw.Enroll(caller.User, code); err != nil {
			reason := reasonBadEnrollCode
			switch {
			case errors.Is(err, gateway.ErrUsedEnrollCode):
				reason = reasonUsedEnroll
			case errors.Is(err, gateway.ErrNotDevice):
				reason = reasonSignInFirst
			}
			b.log.Info("enrollment refused", "account", caller.User, "error", err)
			b.reply(req, tx, sip.StatusForbidden, reason)
			return true
		}
		b.log.Info("enrolled", "account", caller.User)
		b.confirm(caller, req, tx)
		return true
	}
	if !strings.HasPrefix(dialled, "*") || !b.onGatewayFlow(flowOf(req), caller.User) {
		return false
	}
	if !req.IsInvite() {
		b.reply(req, tx, sip.StatusNotFound, reasonUnknownCode)
		return true
	}
	if dialled == "*99*" {
		vm, _ := lookupService(ServiceVoicemail)
		b.serviceInvite(vm, caller, req, tx)
		return true
	}
	st, err := gw.FeatureCode(caller.User, dialled)
	if err != nil {
		reason := reasonUnknownCode
		if !errors.Is(err, gateway.ErrUnknownCode) {
			reason = phrase(err.Error())
		}
		b.log.Info("feature code refused", "user", caller.User, "dialled", dialled, "error", err)
		b.reply(req, tx, sip.StatusNotFound, reason)
		return true
	}
	b.log.Info("feature code", "user", caller.User, "dialled", dialled, "dnd", st.DND,
		"forward_to", st.ForwardTo, "forward_no_answer", st.ForwardNoAnswer, "sim_ring", st.SimRing)
	b.confirm(caller, req, tx)
	return true
}

// phrase makes a reason phrase of an error's text: one line, capitalised.
func phrase(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if s == "" {
		return reasonUnknownCode
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// confirm answers a feature code with the tone service's media and hangs
// up after confirmFor on the cloud's clock.
func (b *Backend) confirm(caller User, req *sip.Request, tx sip.ServerTransaction) {
	if !b.reserveService(caller.User) {
		b.reply(req, tx, sip.StatusBusyHere, ServiceCapReason)
		return
	}
	tone, _ := lookupService(ServiceTone)
	b.answerService(tone, caller, req, tx, confirmFor)
}

// routeGatewayUser routes an INVITE to a user signed in on the gateway by
// the user's settings: Do Not Disturb is busy, forwarding forwards as the
// cloud follows a callee's 3xx, simultaneous ring forks to the other
// number too, and forwarding on no answer cancels the callee after
// gateway.NoAnswerAfter of ringing. It reports whether it took req.
func (b *Backend) routeGatewayUser(caller, user User, req *sip.Request, tx sip.ServerTransaction) bool {
	gw := b.gateway()
	if gw == nil {
		return false
	}
	st, signedIn := gw.Settings(user.User)
	if !signedIn {
		return false
	}
	seed := &dialogSeed{caller: party{user: caller.User, flow: flowOf(req)}, callee: user.User}
	switch {
	case st.DND:
		b.log.Info("do not disturb", "user", user.User, "call-id", req.CallID().Value())
		b.reply(req, tx, sip.StatusBusyHere, "Busy Here")
		return true
	case st.ForwardTo != "":
		b.assertIdentity(req, caller)
		b.gatewayForward(req, tx, seed, st.ForwardTo, "unconditional", sip.StatusMovedTemporarily, nil)
		return true
	case st.SimRing == "" && st.ForwardNoAnswer == "":
		return false
	}
	hops := b.hopsTo(user.User)
	if st.SimRing != "" {
		if other, ok := b.lookupUser(st.SimRing); ok && !strings.EqualFold(other.User, user.User) && !strings.EqualFold(other.User, caller.User) {
			hops = append(hops, b.hopsTo(other.User)...)
		}
	}
	b.assertIdentity(req, caller)
	if st.ForwardNoAnswer != "" {
		if len(hops) == 0 {
			b.gatewayForward(req, tx, seed, st.ForwardNoAnswer, "no-answer", sip.StatusRequestTimeout, nil)
			return true
		}
		seed.noAnswer = gateway.NoAnswerAfter
		seed.onNoAnswer = func(handOff func()) {
			b.gatewayForward(req, tx, seed, st.ForwardNoAnswer, "no-answer", sip.StatusRequestTimeout, handOff)
		}
	}
	if len(hops) == 0 {
		b.reply(req, tx, sip.StatusTemporarilyUnavailable, "Temporarily Unavailable")
		return true
	}
	b.log.Info("route", "method", req.Method, "to", user.User, "contacts", len(hops), "sim_ring", st.SimRing,
		"forward_no_answer", st.ForwardNoAnswer, "call-id", req.CallID().Value())
	b.proxy(req, tx, hops, seed)
	return true
}

// gatewayForward forwards a call to a gateway user's target: a user of
// ours, or a service ("" and "voicemail" are the voicemail service).
func (b *Backend) gatewayForward(req *sip.Request, tx sip.ServerTransaction, seed *dialogSeed, target, reason string, cause int, handOff func()) {
	if target == "" {
		target = ServiceVoicemail
	}
	if b.forward(req, tx, target, reason, cause, seed, handOff, true) {
		return
	}
	b.log.Info("forwarding target unknown", "from", seed.callee, "to", target, "call-id", req.CallID().Value())
	if handOff != nil {
		defer handOff()
	}
	b.reply(req, tx, sip.StatusNotFound, "Not Found")
}

// SetGatewayCutoff sets the Skype for Business (3PIP) phones' end of
// life: from t (on the cloud's clock) a REGISTER authenticated by the
// directory's password is refused, and so is every token grant of the
// phones' client IDs. The zero time removes it.
func (b *Backend) SetGatewayCutoff(t time.Time) {
	b.mu.Lock()
	b.cutoff3PIP = t
	b.mu.Unlock()
	b.log.Info("3PIP end of life", "cutoff", t)
}

// GatewayCutoff is what SetGatewayCutoff set, and whether it is set.
func (b *Backend) GatewayCutoff() (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cutoff3PIP, !b.cutoff3PIP.IsZero()
}

// endOfLife3PIP is the cutoff when the cloud's clock is at or past it.
func (b *Backend) endOfLife3PIP() (time.Time, bool) {
	t, ok := b.GatewayCutoff()
	if !ok || b.clock.Now().Before(t) {
		return time.Time{}, false
	}
	return t, true
}

// EndOfLifeText is what the cloud says to a Skype for Business phone
// after the cutoff.
func EndOfLifeText(cutoff time.Time) string {
	return "Skype for Business phones (3PIP) are no longer supported since " + cutoff.UTC().Format(time.DateOnly)
}

// refuse3PIP answers a REGISTER 403 once the 3PIP end of life has come,
// reporting whether it did.
func (b *Backend) refuse3PIP(req *sip.Request, tx sip.ServerTransaction) bool {
	cutoff, over := b.endOfLife3PIP()
	if !over {
		return false
	}
	b.log.Info("3PIP registration refused", "user", req.To().Address.User, "source", req.Source())
	res := sip.NewResponseFromRequest(req, sip.StatusForbidden, reason3PIPEndOfLife, nil)
	res.AppendHeader(sip.NewHeader("Warning", fmt.Sprintf("399 %s %q", b.cfg.Domain, EndOfLifeText(cutoff))))
	b.respond(tx, res)
	return true
}

// actGatewayCutoff takes a date (2023-08-01, midnight UTC), an RFC 3339
// instant, or "none".
func (b *Backend) actGatewayCutoff(in Input) (Answer, error) {
	t, err := cutoffDate(in)
	if err != nil {
		return Answer{}, err
	}
	b.SetGatewayCutoff(t)
	return Answer{Value: b.cutoffInfo()}, nil
}

// CutoffInfo is the 3PIP end of life as the admin API shows it.
type CutoffInfo struct {
	Cutoff *time.Time `json:"cutoff_3pip"` // null: none
	Passed bool       `json:"passed"`      // the cloud's clock is at or past it
}

func (b *Backend) cutoffInfo() CutoffInfo {
	var info CutoffInfo
	if t, ok := b.GatewayCutoff(); ok {
		info.Cutoff = &t
		_, info.Passed = b.endOfLife3PIP()
	}
	return info
}

func checkGatewayCutoff(v string) error {
	if _, err := cutoff(v); err != nil {
		return fmt.Errorf("gateway_cutoff %q is a date (2023-08-01), an RFC 3339 time or none", v)
	}
	return nil
}
