package siptrace

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// A phone's messages are shown once, as its side saw them (not also the
// cloud's copy), without keep-alives, in order.
func TestRingOf(t *testing.T) {
	r := NewRing(3)
	for i, m := range []Message{
		{Local: "a:1", Remote: "s:5061", Text: "REGISTER 1", Sent: true},
		{Local: "s:5061", Remote: "a:1", Text: "REGISTER 1"},
		{Local: "b:2", Remote: "s:5061", Text: "REGISTER 2", Sent: true},
		{Local: "a:1", Remote: "s:5061", Text: "\r\n\r\n", Sent: true},
		{Local: "s:5061", Remote: "a:1", Text: "INVITE 3", Sent: true},
		{Local: "a:1", Remote: "s:5061", Text: "INVITE 3"},
		{Local: "a:1", Remote: "s:5061", Text: "SIP/2.0 180 4", Sent: true},
	} {
		m.Time = time.Unix(int64(i), 0)
		r.Trace(m)
	}
	got := r.Of("a:1", 10)
	if len(got) != 3 || got[0].Text != "REGISTER 1" || got[1].Text != "INVITE 3" || got[2].Text != "SIP/2.0 180 4" {
		t.Fatalf("%+v", got)
	}
	if got := r.Of("a:1", 1); len(got) != 1 || got[0].Text != "SIP/2.0 180 4" {
		t.Fatalf("last one: %+v", got)
	}
	for i := 0; i < 10; i++ {
		r.Trace(Message{Local: "c:3", Text: "OPTIONS"})
	}
	if got := r.Of("a:1", 10); len(got) != 0 {
		t.Fatalf("ring kept %d old messages", len(got))
	}
}

// sipgo reports a sent message once written: the answer may be reported
// first. The ring puts the request back before its answer.
func TestRingOrder(t *testing.T) {
	r := NewRing(10)
	req := "INVITE sip:bob@x SIP/2.0\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\r\n"
	trying := "SIP/2.0 100 Trying\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\r\n"
	r.Trace(Message{Local: "a:1", Text: "REGISTER sip:x SIP/2.0\r\nCall-ID: r\r\nCSeq: 2 REGISTER\r\n\r\n", Sent: true})
	r.Trace(Message{Local: "a:1", Text: trying})
	r.Trace(Message{Local: "a:1", Text: req, Sent: true})
	got := r.Of("a:1", 10)
	if len(got) != 3 || got[1].Text != req || got[2].Text != trying {
		t.Fatalf("%+v", got)
	}
}

// sipgo's TLS connections report "TCP"; the Via names the transport, and
// a keep-alive on a TLS connection is TLS too.
func TestTransportLabel(t *testing.T) {
	var got []string
	h := &hook{tracers: []Tracer{tracerFunc(func(m Message) { got = append(got, m.Transport) })}, tls: map[string]bool{}}
	h.SIPTraceWrite("TCP", "a:1", "s:5061", []byte("REGISTER sip:x SIP/2.0\r\nVia: SIP/2.0/TLS a:1;branch=z9hG4bK1\r\n\r\n"))
	h.SIPTraceWrite("TCP", "a:1", "s:5061", []byte("\r\n\r\n"))
	h.SIPTraceRead("TCP", "a:1", "s:5061", []byte("SIP/2.0 200 OK\r\nv: SIP/2.0/TLS a:1;branch=z9hG4bK1\r\n\r\n"))
	h.SIPTraceWrite("TCP", "b:2", "s:5060", []byte("REGISTER sip:x SIP/2.0\r\nVia: SIP/2.0/TCP b:2\r\n\r\n"))
	h.SIPTraceWrite("TCP", "b:2", "s:5060", []byte("\r\n\r\n"))
	h.SIPTraceWrite("UDP", "c:3", "s:5060", []byte("OPTIONS sip:x SIP/2.0\r\n\r\n"))
	if want := []string{"TLS", "TLS", "TLS", "TCP", "TCP", "UDP"}; !slices.Equal(got, want) {
		t.Fatalf("labels %v, want %v", got, want)
	}
}

type tracerFunc func(Message)

func (f tracerFunc) Trace(m Message) { f(m) }

func TestFile(t *testing.T) {
	var b strings.Builder
	NewFile(&b).Trace(Message{Time: time.Unix(0, 0).UTC(), Sent: true, Transport: "TLS", Local: "a:1", Remote: "s:5061", Text: "OPTIONS sip:x SIP/2.0\r\n\r\n"})
	if !strings.Contains(b.String(), "send TLS a:1 -> s:5061") || !strings.Contains(b.String(), "OPTIONS sip:x") {
		t.Fatalf("%q", b.String())
	}
}
