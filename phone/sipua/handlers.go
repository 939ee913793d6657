package sipua

import (
	"context"
	"github.com/deskphone/deskphone/clock"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/deskphone/deskphone/media/sdp"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// handle installs the handlers for requests that reach the phone. Each is
// held while it acts on its request: the sender holds until our answer
// comes, and we answer only after reporting what the request means, so
// the phone's hold on the event overlaps.
func (u *UA) handle() {
	held := func(h sipgo.RequestHandler) sipgo.RequestHandler {
		return u.owned(func(req *sip.Request, tx sip.ServerTransaction) {
			u.cfg.Inflight.Delay()
			release := u.hold()
			defer release()
			h(req, tx)
		})
	}
	u.srv.OnInvite(u.owned(u.onInvite)) // holds for itself: it waits for a person
	u.srv.OnAck(held(u.onAck))
	u.srv.OnBye(held(u.onBye))
	u.srv.OnNotify(held(u.onNotify))
	u.srv.OnRefer(held(u.onRefer))
	u.srv.OnOptions(held(func(req *sip.Request, tx sip.ServerTransaction) {
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		res.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, REFER, NOTIFY, OPTIONS"))
		tx.Respond(res)
	}))
	u.srv.OnNoRoute(held(func(req *sip.Request, tx sip.ServerTransaction) {
		tx.Respond(sip.NewResponseFromRequest(req, 501, "Not Implemented", nil))
	}))
}

// owned runs a request's handler as the UA's own work: Close waits for
// it, and once the UA is closing a request is refused (503) untouched.
// The handlers run on the SIP stack's goroutines, which the UA does not
// start, so this is how it keeps them.
func (u *UA) owned(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		u.life.Lock()
		if u.closing {
			u.life.Unlock()
			tx.Respond(sip.NewResponseFromRequest(req, 503, "Service Unavailable", nil))
			return
		}
		u.handlers.Add(1)
		u.life.Unlock()
		defer u.handlers.Done()
		h(req, tx)
	}
}

