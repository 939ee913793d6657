package sipua

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/deskphone/deskphone/media"
	"github.com/deskphone/deskphone/media/sdp"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// call is what SIP needs of one call leg, outgoing (out) or incoming (in):
// its dialog, its media and the channels of its pending decisions. Whether
// the call rings, is connected or held is the phone's to know.
type call struct {
	id     string
	remote string
	// told, for a call a REFER placed, closes once the phone has heard
	// of it (Transferred): its INVITE waits, so that no outcome of it can
	// reach the phone before the call does.
	told chan struct{}
	out  *sipgo.DialogClientSession
	in   *sipgo.DialogServerSession
	// cancel stops an outgoing call still waiting for an answer (sends CANCEL).
	cancel context.CancelFunc
	// answer receives the local decision on an incoming call: 200 or an
	// error status.
	answer chan decision

	// acked is closed when the ACK for our 2xx to an incoming INVITE
	// arrives.
	acked     chan struct{}
	ackedOnce sync.Once
	// reported is closed once the phone has been told how the INVITE
	// ended (answered, or not). A request the far end sends in the dialog
	// at once (SIPp REFERs right after its ACK) waits for it: the phone
	// must hear of the answer first, or it takes the request for one to a
	// call still ringing.
	reported     chan struct{}
	reportedOnce sync.Once

	// referrer is the call whose REFER started this one; it gets NOTIFYs
	// with our progress (RFC 3515).
	referrer *call

	mu    sync.Mutex
	local *sdp.Session // our last offer or answer
	// ms carries the call's audio (nil without a media engine).
	ms *media.Session
	// finished is set once an outgoing call's INVITE has its outcome;
	// cancelHold is what a Cancel before that holds until the outcome is
	// reported.
	finished   bool
	cancelHold func()
}

func (u *UA) newCall(remote string) *call {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.nextID++
	c := &call{id: fmt.Sprintf("c%d", u.nextID), remote: remote, answer: make(chan decision, 1), acked: make(chan struct{}), reported: make(chan struct{})}
	u.calls[c.id] = c
	return c
}

// markReported says the phone has the outcome of the call's INVITE.
func (c *call) markReported() { c.reportedOnce.Do(func() { close(c.reported) }) }

// reportedWait bounds awaitReported: the outcome follows the final
// response at once, unless the UA is stuck.
const reportedWait = 5 * time.Second

// awaitReported waits until the phone has the outcome of c's INVITE (see
// call.reported), at most reportedWait on the UA's clock.
func (u *UA) awaitReported(c *call) {
	select {
	case <-c.reported:
		return
	default:
	}
	gaveUp := make(chan struct{})
	tm := u.cfg.Clock.AfterFunc(reportedWait, func() { close(gaveUp) })
	defer tm.Stop()
	select {
	case <-c.reported:
	case <-gaveUp:
	case <-u.ctx.Done():
	}
}

func (u *UA) call(id string) (*call, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	c, ok := u.calls[id]
	if !ok {
		return nil, fmt.Errorf("call %s: %w", id, ErrNoCall)
	}
	return c, nil
}

// dropCall forgets call id and closes its media; it reports whether the
// call was still known, so that of two goroutines ending the same call only
// one reports it.
func (u *UA) dropCall(id string) bool {
	u.mu.Lock()
	c := u.calls[id]
	delete(u.calls, id)
	u.mu.Unlock()
	if c == nil {
		return false
	}
	c.mu.Lock()
	ms := c.ms
	c.mu.Unlock()
	if ms != nil {
		ms.Close()
	}
	return true
}

func (u *UA) localAddr() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.contact.Address.Host == "" || u.contact.Address.Host == "0.0.0.0" {
		return "127.0.0.1"
	}
	return u.contact.Address.Host
}

// Invite calls target (digits, a user name or a SIP URI) and returns the
// call's id at once; progress comes as CallProgress, then CallAnswered or
// CallFailed.
func (u *UA) Invite(target string) (string, error) {
	return u.invite(target, nil)
}

