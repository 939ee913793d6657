package idp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestDevicePairing(t *testing.T) {
	const label = "SIP device: AudioCodes 430HD (00-90-8f-12-34-56)"
	t.Run("approved on the page, which names the SIP device", func(t *testing.T) {
		e := newEnv(t, nil)
		p, err := e.s.StartDevicePairing(label)
		if err != nil || p.VerificationURI != e.ts.URL+VerificationPath || p.Expires != e.clk.Now().Add(DefaultDeviceCodeLifetime) {
			t.Fatalf("%+v %v", p, err)
		}
		if u, err := p.Poll(); u != "" || err != nil {
			t.Fatalf("pending: %q %v", u, err)
		}
		page := codePage(t, e, p.UserCode)
		if !strings.Contains(page, label+" wants to sign in") || !strings.Contains(page, "Teams SIP Gateway") || strings.Contains(page, "Certified Phone") {
			t.Errorf("page does not name the SIP device:\n%s", page)
		}
		if err := Approve(context.Background(), e.ts.URL, p.UserCode, "alice", "secret", true); err != nil {
			t.Fatal(err)
		}
		if u, err := p.Poll(); u != "alice" || err != nil {
			t.Fatalf("approved: %q %v", u, err)
		}
		if _, err := p.Poll(); !errors.Is(err, ErrDeviceExpired) {
			t.Errorf("a second poll: %v", err)
		}
	})
	t.Run("denied", func(t *testing.T) {
		e := newEnv(t, nil)
		p, _ := e.s.StartDevicePairing(label)
		if err := Approve(context.Background(), e.ts.URL, p.UserCode, "", "", false); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Poll(); !errors.Is(err, ErrDeviceDenied) {
			t.Errorf("denied: %v", err)
		}
	})
	t.Run("expired and cancelled", func(t *testing.T) {
		e := newEnv(t, nil)
		p, _ := e.s.StartDevicePairing(label)
		e.clk.Advance(DefaultDeviceCodeLifetime)
		if _, err := p.Poll(); !errors.Is(err, ErrDeviceExpired) {
			t.Errorf("expired: %v", err)
		}
		q, _ := e.s.StartDevicePairing(label)
		q.Cancel()
		if _, err := q.Poll(); !errors.Is(err, ErrDeviceExpired) {
			t.Errorf("cancelled: %v", err)
		}
	})
	t.Run("bad label", func(t *testing.T) {
		e := newEnv(t, nil)
		if _, err := e.s.StartDevicePairing("a\nb"); err == nil {
			t.Error("a label with a newline")
		}
	})
}

// codePage enters code on the verification page and returns the page.
func codePage(t *testing.T, e *env, code string) string {
	t.Helper()
	c := &http.Client{Jar: newJar(t)}
	res, err := c.Get(e.ts.URL + VerificationPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	res, err = c.PostForm(e.ts.URL+VerificationPath, url.Values{"csrf": {hiddenValue(string(body), "csrf")}, "step": {PageCode}, "code": {code}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ = io.ReadAll(res.Body)
	return string(body)
}
