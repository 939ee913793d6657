// Following a callee's redirect: the cloud is the caller's proxy, so a 3xx
// from a phone that forwards its calls (RFC 3261 §16.7 step 5: a proxy may
// recurse on a 3xx's Contact) makes it call the new target in the same
// transaction, recording the forwarding in Diversion (RFC 5806) and
// History-Info (RFC 7044).

package backend

import (
	"fmt"
	"slices"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// maxRedirects bounds how many forwardings one call goes through.
const maxRedirects = 5

// followRedirect calls the target of res, a 3xx to req from the callee of
// seed, when it is a user of ours; it reports false when it did not take
// the call (the 3xx then goes back to the caller, who may follow it). A
// forwarding back to a party the call already went through is a loop
// (482), and more than maxRedirects end the call (480).
//
// handOff lets go of the 3xx's hold; the new proxying calls it once the
// new callee answers anything.
func (b *Backend) followRedirect(req *sip.Request, tx sip.ServerTransaction, res *sip.Response, seed *dialogSeed, handOff func()) bool {
	ct := res.Contact()
	if ct == nil || ct.Address.User == "" {
		return false
	}
	reason := "unknown"
	if d := res.GetHeader("Diversion"); d != nil {
		reason = headerParam(d.Value(), "reason", reason)
	}
	return b.forward(req, tx, ct.Address.User, reason, res.StatusCode, seed, handOff, false)
}

// forward calls target instead of seed's callee, for reason (a Diversion
// reason: user-busy, no-answer, unconditional) and cause (the status the
// retargeting stands for, in History-Info). A user of ours is called; a
// service is answered only when services is set (the gateway's
// forwarding to voicemail). It reports false when target is neither.
func (b *Backend) forward(req *sip.Request, tx sip.ServerTransaction, target, reason string, cause int, seed *dialogSeed, handOff func(), services bool) bool {
	name := ""
	user, ok := b.lookupUser(target)
	svc, isService := Service{}, false
	switch {
	case ok:
		name = user.User
	case services:
		if svc, isService = lookupService(target); !isService {
			return false
		}
		name = svc.Name
	default:
		return false
	}
	from := seed.callee
	visited := append(diverted(req), seed.caller.user, from)
	callID := req.CallID().Value()
	switch {
	case slices.Contains(visited, name):
		b.log.Info("forwarding loop refused", "from", from, "to", name, "call-id", callID)
		b.reply(req, tx, sip.StatusLoopDetected, "Loop Detected")
		return true
	case len(visited)-2 >= maxRedirects:
		b.log.Info("too many forwardings", "from", from, "to", name, "call-id", callID)
		b.reply(req, tx, sip.StatusTemporarilyUnavailable, "Too Many Forwardings")
		return true
	}
	domain := b.Domain()
	n := len(visited) - 1 // this forwarding's count
	req.PrependHeader(sip.NewHeader("Diversion", fmt.Sprintf("<sip:%s@%s>;reason=%s;counter=%d", from, domain, reason, n)))
	index := "1"
	if len(req.GetHeaders("History-Info")) == 0 {
		req.AppendHeader(sip.NewHeader("History-Info", fmt.Sprintf("<sip:%s@%s>;index=1", from, domain)))
	} else {
		index += strings.Repeat(".1", n-1)
	}
	req.AppendHeader(sip.NewHeader("History-Info", fmt.Sprintf("<sip:%s@%s;cause=%d>;index=%s.1", name, domain, cause, index)))
	req.Recipient = sip.Uri{Scheme: req.Recipient.Scheme, User: name, Host: domain}
	if isService {
		b.log.Info("forwarded", "from", from, "to", name, "reason", reason, "call-id", callID)
		if handOff != nil {
			// The service answers at once: the call is its from here.
			defer handOff()
		}
		caller, ok := b.lookupUser(seed.caller.user)
		if !ok {
			caller = User{User: seed.caller.user}
		}
		b.serviceInvite(svc, caller, req, tx)
		return true
	}
	hops := b.hopsTo(user.User)
	b.log.Info("forwarded", "from", from, "to", user.User, "reason", reason, "contacts", len(hops), "call-id", callID)
	if len(hops) == 0 {
		b.reply(req, tx, sip.StatusTemporarilyUnavailable, "Temporarily Unavailable")
		return true
	}
	b.proxy(req, tx, hops, &dialogSeed{caller: seed.caller, callee: user.User, handOff: handOff})
	return true
}

// diverted lists the users a request was forwarded from (its Diversion
// headers, newest first).
func diverted(req *sip.Request) []string {
	var out []string
	for _, h := range req.GetHeaders("Diversion") {
		for _, entry := range strings.Split(h.Value(), ",") {
			var u sip.Uri
			open, end := strings.IndexByte(entry, '<'), strings.IndexByte(entry, '>')
			if open >= 0 && end > open && sip.ParseUri(entry[open+1:end], &u) == nil {
				out = append(out, u.User)
			}
		}
	}
	return out
}

// headerParam is the value of the header parameter name (after the
// name-addr), def when absent.
func headerParam(v, name, def string) string {
	if end := strings.IndexByte(v, '>'); end >= 0 {
		v = v[end+1:]
	}
	for _, p := range strings.Split(v, ";") {
		if k, val, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, name) {
			return val
		}
	}
	return def
}
