package backend

import (
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// The proxy relays in-dialog requests only for dialogs it established
// itself (an INVITE or REFER it record-routed and saw answered), and only
// between that dialog's two parties: a request with a To tag or a Route
// that matches none is refused, so nobody can reach a phone by forging
// dialog identifiers, nor use the cloud to reach an arbitrary address.

// maxDialogs bounds the dialog table; the oldest dialog makes room for a
// new one. Only authenticated users create dialogs.
const maxDialogs = 10000

// party is one end of a proxied dialog: who it is and the flow it used.
// A request is from the party when it arrives over that flow, or over a
// flow the same user has registered on since (a phone that reconnected).
type party struct {
	user string // canonical user name
	flow flow
}

// proxiedDialog is a dialog (early or confirmed) set up through the proxy.
type proxiedDialog struct {
	key                  string
	callID               string
	callerTag, calleeTag string
	caller, callee       party
	confirmed            bool   // a 2xx passed; early dialogs go when the INVITE fails
	referred             bool   // a REFER passed: its NOTIFYs may follow the BYE
	ended                bool   // BYE passed; only the REFER's NOTIFYs remain
	seq                  uint64 // age, for eviction
}

// dialogSeed says who a dialog-creating request is between; the proxy
// turns it into a proxiedDialog when a response with a To tag comes back.
type dialogSeed struct {
	caller party
	callee string // the target user
	// handOff, for a call the cloud forwarded, lets go of what held the
	// call until then (the callee's 3xx); proxy calls it once the new
	// callee has taken over (its first provisional or final response).
	handOff func()
	// noAnswer, when positive, is how long the call rings on the cloud's
	// clock before its branches are cancelled and onNoAnswer takes the
	// call, given what lets go of the holds once the next callee has it
	// (a gateway user's forwarding on no answer).
	noAnswer   time.Duration
	onNoAnswer func(handOff func())
}

// forHop is the seed of the dialog a branch to h sets up: its callee is
// the user registered there when the call forked to several users.
func (s *dialogSeed) forHop(h hop) *dialogSeed {
	if s == nil || h.user == "" || strings.EqualFold(h.user, s.callee) {
		return s
	}
	c := *s
	c.callee = h.user
	return &c
}

// dialogTable holds the proxied dialogs. Its zero value is ready.
type dialogTable struct {
	mu  sync.Mutex
	m   map[string]*proxiedDialog // by dialogKey(Call-ID, caller tag, callee tag)
	seq uint64
}

// establish records (or confirms) the dialog a response to req creates.
func (t *dialogTable) establish(req *sip.Request, res *sip.Response, seed *dialogSeed, callee flow, confirmed bool) {
	calleeTag := toTag(res)
	if seed == nil || calleeTag == "" {
		return
	}
	callID, callerTag := req.CallID().Value(), fromTag(req)
	key := dialogKey(callID, callerTag, calleeTag)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]*proxiedDialog{}
	}
	if d := t.m[key]; d != nil {
		d.confirmed = d.confirmed || confirmed
		return
	}
	if len(t.m) >= maxDialogs {
		var oldest *proxiedDialog
		for _, d := range t.m {
			if oldest == nil || d.seq < oldest.seq {
				oldest = d
			}
		}
		delete(t.m, oldest.key)
	}
	t.seq++
	t.m[key] = &proxiedDialog{
		key: key, callID: callID, callerTag: callerTag, calleeTag: calleeTag,
		caller: seed.caller, callee: party{user: seed.callee, flow: callee},
		confirmed: confirmed, seq: t.seq,
	}
}

// dropEarly forgets the early dialogs of an INVITE that has ended: those
// of the branches that did not answer 2xx.
func (t *dialogTable) dropEarly(req *sip.Request) {
	callID, callerTag := req.CallID().Value(), fromTag(req)
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, d := range t.m {
		if !d.confirmed && d.callID == callID && d.callerTag == callerTag {
			delete(t.m, k)
		}
	}
}

// find returns the dialog req belongs to and the parties in the order
// (sender, peer) its tags say; ok is false when it matches none.
func (t *dialogTable) find(req *sip.Request) (d proxiedDialog, sender, peer party, ok bool) {
	callID, from, to := req.CallID().Value(), fromTag(req), toTag(req)
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.m[dialogKey(callID, from, to)]; p != nil {
		return *p, p.caller, p.callee, true
	}
	if p := t.m[dialogKey(callID, to, from)]; p != nil {
		return *p, p.callee, p.caller, true
	}
	return proxiedDialog{}, party{}, party{}, false
}

// update applies f to the dialog with key, if it is still there.
func (t *dialogTable) update(key string, f func(*proxiedDialog) (keep bool)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if d := t.m[key]; d != nil && !f(d) {
		delete(t.m, key)
	}
}

// hasFlow reports whether f is a party's flow in a dialog not yet ended.
func (t *dialogTable) hasFlow(f flow) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, d := range t.m {
		if !d.ended && (d.caller.flow == f || d.callee.flow == f) {
			return true
		}
	}
	return false
}

