package backend

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// allowed is the Allow header of our responses.
const allowed = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, REFER, INFO, MESSAGE, UPDATE, PRACK"

// dialTimeout bounds connecting to a hop we have no connection to.
const dialTimeout = 5 * time.Second

// dispatch routes one request: registrar, calls and subscriptions the
// backend itself is part of, then the proxy.
func (b *Backend) dispatch(in *sip.Request, tx sip.ServerTransaction) {
	if in.From() == nil || in.To() == nil || in.CallID() == nil || in.CSeq() == nil {
		if !in.IsAck() {
			b.reply(in, tx, sip.StatusBadRequest, "Missing From, To, Call-ID or CSeq")
		}
		return
	}
	// The transaction keeps reading the request it was created with (to
	// build 100 Trying, for instance); routing edits a copy.
	req := in.Clone()
	f := flowOf(req)
	if req.Method == sip.REGISTER {
		b.register(req, tx)
		// A connection a phone registered on is exempt from the idle
		// timeout of connections nobody has registered on. Nothing else
		// a connection sends resets that timeout (see guardConn.Read).
		if _, registered := b.userOnFlow(f); registered {
			b.flowRegistered(f)
		}
		return
	}
	if req.Method == sip.CANCEL {
		// A CANCEL matching a pending INVITE never gets here: sipgo's
		// transaction layer answers it and ends the INVITE with 487.
		b.reply(req, tx, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	if !b.localDialogParty(req, tx) || b.localDialog(req, tx) {
		return
	}
	b.popOwnRoutes(req)
	if toTag(req) != "" || req.Route() != nil {
		b.routeDialog(req, tx)
		return
	}
	switch req.Method {
	case sip.INVITE, sip.MESSAGE, sip.REFER, sip.INFO:
		b.routeNew(req, tx)
	case sip.NOTIFY:
		// Only the cloud sends NOTIFYs outside a subscription (MWI); one
		// from a peer would let anyone light a phone's message LED.
		b.reply(req, tx, sip.StatusForbidden, "Forbidden: NOTIFY outside a subscription")
	case sip.SUBSCRIBE:
		b.subscribe(req, tx)
	case sip.OPTIONS:
		res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
		res.AppendHeader(sip.NewHeader("Allow", allowed))
		res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
		b.respond(tx, res)
	case sip.ACK:
		// An ACK outside any dialog has nowhere to go.
	case sip.BYE, sip.UPDATE, sip.PRACK:
		b.reply(req, tx, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
	default:
		res := sip.NewResponseFromRequest(req, sip.StatusMethodNotAllowed, "Method Not Allowed", nil)
		res.AppendHeader(sip.NewHeader("Allow", allowed))
		b.respond(tx, res)
	}
}

func toTag(m interface{ To() *sip.ToHeader }) string {
	if to := m.To(); to != nil {
		t, _ := to.Params.Get("tag")
		return t
	}
	return ""
}

func fromTag(m interface{ From() *sip.FromHeader }) string {
	if from := m.From(); from != nil {
		t, _ := from.Params.Get("tag")
		return t
	}
	return ""
}

// routeNew routes a request that starts something (a call, a message, a
// REFER) to a user: to every contact of the AOR, or to a service.
func (b *Backend) routeNew(req *sip.Request, tx sip.ServerTransaction) {
	caller, ok := b.identifyCaller(req, tx)
	if !ok {
		return
	}
	if b.gatewayDialled(caller, req, tx) {
		return
	}
	target := req.Recipient.User
	if svc, ok := lookupService(target); ok {
		if !req.IsInvite() {
			res := sip.NewResponseFromRequest(req, sip.StatusMethodNotAllowed, "Services only take calls", nil)
			res.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE"))
			b.respond(tx, res)
			return
		}
		b.serviceInvite(svc, caller, req, tx)
		return
	}
	user, ok := b.lookupUser(target)
	if !ok {
		b.reply(req, tx, sip.StatusNotFound, "Not Found")
		return
	}
	if req.IsInvite() && b.routeGatewayUser(caller, user, req, tx) {
		return
	}
	hops := b.hopsTo(user.User)
	if len(hops) == 0 {
		b.reply(req, tx, sip.StatusTemporarilyUnavailable, "Temporarily Unavailable")
		return
	}
	b.log.Info("route", "method", req.Method, "to", user.User, "contacts", len(hops), "call-id", req.CallID().Value())
	// Dialog-creating requests are record-routed so that in-dialog
	// requests come back through us: the only way to reach a phone that
	// does not listen. The dialog is recorded so that only its parties
	// can use it.
	if req.IsInvite() {
		b.assertIdentity(req, caller)
	}
	var seed *dialogSeed
	if req.IsInvite() || req.Method == sip.REFER {
		seed = &dialogSeed{caller: party{user: caller.User, flow: flowOf(req)}, callee: user.User}
	}
	b.proxy(req, tx, hops, seed)
}

// assertIdentity vouches for who calls (RFC 3325), with the name of the
// cloud's directory: the callee shows it whatever the caller's phone sent.
func (b *Backend) assertIdentity(req *sip.Request, caller User) {
	req.RemoveHeader("P-Asserted-Identity")
	req.AppendHeader(sip.NewHeader("P-Asserted-Identity", strconv.Quote(caller.DisplayName)+" <sip:"+caller.User+"@"+b.Domain()+">"))
}

// hopsTo are the registered contacts of user, one hop each.
func (b *Backend) hopsTo(user string) []hop {
	contacts := b.contactsOf(user)
	hops := make([]hop, 0, len(contacts))
	for _, bd := range contacts {
		var u sip.Uri
		if err := sip.ParseUri(bd.Contact, &u); err != nil {
			continue
		}
		hops = append(hops, hop{uri: u, flow: bd.flow(), registered: true, user: bd.AOR})
	}
	return hops
}

// identifyCaller says who sent req. A request over a connection (or, for
// UDP, from an address) that a user registered from is that user's; any
// other request must carry digest credentials (Proxy-Authorization) and
// is challenged with 407; when it is not ok, identifyCaller has responded.
func (b *Backend) identifyCaller(req *sip.Request, tx sip.ServerTransaction) (User, bool) {
	if u, ok := b.userOnFlow(flowOf(req)); ok {
		return u, true
	}
	return b.authenticate(req, tx, nil, true)
}

// hop is one place a request goes.
type hop struct {
	uri  sip.Uri // Request-URI
	flow flow    // transport and host:port to send to
	// registered: flow is a phone's connection, which must not be dialled
	// anew when gone (the phone does not listen).
	registered bool
	// user is the user registered at the hop ("" when not known): a
	// fork to several users (simultaneous ring) records who answered.
	user string
}

// forwardInDialog forwards a request of a proxied dialog to h, its next
// hop (see nextHop).
func (b *Backend) forwardInDialog(req *sip.Request, tx sip.ServerTransaction, h hop) {
	if req.IsAck() {
		if h.registered && !b.connected(h.flow) {
			return // the phone is gone; nothing to confirm
		}
		out, err := b.prepare(req, h, flowOf(req), false)
		if err != nil {
			return
		}
		if err := b.client.WriteRequest(out, sipgo.ClientRequestAddVia); err != nil {
			b.log.Debug("forward ACK failed", "error", err)
		}
		return
	}
	b.proxy(req, tx, []hop{h}, nil)
}

// nextHop is where an in-dialog request goes: the flow named by the alias
// parameter we put into the peer's Contact, else the registered contact
// with that URI, else the Request-URI itself (routeDialog checks it leads
// to the dialog's other party).
func (b *Backend) nextHop(req *sip.Request) (hop, error) {
	if r := req.Route(); r != nil {
		// Someone else's route: follow it (loose routing, RFC 3261 §16.12).
		return b.directHop(req.Recipient, r.Address)
	}
	u := *req.Recipient.Clone()
	if alias, ok := u.UriParams.Get(aliasParam); ok {
		f, ok := decodeAlias(alias)
		if !ok {
			return hop{}, errors.New("bad alias")
		}
		u.UriParams.Remove(aliasParam)
		return hop{uri: u, flow: f, registered: true}, nil
	}
	if bd := b.bindingForContact(u); bd != nil {
		return hop{uri: u, flow: bd.flow(), registered: true}, nil
	}
	return b.directHop(u, u)
}

// directHop sends to the host and port of next, e.g. a lab UA that
// listens. Our own addresses and domain are refused: that would loop.
func (b *Backend) directHop(ruri, next sip.Uri) (hop, error) {
	if b.isOwnURI(next) || strings.EqualFold(next.Host, b.cfg.Domain) || next.Host == "" {
		return hop{}, errors.New("no route to " + ruri.Addr())
	}
	tp := "UDP"
	if v, ok := next.UriParams.Get("transport"); ok && v != "" {
		tp = strings.ToUpper(v)
	}
	if next.IsEncrypted() {
		tp = "TLS"
	}
	port := next.Port
	if port == 0 {
		port = sip.DefaultPort(tp)
	}
	return hop{uri: ruri, flow: flow{transport: tp, addr: net.JoinHostPort(next.Host, strconv.Itoa(port))}}, nil
}

// bindingForContact finds the registration whose contact is u (user,
// host and port), so requests to a registered contact use its flow.
func (b *Backend) bindingForContact(u sip.Uri) *binding {
	b.mu.Lock()
	defer b.mu.Unlock()
	if list := b.byContact[contactKeyOf(u)]; len(list) > 0 {
		return list[0]
	}
	return nil
}

// popOwnRoutes removes the Route entries that name us.
func (b *Backend) popOwnRoutes(req *sip.Request) {
	for {
		r := req.Route()
		if r == nil || !b.isOwnURI(r.Address) {
			return
		}
		req.RemoveHeader("Route")
	}
}

// isOwnURI reports whether u's host and port are one of our listeners.
func (b *Backend) isOwnURI(u sip.Uri) bool {
	port := u.Port
	if port == 0 {
		tp := "udp"
		if v, ok := u.UriParams.Get("transport"); ok {
			tp = strings.ToLower(v)
		}
		if u.IsEncrypted() {
			tp = "tls"
		}
		port = sip.DefaultPort(tp)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.listeners {
		if l.port != port {
			continue
		}
		if u.Host == l.host || strings.EqualFold(u.Host, b.cfg.Domain) || (strings.EqualFold(u.Host, "localhost") && isLoopback(l.host)) {
			return true
		}
	}
	return false
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// The alias URI parameter names the flow a Contact is reachable over,
// "<ip>~<port>~<transport>", as Kamailio's set_contact_alias does: we add
// it to the Contacts we forward, and a request whose Request-URI carries
// it goes back over that flow, with the parameter removed.
const aliasParam = "alias"

func encodeAlias(f flow) string {
	host, port, err := net.SplitHostPort(f.addr)
	if err != nil {
		return ""
	}
	return host + "~" + port + "~" + strings.ToLower(f.transport)
}

func decodeAlias(s string) (flow, bool) {
	parts := strings.Split(s, "~")
	if len(parts) != 3 || net.ParseIP(parts[0]) == nil {
		return flow{}, false
	}
	if _, err := strconv.ParseUint(parts[1], 10, 16); err != nil {
		return flow{}, false
	}
	tp := strings.ToUpper(parts[2])
	if tp != "UDP" && tp != "TCP" && tp != "TLS" {
		return flow{}, false
	}
	return flow{transport: tp, addr: net.JoinHostPort(parts[0], parts[1])}, true
}

// rewriteContacts tags each Contact of m with the flow m came over.
func rewriteContacts(m sip.Message, f flow) {
	alias := encodeAlias(f)
	if alias == "" {
		return
	}
	for _, h := range m.GetHeaders("Contact") {
		if c, ok := h.(*sip.ContactHeader); ok && !c.Address.Wildcard {
			c.Address.UriParams.Add(aliasParam, alias)
		}
	}
}

// recordRoute returns our Record-Route entry for a transport.
func (b *Backend) recordRoute(transport string) *sip.RecordRouteHeader {
	l := b.listenerFor(transport)
	if l == nil {
		return nil
	}
	return &sip.RecordRouteHeader{Address: sip.Uri{
		Scheme:    "sip",
		Host:      l.host,
		Port:      l.port,
		UriParams: sip.HeaderParams{{K: "transport", V: strings.ToLower(l.transport)}, {K: "lr"}},
	}}
}

// prepare makes the copy of req that goes to h: new Request-URI and
// destination, Max-Forwards decremented, Record-Route (two entries when
// the transports on either side differ, RFC 5658) and the Contact alias.
func (b *Backend) prepare(req *sip.Request, h hop, in flow, recordRoute bool) (*sip.Request, error) {
	out := req.Clone()
	out.Recipient = *h.uri.Clone()
	out.SetTransport(h.flow.transport)
	out.SetDestination(h.flow.addr)
	out.SetSource("")
	out.Laddr = sip.Addr{}
	// Max-Forwards is shared between clones in sipgo: replace it.
	mf := sip.MaxForwardsHeader(70)
	if old := out.MaxForwards(); old != nil {
		if old.Val() == 0 {
			return nil, errors.New("too many hops")
		}
		mf = sip.MaxForwardsHeader(old.Val() - 1)
		out.RemoveHeader("Max-Forwards")
	}
	out.AppendHeader(&mf)
	if recordRoute {
		if rr := b.recordRoute(in.transport); rr != nil {
			out.PrependHeader(rr)
		}
		if !strings.EqualFold(in.transport, h.flow.transport) {
			if rr := b.recordRoute(h.flow.transport); rr != nil {
				out.PrependHeader(rr)
			}
		}
	}
	rewriteContacts(out, in)
	return out, nil
}

// connected reports whether a connection to a phone's flow is up.
func (b *Backend) connected(f flow) bool {
	if f.transport == "UDP" {
		return true
	}
	c, err := b.ua.TransportLayer().GetConnection(f.transport, f.addr)
	if err != nil {
		return false
	}
	_, _ = c.TryClose() // GetConnection took a reference
	return true
}

// branch is one forked copy of a proxied request. Only the proxy loop
// touches its fields after startBranch.
type branch struct {
	hop         hop
	req         *sip.Request
	tx          sip.ClientTransaction
	err         error
	done        bool
	provisional bool // a 1xx other than 100 came: a CANCEL can be matched
	cancelled   bool // we want this branch ended
	cancelSent  bool
}

type branchEvent struct {
	br   *branch
	res  *sip.Response
	done bool
	err  error
}

// noBuild is a client request option that sends the request as built.
func noBuild(*sipgo.Client, *sip.Request) error { return nil }

// timerC is how long an INVITE branch may ring without a final response
// (RFC 3261 §16.6 step 11: more than three minutes).
const timerC = 3*time.Minute + time.Second

// proxy forwards req to every hop (forking) and relays the responses
// (RFC 3261 §16): provisional ones as they come, the first 2xx at once
// (cancelling the other branches), else the best final response once
// every branch has answered. A caller's CANCEL cancels every branch.
// A request with a seed creates a dialog: it is record-routed, and the
// dialogs its responses set up are recorded.
func (b *Backend) proxy(req *sip.Request, tx sip.ServerTransaction, hops []hop, seed *dialogSeed) {
	if mf := req.MaxForwards(); mf != nil && mf.Val() == 0 {
		b.reply(req, tx, sip.StatusTooManyHops, "Too Many Hops")
		return
	}
	in := flowOf(req)
	invite := req.IsInvite()
	recordRoute := seed != nil
	if seed != nil && seed.handOff != nil {
		defer seed.handOff()
	}
	if seed != nil && invite {
		// Early dialogs of branches that never answered 2xx end with the
		// INVITE.
		defer b.dialogs.dropEarly(req)
	}
	if invite {
		// Each branch's non-2xx final response is held from the instant
		// our transport reads it: the stack ACKs it, letting the callee
		// go, before pump sees it.
		defer b.finals.Expect(req.CallID().Value())()
	}
	events := make(chan branchEvent)
	stop := make(chan struct{})
	var branches []*branch
	defer func() {
		close(stop)
		for _, br := range branches {
			if br.tx != nil {
				br.tx.Terminate()
			}
		}
	}()

	// held are the holds this proxying keeps until it ends: a caller's
	// CANCEL (taken before sipgo answers the caller with 487, let go once
	// every branch has its final response, i.e. the callees have acted on
	// the CANCEL) and final responses not yet relayed.
	var (
		heldMu sync.Mutex
		held   []func()
		ended  bool
	)
	keep := func(release func()) {
		heldMu.Lock()
		defer heldMu.Unlock()
		if ended {
			release()
			return
		}
		held = append(held, release)
	}
	defer func() {
		heldMu.Lock()
		ended = true
		rel := held
		held = nil
		heldMu.Unlock()
		for _, r := range rel {
			r()
		}
	}()

	// A call to a user who forwards unanswered calls (a gateway setting)
	// rings for seed.noAnswer on the cloud's clock; the firing is held
	// until the proxying ends, so the clock waits for the CANCEL and the
	// forwarding.
	var noAnswer chan struct{}
	noAnswerFired := false
	if invite && seed != nil && seed.noAnswer > 0 && seed.onNoAnswer != nil {
		ch := make(chan struct{})
		noAnswer = ch
		t := b.clock.AfterFunc(seed.noAnswer, func() {
			keep(b.hold())
			close(ch)
		})
		defer t.Stop()
	}

	var cancelled chan struct{}
	if invite {
		cancelled = make(chan struct{})
		var once sync.Once
		tx.OnCancel(func(*sip.Request) {
			keep(b.hold())
			once.Do(func() { close(cancelled) })
		})
	}

	pending := 0
	for _, h := range hops {
		// Each branch is held from its sending to its first answer: with
		// several, the caller's hold may end at another branch's 180
		// while this INVITE is still on its way.
		sent := b.hold()
		br := b.startBranch(req, h, in, recordRoute)
		branches = append(branches, br)
		if br.tx == nil {
			sent()
			br.done = true
			continue
		}
		pending++
		b.goTracked(func() { b.pump(br, events, stop, keep, sent) })
	}

	// A CANCEL is only sent once the branch has sent a provisional
	// response (RFC 3261 §9.1): before that the callee may not have
	// created the transaction the CANCEL has to match.
	cancel := func(br *branch) {
		if !invite || br.done {
			return
		}
		br.cancelled = true
		if br.provisional && !br.cancelSent {
			br.cancelSent = true
			b.sendCancel(br)
		}
	}
	var (
		finalSent bool
		best      *sip.Response
		linger    <-chan time.Time
		ringing   <-chan time.Time
	)
	timers := []*time.Timer{}
	defer func() {
		for _, t := range timers {
			t.Stop()
		}
	}()
	after := func(d time.Duration) <-chan time.Time {
		t := time.NewTimer(d)
		timers = append(timers, t)
		return t.C
	}
	endOthers := func(except *branch) {
		for _, br := range branches {
			if br != except {
				cancel(br)
			}
		}
		// Give the other branches time to end cleanly (487 and its ACK,
		// or a late 2xx to hang up), then drop them.
		if linger == nil {
			linger = after(64 * sip.T1)
		}
	}
	for pending > 0 {
		select {
		case ev := <-events:
			br := ev.br
			if ev.done {
				br.done, br.err = true, ev.err
				pending--
				continue
			}
			res := ev.res
			switch {
			case res.StatusCode == sip.StatusTrying:
				// hop-by-hop; we sent our own
			case res.IsProvisional():
				br.provisional = true
				if br.cancelled {
					cancel(br)
					continue
				}
				if invite {
					ringing = after(timerC)
				}
				if !finalSent {
					if invite {
						b.dialogs.establish(req, res, seed.forHop(br.hop), br.hop.flow, false)
					}
					b.relay(res, req, tx)
				}
				if seed != nil && seed.handOff != nil {
					// The new callee holds the call from here.
					seed.handOff()
				}
			case res.IsSuccess():
				if invite {
					// 2xx ends a proxy's INVITE transaction; the ACK
					// travels end to end (RFC 6026).
					br.tx.Terminate()
				}
				if !finalSent {
					finalSent = true
					b.dialogs.establish(req, res, seed.forHop(br.hop), br.hop.flow, true)
					b.relay(res, req, tx)
					endOthers(br)
				} else if invite {
					b.hangUpLateAnswer(br, res)
				}
			default:
				best = betterFinal(best, res)
			}
		case <-cancelled:
			cancelled = nil
			finalSent = true // sipgo has answered 487
			endOthers(nil)
		case <-noAnswer:
			noAnswer = nil
			if !finalSent {
				noAnswerFired = true
				b.log.Info("no answer; cancelling to forward", "call-id", req.CallID().Value())
				for _, br := range branches {
					cancel(br)
				}
			}
		case <-ringing:
			ringing = nil
			b.log.Info("no answer before Timer C; cancelling", "call-id", req.CallID().Value())
			for _, br := range branches {
				cancel(br)
			}
		case <-linger:
			return
		case <-b.ctx.Done():
			return
		}
	}
	if finalSent {
		return
	}
	// What holds the call (a 3xx, the no-answer firing and the 487s)
	// stays held until the new callee has it.
	handOff := sync.OnceFunc(func() {
		heldMu.Lock()
		rel := held
		held = nil
		heldMu.Unlock()
		for _, r := range rel {
			r()
		}
	})
	if noAnswerFired {
		seed.onNoAnswer(handOff)
		return
	}
	if invite && seed != nil && best != nil && best.StatusCode/100 == 3 {
		if b.followRedirect(req, tx, best, seed, handOff) {
			return
		}
	}
	if invite {
		// The caller may not be holding while it rings: keep the final
		// response held until its ACK shows the caller has it.
		defer b.awaitAck(tx)
	}
	if best != nil {
		if best.StatusCode == sip.StatusServiceUnavailable {
			// RFC 3261 §16.7: a proxy turns 503 into 500.
			b.reply(req, tx, sip.StatusInternalServerError, "Server Internal Error")
			return
		}
		b.relay(best, req, tx)
		return
	}
	code, reason := sip.StatusTemporarilyUnavailable, "Temporarily Unavailable"
	for _, br := range branches {
		switch {
		case errors.Is(br.err, errFlowFailed):
			code, reason = 430, "Flow Failed"
		case errors.Is(br.err, sip.ErrTransactionTimeout):
			code, reason = sip.StatusRequestTimeout, "Request Timeout"
		}
	}
	b.reply(req, tx, code, reason)
}

// awaitAck waits, bounded by Timer H, for the ACK that ends an INVITE
// server transaction answered with a non-2xx final response.
func (b *Backend) awaitAck(tx sip.ServerTransaction) {
	t := time.NewTimer(64 * sip.T1)
	defer t.Stop()
	select {
	case <-tx.Done():
	case <-t.C:
	case <-b.ctx.Done():
	}
}

// startBranch sends one copy of req to h.
func (b *Backend) startBranch(req *sip.Request, h hop, in flow, recordRoute bool) *branch {
	br := &branch{hop: h}
	if h.registered && !b.connected(h.flow) {
		br.err = errFlowFailed
		return br
	}
	out, err := b.prepare(req, h, in, recordRoute)
	if err != nil {
		br.err = err
		return br
	}
	ctx, cancel := context.WithTimeout(b.ctx, dialTimeout)
	defer cancel()
	tx, err := b.client.TransactionRequest(ctx, out, sipgo.ClientRequestAddVia)
	if err != nil {
		b.log.Debug("forward failed", "to", h.flow.addr, "error", err)
		br.err = err
		return br
	}
	br.req, br.tx = out, tx
	return br
}

// pump feeds one branch's responses to the proxy loop. A final response
// is held (keep) from its arrival until the proxying ends: the callee let
// go of it when our ACK reached it, and the caller may not be holding.
func (b *Backend) pump(br *branch, events chan<- branchEvent, stop <-chan struct{}, keep func(func()), sent func()) {
	// sent is the branch's hold until its first answer (or its end).
	var once sync.Once
	answered := func() { once.Do(sent) }
	defer answered()
	send := func(ev branchEvent) bool {
		select {
		case events <- ev:
			return true
		case <-stop:
			return false
		}
	}
	for {
		select {
		case res := <-br.tx.Responses():
			b.cfg.Inflight.Delay()
			if res.StatusCode >= 200 {
				keep(b.hold())
			}
			// Held by the callee since it read the request, and by the
			// proxy from here (keep) for a final.
			answered()
			if res.StatusCode >= 200 {
				if cseq := res.CSeq(); res.StatusCode >= 300 && cseq != nil && cseq.MethodName == sip.INVITE {
					b.finals.Claim(res.CallID().Value())
				}
			}
			if !send(branchEvent{br: br, res: res}) {
				return
			}
		case <-br.tx.Done():
			send(branchEvent{br: br, done: true, err: br.tx.Err()})
			return
		case <-stop:
			return
		}
	}
}

// betterFinal picks the final response to forward when every branch
// failed (RFC 3261 §16.7 step 6): a 6xx, else the lowest class, and within
// 4xx an answer from a phone (486, say) over a timeout or unavailability.
func betterFinal(cur, res *sip.Response) *sip.Response {
	if cur == nil {
		return res
	}
	rank := func(r *sip.Response) int {
		switch {
		case r.StatusCode >= 600:
			return 0
		case r.StatusCode == sip.StatusRequestTimeout, r.StatusCode == sip.StatusTemporarilyUnavailable, r.StatusCode == sip.StatusRequestTerminated:
			return 450
		}
		return r.StatusCode / 100 * 100
	}
	if rank(res) < rank(cur) {
		return res
	}
	return cur
}

// relay forwards a response from a branch to the caller: our Via off, the
// responder's Contact tagged with its flow.
func (b *Backend) relay(res *sip.Response, req *sip.Request, tx sip.ServerTransaction) {
	fwd := res.Clone()
	fwd.RemoveHeader("Via")
	if fwd.GetHeader("History-Info") == nil {
		// A forwarded call's history goes back to the caller too (RFC
		// 7044 §10.2), so its phone can say where the call went.
		for _, h := range req.GetHeaders("History-Info") {
			fwd.AppendHeader(sip.NewHeader("History-Info", h.Value()))
		}
	}
	rewriteContacts(fwd, flowOf(res))
	fwd.SetTransport(req.Transport())
	fwd.SetDestination(req.Source())
	b.respond(tx, fwd)
}

// sendCancel cancels an INVITE branch (RFC 3261 §9.1).
func (b *Backend) sendCancel(br *branch) {
	inv := br.req
	c := sip.NewRequest(sip.CANCEL, *inv.Recipient.Clone())
	c.AppendHeader(sip.HeaderClone(inv.Via()))
	c.AppendHeader(sip.HeaderClone(inv.From()))
	c.AppendHeader(sip.HeaderClone(inv.To()))
	c.AppendHeader(sip.HeaderClone(inv.CallID()))
	c.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	mf := sip.MaxForwardsHeader(70)
	c.AppendHeader(&mf)
	sip.CopyHeaders("Route", inv, c)
	c.SetBody(nil)
	c.SetTransport(inv.Transport())
	c.SetDestination(inv.Destination())
	b.goRequest(func() { b.do(c, noBuild) })
}

// hangUpLateAnswer ends the dialog of a 2xx that lost the race to
// another branch: ACK it, then BYE it, so that phone does not stay
// off-hook in a call nobody is in.
func (b *Backend) hangUpLateAnswer(br *branch, res *sip.Response) {
	target := br.req.Recipient
	if c := res.Contact(); c != nil {
		target = c.Address
	}
	build := func(m sip.RequestMethod, seq uint32) *sip.Request {
		r := sip.NewRequest(m, *target.Clone())
		r.AppendHeader(sip.HeaderClone(br.req.From()))
		r.AppendHeader(sip.HeaderClone(res.To()))
		r.AppendHeader(sip.HeaderClone(br.req.CallID()))
		r.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: m})
		mf := sip.MaxForwardsHeader(70)
		r.AppendHeader(&mf)
		r.SetBody(nil)
		r.SetTransport(br.hop.flow.transport)
		r.SetDestination(br.hop.flow.addr)
		return r
	}
	seq := br.req.CSeq().SeqNo
	if err := b.client.WriteRequest(build(sip.ACK, seq), sipgo.ClientRequestAddVia); err != nil {
		b.log.Debug("ACK late answer failed", "error", err)
	}
	bye := build(sip.BYE, seq+1)
	b.log.Info("hanging up late fork answer", "call-id", br.req.CallID().Value(), "flow", br.hop.flow.addr)
	b.goRequest(func() { b.do(bye, sipgo.ClientRequestAddVia) })
}

// do sends a request and waits for its final response (or Timer F, or
// Close). It is for requests whose answer we do not need.
func (b *Backend) do(req *sip.Request, opts ...sipgo.ClientRequestOption) *sip.Response {
	ctx, cancel := context.WithTimeout(b.ctx, 64*sip.T1)
	defer cancel()
	res, err := b.client.Do(ctx, req, opts...)
	if err != nil {
		b.log.Debug("request failed", "method", req.Method, "error", err)
		return nil
	}
	return res
}

// strayResponse handles responses that match no client transaction.
// Retransmitted 2xx to an INVITE we proxied (their transaction already
// ended, RFC 6026) are forwarded statelessly to the dialog's caller; the
// rest are dropped.
func (b *Backend) strayResponse(res *sip.Response) {
	cseq := res.CSeq()
	via := res.Via()
	if !res.IsSuccess() || cseq == nil || cseq.MethodName != sip.INVITE || via == nil || res.CallID() == nil || !b.isOwnVia(via) {
		return
	}
	fwd := res.Clone()
	fwd.RemoveHeader("Via")
	next := fwd.Via()
	if next == nil {
		return
	}
	// Only a 2xx of a call we proxied, from its callee, goes on, and
	// only to its caller: never where a forged Via points.
	d, ok := b.dialogs.get(res.CallID().Value(), fromTag(res), toTag(res))
	if !ok || !b.isParty(d.callee, flowOf(res)) {
		b.log.Debug("dropped stray 2xx outside our dialogs", "source", res.Source())
		return
	}
	rewriteContacts(fwd, flowOf(res))
	fwd.SetTransport(d.caller.flow.transport)
	fwd.SetDestination(d.caller.flow.addr)
	if err := b.ua.TransportLayer().WriteMsg(fwd); err != nil {
		b.log.Debug("forward stray 2xx failed", "error", err)
	}
}

func (b *Backend) isOwnVia(v *sip.ViaHeader) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.listeners {
		if v.Host == l.host && v.Port == l.port {
			return true
		}
	}
	return false
}
