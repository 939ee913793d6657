//go:build interop

package interop

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/internal/testwait"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

// phoneTimeout bounds waiting for a phone to reach a state: generous, as
// the machine is shared and TLS handshakes take CPU.
const phoneTimeout = 20 * time.Second

// bootPhone boots a virtual phone of model on firmware ("" for the model's
// default) with acct, on the wall clock. The PEM files in roots are imported
// into its CA store before it boots, so it trusts them from the start. It
// is closed when the test ends; a failed test shows its screen and syslog.
func bootPhone(t *testing.T, model, firmware string, acct statedir.Account, roots ...string) *phone.Phone {
	t.Helper()
	return bootPhoneWith(t, model, firmware, acct, roots, nil)
}

// bootPhoneWith is bootPhone with more phone options (media).
func bootPhoneWith(t *testing.T, model, firmware string, acct statedir.Account, roots []string, opts []phone.Option) *phone.Phone {
	t.Helper()
	cat, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	m, err := cat.Model(model)
	if err != nil {
		t.Fatal(err)
	}
	p, err := phone.New(m, firmware, append([]phone.Option{phone.WithStateDir(t.TempDir()), phone.WithAccount(acct)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roots {
		if _, err := p.CAStore().ImportFile(r); err != nil {
			t.Fatalf("import %s: %v", r, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.Start(ctx)
	t.Cleanup(func() {
		if t.Failed() {
			showPhone(t, p)
		}
		if err := p.Close(); err != nil {
			t.Errorf("%s: %v", model, err)
		}
		cancel()
	})
	return p
}

// showPhone logs the phone's screen and syslog.
func showPhone(t *testing.T, p *phone.Phone) {
	t.Helper()
	var b strings.Builder
	for _, l := range p.Logs(0) {
		b.WriteString(l.Text)
		b.WriteByte('\n')
	}
	t.Logf("----- phone %s (%s) -----\n%s\n%s", p.Model().ID, p.Firmware().Version, p.Screen().Text(), b.String())
}

// status reads the phone's status as a map.
func status(t *testing.T, p *phone.Phone) map[string]string {
	t.Helper()
	kv, err := p.Status()
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	m := make(map[string]string, len(kv))
	for _, e := range kv {
		m[e[0]] = e[1]
	}
	return m
}

// waitStatus polls the phone until its status key has the value want and
// returns the whole status; it fails the test after phoneTimeout.
func waitStatus(t *testing.T, p *phone.Phone, key, want string) map[string]string {
	t.Helper()
	return waitStatusFunc(t, p, key, want, func(v string) bool { return v == want })
}

// waitStatusFunc polls the phone until ok(status[key]); what describes the
// wait for the failure message.
func waitStatusFunc(t *testing.T, p *phone.Phone, key, what string, ok func(string) bool) map[string]string {
	t.Helper()
	var st map[string]string
	if !testwait.Poll(phoneTimeout, func() bool { st = status(t, p); return ok(st[key]) }) {
		t.Fatalf("%s: %s=%q after %v, want %s (registration_error=%q call=%q)\n%s",
			p.Model().ID, key, st[key], phoneTimeout, what, st["registration_error"], st["call"], p.Screen().Text())
	}
	return st
}

// waitLog polls the phone's syslog until a line contains text.
func waitLog(t *testing.T, p *phone.Phone, text string) {
	t.Helper()
	if !testwait.Poll(phoneTimeout, func() bool { return logged(p, text) }) {
		t.Fatalf("%s: no syslog line with %q after %v", p.Model().ID, text, phoneTimeout)
	}
}

func logged(p *phone.Phone, text string) bool {
	for _, l := range p.Logs(0) {
		if strings.Contains(l.Text, text) {
			return true
		}
	}
	return false
}
