package backend

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/deskphone/deskphone/clock"
)

// Message waiting indication (RFC 3842): a phone subscribes to
// "message-summary" for its own AOR; the backend answers 200, sends a
// NOTIFY with the mailbox state at once and another whenever it changes.

// mailbox counts a user's voice messages.
type mailbox struct {
	newMsgs, oldMsgs int
}

// subscription is one MWI subscription dialog; the backend is the
// notifier. Guarded by Backend.mu.
type subscription struct {
	key     string
	event   string         // eventMWI or eventProvisioning
	user    string         // canonical user name
	from    sip.FromHeader // our side of the dialog (the SUBSCRIBE's To, with our tag)
	to      sip.ToHeader   // the subscriber (the SUBSCRIBE's From)
	callID  sip.CallIDHeader
	target  sip.Uri // the subscriber's Contact
	contact *sip.ContactHeader
	flow    flow // where NOTIFYs go; updated by refreshes
	cseq    uint32
	expires time.Time
	timer   clock.Timer
	gen     int
}

func (s *subscription) stop() {
	if s.timer != nil {
		s.timer.Stop()
	}
}

const eventMWI = "message-summary"

// subscribe handles a new SUBSCRIBE.
func (b *Backend) subscribe(req *sip.Request, tx sip.ServerTransaction) {
	// Held until the first NOTIFY is on its way: the subscriber lets go
	// once our answer is in.
	defer b.hold()()
	event := eventPackage(req)
	if event != eventMWI && event != eventProvisioning {
		res := sip.NewResponseFromRequest(req, 489, "Bad Event", nil)
		res.AppendHeader(sip.NewHeader("Allow-Events", eventMWI+", "+eventProvisioning))
		b.respond(tx, res)
		return
	}
	caller, ok := b.identifyCaller(req, tx)
	if !ok {
		return
	}
	target, ok := b.lookupUser(req.Recipient.User)
	if !ok {
		b.reply(req, tx, sip.StatusNotFound, "Not Found")
		return
	}
	if !strings.EqualFold(target.User, caller.User) {
		b.reply(req, tx, sip.StatusForbidden, "Only your own mailbox")
		return
	}
	expires, err := subscribeExpires(req)
	if err != nil {
		b.reply(req, tx, sip.StatusBadRequest, err.Error())
		return
	}
	contact, _ := b.serviceContact(caller.User, req.Transport())
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.AppendHeader(contact)
	res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))

	sub := &subscription{
		key:     dialogKey(req.CallID().Value(), toTag(res), fromTag(req)),
		event:   event,
		user:    caller.User,
		from:    res.To().AsFrom(),
		to:      req.From().AsTo(),
		callID:  *req.CallID(),
		target:  req.From().Address,
		contact: contact,
		flow:    flowOf(req),
		cseq:    1,
	}
	if c := req.Contact(); c != nil {
		sub.target = c.Address
	}
	if expires > 0 {
		b.mu.Lock()
		b.subs[sub.key] = sub
		b.scheduleSubscription(sub, expires)
		b.mu.Unlock()
	}
	b.respond(tx, res)
	b.log.Info("subscribe", "event", event, "user", caller.User, "expires", expires)
	b.notify(sub, expires)
}

// refreshSubscription handles a SUBSCRIBE inside an existing dialog:
// refresh, or unsubscribe with Expires: 0.
func (b *Backend) refreshSubscription(sub *subscription, req *sip.Request, tx sip.ServerTransaction) {
	// Held until the first NOTIFY is on its way: the subscriber lets go
	// once our answer is in.
	defer b.hold()()
	expires, err := subscribeExpires(req)
	if err != nil {
		b.reply(req, tx, sip.StatusBadRequest, err.Error())
		return
	}
	b.mu.Lock()
	// A phone that reconnected refreshes over its new connection.
	sub.flow = flowOf(req)
	if expires == 0 {
		sub.stop()
		delete(b.subs, sub.key)
	} else {
		b.scheduleSubscription(sub, expires)
	}
	b.mu.Unlock()
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.AppendHeader(sub.contact)
	res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	b.respond(tx, res)
	b.notify(sub, expires)
}

// scheduleSubscription (re)arms the expiry of sub. Called with b.mu held.
func (b *Backend) scheduleSubscription(sub *subscription, d time.Duration) {
	sub.stop()
	sub.gen++
	gen := sub.gen
	sub.expires = b.clock.Now().Add(d)
	sub.timer = b.clock.AfterFunc(d, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.state != lifecycleClosed && sub.gen == gen && b.subs[sub.key] == sub {
			delete(b.subs, sub.key)
			b.log.Info("mwi subscription expired", "user", sub.user)
		}
	})
}

