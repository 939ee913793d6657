package scenarios

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/deskphone/deskphone/backend"
	"github.com/deskphone/deskphone/backend/idp"
	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/cloud"
	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/internal/inflight"
	"github.com/deskphone/deskphone/internal/memdir"
	"github.com/deskphone/deskphone/internal/siptrace"
	"github.com/deskphone/deskphone/media"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
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
	// SIPDelay, when set, makes every delivery of a SIP message (to the
	// phones and to the embedded cloud, as the transport reads it and as
	// the code acting on it takes it over) late by a random wall-clock
	// span below it, drawn from Seed. On virtual time a scenario passes
	// the same way with and without it; one that fails only with it has
	// found a message the runner did not see in flight.
	SIPDelay time.Duration
	Seed     uint64
	// Tap sees the RTP of the phones and the embedded cloud in the clear
	// (a packet capture).
	Tap media.Tap
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
	// Interrupted says the run was stopped from outside (its context, as
	// on Ctrl-C) rather than failed by a step.
	Interrupted bool
	// SIPDelay and Seed are the run's Options.SIPDelay and Seed, so a
	// failure under delays can be run again with the same draw.
	SIPDelay time.Duration
	Seed     uint64
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
	// Note is what a passed step has to say: the refusal an
	// expect_error step met, the version a policy step made.
	Note string
}

// env is one running scenario: its clock, cloud and phones.
type env struct {
	sc   *Scenario
	opts Options
	fake *clock.Fake
	skew *clock.Skewed
	clk  clock.Clock
	// inflight counts what the phones and the embedded cloud have in
	// flight; virtual time moves only when it is idle.
	inflight *inflight.Tracker
	cloud    *cloud.Cloud
	phones   map[string]*phone.Phone
	// stops close the phones, by name; specs are how each was built, for
	// a power step to build it again.
	stops map[string]func() error
	specs map[string]driver.Spec
	// engines carry the media: the cloud's, and the phones' (one per
	// distinct SRTP and codec setting).
	engines driver.Engines
	dir     string
	// answer is the last backend step's answer, for {{answer.FIELD}}.
	answerMu   sync.Mutex
	answer     map[string]any
	answerJSON string
	// origin is where the run's clock began.
	origin time.Time
	// tl maps wall time to the run's clock for the SIP trace.
	tl timeline

	mu    sync.Mutex // serialises clock moves (parallel steps)
	resMu sync.Mutex
	steps []StepResult

	// audio says a step waits on what a call hears; heard then holds each
	// phone's mark from the start of the last action step, which tone and
	// DTMF conditions count from.
	audio   bool
	heardMu sync.Mutex
	heard   map[string]driver.Heard
}

