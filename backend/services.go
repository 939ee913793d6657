package backend

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

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
	cancel  context.CancelFunc
	acked   chan struct{}
	ackOnce sync.Once
	local   *sdp.Session
	stream  ServiceStream // nil without Config.Media
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

// serviceInvite answers an INVITE to a service user.
func (b *Backend) serviceInvite(svc Service, caller User, req *sip.Request, tx sip.ServerTransaction) {
	b.log.Info("service call", "service", svc.Name, "caller", caller.User, "call-id", req.CallID().Value())
	switch svc.Name {
	case ServiceBusy:
		b.reply(req, tx, sip.StatusBusyHere, "Busy Here")
	case ServiceNoAnswer:
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
		b.answerService(svc, caller, req, tx)
	}
}

// answerService answers echo, tone and voicemail calls with 200 and SDP.
func (b *Backend) answerService(svc Service, caller User, req *sip.Request, tx sip.ServerTransaction) {
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
	call := &serviceCall{
		key:     dialogKey(req.CallID().Value(), toTag(res), fromTag(req)),
		service: svc.Name,
		caller:  caller.User,
		flow:    flowOf(req),
		host:    host,
		contact: contact,
		cancel:  cancel,
		acked:   make(chan struct{}),
		local:   local,
		stream:  stream,
	}
	b.mu.Lock()
	b.calls[call.key] = call
	b.mu.Unlock()
	if err := tx.Respond(res); err != nil {
		b.endServiceCall(call)
		return
	}
	if !sip.IsReliable(req.Transport()) {
		b.retransmit2xx(call, tx, res)
	}
}

// retransmit2xx resends a UAS's 2xx over UDP until the ACK comes (RFC 3261
// §13.3.1.4): T1, doubling up to T2, for at most 64*T1.
func (b *Backend) retransmit2xx(call *serviceCall, tx sip.ServerTransaction, res *sip.Response) {
	interval := sip.T1
	giveUp := time.NewTimer(64 * sip.T1)
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

func (b *Backend) notAcceptable(req *sip.Request, tx sip.ServerTransaction, err error) {
	reason := "Not Acceptable Here"
	if errors.Is(err, sdp.ErrNoCommonCodec) {
		reason = "No Common Codec"
	}
	res := sip.NewResponseFromRequest(req, sip.StatusNotAcceptableHere, reason, nil)
	res.AppendHeader(sip.NewHeader("Warning", `304 deskphone "`+err.Error()+`"`))
	b.respond(tx, res)
}

func (b *Backend) endServiceCall(call *serviceCall) bool {
	b.mu.Lock()
	_, ok := b.calls[call.key]
	delete(b.calls, call.key)
	b.mu.Unlock()
	call.cancel()
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
	case sip.UPDATE, sip.INFO, sip.OPTIONS, sip.NOTIFY, sip.MESSAGE:
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
	b.mu.Lock()
	call.local = local
	b.mu.Unlock()
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", local.Marshal())
	res.AppendHeader(call.contact)
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	b.respond(tx, res)
}