func eventPackage(req *sip.Request) string {
	h := req.GetHeader("Event")
	if h == nil {
		h = req.GetHeader("o") // compact form
	}
	if h == nil {
		return ""
	}
	pkg, _, _ := strings.Cut(h.Value(), ";")
	return strings.ToLower(strings.TrimSpace(pkg))
}

func subscribeExpires(req *sip.Request) (time.Duration, error) {
	h := req.GetHeader("Expires")
	if h == nil {
		return DefaultExpires, nil
	}
	n, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("bad Expires %q", h.Value())
	}
	return min(time.Duration(n)*time.Second, MaxExpires), nil
}

// notify sends the subscribed state (the mailbox, or the in-band policy)
// to one subscriber, in the background. left is the subscription's
// remaining lifetime; 0 ends it.
func (b *Backend) notify(sub *subscription, left time.Duration) {
	b.mu.Lock()
	sub.cseq++
	seq, f := sub.cseq, sub.flow
	mb := b.mailboxes[strings.ToLower(sub.user)]
	var newMsgs, oldMsgs int
	if mb != nil {
		newMsgs, oldMsgs = mb.newMsgs, mb.oldMsgs
	}
	b.mu.Unlock()
	contentType, body := "application/simple-message-summary", ""
	if sub.event == eventProvisioning {
		contentType, body = policyContentType, string(b.policyDocument(sub.user))
	} else {
		waiting := "no"
		if newMsgs > 0 {
			waiting = "yes"
		}
		body = "Messages-Waiting: " + waiting + "\r\n" +
			"Message-Account: sip:" + sub.user + "@" + b.cfg.Domain + "\r\n" +
			"Voice-Message: " + strconv.Itoa(newMsgs) + "/" + strconv.Itoa(oldMsgs) + " (0/0)\r\n"
	}
	state := "active;expires=" + strconv.Itoa(int(left/time.Second))
	if left <= 0 {
		state = "terminated;reason=timeout"
	}

	req := sip.NewRequest(sip.NOTIFY, *sub.target.Clone())
	from, to, callID := sub.from, sub.to, sub.callID
	req.AppendHeader(sip.HeaderClone(&from))
	req.AppendHeader(sip.HeaderClone(&to))
	req.AppendHeader(sip.HeaderClone(&callID))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: sip.NOTIFY})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(sip.HeaderClone(sub.contact))
	req.AppendHeader(sip.NewHeader("Event", sub.event))
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	req.AppendHeader(sip.NewHeader("Content-Type", contentType))
	req.SetBody([]byte(body))
	req.SetTransport(f.transport)
	req.SetDestination(f.addr)
	b.goRequest(func() {
		res := b.do(req, sipgo.ClientRequestAddVia)
		if res == nil || res.StatusCode == sip.StatusCallTransactionDoesNotExists {
			// The subscriber is gone (RFC 6665 §4.2.2): drop the subscription.
			b.mu.Lock()
			if b.subs[sub.key] == sub {
				sub.stop()
				delete(b.subs, sub.key)
			}
			b.mu.Unlock()
		}
	})
}

// LeaveVoicemail records a new voice message for user (name or
// extension) and notifies the user's MWI subscriptions.
func (b *Backend) LeaveVoicemail(user string) error {
	u, ok := b.lookupUser(user)
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownUser, user)
	}
	key := strings.ToLower(u.User)
	now := b.clock.Now()
	b.mu.Lock()
	if b.state == lifecycleClosed {
		b.mu.Unlock()
		return ErrClosed
	}
	mb := b.mailboxes[key]
	if mb == nil {
		mb = &mailbox{}
		b.mailboxes[key] = mb
	}
	mb.newMsgs++
	n := mb.newMsgs
	type pending struct {
		sub  *subscription
		left time.Duration
	}
	var subs []pending
	for _, s := range b.subs {
		if s.event == eventMWI && strings.EqualFold(s.user, u.User) {
			subs = append(subs, pending{s, max(s.expires.Sub(now), time.Second)})
		}
	}
	b.mu.Unlock()
	b.log.Info("voicemail left", "user", u.User, "new", n)
	for _, p := range subs {
		b.notify(p.sub, p.left)
	}
	return nil
}

// Voicemail returns user's new and old message counts.
func (b *Backend) Voicemail(user string) (newMsgs, oldMsgs int, err error) {
	u, ok := b.lookupUser(user)
	if !ok {
		return 0, 0, fmt.Errorf("%w: %q", ErrUnknownUser, user)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if mb := b.mailboxes[strings.ToLower(u.User)]; mb != nil {
		return mb.newMsgs, mb.oldMsgs, nil
	}
	return 0, 0, nil
}
