package phone_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/deskphone/deskphone/backend"
	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/codecs"
	"github.com/deskphone/deskphone/internal/testwait"
	"github.com/deskphone/deskphone/media"
	"github.com/deskphone/deskphone/media/sdp"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

// engine is a media engine for a test, closed at its end.
func engine(t *testing.T, mode sdp.SRTPMode, order string) *media.Engine {
	t.Helper()
	cs, _ := codecs.ParseOrder(order)
	e, err := media.NewEngine(media.Config{SRTP: mode, Codecs: cs})
	must(t, err)
	t.Cleanup(func() { e.Close() })
	return e
}

// mediaCloud is the mock cloud with audio on its service users.
func mediaCloud(t *testing.T) *backend.Backend {
	t.Helper()
	dir := t.TempDir()
	b, err := backend.New(backend.Config{Listen: []string{"tls:127.0.0.1:0"}, StateDir: dir, Clock: cloudClock(),
		Media: backend.EngineMedia(engine(t, sdp.SRTPOptional, "G722_8000;PCMU;PCMA"), filepath.Join(dir, "voicemail"))})
	must(t, err)
	must(t, b.Start(context.Background()))
	t.Cleanup(func() { b.Close() })
	return b
}

func mediaPhone(t *testing.T, b *backend.Backend, e *media.Engine, model, user, source string) *phone.Phone {
	t.Helper()
	cat, _ := catalog.Builtin()
	m, _ := cat.Model(model)
	opts := []phone.Option{phone.WithClock(clock.NewFake(start)), phone.WithStateDir(t.TempDir()), phone.WithMedia(e),
		phone.WithAccount(statedir.Account{Server: "sips:" + b.Addr("tls"), User: user, Password: "secret", Domain: b.Domain()})}
	if source != "" {
		opts = append(opts, phone.WithAudioSource(source))
	}
	p, err := phone.New(m, "", opts...)
	must(t, err)
	p.Start(context.Background())
	t.Cleanup(func() { p.Close() })
	waitStatus(t, p, "registered", "yes")
	return p
}

// waitTone waits until the phone hears a steady tone near hz.
func waitTone(t *testing.T, p *phone.Phone, hz int) {
	t.Helper()
	var got int
	if !testwait.Poll(10*time.Second, func() bool {
		got, _ = strconv.Atoi(status(t, p, "tone_hz"))
		return got > hz-15 && got < hz+15
	}) {
		st, _ := p.Status()
		t.Fatalf("tone_hz=%d, want %d\n%v", got, hz, st)
	}
}

func TestSRTPCallBothWaysWithTonesAndDTMF(t *testing.T) {
	b := mediaCloud(t)
	e := engine(t, sdp.SRTPMandatory, "G722_8000;PCMU;PCMA;G729")
	alice := mediaPhone(t, b, e, "vvx601", "alice", "tone:1000")
	bob := mediaPhone(t, b, e, "t48g", "bob", "tone:1500")
	must(t, alice.Call("bob"))
	waitStatus(t, bob, "call", "ringing")
	must(t, bob.Answer())
	waitStatus(t, alice, "call", "connected")
	waitTone(t, bob, 1000)
	waitTone(t, alice, 1500)
	for _, p := range []*phone.Phone{alice, bob} {
		if got := status(t, p, "srtp"); got != "AES_CM_128_HMAC_SHA1_80" {
			t.Errorf("srtp=%s", got)
		}
		if got := status(t, p, "codec"); got != "G722" {
			t.Errorf("codec=%s, want G722 (first in the policy order)", got)
		}
	}
	if !alice.Screen().Contains("[LOCK] SRTP") {
		t.Errorf("no lock mark on the call screen:\n%s", alice.Screen().Text())
	}
	must(t, alice.SendDTMF("5#"))
	waitStatus(t, bob, "dtmf_heard", "5#")
	must(t, bob.Play("tone:700"))
	waitTone(t, alice, 700)
	if n, _ := strconv.Atoi(status(t, alice, "rtp_rx")); n == 0 {
		t.Fatal("no RTP received")
	}
}

func TestEchoAndToneUsers(t *testing.T) {
	b := mediaCloud(t)
	e := engine(t, sdp.SRTPMandatory, "PCMU")
	p := mediaPhone(t, b, e, "c450hd", "alice", "tone:850")
	must(t, p.Call("echo"))
	waitStatus(t, p, "call", "connected")
	waitTone(t, p, 850)
	must(t, p.Hangup())
	waitStatus(t, p, "call", "idle")
	must(t, p.Call("tone"))
	waitStatus(t, p, "call", "connected")
	waitTone(t, p, backend.ToneHz)
}

// A phone that insists on SRTP cannot call one that refuses it: 488.
func TestSRTPMismatchIsNotAcceptable(t *testing.T) {
	b := mediaCloud(t)
	alice := mediaPhone(t, b, engine(t, sdp.SRTPMandatory, "PCMU"), "vvx601", "alice", "")
	bob := mediaPhone(t, b, engine(t, sdp.SRTPOff, "PCMU"), "t48g", "bob", "")
	must(t, alice.Call("bob"))
	waitStatus(t, alice, "call", "idle")
	if a := alice.Screen().Alert; a != "Not acceptable" {
		t.Fatalf("alert %q, want Not acceptable", a)
	}
	if got := status(t, bob, "call"); got != "idle" {
		t.Fatalf("bob rang for a call he cannot take: %s", got)
	}
}
