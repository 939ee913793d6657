package scenarios

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/deskphone/deskphone/backend"
	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/codecs"
	"github.com/deskphone/deskphone/internal/inflight"
	"github.com/deskphone/deskphone/internal/siptrace"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/media"
	"github.com/deskphone/deskphone/phone/statedir"
)

// Start is where a scenario's virtual clock begins: a Monday morning.
var Start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// Options configure a run.
type Options struct {
	Catalog *catalog.Catalog
	// Realtime runs on the wall clock; advance then jumps it forward.
	Realtime bool
	// Progress is called after every step, from the runner's goroutine
	// (from several at once inside parallel).
	Progress func(StepResult)
	// RealTimeout bounds each wait in wall time, whatever its virtual
	// timeout, so a scenario can never hang CI.
	RealTimeout time.Duration
	// SIP, when set, is the process's SIP trace; a failure report then
	// shows each phone's last SIP messages.
	SIP *siptrace.Ring
}

// Result is the outcome of one scenario.
type Result struct {
	Name    string
	File    string
	Passed  bool
	Failure string
	// FailedAt is the step that failed.
	FailedAt Pos
	Steps    []StepResult
	Wall     time.Duration
	// Virtual is how much scenario time passed.
	Virtual time.Duration
	// Screens and Logs hold every phone's screen and syslog tail at the end
	// of a failed scenario.
	Screens map[string]string
	Logs    map[string][]string
	// SIP holds each phone's last SIP messages when Options.SIP was set.
	SIP map[string][]string
}

// StepResult is the outcome of one step.
type StepResult struct {
	Pos  Pos
	Desc string
	OK   bool
	Err  string
	Wall time.Duration
	// At is the scenario time when the step ended.
	At time.Duration
}

// env is one running scenario: its clock, cloud and phones.
type env struct {
	sc     *Scenario
	opts   Options
	fake   *clock.Fake
	skew   *clock.Skewed
	clk    clock.Clock
	// inflight counts what the phones and the embedded cloud have in
	// flight; virtual time moves only when it is idle.
	inflight *inflight.Tracker
	cloud    *backend.Backend
	phones map[string]*phone.Phone
	// engines carry the media: the cloud's, and the phones' (one per
	// distinct SRTP and codec setting).
	engines map[string]*media.Engine
	dir     string
	// origin is where the run's clock began.
	origin time.Time

	mu    sync.Mutex // serialises clock moves (parallel steps)
	resMu sync.Mutex
	steps []StepResult
}

// Run runs one scenario to its end or its first failing step.
func Run(ctx context.Context, sc *Scenario, opts Options) Result {
	if opts.RealTimeout == 0 {
		opts.RealTimeout = 60 * time.Second
	}
	t0 := time.Now()
	res := Result{Name: sc.Name, File: sc.File}
	e := &env{sc: sc, opts: opts, phones: map[string]*phone.Phone{}, engines: map[string]*media.Engine{}}
	err := e.setUp(ctx)
	if err == nil {
		err = e.run(ctx, sc.Steps)
	}
	res.Steps = e.steps
	res.Virtual = e.clk.Now().Sub(e.start())
	if err != nil {
		res.Failure = err.Error()
		var se *stepError
		if errors.As(err, &se) {
			res.FailedAt = se.pos
		}
		res.Screens, res.Logs = e.snapshot()
		if opts.SIP != nil {
			res.SIP = map[string][]string{}
			for name, p := range e.phones {
				if addr := p.SIPAddr(); addr != "" {
					for _, m := range opts.SIP.Involving(addr, 12) {
						res.SIP[name] = append(res.SIP[name], m.String())
					}
				}
			}
		}
	} else {
		res.Passed = true
	}
	e.tearDown()
	res.Wall = time.Since(t0)
	return res
}

func (e *env) start() time.Time { return e.origin }

// stepError ties a failure to its step.
type stepError struct {
	pos  Pos
	desc string
	err  error
}

func (s *stepError) Error() string { return fmt.Sprintf("%s: %s: %v", s.pos, s.desc, s.err) }
func (s *stepError) Unwrap() error { return s.err }

