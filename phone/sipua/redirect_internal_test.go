package sipua

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

// What a caller reads of a forwarding in a response: the History-Info
// entry retargeted with a cause, else a Diversion with the responder's
// Contact; nothing when the call went where it was sent.
func TestForwardedTo(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers []sip.Header
		want    string
	}{
		{"none", nil, ""},
		{"history-info", []sip.Header{
			sip.NewHeader("History-Info", "<sip:bob@example.com>;index=1, <sip:carol@example.com;cause=302>;index=1.1"),
		}, "carol"},
		{"history-info in two headers, twice forwarded", []sip.Header{
			sip.NewHeader("History-Info", "<sip:bob@example.com>;index=1"),
			sip.NewHeader("History-Info", "<sip:carol@example.com;cause=302>;index=1.1"),
			sip.NewHeader("History-Info", "<sip:dave@example.com;cause=486>;index=1.1.1"),
		}, "dave"},
		{"history-info without a cause", []sip.Header{
			sip.NewHeader("History-Info", "<sip:bob@example.com>;index=1"),
		}, ""},
		{"diversion", []sip.Header{
			sip.NewHeader("Diversion", "<sip:bob@example.com>;reason=user-busy;counter=1"),
			&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "carol", Host: "10.0.0.3"}},
		}, "carol"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := sip.NewResponse(180, "Ringing")
			for _, h := range tc.headers {
				res.AppendHeader(h)
			}
			if got := forwardedTo(res); got != tc.want {
				t.Errorf("forwardedTo = %q, want %q", got, tc.want)
			}
		})
	}
}

// A 3xx's target is its first Contact without parameters.
func TestRedirectTarget(t *testing.T) {
	res := sip.NewResponse(302, "Moved Temporarily")
	if got := redirectTarget(res); got != "" {
		t.Errorf("no Contact: %q", got)
	}
	res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "2002", Host: "pbx.example.com", UriParams: sip.HeaderParams{{K: "transport", V: "tls"}}}})
	if got := redirectTarget(res); got != "sip:2002@pbx.example.com" {
		t.Errorf("target %q", got)
	}
}
