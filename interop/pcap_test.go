//go:build interop

package interop

import (
	"bytes"
	"context"
	"encoding/hex"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/deskphone/deskphone/codecs"
	"github.com/deskphone/deskphone/internal/capture"
	"github.com/deskphone/deskphone/internal/siptrace"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/scenarios"
)

var toolTshark = tool{[]string{"tshark"}, "tshark", "Wireshark's dissectors"}

// pcapCall is a two-phone SRTP call through the embedded mock cloud, each
// phone sending its own tone.
const pcapCall = `name: Two phones call over SRTP for a capture
phones:
  - {name: alice, model: t46g, audio: "tone:1000", codecs: PCMU, srtp: mandatory}
  - {name: bob, model: vvx501, audio: "tone:1500", codecs: PCMU, srtp: mandatory}
steps:
  - parallel:
      - {phone: alice, wait: {registered: yes}}
      - {phone: bob, wait: {registered: yes}}
  - {phone: alice, dial: bob}
  - {phone: bob, wait: {call: ringing}}
  - answer: bob
  - {phone: alice, wait: {call: connected}}
  - {phone: bob, wait: {tone: 1000}}
  - {phone: alice, wait: {tone: 1500}}
  - hangup: alice
  - {phone: bob, wait: {call: idle}}
`

// sdesKeys collects the SRTP master keys the SIP messages carried.
type sdesKeys struct {
	mu   sync.Mutex
	keys []string
}

var inlineKey = regexp.MustCompile(`inline:([A-Za-z0-9+/=]+)`)

func (k *sdesKeys) Trace(m siptrace.Message) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, sub := range inlineKey.FindAllStringSubmatch(m.Text, -1) {
		if !slices.Contains(k.keys, sub[1]) {
			k.keys = append(k.keys, sub[1])
		}
	}
}

// TestPcapInWireshark captures a two-phone SRTP call the way --pcap does
// and opens the file with tshark: the SIP dialog is there, the two RTP
// streams are plain PCMU, no key is in the file, and the audio exported
// from each stream holds the tone its phone sent.
func TestPcapInWireshark(t *testing.T) {
	tshark := need(t, toolTshark)
	dir := t.TempDir()
	file := filepath.Join(dir, "call.yaml")
	if err := os.WriteFile(file, []byte(pcapCall), 0o644); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.Load(file, cat)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "call.pcapng")
	pcap, err := capture.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var keys sdesKeys
	// As 'deskphone scenario run --pcap' does: the capture sees every SIP
	// message and every engine's RTP.
	siptrace.Install(pcap, &keys)
	t.Cleanup(func() { sip.SIPDebug = false })
	res := scenarios.Run(context.Background(), sc, scenarios.Options{Catalog: cat, Tap: pcap})
	if err := pcap.Close(); err != nil {
		t.Fatal(err)
	}
	if !res.Passed {
		t.Fatalf("%s", res.Details())
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := st.Mode().Perm(); mode != 0o600 {
		t.Errorf("capture mode %v, want 0600", mode)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys.keys) < 2 {
		t.Fatalf("the call's SIP carried %d SDES keys, want one per phone at least", len(keys.keys))
	}
	for _, k := range keys.keys {
		if bytes.Contains(data, []byte(k)) {
			t.Errorf("the capture holds the SRTP key %s", k)
		}
	}

	fields := func(filter string, field ...string) [][]string {
		t.Helper()
		args := []string{"-n", "-r", path, "-Y", filter, "-T", "fields"}
		for _, f := range field {
			args = append(args, "-e", f)
		}
		out, err := exec.Command(tshark, args...).Output()
		if err != nil {
			t.Fatalf("tshark %s: %v", strings.Join(args, " "), err)
		}
		var rows [][]string
		for line := range strings.Lines(string(out)) {
			rows = append(rows, strings.Split(strings.TrimRight(line, "\r\n"), "\t"))
		}
		return rows
	}

	// The SIP dialog, in order, as the calling phone saw it.
	var dialog []string
	for _, r := range fields("sip.CSeq.method == INVITE || sip.CSeq.method == ACK || sip.CSeq.method == BYE", "sip.Method", "sip.Status-Code", "sip.CSeq.method") {
		step := r[0]
		if step == "" {
			step = r[1] + " " + r[2]
		}
		if len(dialog) == 0 || dialog[len(dialog)-1] != step {
			dialog = append(dialog, step)
		}
	}
	for _, want := range []string{"INVITE", "200 INVITE", "ACK", "BYE", "200 BYE"} {
		i := slices.Index(dialog, want)
		if i < 0 {
			t.Fatalf("SIP dialog %q lacks %q", dialog, want)
		}
		dialog = dialog[i+1:]
	}

	if n := len(fields("srtp.enc_payload || srtp.auth_tag", "frame.number")); n != 0 {
		t.Errorf("tshark sees %d SRTP packets, want none", n)
	}
	out, err := exec.Command(tshark, "-n", "-q", "-r", path, "-z", "rtp,streams").Output()
	if err != nil {
		t.Fatalf("tshark -z rtp,streams: %v", err)
	}
	var streams []string
	for line := range strings.Lines(string(out)) {
		if strings.Contains(line, "0x") {
			streams = append(streams, line)
		}
	}
	if len(streams) != 2 {
		t.Fatalf("%d RTP streams, want 2:\n%s", len(streams), out)
	}
	for _, s := range streams {
		if !strings.Contains(s, "g711U") {
			t.Errorf("stream is not PCMU: %s", s)
		}
		// Every packet sent is in the file once: the sender's copy is
		// written before the packet leaves, the receiver's is dropped.
		if !strings.Contains(s, " 0 (0.0%) ") || strings.HasSuffix(strings.TrimSpace(s), "X") {
			t.Errorf("stream with losses or problems:\n%s", out)
		}
	}
	out, err = exec.Command(tshark, "-n", "-q", "-r", path, "-z", "sip,stat").Output()
	if err != nil {
		t.Fatalf("tshark -z sip,stat: %v", err)
	}
	if !strings.Contains(string(out), "Number of resent SIP messages: 0\n") {
		t.Errorf("SIP messages seen twice (the copies of sender and receiver):\n%s", out)
	}

	// Export each stream's audio and find its tone.
	payloads := map[string][]byte{}
	for _, r := range fields("rtp.p_type == 0", "rtp.ssrc", "rtp.payload") {
		b, err := hex.DecodeString(strings.ReplaceAll(r[1], ":", ""))
		if err != nil {
			t.Fatalf("payload %q: %v", r[1], err)
		}
		payloads[r[0]] = append(payloads[r[0]], b...)
	}
	var tones []float64
	for ssrc, p := range payloads {
		dec, err := codecs.PCMU.NewDecoder()
		if err != nil {
			t.Fatal(err)
		}
		pcm := make([]int16, 2*len(p))
		n, err := dec.Decode(pcm, p)
		if err != nil {
			t.Fatal(err)
		}
		hz, ok := codecs.DetectTone(pcm[:n], 8000, nil)
		t.Logf("stream %s: %d samples, tone %v Hz (%v)", ssrc, n, hz, ok)
		if ok {
			tones = append(tones, hz)
		}
	}
	slices.Sort(tones)
	if len(tones) != 2 || math.Abs(tones[0]-1000) > 2 || math.Abs(tones[1]-1500) > 2 {
		t.Errorf("tones in the exported audio: %v Hz, want 1000 and 1500", tones)
	}
}
