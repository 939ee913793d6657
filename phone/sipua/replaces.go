// Attended (consultative) transfer: the transferor's REFER whose Refer-To
// carries Replaces (RFC 3891, RFC 3892 Referred-By, flow per RFC 5589),
// the transferee's INVITE with Replaces, and the transfer target taking
// over the dialog it names.

package sipua

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/deskphone/deskphone/media/sdp"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Replaced: an INVITE with Replaces took over call ID (the transfer
// target's side of an attended transfer): the call goes on as NewID with
// Remote, already answered, and the UA has ended ID's dialog with BYE.
// ReferredBy is the transferor the INVITE names (RFC 3892), "" when none.
type Replaced struct {
	ID, NewID           string
	Remote, DisplayName string
	ReferredBy          string
}

func (Replaced) event() {}

// dialogID is what names a dialog on the wire (RFC 3261 §12): its Call-ID,
// our tag and the far end's tag, from our side.
type dialogID struct{ callID, local, remote string }

// dialog is c's dialog identity and the far end's address of record; ok is
// false before the dialog is established.
func (c *call) dialog() (d dialogID, aor sip.Uri, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.out != nil && c.out.InviteResponse != nil && c.out.InviteResponse.IsSuccess():
		req, res := c.out.InviteRequest, c.out.InviteResponse
		d = dialogID{callID: req.CallID().Value(), local: fromTag(req), remote: toTagOf(res.To())}
		aor = req.To().Address
	case c.in != nil && c.in.InviteResponse != nil && c.in.InviteResponse.IsSuccess():
		req, res := c.in.InviteRequest, c.in.InviteResponse
		d = dialogID{callID: req.CallID().Value(), local: toTagOf(res.To()), remote: fromTag(req)}
		aor = req.From().Address
	default:
		return dialogID{}, sip.Uri{}, false
	}
	return d, *aor.Clone(), d.callID != "" && d.local != "" && d.remote != ""
}

func toTagOf(to *sip.ToHeader) string {
	if to == nil || to.Params == nil {
		return ""
	}
	t, _ := to.Params.Get("tag")
	return t
}

// replacesValue is the Replaces header naming dialog d to the far end of
// it (RFC 3891 §6.1): its to-tag is the far end's tag, its from-tag ours.
func replacesValue(d dialogID) string {
	return d.callID + ";to-tag=" + d.remote + ";from-tag=" + d.local
}

// parseReplaces reads a Replaces value ("callid;to-tag=a;from-tag=b") as
// the dialog it names from its recipient's side: the to-tag is the
// recipient's own tag.
func parseReplaces(v string) (dialogID, bool) {
	parts := strings.Split(strings.TrimSpace(v), ";")
	d := dialogID{callID: strings.TrimSpace(parts[0])}
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(k) {
		case "to-tag":
			d.local = val
		case "from-tag":
			d.remote = val
		}
	}
	return d, d.callID != "" && d.local != "" && d.remote != ""
}

// hnvEscape escapes a URI header value (RFC 3261 §25.1, hnv-unreserved and
// unreserved are kept), so that ';' and '=' of Replaces stay inside it.
func hnvEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9',
			strings.IndexByte("-_.!~*'()[]/:+$", ch) >= 0:
			b.WriteByte(ch)
		default:
			fmt.Fprintf(&b, "%%%02X", ch)
		}
	}
	return b.String()
}

// referTarget splits a Refer-To value into the target URI and the
// Replaces header it carries ("" when none), unescaped.
func referTarget(v string) (target, replaces string) {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		v = v[i+1:]
		if j := strings.IndexByte(v, '>'); j >= 0 {
			v = v[:j]
		}
	}
	target, headers, _ := strings.Cut(v, "?")
	for _, h := range strings.Split(headers, "&") {
		k, val, _ := strings.Cut(h, "=")
		if strings.EqualFold(k, "Replaces") {
			if un, err := url.PathUnescape(val); err == nil {
				replaces = un
			}
		}
	}
	return target, replaces
}

