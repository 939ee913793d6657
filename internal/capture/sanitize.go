package capture

import (
	"bytes"
	"strconv"

	"github.com/deskphone/deskphone/internal/siptrace"
)

// Sanitize returns a SIP message fit for a capture of decrypted media:
// its SDP offers plain RTP (RTP/SAVP becomes RTP/AVP, RTP/SAVPF
// RTP/AVPF, a=crypto and a=key-mgmt lines are gone), what siptrace.Redact removes is
// removed, and Content-Length counts the body that is left. Wireshark
// then plays the captured RTP as it is, and the file holds no key.
func Sanitize(msg []byte) []byte {
	head, body, ok := bytes.Cut(msg, []byte("\r\n\r\n"))
	if !ok {
		return siptrace.Redact(msg)
	}
	head = siptrace.Redact(head)
	if len(body) == 0 {
		return append(append(head, "\r\n\r\n"...), body...)
	}
	var out []byte
	for _, line := range bytes.SplitAfter(body, []byte("\n")) {
		t := bytes.ToLower(bytes.TrimSpace(line))
		if bytes.HasPrefix(t, []byte("a=crypto:")) || bytes.HasPrefix(t, []byte("a=key-mgmt:")) {
			continue // SDES keys; MIKEY's (RFC 4567) would be as bad
		}
		if bytes.HasPrefix(t, []byte("m=")) {
			line = bytes.Replace(line, []byte(" RTP/SAVPF "), []byte(" RTP/AVPF "), 1)
			line = bytes.Replace(line, []byte(" RTP/SAVP "), []byte(" RTP/AVP "), 1)
		}
		out = append(out, line...)
	}
	// Any key left elsewhere in the body (another attribute, another
	// kind of body) goes too.
	out = siptrace.Redact(out)
	var msgOut []byte
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		if name, _, ok := bytes.Cut(line, []byte(":")); ok {
			name = bytes.TrimSpace(name)
			if bytes.EqualFold(name, []byte("Content-Length")) || bytes.Equal(name, []byte("l")) {
				line = append(append(bytes.Clone(name), ": "...), strconv.Itoa(len(out))...)
			}
		}
		msgOut = append(append(msgOut, line...), "\r\n"...)
	}
	msgOut = append(msgOut, "\r\n"...)
	return append(msgOut, out...)
}