func (e *env) setUp(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "deskphone-scenario-")
	if err != nil {
		return err
	}
	e.dir = dir
	if e.opts.Realtime {
		e.skew = clock.NewSkewed()
		e.clk = e.skew
		e.origin = e.skew.Now()
	} else {
		e.origin = Start
		if e.sc.Backend.Server != "" {
			// An external server's certificate was issued in real time,
			// and phones check it on their own clock.
			e.origin = time.Now().UTC().Truncate(time.Second)
		}
		e.fake = clock.NewFake(e.origin)
		e.clk = e.fake
	}
	e.inflight = inflight.New()
	server, domain := e.sc.Backend.Server, e.sc.Backend.Domain
	if server == "" {
		cloudMedia, err := e.engine("optional", "")
		if err != nil {
			return err
		}
		b, err := backend.New(backend.Config{Listen: []string{"tls:127.0.0.1:0"}, StateDir: filepath.Join(dir, "cloud"), Clock: e.clk, Inflight: e.inflight,
			Media: backend.EngineMedia(cloudMedia, filepath.Join(dir, "cloud", "voicemail"))})
		if err != nil {
			return fmt.Errorf("mock cloud: %w", err)
		}
		if err := b.Start(ctx); err != nil {
			return fmt.Errorf("mock cloud: %w", err)
		}
		e.cloud = b
		for _, u := range e.sc.Backend.Users {
			if err := b.AddUser(backend.User{User: u.User, Password: u.Password, DisplayName: u.DisplayName, Extension: u.Extension}); err != nil {
				return fmt.Errorf("mock cloud: %w", err)
			}
		}
		server, domain = "sips:"+b.Addr("tls"), b.Domain()
	}
	for _, ps := range e.sc.Phones {
		m, err := e.opts.Catalog.Model(ps.Model)
		if err != nil {
			return err
		}
		state := ps.State
		if state == "" {
			state = filepath.Join(dir, "phone-"+ps.Name)
		}
		eng, err := e.engine(ps.SRTP, ps.Codecs)
		if err != nil {
			return fmt.Errorf("%s: phone %s: %w", ps.Pos, ps.Name, err)
		}
		opts := []phone.Option{phone.WithClock(e.clk), phone.WithStateDir(state), phone.WithMedia(eng), phone.WithInflight(e.inflight)}
		if ps.Audio != "" {
			opts = append(opts, phone.WithAudioSource(e.sourcePath(ps.Audio)))
		}
		if !ps.NoAccount {
			opts = append(opts, phone.WithAccount(statedir.Account{Server: server, User: ps.User, Password: ps.Password, Domain: domain}))
		}
		p, err := phone.New(m, ps.Firmware, opts...)
		if err != nil {
			return fmt.Errorf("%s: phone %s: %w", ps.Pos, ps.Name, err)
		}
		if e.sc.Backend.CA != "" {
			if _, err := p.CAStore().ImportFile(e.sc.Backend.CA); err != nil {
				return fmt.Errorf("backend ca: %w", err)
			}
		}
		p.Start(context.WithoutCancel(ctx))
		e.phones[ps.Name] = p
	}
	return nil
}

// engine returns the media engine for an SRTP mode and codec list
// (defaults: mandatory, the policy's list), creating it on first use.
func (e *env) engine(srtp, list string) (*media.Engine, error) {
	if srtp == "" {
		srtp = "mandatory"
	}
	if list == "" {
		list = DefaultCodecs
	}
	key := srtp + "|" + list
	if eng, ok := e.engines[key]; ok {
		return eng, nil
	}
	mode, err := media.ParseMode(srtp)
	if err != nil {
		return nil, err
	}
	cs, _ := codecs.ParseOrder(list)
	eng, err := media.NewEngine(media.Config{SRTP: mode, Codecs: cs})
	if err != nil {
		return nil, err
	}
	e.engines[key] = eng
	return eng, nil
}

// DefaultCodecs is the in-band policy's codec list.
const DefaultCodecs = "G722_8000;PCMU;PCMA;G729"

// sourcePath makes a wav: source relative to the scenario's folder.
func (e *env) sourcePath(spec string) string {
	if path, ok := strings.CutPrefix(spec, "wav:"); ok && !filepath.IsAbs(path) {
		return "wav:" + filepath.Join(filepath.Dir(e.sc.File), path)
	}
	return spec
}

func (e *env) tearDown() {
	for _, p := range e.phones {
		p.Close()
	}
	if e.cloud != nil {
		e.cloud.Close()
	}
	for _, eng := range e.engines {
		eng.Close()
	}
	os.RemoveAll(e.dir)
}

func (e *env) run(ctx context.Context, steps []Step) error {
	for _, st := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		t0 := time.Now()
		err := e.step(ctx, st)
		r := StepResult{Pos: st.Pos, Desc: st.Describe(), OK: err == nil, Wall: time.Since(t0), At: e.clk.Now().Sub(e.start())}
		if err != nil {
			r.Err = err.Error()
		}
		e.resMu.Lock()
		e.steps = append(e.steps, r)
		e.resMu.Unlock()
		if e.opts.Progress != nil {
			e.opts.Progress(r)
		}
		if err != nil {
			var se *stepError
			if errors.As(err, &se) {
				return err
			}
			return &stepError{pos: st.Pos, desc: st.Describe(), err: err}
		}
	}
	return nil
}