// Run runs one scenario to its end or its first failing step.
func Run(ctx context.Context, sc *Scenario, opts Options) Result {
	if opts.RealTimeout == 0 {
		opts.RealTimeout = 60 * time.Second
	}
	t0 := time.Now()
	res := Result{Name: sc.Name, File: sc.File}
	if opts.SIPDelay > 0 {
		res.SIPDelay, res.Seed = opts.SIPDelay, opts.Seed
	}
	e := &env{sc: sc, opts: opts, phones: map[string]*phone.Phone{},
		stops: map[string]func() error{}, specs: map[string]driver.Spec{}, audio: hearsAudio(sc.Steps), heard: map[string]driver.Heard{}}
	e.engines.Tap = opts.Tap
	err := e.setUp(ctx)
	if err == nil {
		err = e.run(ctx, sc.Steps)
	}
	res.Steps = e.steps
	res.Virtual = e.clk.Now().Sub(e.start())
	if err != nil {
		res.Failure = redact(err.Error())
		var se *stepError
		if errors.As(err, &se) {
			res.FailedAt = se.pos
		}
		if ctx.Err() != nil {
			res.Interrupted = true
			res.Failure = "interrupted"
			if se != nil {
				res.Failure = fmt.Sprintf("interrupted at %s: %s", se.pos, se.desc)
			}
		}
		res.Screens, res.Logs = e.snapshot()
		res.SIP = e.sipTail()
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
	// The phones' and the cloud's state is thrown away at the end: in
	// memory, it is not written through to a disk.
	dir, err := memdir.MkdirTemp("deskphone-scenario-")
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
		if !e.sc.Start.IsZero() {
			e.origin = e.sc.Start
		}
		if e.sc.Backend.Server != "" {
			// An external server's certificate was issued in real time,
			// and phones check it on their own clock.
			e.origin = time.Now().UTC().Truncate(time.Second)
		}
		e.fake = clock.NewFake(e.origin)
		e.clk = e.fake
	}
	e.tl.running = e.opts.Realtime
	e.tl.moved(time.Now(), e.origin)
	var delay []inflight.Option
	if e.opts.SIPDelay > 0 {
		delay = append(delay, inflight.WithDelay(e.opts.SIPDelay, e.opts.Seed))
	}
	e.inflight = inflight.New(delay...)
	server, domain := e.sc.Backend.Server, e.sc.Backend.Domain
	var updateOpts []phone.Option
	if server == "" {
		cloudMedia, err := e.engines.Get("optional", driver.DefaultCodecs)
		if err != nil {
			return err
		}
		cfg := cloud.Config{Dir: filepath.Join(dir, "cloud"), Clock: e.clk, Inflight: e.inflight, Media: cloudMedia.Engine,
			Admin: true, Catalog: e.opts.Catalog, Update: &cloud.Update{TLS: true, ImageSize: scenarioImageSize}}
		for _, u := range e.sc.Backend.Users {
			cfg.Users = append(cfg.Users, backend.User{User: u.User, Password: u.Password, DisplayName: u.DisplayName, Extension: u.Extension})
		}
		if e.sc.Backend.Provisioning {
			cfg.Provisioning = &cloud.Update{ImageSize: scenarioImageSize}
		}
		c, err := cloud.Start(ctx, cfg)
		if err != nil {
			return err
		}
		e.cloud = c
		server, domain = "sips:"+c.Addr("tls"), c.Domain()
		updateOpts = []phone.Option{phone.WithUpdateService(c.UpdateURL)}
		if c.ProvisioningURL != "" {
			updateOpts = append(updateOpts, phone.WithProvisioningServer(c.ProvisioningURL))
		}
		// The members of a group sign in with the users their pattern
		// names: the cloud has them.
		for _, ps := range e.sc.Phones {
			if ps.Group != "" && !ps.NoAccount {
				if err := c.AddUser(backend.User{User: ps.User, Password: ps.Password}); err != nil && !errors.Is(err, backend.ErrUserExists) {
					return fmt.Errorf("%s: mock cloud: %w", ps.Pos, err)
				}
			}
		}
	}
	for _, ps := range e.sc.Phones {
		state := ps.State
		if state == "" {
			state = filepath.Join(dir, "phone-"+ps.Name)
		}
		spec := driver.Spec{
			Catalog: e.opts.Catalog, Model: ps.Model, Firmware: ps.Firmware, StateDir: state, Clock: e.clk,
			Engines: &e.engines, SRTP: ps.SRTP, Codecs: ps.Codecs,
			Options: append([]phone.Option{phone.WithInflight(e.inflight)}, updateOpts...),
		}
		if ps.Audio != "" {
			spec.Audio = e.sourcePath(ps.Audio)
		}
		spec.MAC = ps.MAC
		prov, err := e.provisioningURL(ps)
		if err != nil {
			return err
		}
		if prov != "" {
			// The phone's own provisioning server, in the place of the
			// cloud's: options given last win.
			spec.Options = append(spec.Options, phone.WithProvisioningServer(prov))
		}
		// A gateway phone's SIP server and account are the gateway's; the
		// account here is what Skype for Business firmware the gateway
		// refuses goes on with.
		if !ps.NoAccount {
			spec.Account = &statedir.Account{Server: server, User: ps.User, Password: ps.Password, Domain: domain}
		}
		if ps.SignIn != "" && e.cloud != nil {
			if spec.Account != nil {
				spec.Account.Password = ""
			}
			method := ps.SignIn
			if method == "yes" {
				method = ""
			}
			spec.Options = append(spec.Options, phone.WithSignIn(phone.SignIn{Issuer: e.cloud.IdP().Issuer(), Method: method}))
		}
		if e.sc.Backend.CA != "" {
			spec.CA = []string{e.sc.Backend.CA}
		}
		p, stop, err := driver.Build(context.WithoutCancel(ctx), spec)
		if err != nil {
			return fmt.Errorf("%s: phone %s: %w", ps.Pos, ps.Name, err)
		}
		e.phones[ps.Name] = p
		e.stops[ps.Name], e.specs[ps.Name] = stop, spec
	}
	return nil
}

