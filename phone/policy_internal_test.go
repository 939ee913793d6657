package phone

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/signin"
)

// Each field is judged on its own: a bad one is reported and the value
// before it stays, the good ones apply.
func TestPolicyFieldsOneByOne(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fields  map[string]string
		problem string
		check   func(policy) bool
	}{
		{"pin length 3", map[string]string{"MinPhonePinLength": "3"}, "MinPhonePinLength", func(p policy) bool { return p.lock.minPIN == 6 }},
		{"lock timeout 2 h", map[string]string{"PhoneLockTimeout": "02:00:00"}, "out of range", func(p policy) bool { return p.lock.timeout == 10*time.Minute }},
		{"lock timeout zero", map[string]string{"PhoneLockTimeout": "00:00:00"}, "out of range", func(p policy) bool { return p.lock.timeout == 10*time.Minute }},
		{"unknown field", map[string]string{"EnableTeleport": "true"}, "unknown field EnableTeleport", func(policy) bool { return true }},
		{"bad bool beside a good field", map[string]string{"EnforcePhoneLock": "maybe", "UserDialTimeoutMS": "2500"}, "EnforcePhoneLock", func(p policy) bool {
			return p.lock.enforce && p.dialTimeout == 2500*time.Millisecond
		}},
		{"codecs none known", map[string]string{"PrioritizedCodecsList": "G729;SILK"}, "names no codec", func(p policy) bool { return p.codecs == "G722_8000;PCMU;PCMA" }},
		{"good values", map[string]string{"PhoneLockTimeout": "00:05:00", "MinPhonePinLength": "8", "DateTimeFormat": "12", "PrioritizedCodecsList": "PCMA;PCMU"}, "", func(p policy) bool {
			return p.lock.timeout == 5*time.Minute && p.lock.minPIN == 8 && p.timeFormat == 12 && p.codecs == "PCMA;PCMU"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol := newPolicy(&partEnv{}, nil, DefaultDialTimeout)
			problems := pol.applyFields(tc.fields)
			got := strings.Join(problems, "; ")
			if (tc.problem == "") != (got == "") || !strings.Contains(got, tc.problem) {
				t.Errorf("problems %q, want one with %q", got, tc.problem)
			}
			if !tc.check(pol) {
				t.Errorf("policy after %v: %+v", tc.fields, pol)
			}
		})
	}
}