func (e *env) step(ctx context.Context, st Step) error {
	p := e.phones[st.Phone]
	// Like a person who looks before pressing, an action waits until what
	// the step before set off has arrived.
	if e.fake != nil && !contains([]string{"wait", "expect", "advance", "parallel", "repeat"}, st.Action) {
		if err := e.settle(); err != nil {
			return err
		}
	}
	switch st.Action {
	case "press":
		for _, name := range strings.Fields(st.Arg) {
			k, err := phone.ParseKey(name)
			if err != nil {
				return err
			}
			if err := p.Press(k); err != nil {
				return err
			}
		}
		return nil
	case "softkey":
		if n, err := strconv.Atoi(st.Arg); err == nil {
			return p.Softkey(n)
		}
		return p.SoftkeyLabel(st.Arg)
	case "dial":
		return p.DialTarget(st.Arg)
	case "call":
		return p.Call(st.Arg)
	case "answer":
		return p.Answer()
	case "hangup":
		return p.Hangup()
	case "hold":
		return p.Hold()
	case "resume":
		return p.Resume()
	case "transfer":
		return p.Transfer(st.Arg)
	case "type":
		return p.Type(st.Arg)
	case "reboot":
		return p.Reboot()
	case "import_ca":
		return e.importCA(p, st.Arg)
	case "play":
		return p.Play(e.sourcePath(st.Arg))
	case "dtmf":
		return p.SendDTMF(st.Arg)
	case "record":
		path := st.Arg
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(e.sc.File), path)
		}
		return p.Record(path)
	case "wait":
		return e.wait(ctx, p, st.Cond, st.Timeout)
	case "expect":
		if err := e.settle(); err != nil {
			return err
		}
		ok, why := e.check(p, st.Cond)
		if !ok {
			return fmt.Errorf("expected %s; %s", st.Cond, why)
		}
		return nil
	case "advance":
		return e.advance(st.Timeout)
	case "backend":
		return e.backendStep(st.Backend)
	case "parallel":
		var wg sync.WaitGroup
		errs := make([]error, len(st.Steps))
		for i, sub := range st.Steps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = e.run(ctx, []Step{sub})
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	case "repeat":
		for i := 0; i < st.Times; i++ {
			if err := e.run(ctx, st.Steps); err != nil {
				return fmt.Errorf("round %d: %w", i+1, err)
			}
		}
		return nil
	}
	return fmt.Errorf("unknown step %q", st.Action)
}

// importCA imports a factory root by id (lab-2022) or a certificate file
// relative to the scenario.
func (e *env) importCA(p *phone.Phone, what string) error {
	path := what
	if root, err := certs.FactoryRoot(what); err == nil {
		path = filepath.Join(e.dir, what+".pem")
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}), 0o644); err != nil {
			return err
		}
	} else if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(e.sc.File), path)
	}
	_, err := p.CAStore().ImportFile(path)
	return err
}

func (e *env) backendStep(a BackendAction) error {
	if e.cloud == nil {
		return errors.New("backend steps need the embedded mock cloud")
	}
	switch {
	case a.AddUser != nil:
		u := a.AddUser
		return e.cloud.AddUser(backend.User{User: u.User, Password: u.Password, DisplayName: u.DisplayName, Extension: u.Extension})
	case a.Rotate != "":
		return e.cloud.RotateCertificate(a.Rotate)
	case a.Voicemail != "":
		return e.cloud.LeaveVoicemail(a.Voicemail)
	}
	return nil
}

// settled reports whether nothing is in flight and no phone or the cloud
// has work in progress.
func (e *env) settled() bool {
	if !e.inflight.Idle() {
		return false
	}
	if e.cloud != nil && !e.cloud.Settled() {
		return false
	}
	for _, p := range e.phones {
		if !p.Settled() {
			return false
		}
	}
	return true
}

// settleLimit bounds, in wall time, how long the runner waits for what is
// in flight to arrive; past it a hold was never released, which is a bug
// to report rather than a reason to move the clock.
const settleLimit = 10 * time.Second

// settle waits until nothing is in flight: every message sent has been
// acted on by its receiver and every event run by its phone's loop. It
// waits on the tracker's idle signal; a phone's loop that still has a task
// queued (from outside SIP) is given its turn.
func (e *env) settle() error {
	if e.fake == nil {
		return nil
	}
	deadline := time.Now().Add(settleLimit)
	for {
		if err := e.inflight.WaitIdle(time.Until(deadline)); err != nil {
			return fmt.Errorf("network never settled: %w", err)
		}
		if e.settled() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("network never settled within %v: a phone or the cloud stayed busy", settleLimit)
		}
		runtime.Gosched()
	}
}

