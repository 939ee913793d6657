//go:build interop

package interop

import (
	"bufio"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/codecs"
	"github.com/deskphone/deskphone/media"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/statedir"
)

var toolBaresip = tool{[]string{"baresip"}, "baresip-core", "SIP softphone"}

// The tones: baresip plays baresipToneHz from a WAV file, the deskphone
// sends phoneToneHz. Neither is a harmonic of the other.
const (
	baresipToneHz = 440
	phoneToneHz   = 1000
	// baresipWAVLength is the length of baresip's WAV: aufile hangs up
	// the call at the end of the file, so it outlasts any test.
	baresipWAVLength = 30 * time.Second
	// baresipTimeout bounds a baresip run (its -t): a safety net, the
	// test stops it when it ends.
	baresipTimeout = 2 * time.Minute
)

// baresipModules are the modules the tests load, all in baresip-core.
var baresipModules = []string{
	"account.so", "g711.so", "g722.so", "srtp.so", "aufile.so", "sndfile.so", "alsa.so", "menu.so", "ctrl_tcp.so",
}

// baresipModulePath finds the folder with baresip's modules, skipping the
// test when one the tests load is missing.
func baresipModulePath(t *testing.T) string {
	t.Helper()
	var dirs []string
	for _, pattern := range []string{
		"/usr/lib/baresip/modules",
		"/usr/lib/*/baresip/modules",
		"/usr/local/lib/baresip/modules",
		"/usr/lib64/baresip/modules",
	} {
		m, _ := filepath.Glob(pattern)
		dirs = append(dirs, m...)
	}
	var missing []string
	for _, d := range dirs {
		missing = missing[:0]
		for _, m := range baresipModules {
			if _, err := os.Stat(filepath.Join(d, m)); err != nil {
				missing = append(missing, m)
			}
		}
		if len(missing) == 0 {
			return d
		}
	}
	if len(dirs) == 0 {
		skipMissing(t, "no baresip modules folder found: apt-get install -y baresip-core")
	}
	skipMissing(t, "baresip modules %s missing in %s: apt-get install -y baresip-core", strings.Join(missing, ", "), strings.Join(dirs, ", "))
	return ""
}

// baresipAccount is the one account a baresip instance registers, and its
// audio.
type baresipAccount struct {
	user, password string
	domain         string // the AOR's host: the SIP domain and realm
	registrar      string // host:port of the registrar's TLS listener
	caFile         string // PEM root the registrar's chain leads to
	codec          string // baresip's full codec name, e.g. PCMU/8000/1
	rate           int    // the codec's audio sample rate: aufile does not resample
}

// baresipUA is a baresip the test started: registered, auto-answering with
// SRTP only, sending a tone from a WAV file and recording what it receives
// with sndfile.
type baresipUA struct {
	proc *proc
	dir  string // its configuration folder and sndfile's snd_path
	ctrl *baresipCtrl
}

// startBaresip writes baresip's configuration, accounts and tone WAV to a
// new folder, starts it, connects to its ctrl_tcp port and waits until the
// account has registered. It is stopped when the test ends.
func startBaresip(t *testing.T, bin string, acct baresipAccount) *baresipUA {
	t.Helper()
	mpath := baresipModulePath(t)
	dir := t.TempDir()
	wav := filepath.Join(dir, fmt.Sprintf("tone-%d-%d.wav", baresipToneHz, acct.rate))
	writeToneWAV(t, wav, baresipToneHz, acct.rate, baresipWAVLength)

	// <sip:bob@domain;transport=tls>: the registrar and every call go
	// through the outbound proxy, which is the registrar's TLS listener
	// (the AOR's host may be a name baresip cannot resolve).
	line := fmt.Sprintf("<sip:%s@%s;transport=tls>;auth_pass=%s;outbound=\"sip:%s;transport=tls\";"+
		"mediaenc=srtp-mand;answermode=auto;audio_codecs=%s;regint=600;mwi=no;pubint=0\n",
		acct.user, acct.domain, acct.password, acct.registrar, acct.codec)
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}

	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		ctrlPort := freePort(t, false)
		cfg := baresipConfig(mpath, wav, dir, acct.caFile, ctrlPort)
		if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("baresip-%s-try%d", acct.user, attempt)
		// -f: no ~/.baresip; -t: quit at the latest then. stdin is
		// /dev/null and the stdio module is not loaded.
		p := start(t, name, dir, baresipTimeout+10*time.Second, []string{bin,
			"-f", dir, "-t", strconv.Itoa(int(baresipTimeout / time.Second))},
			filepath.Join(dir, "config"), filepath.Join(dir, "accounts"))
		if err = waitListening(p, ctrlPort, 15*time.Second); err != nil {
			// baresip may go on without ctrl_tcp: stop it, so that
			// its (buffered) output is complete, and look.
			p.stop()
			if p.bindFailed() || baresipCtrlFailed(p) {
				t.Logf("%v; trying another ctrl_tcp port", err)
				continue
			}
			t.Fatal(err)
		}
		ctrl, err := dialBaresipCtrl(ctrlPort)
		if err != nil {
			t.Fatalf("baresip ctrl_tcp: %v", err)
		}
		t.Cleanup(ctrl.close)
		ua := &baresipUA{proc: p, dir: dir, ctrl: ctrl}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("----- baresip ctrl_tcp events -----\n%s", strings.Join(ctrl.history(), "\n"))
			}
		})
		aor := ua.waitRegistered(t, 20*time.Second)
		t.Logf("baresip registered as %s", aor)
		return ua
	}
	t.Fatal(err)
	return nil
}