// invite places a call; a transferee's carries the headers extra
// (Replaces, Referred-By) and reports to referrer.
func (u *UA) invite(target string, referrer *call, extra ...sip.Header) (string, error) {
	uri, err := u.target(target)
	if err != nil {
		return "", err
	}
	c := u.newCall(uri.User)
	c.referrer = referrer
	if referrer != nil {
		c.told = make(chan struct{})
	}
	offer, err := u.offer(c, sdp.SendRecv)
	if err != nil {
		u.dropCall(c.id)
		return "", err
	}
	ctx, cancel := context.WithCancel(u.ctx)
	c.cancel = cancel
	done := u.hold()
	u.goOwned(func() {
		defer cancel()
		u.runInvite(ctx, c, uri, offer, done, extra)
	})
	return c.id, nil
}

// runInvite places an outgoing call. It is held until the far end rings
// (from then on the call waits for a person), and again from the final
// response until the outcome is reported.
func (u *UA) runInvite(ctx context.Context, c *call, uri sip.Uri, offer *sdp.Session, done func(), extra []sip.Header) {
	defer done()
	final := func() {}
	defer func() { final() }()
	defer u.finishInvite(c)
	if c.told != nil {
		select {
		case <-c.told:
		case <-ctx.Done():
		}
	}
	req := u.newRequest(sip.INVITE, uri)
	req.SetBody(offer.Marshal())
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	for _, h := range extra {
		req.AppendHeader(h)
	}
	if err := u.connect(ctx, req); err != nil {
		u.dropCall(c.id)
		u.emit(CallFailed{ID: c.id, Err: err})
		return
	}
	req.ReplaceHeader(u.contactHeader())
	// Our final response is held from the instant the transport reads it:
	// the stack ACKs a non-2xx one before OnResponse runs, and the ACK
	// lets the far end go.
	callID := req.CallID().Value()
	expecting := u.finals.Expect(callID)
	defer expecting()
	dua := sipgo.DialogUA{Client: u.client, ContactHDR: *u.contactHeader()}
	sess, err := dua.WriteInvite(ctx, req)
	if err != nil {
		u.dropCall(c.id)
		u.emit(CallFailed{ID: c.id, Err: err})
		return
	}
	c.mu.Lock()
	c.out = sess
	c.mu.Unlock()
	err = sess.WaitAnswer(ctx, sipgo.AnswerOptions{
		Username: u.cfg.User,
		Password: u.cfg.Password,
		OnResponse: func(res *sip.Response) error {
			u.cfg.Inflight.Delay()
			if res.StatusCode >= 200 && res.StatusCode != 401 && res.StatusCode != 407 {
				// Held from here to the outcome's report.
				final = u.hold()
			}
			if res.StatusCode >= 300 {
				// The hold taken on its arrival lets go.
				u.finals.Claim(callID)
			}
			if res.IsProvisional() && res.StatusCode > 100 {
				u.emit(CallProgress{ID: c.id, Code: res.StatusCode, Reason: res.Reason, ForwardedTo: forwardedTo(res)})
				// From here on the call waits for a person, not the network.
				done()
			}
			return nil
		},
	})
	// The INVITE has its outcome: a 2xx the callee sends again until our
	// ACK reaches it is not one to wait for.
	expecting()
	if err != nil {
		u.dropCall(c.id)
		var dr *sipgo.ErrDialogResponse
		code, reason := 500, "Server Internal Error"
		if errors.As(err, &dr) {
			code, reason = dr.Res.StatusCode, dr.Res.Reason
		}
		u.notifyReferrer(c, code, reason)
		switch {
		case errors.As(err, &dr) && dr.Res.StatusCode < 400:
			u.emit(CallRedirected{ID: c.id, Code: code, Reason: reason, Target: redirectTarget(dr.Res)})
		case errors.As(err, &dr):
			u.emit(CallFailed{ID: c.id, Code: dr.Res.StatusCode, Reason: dr.Res.Reason})
		case errors.Is(err, context.Canceled) && u.ctx.Err() == nil:
			u.emit(CallFailed{ID: c.id, Code: 487, Reason: "Request Terminated"})
		case u.ctx.Err() != nil:
		default:
			u.emit(CallFailed{ID: c.id, Err: err})
		}
		return
	}
	if err := sess.Ack(u.ctx); err != nil {
		u.emit(CallFailed{ID: c.id, Err: fmt.Errorf("ACK: %w", err)})
		return
	}
	if err := u.accept(c, sess.InviteResponse.Body()); err != nil {
		// The far end answered with media we cannot use: end the call.
		u.dropCall(c.id)
		sess.Bye(u.ctx)
		u.emit(CallFailed{ID: c.id, Code: 488, Reason: "Not Acceptable Here", Err: err})
		return
	}
	u.notifyReferrer(c, 200, "OK")
	u.emit(CallAnswered{ID: c.id, Remote: c.remote, ForwardedTo: forwardedTo(sess.InviteResponse)})
	c.markReported()
	u.finishInvite(c)
	done()
	final()
	u.watchEnd(c, sess.Context())
}

