package backend

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/media/sdp"
)

// ServiceMedia is the hook where RTP plugs into the calls the backend
// answers itself (echo, tone, voicemail): it answers the caller's SDP
// (codecs, SRTP keys) and carries the audio. Without one those calls are
// answered with plain RTP/AVP on PlaceholderRTPPort and carry no media.
type ServiceMedia interface {
	// Start is called before a service call with an SDP offer is
	// answered; ctx ends with the call (BYE, backend Close). An error
	// rejects the call with 500.
	Start(ctx context.Context, call ServiceCall) (ServiceStream, error)
}

// ServiceStream is the media of one service call.
type ServiceStream interface {
	// Answer answers an offer: the INVITE's, then any re-INVITE's. An
	// error wrapping sdp.ErrNoCommonCodec, sdp.ErrNoAcceptableCrypto or
	// sdp.ErrUnsupportedProfile is answered 488.
	Answer(offer *sdp.Session) (*sdp.Session, error)
}

// receiveCounter is a ServiceStream that counts the RTP packets it has
// received, so the cloud can end a call whose caller went silent.
type receiveCounter interface {
	PacketsReceived() uint64
}

// ServiceCall describes a call a service answers.
type ServiceCall struct {
	Service string // ServiceEcho, ServiceTone or ServiceVoicemail
	Caller  string // the calling user
	CallID  string
}

// PlaceholderRTPPort is the RTP port of service calls without
// Config.Media: the discard port, where nothing listens.
const PlaceholderRTPPort = 9

// serviceFormats are the codecs services accept, in the policy's order.
func serviceFormats() []sdp.Format {
	return []sdp.Format{sdp.G722, sdp.PCMU, sdp.PCMA, sdp.TelephoneEvent}
}

// serviceCall is an established call with a service. Guarded by
// Backend.mu except for the immutable fields.
type serviceCall struct {
	key     string
	service string
	caller  string
	flow    flow   // the caller's, where the INVITE came from
	host    string // our address in SDP
	contact *sip.ContactHeader
	ctx     context.Context // ends with the call
	cancel  context.CancelFunc
	acked   chan struct{}
	ackOnce sync.Once
	local   *sdp.Session
	stream  ServiceStream // nil without Config.Media

	// What a BYE from our side needs (immutable).
	ours   *sip.ToHeader   // our end, with our tag
	peer   *sip.FromHeader // the caller's end
	callID string
	target sip.Uri // the caller's Contact

	cseq         uint32      // our requests in the dialog
	sessionTimer clock.Timer // RFC 4028 expiry, nil when none
	sessionGen   int         // bumped on every refresh

	// A confirmation (a gateway feature code) ends on the cloud's clock
	// (endTimer), and its 200 is held until the ACK (ackHold, nil once
	// let go), so a runner on virtual time never moves the clock past
	// the BYE while the ACK is on its way.
	endTimer clock.Timer
	ackHold  func()
}

// letGoAck releases the hold on a confirmation's 200. Called with
// Backend.mu held.
func (c *serviceCall) letGoAck() {
	if c.ackHold != nil {
		c.ackHold()
		c.ackHold = nil
	}
}

func dialogKey(callID, localTag, remoteTag string) string {
	return callID + "\x00" + localTag + "\x00" + remoteTag
}

// serviceContact is the Contact of a service on the transport a request
// came in on, so in-dialog requests come straight back to us.
func (b *Backend) serviceContact(name, transport string) (*sip.ContactHeader, string) {
	l := b.listenerFor(transport)
	if l == nil {
		return &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: name, Host: b.cfg.Domain}}, "127.0.0.1"
	}
	return &sip.ContactHeader{Address: sip.Uri{
		Scheme:    "sip",
		User:      name,
		Host:      l.host,
		Port:      l.port,
		UriParams: sip.HeaderParams{{K: "transport", V: strings.ToLower(l.transport)}},
	}}, l.host
}

// reserveService counts a call of user to a service against
// MaxServiceCalls; false when the user has that many already.
func (b *Backend) reserveService(user string) bool {
	key := strings.ToLower(user)
	b.mu.Lock()
	defer b.mu.Unlock()
	if limit := b.cfg.MaxServiceCalls; limit > 0 && b.serviceLoad[key] >= limit {
		return false
	}
	b.serviceLoad[key]++
	return true
}

func (b *Backend) releaseService(user string) {
	key := strings.ToLower(user)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.serviceLoad[key]--; b.serviceLoad[key] <= 0 {
		delete(b.serviceLoad, key)
	}
}