// baresipCtrlFailed says whether baresip, stopped, said that ctrl_tcp
// could not listen on its port.
func baresipCtrlFailed(p *proc) bool {
	data, _ := os.ReadFile(p.logs[0])
	return strings.Contains(string(data), "ctrl_tcp: failed to listen")
}

// baresipConfig is baresip's config file. There is no sound card: the
// player is ALSA's null device, the source aufile; sndfile records every
// stream's decoded audio (what baresip hears) into dir. menu provides the
// commands (reginfo) that ctrl_tcp runs; stdio is left out, as stdin is
// not a terminal. sip_cafile names the registrar's root, but baresip 1.0
// (libre 1.1) does not verify the server's certificate with it: it
// registers with any root (tried), so these tests do not show that it
// checks the chain.
func baresipConfig(modulePath, wav, dir, caFile string, ctrlPort int) string {
	return fmt.Sprintf(`# deskphone interop test: baresip, auto-answering with SRTP only
poll_method		epoll
sip_cafile		%[4]s
call_local_timeout	30
call_max_calls		2
audio_player		alsa,null
audio_alert		alsa,null
audio_source		aufile,%[2]s
audio_level		no
ausrc_format		s16
auplay_format		s16
auenc_format		s16
audec_format		s16
audio_buffer		20-160
rtp_tos			0
rtp_ports		10000-16000
rtcp_mux		no
jitter_buffer_delay	5-10
rtp_stats		no
net_interface		127.0.0.1
module_path		%[1]s
module			g711.so
module			g722.so
module			srtp.so
module			aufile.so
module			alsa.so
module			sndfile.so
module_tmp		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:%[5]d
snd_path		%[3]s
`, modulePath, wav, dir, caFile, ctrlPort)
}

