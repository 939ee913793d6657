package siptrace

import (
	"strings"
	"testing"
	"time"
)

func TestRingInvolving(t *testing.T) {
	r := NewRing(3)
	for i, m := range []Message{
		{Local: "a:1", Remote: "s:5061", Text: "REGISTER 1"},
		{Local: "b:2", Remote: "s:5061", Text: "REGISTER 2"},
		{Local: "s:5061", Remote: "a:1", Text: "INVITE 3", Sent: true},
		{Local: "a:1", Remote: "s:5061", Text: "SIP/2.0 180 4"},
	} {
		m.Time = time.Unix(int64(i), 0)
		r.Trace(m)
	}
	got := r.Involving("a:1", 10)
	if len(got) != 3 || got[0].Text != "REGISTER 1" || got[2].Text != "SIP/2.0 180 4" {
		t.Fatalf("%+v", got)
	}
	if got := r.Involving("a:1", 1); len(got) != 1 || got[0].Text != "SIP/2.0 180 4" {
		t.Fatalf("last one: %+v", got)
	}
	for i := 0; i < 10; i++ {
		r.Trace(Message{Local: "c:3"})
	}
	if got := r.Involving("a:1", 10); len(got) != 0 {
		t.Fatalf("ring kept %d old messages", len(got))
	}
}

func TestFile(t *testing.T) {
	var b strings.Builder
	NewFile(&b).Trace(Message{Time: time.Unix(0, 0).UTC(), Sent: true, Transport: "TLS", Local: "a:1", Remote: "s:5061", Text: "OPTIONS sip:x SIP/2.0\r\n\r\n"})
	if !strings.Contains(b.String(), "send TLS a:1 -> s:5061") || !strings.Contains(b.String(), "OPTIONS sip:x") {
		t.Fatalf("%q", b.String())
	}
}
