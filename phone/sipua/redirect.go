// Call forwarding on the wire: the 302 a forwarding phone answers with,
// and what a caller reads of a forwarding (a 3xx's Contact, the proxy's
// History-Info, RFC 7044, or Diversion, RFC 5806).

package sipua

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Redirect answers the ringing incoming call id with 302 Moved
// Temporarily, target (digits, a user or a SIP URI) in its Contact, and a
// Diversion (RFC 5806) naming this line and why: unconditional,
// user-busy or no-answer; a proxy that follows the 302 passes it on.
func (u *UA) Redirect(id, target, reason string) error {
	uri, err := u.target(target)
	if err != nil {
		return err
	}
	c, err := u.call(id)
	if err != nil {
		return err
	}
	aor := u.aor()
	div := sip.NewHeader("Diversion", "<"+aor.String()+">;reason="+reason+";counter=1")
	d := decision{code: 302, done: u.hold(), extra: []sip.Header{&sip.ContactHeader{Address: uri}, div}}
	select {
	case c.answer <- d:
		return nil
	default:
		d.done()
		return c.notRinging()
	}
}

// redirectTarget is the first Contact of a 3xx as a URI string (without
// its parameters), "" when it has none.
func redirectTarget(res *sip.Response) string {
	ct := res.Contact()
	if ct == nil || ct.Address.Host == "" {
		return ""
	}
	uri := sip.Uri{Scheme: ct.Address.Scheme, User: ct.Address.User, Host: ct.Address.Host, Port: ct.Address.Port}
	if uri.Scheme == "" {
		uri.Scheme = "sip"
	}
	return uri.String()
}

// forwardedTo reads from a response to our INVITE whom the proxy sent the
// call on to: the last History-Info entry retargeted with a cause (RFC
// 7044 puts the cause on the new target's entry), else, when a Diversion
// says the call was diverted, the responder's Contact user. "" when the
// call went where it was sent.
func forwardedTo(res *sip.Response) string {
	target := ""
	for _, h := range res.GetHeaders("History-Info") {
		for _, entry := range splitEntries(h.Value()) {
			uri, params := hiEntry(entry)
			if strings.Contains(params, "cause=") {
				target = uri.User
			}
		}
	}
	if target != "" {
		return target
	}
	if res.GetHeader("Diversion") != nil {
		if ct := res.Contact(); ct != nil {
			return ct.Address.User
		}
	}
	return ""
}

// splitEntries splits a header value's comma-separated entries, leaving
// commas inside <...> alone.
func splitEntries(v string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range v {
		switch r {
		case '<':
			depth++
		case '>':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(v[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(v[start:]))
}

// hiEntry parses one History-Info entry, <URI>;index=..., into its URI
// and the URI's own parameters (where cause= lives).
func hiEntry(entry string) (sip.Uri, string) {
	open, end := strings.IndexByte(entry, '<'), strings.IndexByte(entry, '>')
	if open < 0 || end < open {
		return sip.Uri{}, ""
	}
	raw := entry[open+1 : end]
	var uri sip.Uri
	if err := sip.ParseUri(raw, &uri); err != nil {
		return sip.Uri{}, ""
	}
	_, params, _ := strings.Cut(raw, ";")
	return uri, params
}