// serviceInvite answers an INVITE to a service user.
func (b *Backend) serviceInvite(svc Service, caller User, req *sip.Request, tx sip.ServerTransaction) {
	b.log.Info("service call", "service", svc.Name, "caller", caller.User, "call-id", req.CallID().Value())
	if svc.Name == ServiceBusy {
		b.reply(req, tx, sip.StatusBusyHere, "Busy Here")
		return
	}
	// Each call holds media sockets (or a ringing transaction): a flood
	// from one user must not take the descriptors every user needs.
	if !b.reserveService(caller.User) {
		b.log.Warn("service call refused: too many", "caller", caller.User, "max", b.cfg.MaxServiceCalls)
		res := sip.NewResponseFromRequest(req, sip.StatusBusyHere, ServiceCapReason, nil)
		res.AppendHeader(sip.NewHeader("Warning", `399 deskphone "at most `+strconv.Itoa(b.cfg.MaxServiceCalls)+` calls to services at once"`))
		b.respond(tx, res)
		return
	}
	switch svc.Name {
	case ServiceNoAnswer:
		defer b.releaseService(caller.User)
		contact, _ := b.serviceContact(svc.Name, req.Transport())
		res := sip.NewResponseFromRequest(req, sip.StatusRinging, "Ringing", nil)
		res.AppendHeader(contact)
		b.respond(tx, res)
		// Ring until the caller gives up. sipgo answers the CANCEL and
		// ends the INVITE with 487 Request Terminated.
		select {
		case <-tx.Done():
		case <-b.ctx.Done():
		}
	default:
		b.answerService(svc, caller, req, tx, 0)
	}
}

// answerService answers echo, tone and voicemail calls with 200 and SDP.
// The caller's reservation (reserveService) goes with the call. A
// positive end makes it a confirmation: the cloud hangs up that long after
// the answer, on its clock.
func (b *Backend) answerService(svc Service, caller User, req *sip.Request, tx sip.ServerTransaction, end time.Duration) {
	answered := false
	defer func() {
		if !answered {
			b.releaseService(caller.User)
		}
	}()
	timer, ok := b.sessionTimerOf(req)
	if !ok {
		b.tooSmall(req, tx)
		return
	}
	contact, host := b.serviceContact(svc.Name, req.Transport())
	var remote, local *sdp.Session
	if body := req.Body(); len(body) > 0 {
		if ct := req.ContentType(); ct != nil && !strings.EqualFold(strings.TrimSpace(strings.Split(ct.Value(), ";")[0]), "application/sdp") {
			res := sip.NewResponseFromRequest(req, sip.StatusUnsupportedMediaType, "Unsupported Media Type", nil)
			res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
			b.respond(tx, res)
			return
		}
		var err error
		if remote, err = sdp.Parse(body); err != nil {
			b.reply(req, tx, sip.StatusBadRequest, "Bad SDP")
			return
		}
	}
	ctx, cancel := context.WithCancel(b.ctx)
	var stream ServiceStream
	switch {
	case remote != nil && b.cfg.Media != nil:
		var err error
		if stream, err = b.cfg.Media.Start(ctx, ServiceCall{Service: svc.Name, Caller: caller.User, CallID: req.CallID().Value()}); err != nil {
			cancel()
			b.log.Error("service media", "service", svc.Name, "error", err)
			b.reply(req, tx, sip.StatusInternalServerError, "Media Unavailable")
			return
		}
		if local, err = stream.Answer(remote); err != nil {
			cancel()
			b.notAcceptable(req, tx, err)
			return
		}
	case remote != nil:
		var err error
		if local, err = sdp.Answer(remote, host, PlaceholderRTPPort, serviceFormats(), sdp.SendRecv); err != nil {
			cancel()
			b.notAcceptable(req, tx, err)
			return
		}
	default:
		local = sdp.NewOffer(host, PlaceholderRTPPort, serviceFormats(), sdp.SendRecv)
	}

	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", local.Marshal())
	res.AppendHeader(contact)
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	timer.addTo(res)
	target := req.From().Address
	if c := req.Contact(); c != nil {
		target = c.Address
	}
	call := &serviceCall{
		key:     dialogKey(req.CallID().Value(), toTag(res), fromTag(req)),
		service: svc.Name,
		caller:  caller.User,
		flow:    flowOf(req),
		host:    host,
		contact: contact,
		ctx:     ctx,
		cancel:  cancel,
		acked:   make(chan struct{}),
		local:   local,
		stream:  stream,
		ours:    sip.HeaderClone(res.To()).(*sip.ToHeader),
		peer:    sip.HeaderClone(req.From()).(*sip.FromHeader),
		callID:  req.CallID().Value(),
		target:  *target.Clone(),
	}
	b.mu.Lock()
	b.calls[call.key] = call
	if end > 0 {
		call.ackHold = b.hold()
		call.endTimer = b.clock.AfterFunc(end, func() {
			b.endService(call, `SIP;cause=200;text="confirmed"`, "confirmation played")
		})
	}
	b.mu.Unlock()
	answered = true
	b.armSessionTimer(call, timer)
	if err := tx.Respond(res); err != nil {
		b.endServiceCall(call)
		return
	}
	b.goTracked(func() { b.watchService(call) })
	if !sip.IsReliable(req.Transport()) {
		b.retransmit2xx(call, tx, res)
	}
}