// TransferReplacing completes an attended transfer: it REFERs the far end
// of call id to the far end of call other, with Replaces naming other's
// dialog and Referred-By naming us. The outcome comes as TransferResult:
// the REFER's refusal, or the final status of the NOTIFY sipfrag that
// reports the transferee's INVITE (a 202 alone decides nothing here).
func (u *UA) TransferReplacing(id, other string) error {
	c, err := u.call(id)
	if err != nil {
		return err
	}
	o, err := u.call(other)
	if err != nil {
		return err
	}
	d, aor, ok := o.dialog()
	if !ok {
		return fmt.Errorf("call %s is not established: %w", other, ErrCallState)
	}
	if _, _, ok := c.dialog(); !ok {
		return fmt.Errorf("call %s is not established: %w", id, ErrCallState)
	}
	referTo := "<" + aor.String() + "?Replaces=" + hnvEscape(replacesValue(d)) + ">"
	u.request(func(ctx context.Context) {
		req := sip.NewRequest(sip.REFER, sip.Uri{})
		req.AppendHeader(sip.NewHeader("Refer-To", referTo))
		me := u.aor()
		req.AppendHeader(sip.NewHeader("Referred-By", "<"+me.String()+">"))
		res, err := u.inDialog(ctx, c, req)
		switch {
		case err != nil:
			u.emit(TransferResult{ID: id, Target: aor.User, Err: err})
		case !res.IsSuccess():
			u.emit(TransferResult{ID: id, Target: aor.User, Code: res.StatusCode, Reason: res.Reason})
		}
	})
	return nil
}

// referHeaders are the headers the transferee's INVITE carries for a
// REFER: Replaces when its Refer-To has one, and the REFER's Referred-By
// (RFC 3892 §3).
func referHeaders(req *sip.Request, replaces string) []sip.Header {
	var hs []sip.Header
	if replaces != "" {
		hs = append(hs, sip.NewHeader("Replaces", replaces))
	}
	if h := req.GetHeader("Referred-By"); h != nil {
		hs = append(hs, sip.NewHeader("Referred-By", h.Value()))
	}
	return hs
}

// replacedCall is the established call whose dialog d names, nil when
// none.
func (u *UA) replacedCall(d dialogID) *call {
	u.mu.Lock()
	cs := make([]*call, 0, len(u.calls))
	for _, c := range u.calls {
		cs = append(cs, c)
	}
	u.mu.Unlock()
	for _, c := range cs {
		if got, _, ok := c.dialog(); ok && got == d {
			return c
		}
	}
	return nil
}

// onReplacingInvite is the transfer target's side: an INVITE with Replaces
// takes over the confirmed dialog it names, answered at once, and the old
// dialog ends with BYE; a dialog we do not have gets 481 (RFC 3891 §3).
// release is the INVITE's hold, let go once the caller's ACK is in.
func (u *UA) onReplacingInvite(req *sip.Request, tx sip.ServerTransaction, replaces string, release func()) {
	defer release()
	d, ok := parseReplaces(replaces)
	if !ok {
		tx.Respond(sip.NewResponseFromRequest(req, 400, "Bad Replaces", nil))
		return
	}
	old := u.replacedCall(d)
	if old == nil {
		tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
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
	// The phone moves its call to the new dialog before anything of the
	// old one's end can reach it.
	u.emit(Replaced{ID: old.id, NewID: c.id, Remote: c.remote, DisplayName: callerName(req), ReferredBy: referredBy(req)})
	c.markReported()
	if err := sess.RespondSDP(answer.Marshal()); err != nil {
		u.dropCall(c.id)
		u.emit(CallEnded{ID: c.id})
		return
	}
	u.startMedia(c)
	// Held until the caller's ACK: it holds from our 2xx on.
	u.awaitEnd(c.acked)
	// An error is a dialog that ended meanwhile: nothing is left to end.
	_ = u.Hangup(old.id)
	release()
	u.watchEnd(c, sess.Context())
}

// referredBy is the user (or URI) of a request's Referred-By header.
func referredBy(req *sip.Request) string {
	h := req.GetHeader("Referred-By")
	if h == nil {
		return ""
	}
	var uri sip.Uri
	params := sip.NewParams()
	if _, err := sip.ParseAddressValue(h.Value(), &uri, &params); err != nil {
		return h.Value()
	}
	if uri.User != "" {
		return uri.User
	}
	return uri.String()
}
