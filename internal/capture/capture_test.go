package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/deskphone/deskphone/internal/siptrace"
)

const key = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"

var (
	alice    = netip.MustParseAddrPort("127.0.0.1:40000")
	proxy    = netip.MustParseAddrPort("127.0.0.1:5061")
	aliceRTP = netip.MustParseAddrPort("127.0.0.1:16384")
	bobRTP   = netip.MustParseAddrPort("127.0.0.1:16386")
)

func sdpBody(port uint16) string {
	return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		fmt.Sprintf("m=audio %d RTP/SAVP 0 101\r\n", port) +
		"a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n" +
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^31|1:1\r\n"
}

func invite(body string) string {
	return "INVITE sip:bob@deskphone.test SIP/2.0\r\n" +
		"Via: SIP/2.0/TLS 127.0.0.1:40000;branch=z9hG4bK.1\r\n" +
		"From: <sip:alice@deskphone.test>;tag=a\r\nTo: <sip:bob@deskphone.test>\r\n" +
		"Call-ID: c1\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@127.0.0.1:40000;transport=tls>\r\n" +
		"Proxy-Authorization: Digest username=\"alice\", realm=\"r\", nonce=\"n\", uri=\"sip:bob@deskphone.test\", response=\"0123456789abcdef\"\r\n" +
		"Content-Type: application/sdp\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + body
}

func rtpPacket(seq uint16, ssrc uint32) []byte {
	p := make([]byte, 12+160)
	p[0], p[1] = 0x80, 0
	binary.BigEndian.PutUint16(p[2:], seq)
	binary.BigEndian.PutUint32(p[4:], uint32(seq)*160)
	binary.BigEndian.PutUint32(p[8:], ssrc)
	for i := 12; i < len(p); i++ {
		p[i] = 0xff
	}
	return p
}

type packet struct {
	src, dst netip.AddrPort
	payload  []byte
}

func readBack(t *testing.T, data []byte) []packet {
	t.Helper()
	r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	var out []packet
	for {
		d, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		p := gopacket.NewPacket(d, layers.LayerTypeIPv4, gopacket.Default)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if ip == nil || udp == nil {
			t.Fatalf("packet %d is not IPv4/UDP: %v", len(out), p)
		}
		src, _ := netip.AddrFromSlice(ip.SrcIP)
		dst, _ := netip.AddrFromSlice(ip.DstIP)
		out = append(out, packet{netip.AddrPortFrom(src, uint16(udp.SrcPort)), netip.AddrPortFrom(dst, uint16(udp.DstPort)), udp.Payload})
	}
}