// sourcePath makes a wav: source relative to the scenario's folder.
func (e *env) sourcePath(spec string) string {
	if path, ok := strings.CutPrefix(spec, "wav:"); ok && !filepath.IsAbs(path) {
		return "wav:" + filepath.Join(filepath.Dir(e.sc.File), path)
	}
	return spec
}

func (e *env) tearDown() {
	for _, stop := range e.stops {
		if stop != nil {
			stop()
		}
	}
	if e.cloud != nil {
		e.cloud.Close()
	}
	e.engines.Close()
	os.RemoveAll(e.dir)
}

func (e *env) run(ctx context.Context, steps []Step) error {
	for _, st := range steps {
		if err := ctx.Err(); err != nil {
			return &stepError{pos: st.Pos, desc: st.Describe(), err: err}
		}
		t0 := time.Now()
		note, err := e.step(ctx, st)
		r := StepResult{Pos: st.Pos, Desc: st.Describe(), OK: err == nil, Wall: time.Since(t0), At: e.clk.Now().Sub(e.start()), Note: redact(note)}
		if err != nil {
			r.Err = redact(err.Error())
			if ctx.Err() != nil {
				r.Err = "interrupted"
			}
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

// step runs one step; note is what it has to say when it passes.
func (e *env) step(ctx context.Context, st Step) (note string, err error) {
	p := e.phones[st.Phone]
	form := driver.StepNone
	if v := stepVerb(st.Action); v != nil {
		form = v.Step
	}
	// Like a person who looks before pressing, an action (and an expect)
	// waits until what the step before set off has arrived; a wait and an
	// advance settle as they move the clock.
	timed := form == driver.StepWait || form == driver.StepDuration || st.Action == "parallel" || st.Action == "repeat"
	if e.fake != nil && !timed {
		if err := e.settle(); err != nil {
			return "", err
		}
	}
	switch {
	case form == driver.StepWait || form == driver.StepCheck:
		e.heardMu.Lock()
		h, ok := e.heard[st.Phone]
		e.heardMu.Unlock()
		if !ok {
			h = driver.Heard{Set: true} // no action yet: all since the start
		}
		st.Cond.Since = h
	case timed:
	default:
		if err := e.markHeard(); err != nil {
			return "", err
		}
	}
	note, err = e.act(ctx, st, p)
	if st.ExpectError == "" || ctx.Err() != nil {
		return note, err
	}
	return refused(st.ExpectError, err)
}

// refused judges an action that was to be refused with an error
// containing want.
func refused(want string, err error) (string, error) {
	switch {
	case err == nil:
		return "", fmt.Errorf("the action succeeded, but expect_error wants it refused with %q", want)
	case !strings.Contains(err.Error(), want):
		return "", fmt.Errorf("refused with %q, but expect_error wants an error containing %q", err.Error(), want)
	}
	return "refused: " + err.Error(), nil
}

// act does what the step says, once the network settled.
func (e *env) act(ctx context.Context, st Step, p *phone.Phone) (string, error) {
	switch st.Action {
	case "backend":
		return "", e.backendStep(st.Backend)
	case "power":
		return "", e.power(ctx, st.Phone, st.Arg == "on")
	case "expect_answer":
		return "", e.expectAnswer(st.Arg)
	case "policy":
		return e.policyStep(st.Policy)
	case "parallel":
		if st.Group != "" {
			return e.group(ctx, st)
		}
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
		return "", errors.Join(errs...)
	case "expect_count":
		return "", e.expectCount(st)
	case "repeat":
		for i := 0; i < st.Times; i++ {
			if err := e.run(ctx, st.Steps); err != nil {
				return "", fmt.Errorf("round %d: %w", i+1, err)
			}
		}
		return "", nil
	}
	// Every other step is a verb of the driver.
	v := stepVerb(st.Action)
	if v == nil {
		return "", fmt.Errorf("unknown step %q", st.Action)
	}
	if hasRefs(st.Arg) {
		arg, err := e.expand(st.Arg)
		if err != nil {
			return "", err
		}
		st.Arg = arg
	}
	a, err := st.args(v)
	if err != nil {
		return "", err
	}
	t := &driver.Target{Phone: p, Clock: stepClock{e}, Dir: filepath.Dir(e.sc.File), Pace: e.pace(p), Browser: idp.Approve}
	_, err = v.Run(ctx, t, a)
	var te *driver.TimeoutError
	if v.Step == driver.StepWait && errors.As(err, &te) {
		if te.Stalled {
			return "", fmt.Errorf("timed out after %v; %s", st.Timeout, te.Why)
		}
		return "", fmt.Errorf("timed out after %v (wall time); %s", te.After.Truncate(time.Millisecond), te.Why)
	}
	return "", err
}

// groupFailures is how many members' failures a group step's report
// names; the rest are counted.
const groupFailures = 3

// group runs a step on every member of a group at once and reports it as
// one step: a group of a thousand phones makes one progress line, and a
// failure says how many members failed and why the first did.
func (e *env) group(ctx context.Context, st Step) (string, error) {
	var wg sync.WaitGroup
	errs := make([]error, len(st.Steps))
	for i, sub := range st.Steps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.step(ctx, sub)
		}()
	}
	wg.Wait()
	var failed []string
	for i, err := range errs {
		if err != nil {
			// The line names the condition once, not per member.
			why := strings.TrimPrefix(err.Error(), "expected "+st.Steps[i].Cond.String()+"; ")
			failed = append(failed, st.Steps[i].Phone+": "+why)
		}
	}
	if len(failed) == 0 {
		return "", nil
	}
	msg := fmt.Sprintf("%d of the %d phones of %s failed: %s", len(failed), len(st.Steps), st.Group, strings.Join(failed[:min(len(failed), groupFailures)], "; "))
	if more := len(failed) - groupFailures; more > 0 {
		msg += fmt.Sprintf("; and %d more", more)
	}
	return "", errors.New(msg)
}

// policyStep changes the embedded cloud's policy; its note is the version
// of the cloud's policies it made, which the phones' policy_version
// reaches once they have it.
func (e *env) policyStep(c *PolicyChange) (string, error) {
	if e.cloud == nil {
		return "", errors.New("policy steps need the embedded mock cloud")
	}
	if c.Tenant != "" && c.Tenant != e.cloud.Domain() {
		return "", fmt.Errorf("unknown tenant %q: the embedded cloud's tenant is %s", c.Tenant, e.cloud.Domain())
	}
	act, _, _ := backend.LookupAction([]string{"policy", "set"})
	ans, err := act.Run(e.cloud.Backend, backend.PolicySetInput(c.User, c.Set))
	if err != nil {
		return "", err
	}
	info, _ := ans.Value.(backend.PolicyInfo)
	return fmt.Sprintf("policy version %d", info.Version), nil
}

// expectCount checks how many phones of a group meet the condition now.
func (e *env) expectCount(st Step) error {
	n, of := 0, 0
	var why string
	for _, ps := range e.sc.Phones {
		if ps.Group != st.Count.Group {
			continue
		}
		of++
		ok, w, err := st.Cond.Check(e.phones[ps.Name])
		if err != nil {
			return fmt.Errorf("%s: %w", ps.Name, err)
		}
		if ok {
			n++
		} else if why == "" {
			why = fmt.Sprintf("; %s: %s", ps.Name, w)
		}
	}
	if n < st.Count.AtLeast || st.Count.AtMost >= 0 && n > st.Count.AtMost {
		return fmt.Errorf("%d of the %d phones of %s have %s%s", n, of, st.Count.Group, st.Cond.String(), why)
	}
	return nil
}

// args are the driver arguments of a step, by its verb's step form: the
// condition and duration read from the file, or the argument text as the
// verb parses it.
func (st Step) args(v *driver.Verb) (driver.Args, error) {
	switch v.Step {
	case driver.StepWait, driver.StepCheck:
		return driver.Args{Cond: st.Cond, Duration: st.Timeout}, nil
	case driver.StepDuration:
		return driver.Args{Duration: st.Timeout}, nil
	}
	return v.Parse(st.Arg)
}

// hearsAudio reports whether a step waits on or expects a tone or DTMF.
func hearsAudio(steps []Step) bool {
	for _, st := range steps {
		if st.Cond.Audio() || hearsAudio(st.Steps) {
			return true
		}
	}
	return false
}

// markHeard marks what every phone has heard as an action step begins: a
// tone or DTMF wait after it counts what the phones hear from then on, so
// digits a dtmf step sends count even when they arrive before the wait
// begins, and nothing heard before the action does.
func (e *env) markHeard() error {
	if !e.audio {
		return nil
	}
	for name, p := range e.phones {
		if e.stops[name] == nil {
			continue // off
		}
		h, err := driver.MarkHeard(p)
		if err != nil {
			return fmt.Errorf("phone %s: %w", name, err)
		}
		e.heardMu.Lock()
		e.heard[name] = h
		e.heardMu.Unlock()
	}
	return nil
}

// stepClock is advance as a scenario means it: timer to timer.
type stepClock struct{ e *env }

func (c stepClock) Advance(d time.Duration) { c.e.advance(d) }

// backendStep does a backend: step: an action of the cloud's table, as
// its admin API would, or a command of an update authority.
func (e *env) backendStep(a BackendAction) error {
	if e.cloud == nil {
		return errors.New("backend steps need the embedded mock cloud")
	}
	switch a.Key {
	case "firmware":
		return firmwareStep(e.cloud.Update, a.Value)
	case "provisioning":
		return firmwareStep(e.cloud.Provisioning, a.Value)
	}
	act, ok := backend.StepAction(a.Key)
	if !ok {
		return fmt.Errorf("unknown backend step %q", a.Key)
	}
	var in backend.Input
	if u := a.User; u != nil {
		in = backend.UserInput(backend.User{User: u.User, Password: u.Password, DisplayName: u.DisplayName, Extension: u.Extension})
	} else {
		value, err := e.expand(a.Value)
		if err != nil {
			return err
		}
		in = act.StepInputIn(filepath.Dir(e.sc.File), value)
	}
	answer, err := act.Run(e.cloud.Backend, in)
	e.remember(answer.Value)
	return err
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
		e.tl.moved(time.Now(), e.skew.Now())
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
			e.moveTo(target)
			return e.settle()
		}
		e.moveTo(next)
	}
}

