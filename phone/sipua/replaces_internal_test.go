package sipua

import "testing"

// Replaces goes out escaped inside Refer-To and comes back as the same
// dialog seen from the other side (RFC 3891 §6.1: the to-tag is the
// recipient's own tag).
func TestReplacesRoundTrip(t *testing.T) {
	ours := dialogID{callID: "a84b4c76e66710@pc33.example.com", local: "1928301774", remote: "a6c85cf"}
	v := replacesValue(ours)
	if v != "a84b4c76e66710@pc33.example.com;to-tag=a6c85cf;from-tag=1928301774" {
		t.Fatalf("Replaces %q", v)
	}
	referTo := "<sip:carol@example.com?Replaces=" + hnvEscape(v) + ">"
	if referTo != "<sip:carol@example.com?Replaces=a84b4c76e66710%40pc33.example.com%3Bto-tag%3Da6c85cf%3Bfrom-tag%3D1928301774>" {
		t.Fatalf("Refer-To %q", referTo)
	}
	target, rep := referTarget(referTo)
	if target != "sip:carol@example.com" || rep != v {
		t.Fatalf("referTarget: %q %q", target, rep)
	}
	theirs, ok := parseReplaces(rep)
	if !ok || theirs != (dialogID{callID: ours.callID, local: ours.remote, remote: ours.local}) {
		t.Fatalf("parseReplaces: %+v %v", theirs, ok)
	}
}

func TestReferTargetAndReplaces(t *testing.T) {
	tests := []struct{ in, target, replaces string }{
		{"<sip:bob@example.com>", "sip:bob@example.com", ""},
		{"sip:bob@example.com", "sip:bob@example.com", ""},
		{`"Bob" <sip:bob@example.com?Subject=hi&replaces=x%3Bto-tag%3D1%3Bfrom-tag%3D2>`, "sip:bob@example.com", "x;to-tag=1;from-tag=2"},
		{"<sip:bob@example.com?Replaces=%zz>", "sip:bob@example.com", ""},
	}
	for _, tt := range tests {
		target, rep := referTarget(tt.in)
		if target != tt.target || rep != tt.replaces {
			t.Errorf("referTarget(%q) = %q, %q; want %q, %q", tt.in, target, rep, tt.target, tt.replaces)
		}
	}
	for _, bad := range []string{"", "x", "x;to-tag=1", ";to-tag=1;from-tag=2", "x;from-tag=2;to-tag="} {
		if d, ok := parseReplaces(bad); ok {
			t.Errorf("parseReplaces(%q) = %+v, want refused", bad, d)
		}
	}
}

func TestSipfragReason(t *testing.T) {
	for body, want := range map[string]string{"SIP/2.0 486 Busy Here\r\n": "Busy Here", "SIP/2.0 200 OK": "OK", "SIP/2.0 500": "", "": ""} {
		if got := sipfragReason([]byte(body)); got != want {
			t.Errorf("sipfragReason(%q) = %q, want %q", body, got, want)
		}
	}
}

// What a peer puts in Refer-To and Replaces must never panic us.
func FuzzReferTo(f *testing.F) {
	f.Add("<sip:carol@example.com?Replaces=a%40b%3Bto-tag%3D1%3Bfrom-tag%3D2>")
	f.Add("<?&=>")
	f.Fuzz(func(t *testing.T, v string) {
		_, rep := referTarget(v)
		parseReplaces(rep)
		parseReplaces(v)
	})
}
