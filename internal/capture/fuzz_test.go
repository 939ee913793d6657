package capture

import (
	"bytes"
	"io"
	"regexp"
	"testing"

	"github.com/deskphone/deskphone/internal/siptrace"
)

var inlineAny = regexp.MustCompile(`(?i)inline:([^|\s;]*)`)

// FuzzSIP feeds what a peer could send, in two reads of a stream and as
// a datagram, to the capture: nothing may panic, and every message it
// would write holds no SDES key and a Content-Length that fits. The seed
// corpus is in testdata/fuzz/FuzzSIP.
func FuzzSIP(f *testing.F) {
	msg := invite(sdpBody(16384))
	f.Add([]byte(msg[:90]), []byte(msg[90:]))
	f.Add([]byte("\r\n\r\n"), []byte("BYE sip:x SIP/2.0\r\nl: 3\r\n\r\nabc"))
	// One Writer for the run, as a process has: its stream state carries
	// over from one input to the next, as a peer's garbage would.
	w, err := New(io.Discard, "fuzz.pcapng")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { w.Close() })
	f.Fuzz(func(t *testing.T, a, b []byte) {
		for _, chunk := range [][]byte{a, b} {
			w.Trace(siptrace.Message{Transport: "TLS", Local: proxy.String(), Remote: alice.String(), Text: string(chunk)})
		}
		w.Trace(siptrace.Message{Transport: "UDP", Local: proxy.String(), Remote: alice.String(), Text: string(a)})
		if err := w.Err(); err != nil {
			t.Fatal(err)
		}
		var fr framer
		msgs := append(fr.feed(a), fr.feed(b)...)
		for _, m := range append(msgs, a) {
			out := Sanitize(m)
			for _, k := range inlineAny.FindAllSubmatch(out, -1) {
				if len(k[1]) > 0 && !bytes.HasPrefix(k[1], []byte(siptrace.Redacted)) {
					t.Fatalf("key %q left in %q", k[1], out)
				}
			}
			head, body, ok := bytes.Cut(out, []byte("\r\n\r\n"))
			if !ok {
				continue
			}
			if n, ok := contentLength(append(head, "\r\n\r\n"...)); ok && n != len(body) && hasContentLength(head) {
				t.Fatalf("Content-Length %d, body %d bytes: %q", n, len(body), out)
			}
		}
	})
}

func hasContentLength(head []byte) bool {
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		name, _, ok := bytes.Cut(line, []byte(":"))
		name = bytes.TrimSpace(name)
		if ok && (bytes.EqualFold(name, []byte("Content-Length")) || bytes.Equal(name, []byte("l"))) {
			return true
		}
	}
	return false
}