// moveTo sets the virtual clock to t, firing what is due; the timeline
// learns of it first, as what the timers set off happens at t.
func (e *env) moveTo(t time.Time) {
	e.tl.moved(time.Now(), t)
	e.fake.AdvanceTo(t)
}

// pace says how a wait runs. Audio flows in real time: waiting to hear a
// tone or a digit must not skip the clock ahead of the packets, so such
// waits, and every wait on the wall clock, run on wall time. On virtual
// time the wait is bounded in wall time by RealTimeout only and moves the
// clock itself (stall).
func (e *env) pace(p *phone.Phone) func(driver.Cond, time.Duration) driver.WaitOptions {
	return func(c driver.Cond, timeout time.Duration) driver.WaitOptions {
		if e.skew != nil || c.Audio() {
			return driver.WaitOptions{Timeout: min(timeout, e.opts.RealTimeout)}
		}
		deadline := e.clk.Now().Add(timeout)
		return driver.WaitOptions{Timeout: e.opts.RealTimeout, Stall: func() (bool, error) { return e.stall(p, c, deadline) }}
	}
}

// stall runs when a wait's condition fails and the phone has nothing new:
// once the phones and the cloud are quiet and the condition still fails,
// the clock jumps to the next timer, never past the deadline. It reports
// false once the deadline is reached, and an error when the network never
// settles.
func (e *env) stall(p *phone.Phone, cond driver.Cond, deadline time.Time) (bool, error) {
	if err := e.settle(); err != nil {
		return false, err
	}
	e.mu.Lock()
	if ok, _, _ := cond.Check(p); ok {
		e.mu.Unlock()
		return true, nil
	}
	next, has := e.fake.NextDeadline()
	if !has || next.After(deadline) {
		e.moveTo(deadline)
		e.mu.Unlock()
		return false, e.settle()
	}
	e.moveTo(next)
	e.mu.Unlock()
	return true, nil
}