// finishInvite marks an outgoing call's INVITE as decided and lets go of a
// Cancel's hold, now that the outcome is reported.
func (u *UA) finishInvite(c *call) {
	c.mu.Lock()
	c.finished = true
	rel := c.cancelHold
	c.cancelHold = nil
	c.mu.Unlock()
	if rel != nil {
		rel()
	}
}

// watchEnd reports CallEnded when the far end's BYE ends the dialog.
func (u *UA) watchEnd(c *call, done context.Context) {
	select {
	case <-done.Done():
		// A BYE is reported by onBye before it is answered; this is a
		// dialog that ended otherwise (its connection, say).
		release := u.hold()
		if u.dropCall(c.id) {
			u.emit(CallEnded{ID: c.id, ByRemote: true})
		}
		release()
	case <-u.ctx.Done():
	}
}

// Cancel gives up an outgoing call that has not been answered. It is held
// until the call's outcome (487) is reported.
func (u *UA) Cancel(id string) error {
	c, err := u.call(id)
	if err != nil {
		return err
	}
	if c.cancel == nil {
		return fmt.Errorf("call %s is not an outgoing call: %w", id, ErrCallState)
	}
	c.mu.Lock()
	if !c.finished && c.cancelHold == nil {
		c.cancelHold = u.hold()
	}
	c.mu.Unlock()
	c.cancel()
	return nil
}

// Answer accepts a ringing incoming call.
func (u *UA) Answer(id string) error { return u.decide(id, 200) }

// Reject refuses a ringing incoming call with code (486 Busy Here, 603
// Decline, 480 Temporarily Unavailable).
func (u *UA) Reject(id string, code int) error { return u.decide(id, code) }

func (u *UA) decide(id string, code int) error {
	c, err := u.call(id)
	if err != nil {
		return err
	}
	d := decision{code: code, done: u.hold()}
	select {
	case c.answer <- d:
		return nil
	default:
		d.done()
		return c.notRinging()
	}
}

func (c *call) notRinging() error {
	return fmt.Errorf("call %s is not ringing: %w", c.id, ErrCallState)
}

// decision is the user's answer to a ringing call; done ends its hold once
// the far end has taken over (its ACK arrived).
type decision struct {
	code int
	done func()
	// extra are the response's own headers: a redirect's (302) Contact
	// and Diversion.
	extra []sip.Header
}

// Hangup ends an established call with BYE, in the background: the phone
// is idle at once, whatever the far end does with the BYE.
func (u *UA) Hangup(id string) error {
	c, err := u.call(id)
	if err != nil {
		return err
	}
	u.dropCall(id)
	u.request(func(ctx context.Context) {
		c.mu.Lock()
		out, in := c.out, c.in
		c.mu.Unlock()
		switch {
		case out != nil:
			out.Bye(ctx)
		case in != nil:
			in.Bye(ctx)
		}
	})
	return nil
}

// Hold puts a call on hold (re-INVITE with a=sendonly) or resumes it
// (a=sendrecv); the outcome comes as CallHoldChanged.
func (u *UA) Hold(id string, hold bool) error {
	c, err := u.call(id)
	if err != nil {
		return err
	}
	u.request(func(ctx context.Context) {
		dir := sdp.SendRecv
		if hold {
			dir = sdp.SendOnly
		}
		offer, err := u.offer(c, dir)
		if err != nil {
			u.emit(CallHoldChanged{ID: id, Hold: hold, Err: err})
			return
		}
		req := sip.NewRequest(sip.INVITE, sip.Uri{})
		req.SetBody(offer.Marshal())
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		res, err := u.inDialog(ctx, c, req)
		if err == nil && !res.IsSuccess() {
			err = &StatusError{Method: "re-INVITE", Code: res.StatusCode, Reason: res.Reason}
		}
		if err == nil {
			err = u.ack(c, req.Recipient)
		}
		if err == nil {
			err = u.accept(c, res.Body())
		}
		u.emit(CallHoldChanged{ID: id, Hold: hold, Err: err})
	})
	return nil
}