// advance moves scenario time forward by d. On virtual time it hops from
// timer to timer, letting the network settle at each, so a registration
// refresh due in the middle really happens in the middle.
func (e *env) advance(d time.Duration) error {
	if e.skew != nil {
		e.skew.Advance(d)
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	target := e.fake.Now().Add(d)
	for {
		if err := e.settle(); err != nil {
			return err
		}
		next, ok := e.fake.NextDeadline()
		if !ok || next.After(target) {
			e.fake.AdvanceTo(target)
			return e.settle()
		}
		e.fake.AdvanceTo(next)
	}
}

// wait polls cond until it holds. On virtual time, whenever the phones have
// settled and the condition still fails, the clock jumps to the next timer,
// never past the timeout.
func (e *env) wait(ctx context.Context, p *phone.Phone, cond Condition, timeout time.Duration) error {
	began := time.Now()
	realDeadline := began.Add(e.opts.RealTimeout)
	// Audio flows in real time: waiting to hear a tone or a digit must not
	// skip the clock ahead of the packets, so such waits run on wall time.
	audio := cond.Tone != 0 || cond.DTMF != ""
	if e.skew != nil || audio {
		realDeadline = time.Now().Add(min(timeout, e.opts.RealTimeout))
	}
	deadline := e.clk.Now().Add(timeout)
	for {
		if ok, _ := e.check(p, cond); ok {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if time.Now().After(realDeadline) {
			_, why := e.check(p, cond)
			return fmt.Errorf("timed out after %v (wall time); %s", time.Since(began).Truncate(time.Millisecond), why)
		}
		if e.fake == nil || audio {
			time.Sleep(time.Millisecond)
			continue
		}
		if err := e.settle(); err != nil {
			return err
		}
		e.mu.Lock()
		if ok, _ := e.check(p, cond); ok {
			e.mu.Unlock()
			return nil
		}
		next, has := e.fake.NextDeadline()
		if !has || next.After(deadline) {
			e.fake.AdvanceTo(deadline)
			e.mu.Unlock()
			if err := e.settle(); err != nil {
				return err
			}
			if ok, _ := e.check(p, cond); ok {
				return nil
			}
			_, why := e.check(p, cond)
			return fmt.Errorf("timed out after %v; %s", timeout, why)
		}
		e.fake.AdvanceTo(next)
		e.mu.Unlock()
	}
}

// check evaluates a condition on a phone; why says what was seen instead.
func (e *env) check(p *phone.Phone, c Condition) (bool, string) {
	st, err := p.Status()
	if err != nil {
		return false, err.Error()
	}
	status := map[string]string{}
	for _, kv := range st {
		status[kv[0]] = kv[1]
	}
	var why []string
	scr := p.Screen()
	if c.Screen != nil && !c.Screen.MatchString(scr.Text()) {
		why = append(why, fmt.Sprintf("screen does not match %q", c.Screen.String()))
	}
	if c.Call != "" && status["call"] != c.Call {
		why = append(why, "call="+status["call"])
	}
	if c.Registered != nil && (status["registered"] == "yes") != *c.Registered {
		s := "registered=" + status["registered"]
		if e := status["registration_error"]; e != "" {
			s += " (" + e + ")"
		}
		why = append(why, s)
	}
	leds := map[string]phone.LED{"message": scr.LEDs.Message, "line": scr.LEDs.Line, "speaker": scr.LEDs.Speaker, "headset": scr.LEDs.Headset, "mute": scr.LEDs.Mute}
	for _, k := range sortedKeys(c.LED) {
		if got := leds[k].String(); got != c.LED[k] {
			why = append(why, "led "+k+"="+got)
		}
	}
	if c.Log != nil {
		found := false
		for _, l := range p.Logs(0) {
			if c.Log.MatchString(l.Text) {
				found = true
				break
			}
		}
		if !found {
			why = append(why, fmt.Sprintf("no log line matches %q", c.Log.String()))
		}
	}
	if c.Tone != 0 {
		hz, _ := strconv.Atoi(status["tone_hz"])
		if hz < c.Tone-ToneTolerance || hz > c.Tone+ToneTolerance {
			why = append(why, "tone_hz="+status["tone_hz"])
		}
	}
	if c.DTMF != "" && status["dtmf_heard"] != c.DTMF {
		why = append(why, "dtmf_heard="+status["dtmf_heard"])
	}
	for _, k := range sortedKeys(c.Status) {
		got, known := status[k]
		if !known {
			why = append(why, "no status key "+k)
		} else if got != c.Status[k] {
			why = append(why, k+"="+got)
		}
	}
	return len(why) == 0, strings.Join(why, ", ")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// snapshot takes every phone's screen and log tail for the report.
func (e *env) snapshot() (map[string]string, map[string][]string) {
	screens, logs := map[string]string{}, map[string][]string{}
	for name, p := range e.phones {
		screens[name] = p.Screen().Text()
		for _, l := range p.Logs(25) {
			logs[name] = append(logs[name], l.Text)
		}
	}
	return screens, logs
}
