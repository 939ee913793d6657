package sipua

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/deskphone/deskphone/media/sdp"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// handle installs the handlers for requests that reach the phone.
func (u *UA) handle() {
	u.srv.OnInvite(u.onInvite)
	u.srv.OnAck(u.onAck)
	u.srv.OnBye(u.onBye)
	u.srv.OnNotify(u.onNotify)
	u.srv.OnRefer(u.onRefer)
	u.srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		res.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, REFER, NOTIFY, OPTIONS"))
		tx.Respond(res)
	})
	u.srv.OnNoRoute(func(req *sip.Request, tx sip.ServerTransaction) {
		tx.Respond(sip.NewResponseFromRequest(req, 501, "Not Implemented", nil))
	})
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
	if to := req.To(); to != nil && to.Params != nil {
		if tag, ok := to.Params.Get("tag"); ok && tag != "" {
			u.onReinvite(req, tx)
			return
		}
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
	c.in = sess
	if err := sess.Respond(180, "Ringing", nil); err != nil {
		u.dropCall(c.id)
		return
	}
	u.emit(IncomingCall{ID: c.id, From: from.Address.User, DisplayName: from.DisplayName})
	// sipgo ends the INVITE transaction when the handler returns, so the
	// handler waits for the user's decision and then for the call's end.
	u.ring(c, sess, answer)
}

func (u *UA) ring(c *call, sess *sipgo.DialogServerSession, answer *sdp.Session) {
	timer := time.NewTimer(ringTimeout)
	defer timer.Stop()
	select {
	case d := <-c.answer:
		if d.code != 200 {
			u.dropCall(c.id)
			sess.Respond(d.code, reasonFor(d.code), nil)
			d.done()
			return
		}
		if err := sess.RespondSDP(answer.Marshal()); err != nil {
			u.dropCall(c.id)
			u.emit(CallEnded{ID: c.id})
			d.done()
			return
		}
		u.startMedia(c)
		u.emit(CallAnswered{ID: c.id, Remote: c.remote})
		d.done()
		u.watchEnd(c, sess.Context())
	case <-sess.Context().Done():
		// CANCEL from the caller (or the transaction died).
		u.dropCall(c.id)
		u.emit(IncomingCancelled{ID: c.id})
	case <-timer.C:
		u.dropCall(c.id)
		sess.Respond(480, "Temporarily Unavailable", nil)
		u.emit(IncomingCancelled{ID: c.id})
	case <-u.ctx.Done():
		sess.Respond(503, "Service Unavailable", nil)
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
	var err error
	if out != nil {
		err = out.ReadBye(req, tx)
	} else {
		err = in.ReadBye(req, tx)
	}
	if err != nil {
		tx.Respond(sip.NewResponseFromRequest(req, 500, err.Error(), nil))
	}
	// watchEnd reports CallEnded when the dialog's context ends.
}

// onNotify takes message-summary (RFC 3842) and refer (RFC 3515) NOTIFYs.
func (u *UA) onNotify(req *sip.Request, tx sip.ServerTransaction) {
	event := ""
	if h := req.GetHeader("Event"); h != nil {
		event, _, _ = strings.Cut(strings.ToLower(strings.TrimSpace(h.Value())), ";")
	}
	switch event {
	case "message-summary":
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		u.emit(parseMessageSummary(req.Body()))
	case "refer":
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		code, ok := sipfragStatus(req.Body())
		if !ok || code < 200 {
			return
		}
		if c := u.findDialog(req); c != nil {
			u.emit(TransferResult{ID: c.id, Code: code})
		}
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
		u.doAuth(ctx, req)
	})
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
	}
	return "Error"
}

// onRefer takes a blind transfer (RFC 3515): 202 Accepted, then a new call
// to the Refer-To target whose outcome goes back in NOTIFYs.
func (u *UA) onRefer(req *sip.Request, tx sip.ServerTransaction) {
	c := u.findDialog(req)
	if c == nil {
		tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	h := req.GetHeader("Refer-To")
	if h == nil {
		tx.Respond(sip.NewResponseFromRequest(req, 400, "Missing Refer-To", nil))
		return
	}
	target := strings.TrimSpace(h.Value())
	target = strings.TrimSuffix(strings.TrimPrefix(target, "<"), ">")
	if i := strings.IndexAny(target, ">?"); i >= 0 {
		target = target[:i]
	}
	var uri sip.Uri
	if err := sip.ParseUri(target, &uri); err != nil {
		tx.Respond(sip.NewResponseFromRequest(req, 400, "Bad Refer-To", nil))
		return
	}
	newID, err := u.invite(uri.String(), c)
	if err != nil {
		tx.Respond(sip.NewResponseFromRequest(req, 400, "Bad Refer-To", nil))
		return
	}
	// The phone learns of the transfer before the 202 goes out, so the
	// transferor's BYE, which follows the 202, finds the new call in place.
	u.emit(Transferred{ID: c.id, NewID: newID, Target: uri.User})
	tx.Respond(sip.NewResponseFromRequest(req, 202, "Accepted", nil))
}
