package driver_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/driver/drivertest"
	"github.com/deskphone/deskphone/internal/labdir"
	"github.com/deskphone/deskphone/phone"
)

func TestMain(m *testing.M) {
	sip.SetDefaultLogger(slog.New(slog.DiscardHandler))
	os.Exit(labdir.RunTests(m))
}

// Every verb is complete, named once, and in the help.
func TestVerbTable(t *testing.T) {
	help := driver.Help(17)
	seen := map[string]bool{}
	for _, v := range driver.Verbs {
		if v.Name == "" || v.Help == "" || v.Parse == nil || v.Run == nil {
			t.Errorf("verb %+v is incomplete", v)
		}
		if seen[v.Name] {
			t.Errorf("verb %s twice", v.Name)
		}
		seen[v.Name] = true
		if !strings.Contains(help, "\n"+strings.TrimSpace(v.Name+" "+v.Usage)) && !strings.HasPrefix(help, v.Name) {
			t.Errorf("help lacks %s:\n%s", v.Name, help)
		}
		if got, ok := driver.Lookup(strings.ToUpper(v.Name)); !ok || got != v {
			t.Errorf("Lookup(%s) = %v, %v", v.Name, got, ok)
		}
		// A step form is what a scenario writes: a step naming only the
		// phone takes no argument, and a step of fields names them.
		if _, err := v.Parse(""); v.Step == driver.StepPhone && err != nil {
			t.Errorf("%s is a step naming its phone but needs an argument: %v", v.Name, err)
		}
		if (v.Step == driver.StepFields) != (len(v.Fields) > 0) {
			t.Errorf("%s: fields %v for step form %d", v.Name, v.Fields, v.Step)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		verb, text string
		want       driver.Args
		wantErr    string
	}{
		{verb: "press", text: "menu down ok", want: driver.Args{Text: "menu down ok", Keys: []phone.Key{mustKey(t, "menu"), mustKey(t, "down"), mustKey(t, "ok")}}},
		{verb: "press", text: "louder", wantErr: `unknown key "louder"`},
		{verb: "press", text: "", wantErr: "press needs a key"},
		{verb: "play", text: "tone 1000", want: driver.Args{Text: "tone:1000"}},
		{verb: "play", text: "tone:1000", want: driver.Args{Text: "tone:1000"}},
		{verb: "play", text: "echo", want: driver.Args{Text: "echo"}},
		{verb: "mute", text: "on", want: driver.Args{Text: "on"}},
		{verb: "mute", text: "", wantErr: `mute needs on or off, not ""`},
		{verb: "log", text: "", want: driver.Args{N: driver.LogLines}},
		{verb: "log", text: "0", wantErr: "not a positive number"},
		{verb: "advance", text: "1h30m", want: driver.Args{Duration: 90 * time.Minute}},
		{verb: "advance", text: "soon", wantErr: `advance: "soon" is not a duration`},
		{verb: "wait", text: "call=idle", want: driver.Args{Cond: driver.Cond{Status: map[string]string{"call": "idle"}}, Duration: driver.WaitTimeout}},
		{verb: "wait", text: "menu=Menu > Settings 2s", want: driver.Args{Cond: driver.Cond{Status: map[string]string{"menu": "Menu > Settings"}}, Duration: 2 * time.Second}},
		{verb: "wait", text: "remote=1002", want: driver.Args{Cond: driver.Cond{Status: map[string]string{"remote": "1002"}}, Duration: driver.WaitTimeout}},
		{verb: "wait", text: "call=idle 3x", wantErr: `timeout "3x"`},
		{verb: "wait", text: "registered", wantErr: "wait needs KEY=VALUE"},
		{verb: "expect", text: "=x", wantErr: "expect: want KEY=VALUE"},
		{verb: "dial", text: "", wantErr: "dial needs"},
		{verb: "dial", text: strings.Repeat("1", driver.MaxTarget), want: driver.Args{Text: strings.Repeat("1", driver.MaxTarget)}},
		{verb: "dial", text: strings.Repeat("1", 1<<20), wantErr: "1048576 characters is too long"},
		{verb: "call", text: strings.Repeat("a", driver.MaxTarget+1), wantErr: "too long"},
		{verb: "advance", text: "744h", want: driver.Args{Duration: 744 * time.Hour}},
		{verb: "advance", text: "2562047h", wantErr: "at a time"},
	}
	for _, tt := range tests {
		t.Run(tt.verb+" "+tt.text, func(t *testing.T) {
			v, ok := driver.Lookup(tt.verb)
			if !ok {
				t.Fatalf("no verb %s", tt.verb)
			}
			got, err := v.Parse(tt.text)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Text != tt.want.Text || got.N != tt.want.N || got.Duration != tt.want.Duration ||
				len(got.Keys) != len(tt.want.Keys) || got.Cond.String() != tt.want.Cond.String() {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got.Keys {
				if got.Keys[i] != tt.want.Keys[i] {
					t.Fatalf("keys %v, want %v", got.Keys, tt.want.Keys)
				}
			}
		})
	}
}

// A long advance stops at its context's end instead of running to the end.
func TestAdvanceInterrupted(t *testing.T) {
	clk := clock.NewFake(drivertest.Start)
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	moved := advancerFunc(func(d time.Duration) {
		calls++
		clk.Advance(d)
		if calls == 3 {
			cancel()
		}
	})
	_, err := driver.Exec(ctx, &driver.Target{Clock: moved}, "advance 720h")
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "to go") {
		t.Fatalf("advance after cancel: %v", err)
	}
	if got := clk.Now().Sub(drivertest.Start); got != 3*time.Hour {
		t.Fatalf("moved %v, want 3h", got)
	}
}

type advancerFunc func(time.Duration)

func (f advancerFunc) Advance(d time.Duration) { f(d) }

func mustKey(t *testing.T, name string) phone.Key {
	t.Helper()
	k, err := phone.ParseKey(name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestExec(t *testing.T) {
	clk := clock.NewFake(drivertest.Start)
	p := drivertest.Phone(t, driver.Spec{Model: "t48g", Clock: clk})
	tgt := &driver.Target{Phone: p, Clock: clk}
	ctx := context.Background()
	if _, err := driver.Exec(ctx, tgt, "frobnicate"); !errors.Is(err, driver.ErrUnknownVerb) {
		t.Fatalf("unknown verb: %v", err)
	}
	res, err := driver.Exec(ctx, tgt, "press volup volup")
	if err != nil || res.Kind != driver.KindScreen || !strings.Contains(res.Screen.Text(), "Volume") {
		t.Fatalf("press: %v\n%s", err, res.Screen.Text())
	}
	res, err = driver.Exec(ctx, tgt, "advance 90s")
	if err != nil || clk.Now() != drivertest.Start.Add(90*time.Second) {
		t.Fatalf("advance: %v, clock at %v", err, clk.Now())
	}
	res, err = driver.Exec(ctx, tgt, "status")
	if err != nil || res.Kind != driver.KindStatus || len(res.Status) == 0 {
		t.Fatalf("status: %v %+v", err, res)
	}
	if _, err := driver.Exec(ctx, &driver.Target{Phone: p}, "advance 1s"); err == nil {
		t.Fatal("advance without a clock to move")
	}
	if _, err := driver.Exec(ctx, tgt, "expect call=connected"); err == nil || !strings.Contains(err.Error(), "expected call=connected; call=idle") {
		t.Fatalf("expect: %v", err)
	}
	if _, err := driver.Exec(ctx, tgt, "wait nosuchkey=1 1s"); err == nil || !strings.Contains(err.Error(), `no status key "nosuchkey"`) {
		t.Fatalf("wait on an unknown key: %v", err)
	}
}

// A wait wakes from the phone's own change, not from a timeout or a poll.
func TestWaitWokenByChange(t *testing.T) {
	p := drivertest.Phone(t, driver.Spec{Model: "c450hd"})
	done := make(chan error, 1)
	go func() {
		done <- driver.Wait(context.Background(), p, driver.Cond{Status: map[string]string{"menu": "Menu"}}.Check, driver.WaitOptions{Timeout: time.Hour})
	}()
	if err := p.Press(mustKey(t, "menu")); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestWaitTimeoutAndStall(t *testing.T) {
	clk := clock.NewFake(drivertest.Start)
	p := drivertest.Phone(t, driver.Spec{Model: "c450hd", Clock: clk})
	ctx := context.Background()
	connected := driver.Cond{Call: "connected"}
	err := driver.Wait(ctx, p, connected.Check, driver.WaitOptions{Timeout: 20 * time.Millisecond})
	var te *driver.TimeoutError
	if !errors.As(err, &te) || te.Stalled || te.Why != "call=idle" {
		t.Fatalf("wall-time timeout: %v", err)
	}
	// A stall hook moves the clock until the condition holds...
	stalls := 0
	at := driver.Cond{Status: map[string]string{"time": "2026-01-05T09:00:03Z"}}
	err = driver.Wait(ctx, p, at.Check, driver.WaitOptions{Timeout: time.Minute, Stall: func() (bool, error) {
		stalls++
		clk.Advance(time.Second)
		return stalls < 10, nil
	}})
	if err != nil || stalls != 3 {
		t.Fatalf("stalled %d times: %v", stalls, err)
	}
	// ...or ends the wait when it reaches the deadline.
	err = driver.Wait(ctx, p, connected.Check, driver.WaitOptions{Timeout: time.Minute, Stall: func() (bool, error) { return false, nil }})
	if !errors.As(err, &te) || !te.Stalled {
		t.Fatalf("stall at the deadline: %v", err)
	}
	// ...or fails it when the runner cannot settle.
	stuck := errors.New("never settled")
	err = driver.Wait(ctx, p, connected.Check, driver.WaitOptions{Timeout: time.Minute, Stall: func() (bool, error) { return false, stuck }})
	if !errors.Is(err, stuck) {
		t.Fatalf("stall error: %v", err)
	}
}

// What the call hears changes no screen; the phone's media events wake
// the wait all the same.
func TestWaitHearsTone(t *testing.T) {
	cloud := drivertest.Cloud(t, nil)
	p := drivertest.Phone(t, driver.Spec{Model: "vvx601", Account: drivertest.Account(cloud, "alice")})
	drivertest.Status(t, p, "registered", "yes")
	if err := p.Call("tone"); err != nil {
		t.Fatal(err)
	}
	drivertest.Wait(t, p, driver.Cond{Call: "connected", Tone: 1000})
}

func TestBuild(t *testing.T) {
	ctx := context.Background()
	bad := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		spec driver.Spec
		want error
		text string
	}{
		{"srtp", driver.Spec{Model: "c450hd", SRTP: "sometimes"}, driver.ErrSRTP, "sometimes"},
		{"codecs", driver.Spec{Model: "c450hd", Codecs: "G729;SILK"}, driver.ErrNoCodecs, "G729;SILK"},
		{"ca", driver.Spec{Model: "c450hd", CA: []string{bad}}, driver.ErrCA, "bad.pem"},
		{"model", driver.Spec{Model: "nokia3310"}, nil, "unknown model"},
		{"client key", driver.Spec{Model: "c450hd", ClientCert: "c.pem"}, nil, "needs its key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.StateDir = t.TempDir()
			p, stop, err := driver.Build(ctx, tt.spec)
			if err == nil {
				stop()
				t.Fatalf("built %v", p.Model().ID)
			}
			if tt.want != nil && !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("error %v, want %v with %q", err, tt.want, tt.text)
			}
		})
	}
	// The default codec list names G.729, which the phone skips and logs.
	p := drivertest.Phone(t, driver.Spec{Model: "c450hd"})
	found := false
	for _, l := range p.Logs(0) {
		found = found || strings.Contains(l.Text, "codec G729 from the codec list is not supported; skipped")
	}
	if !found {
		t.Fatalf("no syslog line about G729 from the default list %q", driver.DefaultCodecs)
	}
}

func TestEnginesShare(t *testing.T) {
	var e driver.Engines
	defer e.Close()
	a, err := e.Get("", "")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := e.Get(driver.DefaultSRTP, driver.DefaultCodecs)
	c, _ := e.Get("optional", "")
	if a != b || a == c {
		t.Fatalf("defaults must share one engine, other settings not: %p %p %p", a, b, c)
	}
}

// A screen condition finds a message the LCD wrapped onto two rows: the
// CX600's 34 columns break its registration failure after "not".
func TestScreenCondMatchesWrappedText(t *testing.T) {
	b := drivertest.Cloud(t, nil)
	p := drivertest.Phone(t, driver.Spec{Model: "cx600", Account: drivertest.Account(b, "alice")})
	drivertest.Status(t, p, "registration_error", "TLS: TLS version not supported")
	if strings.Contains(p.Screen().Text(), "not supported") {
		t.Fatalf("the message is not wrapped on this model any more; pick a longer one:\n%s", p.Screen().Text())
	}
	cond := driver.Cond{Screen: regexp.MustCompile(`TLS version not supported`)}
	if ok, why, err := cond.Check(p); !ok || err != nil {
		t.Fatalf("screen condition: %s %v\n%s", why, err, p.Screen().Text())
	}
}

// After a hold, the tone heard before it does not pass a wait at once:
// only audio that arrives after the wait began counts.
func TestWaitToneNotStaleAfterHold(t *testing.T) {
	cloud := drivertest.Cloud(t, nil)
	p := drivertest.Phone(t, driver.Spec{Model: "vvx601", Account: drivertest.Account(cloud, "alice")})
	drivertest.Status(t, p, "registered", "yes")
	if err := p.Call("tone"); err != nil {
		t.Fatal(err)
	}
	tone := driver.Cond{Tone: 1000}
	drivertest.Wait(t, p, driver.Cond{Call: "connected", Tone: 1000})
	if err := p.Hold(); err != nil {
		t.Fatal(err)
	}
	drivertest.Status(t, p, "call", "held")
	ctx := context.Background()
	err := driver.WaitCond(ctx, p, tone, driver.WaitOptions{Timeout: time.Second})
	var te *driver.TimeoutError
	if !errors.As(err, &te) || !strings.Contains(te.Why, "heard before the step began") {
		t.Fatalf("a tone heard before the hold passed a wait while held: %v", err)
	}
	if err := p.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := driver.WaitCond(ctx, p, tone, driver.WaitOptions{Timeout: drivertest.Timeout}); err != nil {
		t.Fatalf("the tone after the resume: %v", err)
	}
}