// watchService ends a service call whose 200 OK gets no ACK within
// AckTimeout, then one whose caller sends no RTP for MediaTimeout while
// the cloud expects some, as SBCs do. Both run on the wall clock, as the
// transaction and the media they watch do.
func (b *Backend) watchService(call *serviceCall) {
	if d := b.cfg.AckTimeout; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-call.acked:
			t.Stop()
		case <-t.C:
			b.hangUpService(call, "no ACK")
			return
		case <-call.ctx.Done():
			t.Stop()
			return
		}
	}
	rc, ok := call.stream.(receiveCounter)
	if !ok || b.cfg.MediaTimeout <= 0 {
		return
	}
	tick := time.NewTicker(b.cfg.MediaTimeout / 4)
	defer tick.Stop()
	last, heard := rc.PacketsReceived(), time.Now()
	for {
		select {
		case <-call.ctx.Done():
			return
		case now := <-tick.C:
			if n := rc.PacketsReceived(); n != last || !b.expectsMedia(call) {
				last, heard = n, now
			} else if now.Sub(heard) >= b.cfg.MediaTimeout {
				b.hangUpService(call, "RTP timeout")
				return
			}
		}
	}
}

// expectsMedia reports whether the caller is meant to send RTP: not when
// our answer is sendonly or inactive (the caller holds).
func (b *Backend) expectsMedia(call *serviceCall) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	dir := call.local.Media.Direction
	return dir != sdp.SendOnly && dir != sdp.Inactive
}

// hangUpService ends a service call from the cloud's side with a BYE
// carrying why (RFC 3326 Reason), unless it has ended already.
func (b *Backend) hangUpService(call *serviceCall, why string) {
	b.endService(call, `SIP;cause=408;text="`+why+`"`, why)
}

// endService sends a service call's BYE with the Reason header reason.
func (b *Backend) endService(call *serviceCall, reason, why string) {
	if !b.endServiceCall(call) {
		return
	}
	b.log.Info("service call ended by the cloud", "service", call.service, "caller", call.caller, "reason", why)
	b.mu.Lock()
	call.cseq++
	seq := call.cseq
	b.mu.Unlock()
	bye := sip.NewRequest(sip.BYE, *call.target.Clone())
	bye.AppendHeader(&sip.FromHeader{DisplayName: call.ours.DisplayName, Address: *call.ours.Address.Clone(), Params: call.ours.Params.Clone()})
	bye.AppendHeader(&sip.ToHeader{DisplayName: call.peer.DisplayName, Address: *call.peer.Address.Clone(), Params: call.peer.Params.Clone()})
	callID := sip.CallIDHeader(call.callID)
	bye.AppendHeader(&callID)
	bye.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: sip.BYE})
	mf := sip.MaxForwardsHeader(70)
	bye.AppendHeader(&mf)
	bye.AppendHeader(sip.NewHeader("Reason", reason))
	bye.SetBody(nil) // Content-Length: 0
	bye.SetTransport(call.flow.transport)
	bye.SetDestination(call.flow.addr)
	b.goRequest(func() { b.do(bye, sipgo.ClientRequestAddVia) })
}

// sessionTimer is the RFC 4028 session timer of a service call.
type sessionTimer struct {
	interval  time.Duration // 0: none
	refresher string        // "uac" or "uas"
	require   bool          // the caller supports timer: say Require: timer
}