func TestParseTimeSpan(t *testing.T) {
	for in, want := range map[string]time.Duration{"00:10:00": 10 * time.Minute, "90s": 90 * time.Second, "600": 10 * time.Minute} {
		if got, err := parseTimeSpan(in); err != nil || got != want {
			t.Errorf("parseTimeSpan(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseTimeSpan("ten minutes"); err == nil {
		t.Error("parseTimeSpan accepted words")
	}
}

// An identity-provider sign-in asks for a PIN under EnforcePhoneLock; a
// provisioned digest account is not asked.
func TestPINPromptAfterIdPSignIn(t *testing.T) {
	for _, tc := range []struct {
		method signin.Method
		asked  bool
	}{{"web", true}, {"user", true}, {"pc", true}, {signin.Provisioned, false}} {
		lk := lock{host: &fakeLockHost{method: tc.method}, state: LockNone, kind: lockPhone, rules: lockRules{enforce: true}}
		if got := lk.needsPIN(); got != tc.asked {
			t.Errorf("%s sign-in: asked for a PIN = %v, want %v", tc.method, got, tc.asked)
		}
	}
}

// A NOTIFY the phone cannot read changes nothing; a good one is kept for
// the next boot and applied before the cloud answers.
func TestPolicyNotifyGarbageAndBoot(t *testing.T) {
	cat, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	m, _ := cat.Model("t46g")
	dir := t.TempDir()
	boot := func() *Phone {
		p, err := New(m, "", WithClock(clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))), WithStateDir(dir))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := boot()
	var pol policy
	_ = p.do(func() {
		(*phoneHost)(p).policyPushed([]byte("<<garbage>>"))
		pol = p.s.policy
	})
	if pol.version != 0 || pol.dialTimeout != DefaultDialTimeout {
		t.Fatalf("garbage changed the policy: %+v", pol)
	}
	if !strings.Contains(p.Logs(1)[0].Text, "not a policy document") {
		t.Fatalf("garbage not logged: %s", p.Logs(1)[0].Text)
	}
	_ = p.do(func() {
		(*phoneHost)(p).policyPushed([]byte(`{"version":7,"policy":{"UserDialTimeoutMS":"1500","PhoneLockTimeout":"0","Bogus":"1"}}`))
	})
	p.Close()
	p = boot()
	defer p.Close()
	_ = p.do(func() { pol = p.s.policy })
	if pol.version != 7 || pol.dialTimeout != 1500*time.Millisecond || pol.lock.timeout != 10*time.Minute {
		t.Fatalf("kept policy at boot: version %d, dial %v, lock %v", pol.version, pol.dialTimeout, pol.lock.timeout)
	}
	// The policy acted on: 12 h on a 24 h vendor's status bar, the message
	// key without one-touch voicemail.
	_ = p.do(func() {
		(*phoneHost)(p).policyPushed([]byte(`{"version":8,"policy":{"DateTimeFormat":"12","EnableOneTouchVoicemail":"false"}}`))
	})
	if got := p.Screen().Status.Time; got != "9:00 AM" {
		t.Errorf("status bar time %q under DateTimeFormat 12", got)
	}
	if err := p.Press(KeyMessage); err != nil {
		t.Fatal(err)
	}
	if st, _ := p.State(); st.Call != CallIdle || !strings.Contains(p.Screen().Alert, "Voicemail: 0 new") {
		t.Errorf("message key without one-touch voicemail: call %s, alert %q", st.Call, p.Screen().Alert)
	}
}

// A web-sign-in user cannot set or change the Device-Lock code on the
// phone: only the administrator does.
func TestDeviceLockCodeNotForWebSignIn(t *testing.T) {
	host := &fakeLockHost{method: "web"}
	lk := lock{host: host, w: &catalog.Lock{}, state: LockNone, kind: lockDevice}
	if err := lk.mayChangePIN(); err == nil {
		t.Fatal("a web-sign-in user may change the Device-Lock code")
	}
	host.method = signin.Provisioned
	if err := lk.mayChangePIN(); err != nil {
		t.Fatalf("a provisioned phone's code: %v", err)
	}
}

// fakeLockHost is the rest of the phone as the lock sees it, for tests of
// the lock alone: it knows a sign-in method and counts what it is asked.
type fakeLockHost struct {
	method signin.Method
	call   CallState
	asked  []string // the PIN entries opened, by label
	placed []string // the calls placed
}

func (h *fakeLockHost) callState() CallState                   { return h.call }
func (h *fakeLockHost) signInMethod() signin.Method            { return h.method }
func (h *fakeLockHost) askSecret(label string, _ func(string)) { h.asked = append(h.asked, label) }
func (h *fakeLockHost) closeMenu()                             {}
func (h *fakeLockHost) closeInput()                            {}
func (h *fakeLockHost) closePINEntry()                         {}
func (h *fakeLockHost) placeCall(target string)                { h.placed = append(h.placed, target) }
func (h *fakeLockHost) endCall()                               {}
func (h *fakeLockHost) signOutUser()                           {}

// Manual pairing: the phone shows a code, and only that code pairs.
func TestManualPairingCode(t *testing.T) {
	cat, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	m, _ := cat.Model("vvx601")
	p, err := New(m, "", WithClock(clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))), WithStateDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_ = p.do(func() {
		(*phoneHost)(p).policyPushed([]byte(`{"version":2,"policy":{"BetterTogetherOverEthernetPairingMode":"Manual"}}`))
	})
	if err := p.PC().Pair(""); err == nil {
		t.Fatal("Manual mode paired without a code")
	}
	var code string
	_ = p.do(func() { code = p.s.lock.pairCode })
	if len(code) != 8 || !p.Screen().Contains("PC pairing code: "+code) {
		t.Fatalf("pairing code %q not shown:\n%s", code, p.Screen().Text())
	}
	if err := p.PC().Pair("wrongcod"); err == nil {
		t.Fatal("a wrong code paired")
	}
	if err := p.PC().Pair(code); err != nil {
		t.Fatal(err)
	}
	if !p.Screen().Contains("Paired with PC") {
		t.Fatalf("the phone does not show it is paired:\n%s", p.Screen().Text())
	}
}