// count returns the number of dialogs held.
func (t *dialogTable) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// isParty reports whether a request that arrived over f comes from p.
func (b *Backend) isParty(p party, f flow) bool {
	if p.flow == f {
		return true
	}
	u, ok := b.userOnFlow(f)
	return ok && p.user != "" && strings.EqualFold(u.User, p.user)
}

// reaches reports whether h leads to p: its flow, or a flow p's user is
// registered on.
func (b *Backend) reaches(h hop, p party) bool {
	if h.flow == p.flow {
		return true
	}
	if p.user == "" {
		return false
	}
	for _, bd := range b.contactsOf(p.user) {
		if bd.flow() == h.flow {
			return true
		}
	}
	return false
}

// routeDialog routes a request that claims a dialog (a To tag or a Route
// set): only within a dialog the proxy established, from one of its
// parties to the other. Anything else is refused: 403 for a sender the
// cloud does not know, 481 for a known user's stale dialog.
func (b *Backend) routeDialog(req *sip.Request, tx sip.ServerTransaction) {
	in := flowOf(req)
	d, sender, peer, ok := b.dialogs.find(req)
	if !ok || toTag(req) == "" {
		if req.IsAck() {
			return
		}
		if toTag(req) == "" {
			// An initial request with someone else's Route: we relay for
			// nobody.
			b.log.Warn("refused: initial request with a foreign route", "method", req.Method, "source", in.addr)
			b.reply(req, tx, sip.StatusForbidden, "Forbidden: no relaying")
			return
		}
		if _, known := b.userOnFlow(in); known {
			b.reply(req, tx, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
			return
		}
		b.log.Warn("refused: in-dialog request outside any dialog", "method", req.Method, "source", in.addr)
		b.reply(req, tx, sip.StatusForbidden, "Forbidden")
		return
	}
	if !b.isParty(sender, in) {
		b.log.Warn("refused: in-dialog request from outside the dialog", "method", req.Method, "source", in.addr)
		if !req.IsAck() {
			b.reply(req, tx, sip.StatusForbidden, "Forbidden")
		}
		return
	}
	if d.ended && req.Method != sip.NOTIFY {
		if !req.IsAck() {
			b.reply(req, tx, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		}
		return
	}
	h, err := b.nextHop(req)
	if err != nil || !b.reaches(h, peer) {
		b.log.Warn("refused: in-dialog request to outside the dialog", "method", req.Method, "source", in.addr)
		if !req.IsAck() {
			b.reply(req, tx, sip.StatusForbidden, "Forbidden: no route")
		}
		return
	}
	switch req.Method {
	case sip.REFER:
		b.dialogs.update(d.key, func(d *proxiedDialog) bool { d.referred = true; return true })
	case sip.BYE:
		// The dialog ends with its BYE; an accepted REFER's NOTIFYs may
		// still follow (the transferor hangs up first).
		b.dialogs.update(d.key, func(d *proxiedDialog) bool { d.ended = true; return d.referred })
	case sip.NOTIFY:
		if d.ended && subscriptionTerminated(req) {
			b.dialogs.update(d.key, func(*proxiedDialog) bool { return false })
		}
	}
	b.forwardInDialog(req, tx, h)
}

func subscriptionTerminated(req *sip.Request) bool {
	h := req.GetHeader("Subscription-State")
	return h != nil && strings.HasPrefix(strings.ToLower(strings.TrimSpace(h.Value())), "terminated")
}

// localDialogParty checks that a request in a call or subscription the
// cloud itself is a party to comes from the other party: the flow that
// set it up, or one its user has registered on. A forged BYE must not end
// someone's call, nor a forged refresh take over someone's MWI
// subscription. It answers 403 and reports false when not; requests of
// no local dialog pass.
func (b *Backend) localDialogParty(req *sip.Request, tx sip.ServerTransaction) bool {
	tag := toTag(req)
	if tag == "" {
		return true
	}
	key := dialogKey(req.CallID().Value(), tag, fromTag(req))
	b.mu.Lock()
	var p *party
	if call := b.calls[key]; call != nil {
		p = &party{user: call.caller, flow: call.flow}
	} else if sub := b.subs[key]; sub != nil {
		p = &party{user: sub.user, flow: sub.flow}
	}
	b.mu.Unlock()
	if p == nil || b.isParty(*p, flowOf(req)) {
		return true
	}
	b.log.Warn("refused: request in a local dialog from outside it", "method", req.Method, "source", req.Source())
	if !req.IsAck() {
		b.reply(req, tx, sip.StatusForbidden, "Forbidden")
	}
	return false
}

// get returns the dialog with these Call-ID and tags, the caller's first.
func (t *dialogTable) get(callID, callerTag, calleeTag string) (proxiedDialog, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if d := t.m[dialogKey(callID, callerTag, calleeTag)]; d != nil {
		return *d, true
	}
	return proxiedDialog{}, false
}
