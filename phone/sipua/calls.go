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

// call is one call leg: outgoing (out) or incoming (in).
type call struct {
	id     string
	remote string
	out    *sipgo.DialogClientSession
	in     *sipgo.DialogServerSession
	// cancel stops an outgoing call still waiting for an answer (sends CANCEL).
	cancel context.CancelFunc
	// answer receives the local decision on an incoming call: 200 or an
	// error status.
	answer chan decision

	// referrer is the call whose REFER started this one; it gets NOTIFYs
	// with our progress (RFC 3515).
	referrer *call

	mu    sync.Mutex
	local *sdp.Session // our last offer or answer
	held  bool
	// ms carries the call's audio (nil without a media engine).
	ms *media.Session
}

func (u *UA) newCall(remote string) *call {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.nextID++
	c := &call{id: fmt.Sprintf("c%d", u.nextID), remote: remote, answer: make(chan decision, 1)}
	u.calls[c.id] = c
	return c
}

func (u *UA) call(id string) (*call, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	c, ok := u.calls[id]
	if !ok {
		return nil, fmt.Errorf("no call %s", id)
	}
	return c, nil
}

func (u *UA) dropCall(id string) {
	u.mu.Lock()
	c := u.calls[id]
	delete(u.calls, id)
	u.mu.Unlock()
	if c != nil {
		c.mu.Lock()
		ms := c.ms
		c.mu.Unlock()
		if ms != nil {
			ms.Close()
		}
	}
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

func (u *UA) invite(target string, referrer *call) (string, error) {
	uri, err := u.target(target)
	if err != nil {
		return "", err
	}
	c := u.newCall(uri.User)
	c.referrer = referrer
	offer, err := u.offer(c, sdp.SendRecv)
	if err != nil {
		u.dropCall(c.id)
		return "", err
	}
	ctx, cancel := context.WithCancel(u.ctx)
	c.cancel = cancel
	done := u.track()
	u.goOwned(func() {
		defer cancel()
		u.runInvite(ctx, c, uri, offer, done)
	})
	return c.id, nil
}

func (u *UA) runInvite(ctx context.Context, c *call, uri sip.Uri, offer *sdp.Session, done func()) {
	defer done()
	req := u.newRequest(sip.INVITE, uri)
	req.SetBody(offer.Marshal())
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	if err := u.connect(ctx, req); err != nil {
		u.dropCall(c.id)
		u.emit(CallFailed{ID: c.id, Err: err})
		return
	}
	req.ReplaceHeader(u.contactHeader())
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
			if res.IsProvisional() && res.StatusCode > 100 {
				u.emit(CallProgress{ID: c.id, Code: res.StatusCode, Reason: res.Reason})
				// From here on the call waits for a person, not the network.
				done()
			}
			return nil
		},
	})
	if err != nil {
		u.dropCall(c.id)
		var dr *sipgo.ErrDialogResponse
		code := 500
		if errors.As(err, &dr) {
			code = dr.Res.StatusCode
		}
		u.notifyReferrer(c, code)
		switch {
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
	u.notifyReferrer(c, 200)
	u.emit(CallAnswered{ID: c.id, Remote: c.remote})
	done()
	u.watchEnd(c, sess.Context())
}

// watchEnd reports CallEnded when the far end's BYE ends the dialog.
func (u *UA) watchEnd(c *call, done context.Context) {
	select {
	case <-done.Done():
		if _, err := u.call(c.id); err == nil {
			u.dropCall(c.id)
			u.emit(CallEnded{ID: c.id, ByRemote: true})
		}
	case <-u.ctx.Done():
	}
}

// Cancel gives up an outgoing call that has not been answered.
func (u *UA) Cancel(id string) error {
	c, err := u.call(id)
	if err != nil {
		return err
	}
	if c.cancel == nil {
		return fmt.Errorf("call %s is not an outgoing call", id)
	}
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
	d := decision{code: code, done: u.track()}
	select {
	case c.answer <- d:
		return nil
	default:
		d.done()
		return fmt.Errorf("call %s is not ringing", id)
	}
}

// decision is the user's answer to a ringing call; done ends its tracking
// as a request in flight once the response is on the wire.
type decision struct {
	code int
	done func()
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
			u.emit(CallHoldChanged{ID: id, Held: !hold, Err: err})
			return
		}
		req := sip.NewRequest(sip.INVITE, sip.Uri{})
		req.SetBody(offer.Marshal())
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		res, err := u.inDialog(ctx, c, req)
		if err == nil && !res.IsSuccess() {
			err = fmt.Errorf("re-INVITE: %d %s", res.StatusCode, res.Reason)
		}
		if err == nil {
			err = u.ack(c, req.Recipient)
		}
		if err == nil {
			err = u.accept(c, res.Body())
			c.mu.Lock()
			c.held = hold
			c.mu.Unlock()
		}
		u.emit(CallHoldChanged{ID: id, Held: hold && err == nil || !hold && err != nil, Err: err})
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
			err = fmt.Errorf("REFER: %d %s", res.StatusCode, res.Reason)
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

// ringTimeout bounds how long an unanswered incoming call rings before we
// answer 480 ourselves.
const ringTimeout = 3 * time.Minute

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
	return nil, errors.New("call not established")
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
	return errors.New("call not established")
}

// notifyReferrer tells the transferor how the call it asked for went: a
// NOTIFY with a message/sipfrag status line in the REFER's dialog.
func (u *UA) notifyReferrer(c *call, code int) {
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
	reason := "OK"
	if code >= 300 {
		reason = "Failed"
	}
	req.SetBody([]byte(fmt.Sprintf("SIP/2.0 %d %s\r\n", code, reason)))
	u.inDialog(ctx, r, req)
}