// Transfer sends the far end of call id to target with REFER (blind
// transfer); the result comes as TransferResult once the NOTIFY sipfrag with
// a final status arrives (or the REFER fails).
func (u *UA) Transfer(id, target string) error {
	c, err := u.call(id)
	if err != nil {
		return err
	}
	uri, err := u.target(target)
	if err != nil {
		return err
	}
	u.request(func(ctx context.Context) {
		req := sip.NewRequest(sip.REFER, sip.Uri{})
		req.AppendHeader(sip.NewHeader("Refer-To", "<"+uri.String()+">"))
		res, err := u.inDialog(ctx, c, req)
		if err == nil && !res.IsSuccess() {
			// The far end refused the transfer: its status says why.
			u.emit(TransferResult{ID: id, Target: target, Code: res.StatusCode, Reason: res.Reason})
			return
		}
		if err != nil {
			u.emit(TransferResult{ID: id, Target: target, Err: err})
			return
		}
		// A blind transfer is done once the far end accepts the REFER: the
		// transferor hangs up (RFC 5589 §6.1) and NOTIFYs after that are
		// answered but no longer matter.
		u.emit(TransferResult{ID: id, Target: target, Code: res.StatusCode})
	})
	return nil
}

// sipfragStatus reads the status code of a message/sipfrag body
// ("SIP/2.0 200 OK").
func sipfragStatus(body []byte) (int, bool) {
	line, _, _ := strings.Cut(string(body), "\n")
	var code int
	if _, err := fmt.Sscanf(strings.TrimSpace(line), "SIP/2.0 %d", &code); err != nil {
		return 0, false
	}
	return code, true
}

// sipfragReason is the reason phrase of a message/sipfrag status line
// ("Busy Here" of "SIP/2.0 486 Busy Here"), "" when it has none.
func sipfragReason(body []byte) string {
	line, _, _ := strings.Cut(string(body), "\n")
	f := strings.SplitN(strings.TrimSpace(line), " ", 3)
	if len(f) < 3 {
		return ""
	}
	return strings.TrimSpace(f[2])
}

// ringTimeout bounds how long an unanswered incoming call rings before we
// answer 480 ourselves, on the UA's clock.
const ringTimeout = 3 * time.Minute

// ackTimeout bounds how long an answered call holds the network busy
// waiting for the caller's ACK (Timer H: 64*T1, in wall time).
const ackTimeout = 32 * time.Second

// inDialog sends an in-dialog request of call c and waits for the answer.
func (u *UA) inDialog(ctx context.Context, c *call, req *sip.Request) (*sip.Response, error) {
	c.mu.Lock()
	out, in := c.out, c.in
	c.mu.Unlock()
	switch {
	case out != nil:
		req.Recipient = out.InviteResponse.Contact().Address
		return out.Do(ctx, req)
	case in != nil:
		req.Recipient = in.InviteRequest.Contact().Address
		return in.Do(ctx, req)
	}
	return nil, fmt.Errorf("call not established: %w", ErrCallState)
}

// ack acknowledges the 2xx of an in-dialog re-INVITE.
func (u *UA) ack(c *call, to sip.Uri) error {
	c.mu.Lock()
	out, in := c.out, c.in
	c.mu.Unlock()
	ack := sip.NewRequest(sip.ACK, to)
	switch {
	case out != nil:
		return out.WriteRequest(ack)
	case in != nil:
		return in.WriteRequest(ack)
	}
	return fmt.Errorf("call not established: %w", ErrCallState)
}

// notifyReferrer tells the transferor how the call it asked for went: a
// NOTIFY with a message/sipfrag status line in the REFER's dialog, with
// the reason the target gave (the transferor shows it).
func (u *UA) notifyReferrer(c *call, code int, reason string) {
	r := c.referrer
	if r == nil {
		return
	}
	ctx, cancel := context.WithTimeout(u.ctx, requestTimeout)
	defer cancel()
	req := sip.NewRequest(sip.NOTIFY, sip.Uri{})
	req.AppendHeader(sip.NewHeader("Event", "refer"))
	req.AppendHeader(sip.NewHeader("Subscription-State", "terminated;reason=noresource"))
	req.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	if reason == "" {
		reason = "Failed"
	}
	req.SetBody([]byte(fmt.Sprintf("SIP/2.0 %d %s\r\n", code, reason)))
	u.inDialog(ctx, r, req)
}
