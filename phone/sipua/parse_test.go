package sipua

import (
	"testing"
)

func TestParseServer(t *testing.T) {
	tests := []struct {
		in, transport string
		port          int
		bad           bool
	}{
		{in: "sips:sip.example.com", transport: "tls", port: 5061},
		{in: "sips:127.0.0.1:5071", transport: "tls", port: 5071},
		{in: "sip:127.0.0.1;transport=tcp", transport: "tcp", port: 5060},
		{in: "sip:10.0.0.1:5080", transport: "udp", port: 5080},
		{in: "sip:h;transport=sctp", bad: true},
		{in: "127.0.0.1:5061", bad: true},
		{in: "", bad: true},
		{in: "sips:", bad: true},
		{in: "sips:127.0.0.1:99999", bad: true},
		{in: "sips:127.0.0.1:-1", bad: true},
	}
	for _, tt := range tests {
		uri, tr, err := ParseServer(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("ParseServer(%q): no error", tt.in)
			}
			continue
		}
		if err != nil || tr != tt.transport || uri.Port != tt.port {
			t.Errorf("ParseServer(%q) = %v %s %v; want %s port %d", tt.in, uri.Port, tr, err, tt.transport, tt.port)
		}
	}
}

func TestParseMessageSummary(t *testing.T) {
	mw := parseMessageSummary([]byte("Messages-Waiting: yes\r\nMessage-Account: sip:alice@x\r\nVoice-Message: 2/8 (0/2)\r\n"))
	if !mw.Waiting || mw.New != 2 || mw.Old != 8 {
		t.Fatalf("%+v", mw)
	}
	if mw := parseMessageSummary([]byte("Messages-Waiting: no\r\n")); mw.Waiting || mw.New != 0 {
		t.Fatalf("%+v", mw)
	}
}

func TestSipfragStatus(t *testing.T) {
	for body, want := range map[string]int{"SIP/2.0 200 OK\r\n": 200, "SIP/2.0 100 Trying": 100, "SIP/2.0 486 Busy Here\r\n": 486} {
		if code, ok := sipfragStatus([]byte(body)); !ok || code != want {
			t.Errorf("%q: %d %v", body, code, ok)
		}
	}
	if _, ok := sipfragStatus([]byte("garbage")); ok {
		t.Error("garbage parsed")
	}
}

// The parsers of what a server sends us must never panic.
func FuzzPeerBodies(f *testing.F) {
	f.Add([]byte("Messages-Waiting: yes\r\nVoice-Message: 2/8 (0/2)\r\n"))
	f.Add([]byte("SIP/2.0 200 OK\r\n"))
	f.Add([]byte("Voice-Message: /\n:\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		parseMessageSummary(body)
		sipfragStatus(body)
		ParseServer(string(body))
	})
}

func TestTarget(t *testing.T) {
	u := &UA{cfg: Config{User: "alice"}, transport: "tls", domain: "deskphone.test"}
	for in, want := range map[string]string{
		"1002":                    "sips:1002@deskphone.test",
		"bob":                     "sips:bob@deskphone.test",
		"bob@other.test":          "sips:bob@other.test",
		"sip:carol@10.0.0.1:5060": "sip:carol@10.0.0.1:5060",
	} {
		got, err := u.target(in)
		if err != nil || got.String() != want {
			t.Errorf("target(%q) = %s, %v; want %s", in, got.String(), err, want)
		}
	}
	for _, bad := range []string{"", "bo b", "a<b"} {
		if _, err := u.target(bad); err == nil {
			t.Errorf("target(%q): no error", bad)
		}
	}
}