// findDialog finds the call a request belongs to by its Call-ID.
func (u *UA) findDialog(req *sip.Request) *call {
	cid := req.CallID()
	if cid == nil {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, c := range u.calls {
		c.mu.Lock()
		var id string
		switch {
		case c.out != nil:
			if h := c.out.InviteRequest.CallID(); h != nil {
				id = h.Value()
			}
		case c.in != nil:
			if h := c.in.InviteRequest.CallID(); h != nil {
				id = h.Value()
			}
		}
		c.mu.Unlock()
		if id == cid.Value() {
			return c
		}
	}
	return nil
}

func (u *UA) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	u.cfg.Inflight.Delay()
	release := u.hold()
	defer func() { release() }()
	if to := req.To(); to != nil && to.Params != nil {
		if tag, ok := to.Params.Get("tag"); ok && tag != "" {
			u.onReinvite(req, tx)
			return
		}
	}
	if h := req.GetHeader("Replaces"); h != nil {
		u.onReplacingInvite(req, tx, h.Value(), release)
		return
	}
	offer, err := sdp.Parse(req.Body())
	if err != nil {
		tx.Respond(sip.NewResponseFromRequest(req, 400, "Bad SDP", nil))
		return
	}
	from := req.From()
	c := u.newCall(from.Address.User)
	answer, err := u.answer(c, offer)
	if err != nil {
		u.dropCall(c.id)
		tx.Respond(sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		return
	}
	dua := sipgo.DialogUA{Client: u.client, ContactHDR: *u.contactHeader(), RewriteContact: true}
	sess, err := dua.ReadInvite(req, tx)
	if err != nil {
		u.dropCall(c.id)
		tx.Respond(sip.NewResponseFromRequest(req, 400, err.Error(), nil))
		return
	}
	c.mu.Lock()
	c.in = sess
	c.mu.Unlock()
	// sipgo answers a CANCEL and then ends the INVITE with 487 after
	// calling this, so the phone hears of it before the caller does.
	cancelled := func() {
		rel := u.hold()
		defer rel()
		if u.dropCall(c.id) {
			u.emit(IncomingCancelled{ID: c.id})
		}
	}
	if !tx.OnCancel(func(*sip.Request) { cancelled() }) {
		cancelled()
		return
	}
	// The guard against ringing unanswered is armed before anyone hears
	// of the call, so a virtual clock cannot move on before it runs.
	g := u.armRingGuard()
	// The phone learns of the call before the caller hears it ring.
	u.emit(IncomingCall{ID: c.id, From: from.Address.User, DisplayName: callerName(req)})
	if err := sess.Respond(180, "Ringing", nil); err != nil {
		g.stop()
		cancelled()
		return
	}
	// sipgo ends the INVITE transaction when the handler returns, so the
	// handler waits, unheld, for the user's decision and then for the
	// call's end.
	release()
	u.ring(c, sess, tx, answer, g)
}

// ringGuard ends an incoming call that rings unanswered for ringTimeout
// on the UA's clock. It takes its hold at once when it fires, from the
// clock's own goroutine, so a virtual clock never moves past it before the
// phone has heard of it.
type ringGuard struct {
	t       clock.Timer
	expired chan func()
	done    bool
}

func (u *UA) armRingGuard() *ringGuard {
	g := &ringGuard{expired: make(chan func(), 1)}
	g.t = u.cfg.Clock.AfterFunc(ringTimeout, func() { g.expired <- u.hold() })
	return g
}

// stop ends the guard once the call is decided, not when ring returns (an
// answered call stays there until it ends): a guard that could not be
// stopped has fired or is firing, and its hold is on its way.
func (g *ringGuard) stop() {
	if !g.done && !g.t.Stop() {
		(<-g.expired)()
	}
	g.done = true
}

func (u *UA) ring(c *call, sess *sipgo.DialogServerSession, tx sip.ServerTransaction, answer *sdp.Session, g *ringGuard) {
	defer g.stop()
	defer c.markReported()
	select {
	case d := <-c.answer:
		g.stop()
		defer d.done()
		if d.code != 200 {
			u.dropCall(c.id)
			sess.Respond(d.code, reasonFor(d.code), nil, d.extra...)
			// Held until the ACK ends the transaction: the caller, which
			// no longer holds while it rings, takes over from there.
			u.awaitEnd(tx.Done())
			return
		}
		if err := sess.RespondSDP(answer.Marshal()); err != nil {
			u.dropCall(c.id)
			u.emit(CallEnded{ID: c.id})
			return
		}
		u.startMedia(c)
		u.emit(CallAnswered{ID: c.id, Remote: c.remote})
		c.markReported()
		// Held until the caller's ACK: the caller holds from our 2xx on.
		u.awaitEnd(c.acked)
		d.done()
		u.watchEnd(c, sess.Context())
	case <-sess.Context().Done():
		g.stop()
		// The transaction died; a CANCEL was reported by its callback.
		rel := u.hold()
		if u.dropCall(c.id) {
			u.emit(IncomingCancelled{ID: c.id})
		}
		rel()
	case rel := <-g.expired:
		g.done = true
		defer rel()
		if u.dropCall(c.id) {
			u.emit(IncomingCancelled{ID: c.id})
		}
		sess.Respond(480, "Temporarily Unavailable", nil)
		u.awaitEnd(tx.Done())
	case <-u.ctx.Done():
		g.stop()
		sess.Respond(503, "Service Unavailable", nil)
	}
}

// awaitEnd waits for done, bounded by ackTimeout on the UA's clock and by
// the UA's end. (The transaction itself ends on sipgo's own timers.)
func (u *UA) awaitEnd(done <-chan struct{}) {
	expired := make(chan struct{})
	t := u.cfg.Clock.AfterFunc(ackTimeout, func() { close(expired) })
	defer t.Stop()
	select {
	case <-done:
	case <-expired:
	case <-u.ctx.Done():
	}
}

// onReinvite answers an in-dialog INVITE (the far end holds or resumes).
func (u *UA) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	c := u.findDialog(req)
	if c == nil {
		tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	offer, err := sdp.Parse(req.Body())
	if err != nil {
		tx.Respond(sip.NewResponseFromRequest(req, 400, "Bad SDP", nil))
		return
	}
	answer, err := u.answer(c, offer)
	if err != nil {
		tx.Respond(sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", answer.Marshal())
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	res.AppendHeader(u.contactHeader())
	tx.Respond(res)
}

func (u *UA) onAck(req *sip.Request, tx sip.ServerTransaction) {
	if c := u.findDialog(req); c != nil {
		c.mu.Lock()
		in := c.in
		c.mu.Unlock()
		if in != nil {
			in.ReadAck(req, tx)
		}
		c.ackedOnce.Do(func() { close(c.acked) })
	}
}

func (u *UA) onBye(req *sip.Request, tx sip.ServerTransaction) {
	c := u.findDialog(req)
	if c == nil {
		tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	c.mu.Lock()
	out, in := c.out, c.in
	c.mu.Unlock()
	// Reported before the 200 goes out: the far end holds until then.
	if u.dropCall(c.id) {
		u.emit(CallEnded{ID: c.id, ByRemote: true})
	}
	var err error
	if out != nil {
		err = out.ReadBye(req, tx)
	} else {
		err = in.ReadBye(req, tx)
	}
	if err != nil {
		tx.Respond(sip.NewResponseFromRequest(req, 500, err.Error(), nil))
	}
}

// onNotify takes message-summary (RFC 3842), refer (RFC 3515), the
// in-band provisioning's and check-sync NOTIFYs.
func (u *UA) onNotify(req *sip.Request, tx sip.ServerTransaction) {
	event := ""
	if h := req.GetHeader("Event"); h != nil {
		event, _, _ = strings.Cut(strings.ToLower(strings.TrimSpace(h.Value())), ";")
	}
	switch event {
	case "message-summary":
		if !u.isMWISubscription(req) {
			// Not a subscription of ours (RFC 6665 4.1.3): a stranger
			// does not light the message LED.
			tx.Respond(sip.NewResponseFromRequest(req, 481, "Subscription Does Not Exist", nil))
			return
		}
		u.emit(parseMessageSummary(req.Body()))
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	case EventProvisioning:
		u.provisioningNotify(req, tx)
	case EventCheckSync:
		u.emit(CheckSync{})
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	case "refer":
		if code, ok := sipfragStatus(req.Body()); ok && code >= 200 {
			if c := u.findDialog(req); c != nil {
				u.emit(TransferResult{ID: c.id, Code: code, Reason: sipfragReason(req.Body())})
			}
		}
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	default:
		tx.Respond(sip.NewResponseFromRequest(req, 489, "Bad Event", nil))
	}
}

// SubscribeMWI subscribes to the user's own message summary (RFC 3842);
// NOTIFYs arrive as MessageWaiting events.
func (u *UA) SubscribeMWI(expires time.Duration) {
	u.request(func(ctx context.Context) {
		req := u.newRequest(sip.SUBSCRIBE, u.aor())
		req.To().Address = u.aor()
		req.AppendHeader(sip.NewHeader("Event", "message-summary"))
		req.AppendHeader(sip.NewHeader("Accept", "application/simple-message-summary"))
		req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
		if err := u.connect(ctx, req); err != nil {
			return
		}
		req.ReplaceHeader(u.contactHeader())
		u.rememberMWISubscription(req)
		u.doAuth(ctx, req)
	})
}

// mwiSubscriptions is how many of our latest message-summary SUBSCRIBEs
// (a refresh is a new one) a NOTIFY may belong to.
const mwiSubscriptions = 2

// rememberMWISubscription keeps the dialog identity (Call-ID, our tag) of a
// message-summary SUBSCRIBE: the NOTIFYs of the subscription carry it.
func (u *UA) rememberMWISubscription(req *sip.Request) {
	id := req.CallID().Value() + ";" + fromTag(req)
	u.mu.Lock()
	defer u.mu.Unlock()
	u.mwiSubs = append(u.mwiSubs, id)
	if len(u.mwiSubs) > mwiSubscriptions {
		u.mwiSubs = u.mwiSubs[len(u.mwiSubs)-mwiSubscriptions:]
	}
}

// isMWISubscription reports whether a NOTIFY belongs to one of our
// message-summary subscriptions: its Call-ID, and our tag as its To tag.
func (u *UA) isMWISubscription(req *sip.Request) bool {
	id := ""
	if c := req.CallID(); c != nil {
		id = c.Value()
	}
	tag := ""
	if to := req.To(); to != nil && to.Params != nil {
		tag, _ = to.Params.Get("tag")
	}
	id += ";" + tag
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Contains(u.mwiSubs, id)
}

func fromTag(req *sip.Request) string {
	if f := req.From(); f != nil && f.Params != nil {
		t, _ := f.Params.Get("tag")
		return t
	}
	return ""
}

// parseMessageSummary reads "Messages-Waiting: yes" and
// "Voice-Message: 2/8 (0/2)".
func parseMessageSummary(body []byte) MessageWaiting {
	var mw MessageWaiting
	for _, line := range strings.Split(string(body), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "messages-waiting":
			mw.Waiting = strings.EqualFold(v, "yes")
		case "voice-message":
			counts, _, _ := strings.Cut(v, " ")
			n, o, _ := strings.Cut(counts, "/")
			mw.New, _ = strconv.Atoi(n)
			mw.Old, _ = strconv.Atoi(o)
		}
	}
	return mw
}

func reasonFor(code int) string {
	switch code {
	case 486:
		return "Busy Here"
	case 603:
		return "Decline"
	case 480:
		return "Temporarily Unavailable"
	case 302:
		return "Moved Temporarily"
	}
	return "Error"
}

// onRefer takes a transfer (RFC 3515): 202 Accepted, then a new call to
// the Refer-To target, with the Replaces it carries (an attended
// transfer), whose outcome goes back in NOTIFYs.
func (u *UA) onRefer(req *sip.Request, tx sip.ServerTransaction) {
	c := u.findDialog(req)
	if c == nil {
		tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	u.awaitReported(c)
	h := req.GetHeader("Refer-To")
	if h == nil {
		tx.Respond(sip.NewResponseFromRequest(req, 400, "Missing Refer-To", nil))
		return
	}
	target, replaces := referTarget(h.Value())
	var uri sip.Uri
	if err := sip.ParseUri(target, &uri); err != nil {
		tx.Respond(sip.NewResponseFromRequest(req, 400, "Bad Refer-To", nil))
		return
	}
	newID, err := u.invite(uri.String(), c, referHeaders(req, replaces)...)
	if err != nil {
		tx.Respond(sip.NewResponseFromRequest(req, 400, "Bad Refer-To", nil))
		return
	}
	// The phone learns of the transfer before the 202 goes out, so the
	// transferor's BYE, which follows the 202, finds the new call in place.
	u.emit(Transferred{ID: c.id, NewID: newID, Target: uri.User, Replaces: replaces != ""})
	u.tellPlaced(newID)
	tx.Respond(sip.NewResponseFromRequest(req, 202, "Accepted", nil))
}

// tellPlaced lets the INVITE of call id go, now that the phone knows of
// the call.
func (u *UA) tellPlaced(id string) {
	u.mu.Lock()
	c := u.calls[id]
	u.mu.Unlock()
	if c != nil && c.told != nil {
		close(c.told)
	}
}

// callerName is the caller's display name: the From header's, else the one
// the server asserts (P-Asserted-Identity, RFC 3325).
func callerName(req *sip.Request) string {
	if from := req.From(); from != nil && from.DisplayName != "" {
		return from.DisplayName
	}
	if h := req.GetHeader("P-Asserted-Identity"); h != nil {
		var uri sip.Uri
		params := sip.NewParams()
		if name, err := sip.ParseAddressValue(h.Value(), &uri, &params); err == nil {
			return name
		}
	}
	return ""
}