// sessionTimerOf reads the session timer a request (an INVITE or a
// refresh) asks for, granting at most SessionExpires: none when the
// caller neither asks nor supports one; ok is false when it asks for less
// than MinSessionExpires (422). When the caller does not support timer
// (a proxy inserted the header) the refresher is the cloud (RFC 4028 §9).
func (b *Backend) sessionTimerOf(req *sip.Request) (st sessionTimer, ok bool) {
	if b.cfg.SessionExpires <= 0 {
		return sessionTimer{}, true
	}
	st.require = hasOptionTag(req, "Supported", "timer")
	h := req.GetHeader("Session-Expires")
	if h == nil {
		if !st.require {
			return sessionTimer{}, true
		}
		st.interval, st.refresher = b.cfg.SessionExpires, "uac"
		return st, true
	}
	val, params, _ := strings.Cut(h.Value(), ";")
	n, err := strconv.ParseUint(strings.TrimSpace(val), 10, 32)
	if err != nil {
		return sessionTimer{}, true
	}
	asked := time.Duration(n) * time.Second
	if asked < MinSessionExpires {
		return sessionTimer{}, false
	}
	floor := MinSessionExpires
	if m := req.GetHeader("Min-SE"); m != nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(strings.Split(m.Value(), ";")[0]), 10, 32); err == nil {
			floor = max(floor, time.Duration(n)*time.Second)
		}
	}
	st.interval = max(min(asked, b.cfg.SessionExpires), floor)
	st.refresher = "uac"
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "refresher") && strings.EqualFold(strings.TrimSpace(v), "uas") {
			st.refresher = "uas"
		}
	}
	if !st.require {
		st.refresher = "uas"
	}
	return st, true
}

func (st sessionTimer) addTo(res *sip.Response) {
	if st.interval <= 0 {
		return
	}
	res.AppendHeader(sip.NewHeader("Session-Expires", strconv.Itoa(int(st.interval/time.Second))+";refresher="+st.refresher))
	if st.require {
		res.AppendHeader(sip.NewHeader("Require", "timer"))
	}
}

func hasOptionTag(req *sip.Request, header, tag string) bool {
	for _, h := range req.GetHeaders(header) {
		for _, t := range strings.Split(h.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(t), tag) {
				return true
			}
		}
	}
	return false
}

// armSessionTimer (re)arms a call's session expiry on the cloud's clock.
// When the caller refreshes, the cloud ends an unrefreshed call with a
// BYE at the expiry less the smaller of 32 s and a third of the interval
// (RFC 4028 §10). When the cloud is the refresher it keeps the session up
// itself: the RTP and ACK bounds still end an abandoned call.
func (b *Backend) armSessionTimer(call *serviceCall, st sessionTimer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if call.sessionTimer != nil {
		call.sessionTimer.Stop()
		call.sessionTimer = nil
	}
	call.sessionGen++
	if st.interval <= 0 || st.refresher != "uac" {
		return
	}
	gen := call.sessionGen
	call.sessionTimer = b.clock.AfterFunc(st.interval-min(32*time.Second, st.interval/3), func() {
		b.mu.Lock()
		current := call.sessionGen == gen
		b.mu.Unlock()
		if current {
			b.hangUpService(call, "session expired")
		}
	})
}

// retransmit2xx resends a UAS's 2xx over UDP until the ACK comes (RFC 3261
// §13.3.1.4): T1, doubling up to T2, for at most AckTimeout (64*T1).
func (b *Backend) retransmit2xx(call *serviceCall, tx sip.ServerTransaction, res *sip.Response) {
	interval := sip.T1
	giveUp := time.NewTimer(max(b.cfg.AckTimeout, sip.T1))
	defer giveUp.Stop()
	for {
		t := time.NewTimer(interval)
		select {
		case <-t.C:
			_ = tx.Respond(res)
			interval = min(2*interval, sip.T2)
		case <-call.acked:
			t.Stop()
			return
		case <-giveUp.C:
			t.Stop()
			return
		case <-b.ctx.Done():
			t.Stop()
			return
		}
	}
}

// tooSmall answers a session interval below MinSessionExpires.
func (b *Backend) tooSmall(req *sip.Request, tx sip.ServerTransaction) {
	res := sip.NewResponseFromRequest(req, statusSessionIntervalTooSmall, "Session Interval Too Small", nil)
	res.AppendHeader(sip.NewHeader("Min-SE", strconv.Itoa(int(MinSessionExpires/time.Second))))
	b.respond(tx, res)
}

func (b *Backend) notAcceptable(req *sip.Request, tx sip.ServerTransaction, err error) {
	reason := "Not Acceptable Here"
	if errors.Is(err, sdp.ErrNoCommonCodec) {
		reason = "No Common Codec"
	}
	res := sip.NewResponseFromRequest(req, sip.StatusNotAcceptableHere, reason, nil)
	res.AppendHeader(sip.NewHeader("Warning", `304 deskphone "`+err.Error()+`"`))
	b.respond(tx, res)
}

