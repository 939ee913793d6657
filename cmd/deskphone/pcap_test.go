package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// udpPacket is one datagram of a capture.
type udpPacket struct {
	src, dst string
	payload  []byte
}

// readPcap reads the UDP datagrams of a --pcap file and checks its mode.
func readPcap(t *testing.T, path string) []udpPacket {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := st.Mode().Perm(); mode != 0o600 {
		t.Errorf("%s: mode %v, want 0600", path, mode)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	var out []udpPacket
	for {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		p := gopacket.NewPacket(data, layers.LayerTypeIPv4, gopacket.Default)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if ip == nil || udp == nil {
			t.Fatalf("%s: packet %d is not IPv4/UDP", path, len(out)+1)
		}
		out = append(out, udpPacket{ip.SrcIP.String() + ":" + udp.SrcPort.String(), ip.DstIP.String() + ":" + udp.DstPort.String(), udp.Payload})
	}
}

// sipAndRTP sorts a capture into SIP messages (by their first line) and
// RTP packets counted per direction.
func sipAndRTP(pkts []udpPacket) (sip []string, rtp map[string]int) {
	rtp = map[string]int{}
	for _, p := range pkts {
		if line, _, ok := bytes.Cut(p.payload, []byte("\r\n")); ok && bytes.Contains(line, []byte("SIP/2.0")) {
			sip = append(sip, string(line))
			continue
		}
		if len(p.payload) >= 12 && p.payload[0]>>6 == 2 && p.payload[1]&0x7f < 64 {
			rtp[p.src+" > "+p.dst]++
		}
	}
	return sip, rtp
}

var sdesInline = regexp.MustCompile(`inline:([A-Za-z0-9+/=]+)`)

// A call to the embedded cloud's echo service with --pcap: the file holds
// the INVITE and the RTP both ways, and none of the keys that the SIP
// trace (with secrets) shows were in the call.
func TestRunPcap(t *testing.T) {
	dir := t.TempDir()
	pcap, trace := filepath.Join(dir, "call.pcapng"), filepath.Join(dir, "sip.trace")
	script := "wait registered=yes\ncall echo\nwait call=connected\nwait tone_hz=1000\nhangup\nwait call=idle\nquit\n"
	out, stderr, code := deskphone(t, script, "run", "--headless", "--audio-source", "tone:1000",
		"--pcap", pcap, "--sip-trace", trace, "--sip-trace-secrets")
	if code != 0 || strings.Contains(out, "error:") {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	sip, rtp := sipAndRTP(readPcap(t, pcap))
	if !strings.Contains(strings.Join(sip, "\n"), "INVITE sips:echo") {
		t.Errorf("no INVITE to echo in %q", sip)
	}
	if len(rtp) != 2 {
		t.Errorf("RTP directions %v, want 2 (to echo and back)", rtp)
	}
	traced, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	keys := sdesInline.FindAllStringSubmatch(string(traced), -1)
	if len(keys) == 0 {
		t.Fatal("no SDES key in the SIP trace: was the call SRTP?")
	}
	data, err := os.ReadFile(pcap)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if bytes.Contains(data, []byte(k[1])) {
			t.Errorf("the capture holds the SRTP key %s", k[1])
		}
	}
}

// scenario run --pcap captures the scenario's phones and its cloud.
func TestScenarioPcap(t *testing.T) {
	pcap := filepath.Join(t.TempDir(), "scenario.pcapng")
	out, stderr, code := deskphone(t, "", "scenario", "run", "--pcap", pcap, filepath.Join("..", "..", "scenarios", "library", "dtmf-between-phones.yaml"))
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	sip, rtp := sipAndRTP(readPcap(t, pcap))
	all := strings.Join(sip, "\n")
	for _, want := range []string{"REGISTER sips:", "INVITE sips:bob", "ACK sip:", "BYE sip:"} {
		if !strings.Contains(all, want) {
			t.Errorf("no %q in %q", want, sip)
		}
	}
	if len(rtp) != 2 {
		t.Errorf("RTP directions %v, want 2", rtp)
	}
}

// fleet --pcap: one file for the whole fleet, each phone's registration
// in it, complete once the fleet has stopped.
func TestFleetPcap(t *testing.T) {
	dir := t.TempDir()
	cloud := startProc(t, "backend", "--state", filepath.Join(dir, "cloud"), "--listen", "tls:127.0.0.1:0",
		"--admin", "", "--update", "", "--load-users", "load{n:05d}:secret:3")
	addr := strings.TrimPrefix(cloud.line("listening tls "), "listening tls ")
	pcap := filepath.Join(dir, "fleet.pcapng")
	p := startProc(t, "fleet", "--phones", "3", "--model", "t46g", "--server", "sips:"+addr, "--user", "load{n:05d}",
		"--password", "secret", "--ephemeral", "--progress", "lines", "--progress-every", "100ms", "--pcap", pcap)
	p.line("fleet: 3/3 started, 0 failed, 3 registered")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.line("fleet: stopped in ")
	if err := p.cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	registered := map[string]bool{}
	for _, pk := range readPcap(t, pcap) {
		if bytes.HasPrefix(pk.payload, []byte("SIP/2.0 200 OK")) && bytes.Contains(pk.payload, []byte(" REGISTER\r\n")) {
			registered[pk.dst] = true
		}
	}
	if len(registered) != 3 {
		t.Errorf("200 OK to a REGISTER reached %d phones in the capture, want 3", len(registered))
	}
}

// A call to echo holds its tone with the calls' ports shared (the
// default) and with a port pair per call.
func TestRunMediaPorts(t *testing.T) {
	for _, mode := range []string{"shared", "per-call"} {
		t.Run(mode, func(t *testing.T) {
			script := "wait registered=yes\ncall echo\nwait call=connected\nwait tone_hz=1000\nhangup\nwait call=idle\nquit\n"
			out, stderr, code := deskphone(t, script, "run", "--headless", "--audio-source", "tone:1000", "--media-ports", mode)
			if code != 0 || strings.Contains(out, "error:") {
				t.Fatalf("exit %d\n%s%s", code, out, stderr)
			}
		})
	}
}