// snapshot takes every phone's screen and log tail for the report,
// without secrets.
func (e *env) snapshot() (map[string]string, map[string][]string) {
	screens, logs := map[string]string{}, map[string][]string{}
	for name, p := range e.phones {
		screens[name] = redact(p.Screen().Text())
		for _, l := range p.Logs(25) {
			logs[name] = append(logs[name], redact(l.Text))
		}
	}
	return screens, logs
}

// sipLines is how many of its last SIP messages a report shows per phone.
const sipLines = 12

// sipTail takes each phone's last SIP messages for the report: the ones
// its own connection sent and received, once each, stamped on the
// scenario clock, without secrets.
func (e *env) sipTail() map[string][]string {
	if e.opts.SIP == nil {
		return nil
	}
	out := map[string][]string{}
	for name, p := range e.phones {
		addr := p.SIPAddr()
		if addr == "" {
			continue
		}
		for _, m := range e.opts.SIP.Of(addr, sipLines) {
			m.Time = e.tl.at(m.Time)
			out[name] = append(out[name], redact(m.String()))
		}
	}
	return out
}

// redact removes digest responses and SDES keys from report text.
func redact(s string) string { return string(siptrace.Redact([]byte(s))) }

// power switches a phone off (it closes, its state directory stays) or on
// again (built afresh from the same spec and directory), as pulling and
// plugging its cable does: what a phone keeps across a power cycle is
// what its state files hold.
func (e *env) power(ctx context.Context, name string, on bool) error {
	stop := e.stops[name]
	switch {
	case !on && stop == nil:
		return fmt.Errorf("%s is already off", name)
	case !on:
		e.stops[name] = nil
		return stop()
	case stop != nil:
		return fmt.Errorf("%s is already on", name)
	}
	p, stop, err := driver.Build(context.WithoutCancel(ctx), e.specs[name])
	if err != nil {
		return fmt.Errorf("power on %s: %w", name, err)
	}
	e.phones[name] = p // no step runs beside a power step (parse.go)
	e.stops[name] = stop
	e.heardMu.Lock()
	delete(e.heard, name) // a new phone has heard nothing
	e.heardMu.Unlock()
	return nil
}