// endServiceCall forgets a call, stops its media and lets its caller's
// reservation go. It reports whether the call was still up.
func (b *Backend) endServiceCall(call *serviceCall) bool {
	b.mu.Lock()
	_, ok := b.calls[call.key]
	delete(b.calls, call.key)
	if call.sessionTimer != nil {
		call.sessionTimer.Stop()
		call.sessionTimer = nil
	}
	call.sessionGen++
	if call.endTimer != nil {
		call.endTimer.Stop()
	}
	call.letGoAck()
	b.mu.Unlock()
	call.cancel()
	if ok {
		b.releaseService(call.caller)
	}
	return ok
}

// localDialog handles in-dialog requests of calls and subscriptions the
// backend is a party to. It reports whether req was one.
func (b *Backend) localDialog(req *sip.Request, tx sip.ServerTransaction) bool {
	tag := toTag(req)
	if tag == "" {
		return false
	}
	key := dialogKey(req.CallID().Value(), tag, fromTag(req))
	b.mu.Lock()
	call := b.calls[key]
	sub := b.subs[key]
	b.mu.Unlock()
	switch {
	case call != nil:
		b.serviceInDialog(call, req, tx)
	case sub != nil && req.Method == sip.SUBSCRIBE:
		b.refreshSubscription(sub, req, tx)
	case sub != nil:
		if !req.IsAck() {
			b.reply(req, tx, sip.StatusMethodNotAllowed, "Method Not Allowed")
		}
	default:
		return false
	}
	return true
}

// serviceInDialog handles ACK, BYE, re-INVITE (hold and resume) and the
// rest inside a service call.
func (b *Backend) serviceInDialog(call *serviceCall, req *sip.Request, tx sip.ServerTransaction) {
	switch req.Method {
	case sip.ACK:
		call.ackOnce.Do(func() { close(call.acked) })
		b.mu.Lock()
		call.letGoAck()
		b.mu.Unlock()
	case sip.BYE:
		if b.endServiceCall(call) {
			b.log.Info("service call ended", "service", call.service, "caller", call.caller)
		}
		if call.service == ServiceVoicemail {
			// Recorded before the 200, so the caller's phone can count on it.
			if err := b.LeaveVoicemail(call.caller); err != nil {
				b.log.Warn("voicemail", "caller", call.caller, "error", err)
			}
		}
		b.reply(req, tx, sip.StatusOK, "OK")
	case sip.INVITE:
		b.serviceReinvite(call, req, tx)
	case sip.UPDATE:
		// A session refresh (RFC 4028), or nothing the cloud acts on.
		st, ok := b.sessionTimerOf(req)
		if !ok {
			b.tooSmall(req, tx)
			return
		}
		b.armSessionTimer(call, st)
		res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
		st.addTo(res)
		b.respond(tx, res)
	case sip.INFO, sip.OPTIONS, sip.NOTIFY, sip.MESSAGE:
		b.reply(req, tx, sip.StatusOK, "OK")
	default:
		res := sip.NewResponseFromRequest(req, sip.StatusMethodNotAllowed, "Method Not Allowed", nil)
		res.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, BYE, CANCEL, UPDATE, INFO, OPTIONS"))
		b.respond(tx, res)
	}
}

// serviceReinvite answers a new offer in a service call (hold: sendonly
// is answered recvonly; resume: sendrecv), keeping the session's origin
// and bumping its version.
func (b *Backend) serviceReinvite(call *serviceCall, req *sip.Request, tx sip.ServerTransaction) {
	b.mu.Lock()
	prev := call.local.Clone()
	b.mu.Unlock()
	local := prev.Reoffer(prev.Media.Direction)
	if body := req.Body(); len(body) > 0 {
		offer, err := sdp.Parse(body)
		if err != nil {
			b.reply(req, tx, sip.StatusBadRequest, "Bad SDP")
			return
		}
		var ans *sdp.Session
		if call.stream != nil {
			ans, err = call.stream.Answer(offer)
		} else {
			ans, err = sdp.Answer(offer, call.host, prev.Media.Port, serviceFormats(), sdp.SendRecv)
		}
		if err != nil {
			b.notAcceptable(req, tx, err)
			return
		}
		ans.SessionID, ans.SessionVersion = prev.SessionID, prev.SessionVersion+1
		local = ans
	}
	st, ok := b.sessionTimerOf(req)
	if !ok {
		b.tooSmall(req, tx)
		return
	}
	b.mu.Lock()
	call.local = local
	b.mu.Unlock()
	b.armSessionTimer(call, st)
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", local.Marshal())
	res.AppendHeader(call.contact)
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	st.addTo(res)
	b.respond(tx, res)
}

// statusSessionIntervalTooSmall is RFC 4028's 422, which sipgo does not name.
const statusSessionIntervalTooSmall = 422