// writeToneWAV writes d of a steady hz tone at -12 dBFS, mono 16-bit.
func writeToneWAV(t *testing.T, path string, hz float64, rate int, d time.Duration) {
	t.Helper()
	pcm, err := codecs.Tone(hz, -12, d, rate)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := codecs.WriteWAV(f, pcm, rate); err != nil {
		f.Close()
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// baresipEvent is an event baresip's ctrl_tcp module sends.
type baresipEvent struct {
	Event bool   `json:"event"`
	Type  string `json:"type"`
	Class string `json:"class"`
	AOR   string `json:"accountaor"`
	Peer  string `json:"peeruri"`
	Param string `json:"param"`
}

// baresipResponse is ctrl_tcp's answer to a command.
type baresipResponse struct {
	Response bool   `json:"response"`
	OK       bool   `json:"ok"`
	Data     string `json:"data"`
	Token    string `json:"token"`
}

// baresipCtrl talks to baresip's ctrl_tcp module: JSON commands and
// responses, and events, as netstrings ("LEN:JSON,") on a TCP connection.
type baresipCtrl struct {
	conn   net.Conn
	mu     sync.Mutex
	evs    []baresipEvent
	resps  []baresipResponse
	raw    []string
	err    error
	more   chan struct{} // closed and replaced on every message and at the end
	done   chan struct{}
	tokens int
}

func dialBaresipCtrl(port int) (*baresipCtrl, error) {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 5*time.Second)
	if err != nil {
		return nil, err
	}
	c := &baresipCtrl{conn: conn, more: make(chan struct{}), done: make(chan struct{})}
	go c.read()
	return c, nil
}

func (c *baresipCtrl) read() {
	defer close(c.done)
	r := bufio.NewReader(c.conn)
	for {
		msg, err := readNetstring(r)
		c.mu.Lock()
		if err != nil {
			c.err = err
		} else {
			c.raw = append(c.raw, string(msg))
			var ev baresipEvent
			var resp baresipResponse
			switch {
			case json.Unmarshal(msg, &ev) == nil && ev.Event:
				c.evs = append(c.evs, ev)
			case json.Unmarshal(msg, &resp) == nil && resp.Response:
				c.resps = append(c.resps, resp)
			}
		}
		close(c.more)
		c.more = make(chan struct{})
		c.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// readNetstring reads one netstring's payload.
func readNetstring(r *bufio.Reader) ([]byte, error) {
	head, err := r.ReadString(':')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(head[:len(head)-1]))
	if err != nil || n < 0 || n > 1<<20 {
		return nil, fmt.Errorf("bad netstring length %q", head)
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	if buf[n] != ',' {
		return nil, fmt.Errorf("netstring of %d bytes not ended by a comma", n)
	}
	return buf[:n], nil
}

func (c *baresipCtrl) close() {
	c.conn.Close()
	<-c.done
}

// history is every message received, for a failed test's log.
func (c *baresipCtrl) history() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := append([]string(nil), c.raw...)
	if c.err != nil {
		out = append(out, fmt.Sprintf("(connection: %v)", c.err))
	}
	return out
}

// command sends a ctrl_tcp command and waits for its response.
func (c *baresipCtrl) command(command, params string, timeout time.Duration) (baresipResponse, error) {
	c.mu.Lock()
	c.tokens++
	token := "dp" + strconv.Itoa(c.tokens)
	c.mu.Unlock()
	msg, err := json.Marshal(map[string]string{"command": command, "params": params, "token": token})
	if err != nil {
		return baresipResponse{}, err
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := fmt.Fprintf(c.conn, "%d:%s,", len(msg), msg); err != nil {
		return baresipResponse{}, fmt.Errorf("%s: %w", command, err)
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		for _, r := range c.resps {
			if r.Token == token {
				c.mu.Unlock()
				return r, nil
			}
		}
		more, err := c.more, c.err
		c.mu.Unlock()
		if err != nil {
			return baresipResponse{}, fmt.Errorf("%s: no response; ctrl_tcp connection: %v", command, err)
		}
		select {
		case <-more:
		case <-deadline.C:
			return baresipResponse{}, fmt.Errorf("%s: no response after %v", command, timeout)
		}
	}
}

// waitEvent waits for the first event of one of types; with a timeout of
// 0 it only looks at the events received so far.
func (c *baresipCtrl) waitEvent(timeout time.Duration, types ...string) (baresipEvent, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		for _, ev := range c.evs {
			if slices.Contains(types, ev.Type) {
				c.mu.Unlock()
				return ev, nil
			}
		}
		more, err := c.more, c.err
		c.mu.Unlock()
		if err != nil {
			return baresipEvent{}, fmt.Errorf("no %s event; ctrl_tcp connection: %v", strings.Join(types, "/"), err)
		}
		select {
		case <-more:
		case <-deadline.C:
			return baresipEvent{}, fmt.Errorf("no %s event after %v", strings.Join(types, "/"), timeout)
		}
	}
}

// waitEvent waits for an event of one of types, failing the test.
func (b *baresipUA) waitEvent(t *testing.T, timeout time.Duration, types ...string) baresipEvent {
	t.Helper()
	ev, err := b.ctrl.waitEvent(timeout, types...)
	if err != nil {
		t.Fatalf("baresip: %v", err)
	}
	return ev
}

// ansiEscape matches the colour codes in baresip's command output.
var ansiEscape = regexp.MustCompile("\x1b\\[[0-9;]*m")

// waitRegistered polls baresip (the menu module's reginfo command) until
// its account is registered, and returns the account's AOR. A
// REGISTER_FAIL event fails the test at once. Polling rather than waiting
// for REGISTER_OK: baresip may register before ctrl_tcp has a client to
// tell.
func (b *baresipUA) waitRegistered(t *testing.T, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		if ev, err := b.ctrl.waitEvent(0, "REGISTER_FAIL"); err == nil {
			t.Fatalf("baresip could not register %s: %s", ev.AOR, ev.Param)
		}
		r, err := b.ctrl.command("reginfo", "", 5*time.Second)
		if err != nil {
			t.Fatalf("baresip: %v", err)
		}
		// "> sip:bob@127.0.0.1    OK  Kamailio Expires 600s"; "zzz"
		// before the 200 OK, "ERR" after a failure.
		last = ansiEscape.ReplaceAllString(r.Data, "")
		for _, line := range strings.Split(last, "\n") {
			f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), ">"))
			if len(f) >= 2 && strings.HasPrefix(f[0], "sip:") && f[1] == "OK" {
				return f[0]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip not registered after %v; reginfo:\n%s", timeout, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// recording waits for the WAV sndfile wrote of what baresip decoded in its
// call, and returns its samples once the file is complete (sndfile writes
// the header's sizes when the call's audio stream is closed).
func (b *baresipUA) recording(t *testing.T, timeout time.Duration) (pcm []int16, rate int, path string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		m, _ := filepath.Glob(filepath.Join(b.dir, "dump-*-dec.wav"))
		switch len(m) {
		case 0:
			last = fmt.Errorf("no dump-*-dec.wav in %s", b.dir)
		case 1:
			pcm, rate, last = readWAVFile(m[0])
			if last == nil && len(pcm) > 0 {
				return pcm, rate, m[0]
			}
			if last == nil {
				last = fmt.Errorf("%s has no samples yet", m[0])
			}
		default:
			t.Fatalf("baresip recorded %d streams, want 1: %v", len(m), m)
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip's recording: %v after %v", last, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readWAVFile(path string) ([]int16, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	return codecs.ReadWAV(f)
}

// toneWindows counts the 200 ms windows of pcm in which a steady tone of
// about hz dominates, and returns the frequencies detected, for a
// failure message.
func toneWindows(pcm []int16, rate int, hz float64) (n int, seen []string) {
	win := rate / 5
	for off := 0; off+win <= len(pcm); off += win {
		f, ok := codecs.DetectTone(pcm[off:off+win], rate, nil)
		if !ok {
			seen = append(seen, "-")
			continue
		}
		seen = append(seen, strconv.Itoa(int(f+0.5)))
		if math.Abs(f-hz) <= 10 {
			n++
		}
	}
	return n, seen
}

// mediaPhone boots a phone of model (default firmware) with acct and a
// media engine: SRTP mandatory, the codecs in codecList, sending source.
// The PEM roots are imported into its CA store first. Phone and engine are
// closed when the test ends; a failed test shows the phone's screen and
// syslog.
func mediaPhone(t *testing.T, model string, acct statedir.Account, codecList, source string, roots ...string) *phone.Phone {
	t.Helper()
	cs, skipped := codecs.ParseOrder(codecList)
	if len(skipped) > 0 || len(cs) == 0 {
		t.Fatalf("codecs %q: skipped %v", codecList, skipped)
	}
	eng, err := media.NewEngine(media.Config{SRTP: media.Mandatory, Codecs: cs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := eng.Close(); err != nil {
			t.Errorf("media engine: %v", err)
		}
	})
	return bootPhoneWith(t, model, "", acct, roots, []phone.Option{phone.WithMedia(eng), phone.WithAudioSource(source)})
}

// dialBaresip has p call callee, baresip, and waits until both ends have
// the call up.
func dialBaresip(t *testing.T, p *phone.Phone, b *baresipUA, callee string) {
	t.Helper()
	if err := p.Call(callee); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, p, "call", "connected")
	if ev := b.waitEvent(t, 10*time.Second, "CALL_ESTABLISHED", "CALL_CLOSED"); ev.Type != "CALL_ESTABLISHED" {
		t.Fatalf("baresip: %s %s, want CALL_ESTABLISHED", ev.Type, ev.Param)
	}
}

// callBaresip has the registered phone call callee, baresip, which answers
// by itself, and checks the audio both ways: the phone hears baresip's
// 440 Hz over SRTP with codec, and after the hang-up baresip's recording
// holds the phone's 1000 Hz.
func callBaresip(t *testing.T, p *phone.Phone, b *baresipUA, callee, codec string) {
	t.Helper()
	waitStatus(t, p, "registered", "yes")
	dialBaresip(t, p, b, callee)
	// The phone's detector reports a tone once it has been steady for a
	// while: baresip's WAV, through SRTP and the codec.
	st := waitStatusFunc(t, p, "tone_hz", fmt.Sprintf("about %d Hz", baresipToneHz), func(v string) bool {
		hz, err := strconv.Atoi(v)
		return err == nil && math.Abs(float64(hz-baresipToneHz)) <= 10
	})
	t.Logf("phone hears %s Hz from baresip: codec=%s srtp=%s rtp_rx=%s rtp_lost=%s mos=%s",
		st["tone_hz"], st["codec"], st["srtp"], st["rtp_rx"], st["rtp_lost"], st["mos"])
	if st["srtp"] == "off" || st["srtp"] == "" {
		t.Errorf("srtp=%q, want an SRTP suite (both ends demand SRTP)", st["srtp"])
	}
	if st["codec"] != codec {
		t.Errorf("codec=%q, want %s", st["codec"], codec)
	}
	if st["srtp_auth_fail"] != "0" {
		t.Errorf("srtp_auth_fail=%s, want 0: baresip's SRTP packets fail authentication", st["srtp_auth_fail"])
	}
	// Two seconds of the phone's tone for baresip to record.
	waitStatusFunc(t, p, "rtp_tx", ">= 100 packets", func(v string) bool {
		n, err := strconv.Atoi(v)
		return err == nil && n >= 100
	})
	if err := p.Hangup(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, p, "call", "idle")
	if ev := b.waitEvent(t, 10*time.Second, "CALL_CLOSED"); ev.Param != "" {
		t.Logf("baresip: call closed: %s", ev.Param)
	}

	pcm, rate, path := b.recording(t, 10*time.Second)
	n, seen := toneWindows(pcm, rate, phoneToneHz)
	t.Logf("baresip recorded %.1f s at %d Hz (%s); %d Hz dominates %d windows of 200 ms",
		float64(len(pcm))/float64(rate), rate, filepath.Base(path), phoneToneHz, n)
	if n < 5 {
		t.Errorf("baresip's recording has the phone's %d Hz in %d windows of 200 ms, want at least 5 (1 s); detected per window: %s",
			phoneToneHz, n, strings.Join(seen, " "))
	}
}

// TestBaresip calls baresip (Debian's baresip-core), registered over TLS,
// auto-answering, SRTP only, playing a 440 Hz WAV and recording what it
// hears, from a deskphone that sends 1000 Hz: through Kamailio over TLS,
// and through deskphone's own backend.
func TestBaresip(t *testing.T) {
	baresipBin := need(t, toolBaresip)
	baresipModulePath(t)

	t.Run("through Kamailio over TLS, PCMU", func(t *testing.T) {
		kamBin := need(t, toolKamailio)
		lab := newLab(t)
		k := startKamailio(t, kamBin, lab)
		newRoot := lab.Path(certs.LabNewRootCert)
		registrar := net.JoinHostPort("127.0.0.1", strconv.Itoa(k.tlsPort))
		b := startBaresip(t, baresipBin, baresipAccount{
			user: "bob", password: kamailioPassword("bob"), domain: kamailioDomain,
			registrar: registrar, caFile: newRoot, codec: "PCMU/8000/1", rate: 8000,
		})
		alice := mediaPhone(t, "vvx601", statedir.Account{
			Server: "sips:" + registrar, User: "alice", Password: kamailioPassword("alice"), Domain: kamailioDomain,
		}, "PCMU", fmt.Sprintf("tone:%d", phoneToneHz), newRoot)
		callBaresip(t, alice, b, "bob", "PCMU")
	})

	t.Run("through deskphone backend over TLS, G.722", func(t *testing.T) {
		// baresip 1.0 (libre 1.1) does digest with MD5 only, and gives
		// up (ENOSYS) on a 401 that also offers SHA-256: the backend
		// offers MD5 alone, as for old phone firmware.
		be := startBackend(t, []string{"MD5"})
		root, err := certs.FactoryRoot(be.ServerRoot())
		if err != nil {
			t.Fatal(err)
		}
		caFile := filepath.Join(t.TempDir(), "backend-root.pem")
		if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}), 0o644); err != nil {
			t.Fatal(err)
		}
		b := startBaresip(t, baresipBin, baresipAccount{
			user: "bob", password: password(t, be, "bob"), domain: be.Domain(),
			registrar: be.Addr("tls"), caFile: caFile, codec: "G722/16000/1", rate: 16000,
		})
		// A Poly VVX 601 trusts the backend's factory root out of the box.
		alice := mediaPhone(t, "vvx601", statedir.Account{
			Server: "sips:" + be.Addr("tls"), User: "alice", Password: password(t, be, "alice"), Domain: be.Domain(),
		}, "G722_8000;PCMU", fmt.Sprintf("tone:%d", phoneToneHz))
		callBaresip(t, alice, b, "bob", "G722")
	})
}
