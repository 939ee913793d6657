package sipua

import (
	"context"
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"
)

// EventProvisioning is the SIP event package of the in-band policy.
const EventProvisioning = "vnd-microsoft-provisioning-v2"

// PolicyPushed: a provisioning NOTIFY carrying the in-band policy; what
// the body means is the phone's to judge.
type PolicyPushed struct {
	ContentType string
	Body        []byte
}

func (PolicyPushed) event() {}

// SubscribeProvisioning subscribes to the user's in-band policy; NOTIFYs
// arrive as PolicyPushed events.
func (u *UA) SubscribeProvisioning(expires time.Duration) {
	u.request(func(ctx context.Context) {
		req := u.newRequest(sip.SUBSCRIBE, u.aor())
		req.To().Address = u.aor()
		req.AppendHeader(sip.NewHeader("Event", EventProvisioning))
		req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
		if err := u.connect(ctx, req); err != nil {
			return
		}
		req.ReplaceHeader(u.contactHeader())
		u.doAuth(ctx, req)
	})
}

// provisioningNotify reports a provisioning NOTIFY and answers it.
func (u *UA) provisioningNotify(req *sip.Request, tx sip.ServerTransaction) {
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	u.emit(PolicyPushed{ContentType: ct, Body: append([]byte(nil), req.Body()...)})
	tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
}

// SetCodecOrder sets the codec order (PrioritizedCodecsList) of the
// offers of the calls that start from now on.
func (u *UA) SetCodecOrder(order string) { u.codecs.Store(&order) }

func (u *UA) codecOrder() string {
	if o := u.codecs.Load(); o != nil {
		return *o
	}
	return ""
}

// EventCheckSync is the Event of the out-of-dialog NOTIFY by which a
// provisioning service (the Teams SIP Gateway) tells a phone to fetch its
// provisioning again.
const EventCheckSync = "check-sync"

// CheckSync: a check-sync NOTIFY came; the phone fetches its
// provisioning again. It carries nothing: what to fetch is the phone's.
type CheckSync struct{}

func (CheckSync) event() {}

// FlowChanged: a request went out on a new connection to the server, the
// one the phone registered on being gone; the phone registers again.
type FlowChanged struct{}

func (FlowChanged) event() {}