func TestWriteReadBack(t *testing.T) {
	var buf bytes.Buffer
	w, err := New(&buf, "test.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	msg := invite(sdpBody(aliceRTP.Port()))
	// The phone's copy, then the mock cloud's of the same message, read
	// in two chunks.
	w.Trace(siptrace.Message{Sent: true, Transport: "TLS", Local: alice.String(), Remote: proxy.String(), Text: msg})
	w.Trace(siptrace.Message{Transport: "TLS", Local: proxy.String(), Remote: alice.String(), Text: msg[:100]})
	w.Trace(siptrace.Message{Transport: "TLS", Local: proxy.String(), Remote: alice.String(), Text: msg[100:] + "\r\n\r\n"})
	// Each RTP packet reported by sender and receiver.
	for seq := range uint16(3) {
		p := rtpPacket(seq, 7)
		w.RTP(aliceRTP, bobRTP, p)
		w.RTP(aliceRTP, bobRTP, p)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pkts := readBack(t, buf.Bytes())
	if len(pkts) != 4 {
		t.Fatalf("%d packets, want 4 (one INVITE, three RTP)", len(pkts))
	}
	if pkts[0].src != alice || pkts[0].dst != proxy {
		t.Errorf("INVITE from %v to %v, want %v to %v", pkts[0].src, pkts[0].dst, alice, proxy)
	}
	sip := string(pkts[0].payload)
	for _, want := range []string{"m=audio 16384 RTP/AVP 0 101\r\n", "a=rtpmap:0 PCMU/8000\r\n"} {
		if !strings.Contains(sip, want) {
			t.Errorf("captured INVITE lacks %q:\n%s", want, sip)
		}
	}
	_, body, _ := strings.Cut(sip, "\r\n\r\n")
	if want := fmt.Sprintf("Content-Length: %d\r\n", len(body)); !strings.Contains(sip, want) {
		t.Errorf("captured INVITE lacks %q:\n%s", want, sip)
	}
	for i, p := range pkts[1:] {
		if p.src != aliceRTP || p.dst != bobRTP || !bytes.Equal(p.payload, rtpPacket(uint16(i), 7)) {
			t.Errorf("RTP packet %d: %v -> %v % x", i, p.src, p.dst, p.payload[:12])
		}
	}
	for _, secret := range []string{key, "0123456789abcdef", "a=crypto"} {
		if bytes.Contains(buf.Bytes(), []byte(secret)) {
			t.Errorf("capture holds %q", secret)
		}
	}
}

func TestRetransmissionsKept(t *testing.T) {
	var buf bytes.Buffer
	w, err := New(&buf, "test.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	msg := "OPTIONS sip:x SIP/2.0\r\nCall-ID: o\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	for range 2 { // sent twice over UDP: two packets on the wire
		w.Trace(siptrace.Message{Sent: true, Transport: "UDP", Local: alice.String(), Remote: proxy.String(), Text: msg})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(readBack(t, buf.Bytes())); n != 2 {
		t.Errorf("%d packets, want the 2 retransmissions", n)
	}
}

func TestSanitize(t *testing.T) {
	for _, tt := range []struct {
		name, in, want string
	}{
		{"savp", invite(sdpBody(16384)), "m=audio 16384 RTP/AVP 0 101\r\n"},
		{"savpf", invite(strings.Replace(sdpBody(16384), "RTP/SAVP", "RTP/SAVPF", 1)), "m=audio 16384 RTP/AVPF 0 101\r\n"},
		{"optional", invite(strings.Replace(sdpBody(16384), "RTP/SAVP", "RTP/AVP", 1)), "m=audio 16384 RTP/AVP 0 101\r\n"},
		{"compact", strings.Replace(invite(sdpBody(16384)), "Content-Length:", "l:", 1), "\r\nl: "},
		{"no body", "BYE sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n", "BYE sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := string(Sanitize([]byte(tt.in)))
			if !strings.Contains(got, tt.want) {
				t.Errorf("lacks %q:\n%s", tt.want, got)
			}
			if strings.Contains(got, key) || strings.Contains(got, "crypto") {
				t.Errorf("key left:\n%s", got)
			}
			head, body, _ := strings.Cut(got, "\r\n\r\n")
			if strings.Contains(head, "Content-Length") || strings.Contains(head, "\r\nl:") {
				n, _ := contentLength([]byte(head + "\r\n\r\n"))
				if n != len(body) {
					t.Errorf("Content-Length %d, body %d bytes:\n%s", n, len(body), got)
				}
			}
		})
	}
}

func TestFramer(t *testing.T) {
	a := "BYE sip:x SIP/2.0\r\nContent-Length: 4\r\n\r\nbody"
	b := "SIP/2.0 200 OK\r\nl: 0\r\n\r\n"
	var f framer
	var got []string
	whole := "\r\n\r\n" + a + b + a
	for i := 0; i < len(whole); i += 7 {
		for _, m := range f.feed([]byte(whole[i:min(i+7, len(whole))])) {
			got = append(got, string(m))
		}
	}
	if want := []string{a, b, a}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("messages %q, want %q", got, want)
	}
	if m := f.feed([]byte("garbage\r\nContent-Length: x\r\n\r\n")); len(m) != 0 || f.buf != nil {
		t.Errorf("garbage gave %q, kept %q", m, f.buf)
	}
}

func TestConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fleet.pcapng")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 200
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			src := netip.AddrPortFrom(aliceRTP.Addr(), uint16(20000+2*i))
			for seq := range uint16(each) {
				w.RTP(src, bobRTP, rtpPacket(seq, uint32(i)))
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := st.Mode().Perm(); mode != 0o600 {
		t.Errorf("mode %v, want 0600", mode)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[netip.AddrPort]int{}
	for _, p := range readBack(t, data) {
		if seq := binary.BigEndian.Uint16(p.payload[2:]); int(seq) != seen[p.src] {
			t.Fatalf("%v: sequence %d after %d packets", p.src, seq, seen[p.src])
		}
		seen[p.src]++
	}
	if len(seen) != writers {
		t.Errorf("%d streams, want %d", len(seen), writers)
	}
	for src, n := range seen {
		if n != each {
			t.Errorf("%v: %d packets, want %d", src, n, each)
		}
	}
	if err := w.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v, want ErrClosed", err)
	}
}

// failing fails every write after the first n bytes.
type failing struct{ n int }

var errDiskFull = errors.New("disk full")

func (f *failing) Write(p []byte) (int, error) {
	if len(p) > f.n {
		return 0, errDiskFull
	}
	f.n -= len(p)
	return len(p), nil
}

func TestWriteError(t *testing.T) {
	var reports []error
	w, err := New(&failing{n: 1 << 20}, "full.pcapng", WithErrorHandler(func(err error) { reports = append(reports, err) }))
	if err != nil {
		t.Fatal(err)
	}
	// The section header fits; the buffered packets fail when flushed.
	w.buf.Reset(&failing{})
	for seq := range uint16(2000) { // more than the buffer holds
		w.RTP(aliceRTP, bobRTP, rtpPacket(seq, 1))
	}
	err = w.Close()
	if !errors.Is(err, errDiskFull) || !strings.Contains(err.Error(), "full.pcapng") {
		t.Errorf("Close: %v, want the disk-full error naming the file", err)
	}
	if len(reports) != 1 || !errors.Is(reports[0], errDiskFull) {
		t.Errorf("reports %v, want the error once", reports)
	}
}

func TestCreateRefusesOthersFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "open.pcapng")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(path); err == nil {
		t.Error("Create took a file readable by others")
	}
}

// TestTsharkDissects checks the framing the package doc describes: tshark,
// with no preferences, finds SIP and, from its SDP, RTP.
func TestTsharkDissects(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	path := filepath.Join(t.TempDir(), "call.pcapng")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	w.Trace(siptrace.Message{Time: now, Sent: true, Transport: "TLS", Local: alice.String(), Remote: proxy.String(), Text: invite(sdpBody(aliceRTP.Port()))})
	for seq := range uint16(5) {
		w.RTP(bobRTP, aliceRTP, rtpPacket(seq, 9))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("tshark", "-n", "-r", path, "-T", "fields", "-e", "frame.protocols").Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	protos := strings.Fields(string(out))
	if want := "[raw:ip:udp:sip:sdp raw:ip:udp:rtp raw:ip:udp:rtp raw:ip:udp:rtp raw:ip:udp:rtp raw:ip:udp:rtp]"; fmt.Sprint(protos) != want {
		t.Errorf("tshark sees %v, want %s\n%s", protos, want, out)
	}
}
