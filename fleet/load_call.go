package fleet

import (
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/deskphone/deskphone/phone"
)

// callWatch follows one phone through a load call, from its watch: when
// the call began and connected, and why it ended.
type callWatch struct {
	mu                 sync.Mutex
	active             bool // the call was seen: calling, ringing or up
	ringing            bool // it rang (an incoming call)
	ended              bool // and is gone
	calling, connected time.Time
	alert              string // the screen's alert as it ended
	// The last media stats seen while it was up, for a call the far end
	// ended before its time.
	mos, jitter    float64
	lost, received uint64
	wake           chan struct{}
}

// observe runs on the phone's loop: it notes and wakes, never blocks.
func (w *callWatch) observe(sc phone.Screen, st phone.Status) {
	w.mu.Lock()
	now := time.Now()
	switch st.Call {
	case phone.CallCalling, phone.CallRinging:
		if !w.active {
			w.active, w.calling = true, now
		}
		w.ringing = w.ringing || st.Call == phone.CallRinging
	case phone.CallConnected, phone.CallHeld:
		if !w.active {
			w.active, w.calling = true, now
		}
		if w.connected.IsZero() {
			w.connected = now
		}
		if st.MOS > 0 {
			w.mos, w.jitter, w.lost, w.received = st.MOS, st.JitterMS, st.RTPLost, st.RTPReceived
		}
	case phone.CallIdle:
		if w.active && !w.ended {
			w.ended, w.alert = true, sc.Alert
		}
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// callResult is what one load call came to.
type callResult struct {
	answered, failed bool
	reason           string
	setup            time.Duration
	media            bool // mos, jitter and the counts were measured
	mos, jitter      float64
	lost, received   uint64
}

// idleWait bounds the wait for a hung-up call's phones to go idle.
const idleWait = 10 * time.Second

// call runs one load call and gives its phones back.
func (l *CallLoad) call(caller, callee int, to string, cfg LoadConfig) {
	defer l.calls.Done()
	r := l.run(caller, callee, to, cfg)
	l.record(r)
	l.mu.Lock()
	l.release(caller)
	l.release(callee)
	l.stats.inFlight--
	l.mu.Unlock()
	l.signal()
}

// run places the call, answers it on the callee when the callee is the
// fleet's, holds it up for cfg.Duration and hangs up.
func (l *CallLoad) run(ci, ce int, to string, cfg LoadConfig) callResult {
	wake := make(chan struct{}, 1)
	caller := l.phones[ci].Phone
	cw := &callWatch{wake: wake}
	defer caller.Watch(cw.observe)()
	var callee *phone.Phone
	ew := &callWatch{wake: wake}
	if ce >= 0 {
		callee = l.phones[ce].Phone
		defer callee.Watch(ew.observe)()
	}
	if err := caller.Call(to); err != nil {
		return callResult{failed: true, reason: "error"}
	}
	// A call refused at once (no service) never shows as calling: the
	// state read through the loop comes after what the placing published.
	if st, err := caller.State(); err == nil && st.Call == phone.CallIdle {
		cw.mu.Lock()
		if !cw.active {
			cw.active, cw.ended, cw.alert = true, true, caller.Screen().Alert
		}
		cw.mu.Unlock()
	}
	timeout := time.NewTimer(cfg.Timeout)
	defer timeout.Stop()
	timedOut := timeout.C
	var hold <-chan time.Time
	var r callResult
	answering := false
	hangup := func() {
		caller.Hangup()
		l.waitIdle(cw, ew, wake)
	}
	for {
		cw.mu.Lock()
		ended, calling, connected, alert := cw.ended, cw.calling, cw.connected, cw.alert
		cw.mu.Unlock()
		ew.mu.Lock()
		ringing := ew.ringing
		ew.mu.Unlock()
		switch {
		case ended && connected.IsZero():
			l.waitIdle(cw, ew, wake)
			return callResult{failed: true, reason: FailureReason(alert)}
		case ended:
			// The far end hung up before its time: answered, with the
			// stats last seen.
			cw.mu.Lock()
			r.media, r.mos, r.jitter, r.lost, r.received = cw.mos > 0, cw.mos, cw.jitter, cw.lost, cw.received
			cw.mu.Unlock()
			l.waitIdle(cw, ew, wake)
			return r
		case !connected.IsZero() && hold == nil:
			r.answered, r.setup = true, connected.Sub(calling)
			l.connected(r.setup)
			t := time.NewTimer(cfg.Duration)
			defer t.Stop()
			hold, timedOut = t.C, nil
		}
		if ringing && !answering && callee != nil {
			answering = true
			callee.Answer()
		}
		select {
		case <-wake:
		case <-timedOut:
			hangup()
			return callResult{failed: true, reason: "timeout"}
		case <-hold:
			l.measure(caller, &r)
			hangup()
			return r
		case <-l.ctx.Done():
			if r.answered {
				l.measure(caller, &r)
			}
			hangup()
			return r // not answered: cancelled, neither answered nor failed
		}
	}
}

// measure takes the call's media stats as the caller hears them now.
func (l *CallLoad) measure(caller *phone.Phone, r *callResult) {
	st := caller.Published()
	if st.MOS > 0 {
		r.media, r.mos, r.jitter, r.lost, r.received = true, st.MOS, st.JitterMS, st.RTPLost, st.RTPReceived
	}
}

// waitIdle waits, within idleWait, for the call to be gone from the
// caller and, when it rang there, from the callee.
func (l *CallLoad) waitIdle(cw, ew *callWatch, wake chan struct{}) {
	t := time.NewTimer(idleWait)
	defer t.Stop()
	for {
		cw.mu.Lock()
		done := !cw.active || cw.ended
		cw.mu.Unlock()
		ew.mu.Lock()
		done = done && (!ew.active || ew.ended)
		ew.mu.Unlock()
		if done {
			return
		}
		select {
		case <-wake:
		case <-t.C:
			return
		}
	}
}

// connected counts a call that is now up.
func (l *CallLoad) connected(setup time.Duration) {
	l.mu.Lock()
	l.stats.up++
	l.mu.Unlock()
	if l.m != nil {
		l.m.setup.Observe(setup.Seconds())
	}
}

// record counts a call that has ended.
func (l *CallLoad) record(r callResult) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := &l.stats
	switch {
	case r.answered:
		s.answered++
		s.up--
		s.setup.add(r.setup.Seconds())
	case r.failed:
		s.failed++
		if s.failures == nil {
			s.failures = map[string]int{}
		}
		s.failures[r.reason]++
	default:
		s.cancelled++
	}
	if r.media {
		s.mos.add(r.mos)
		s.jitter.add(r.jitter)
		s.lost += r.lost
		s.received += r.received
		s.withMedia++
	}
	if l.m == nil {
		return
	}
	switch {
	case r.answered:
		l.m.loadCalls.WithLabelValues("answered").Inc()
	case r.failed:
		l.m.loadCalls.WithLabelValues("failed").Inc()
		l.m.loadFailures.WithLabelValues(r.reason).Inc()
	}
}

// failureReasons are the failure reasons of load calls: a small set, so
// a metric labelled by them stays small. A SIP status outside the set
// counts as its class (4xx, 5xx, 6xx).
var failureReasons = [...]string{"timeout", "busy", "404", "403", "408", "480", "487", "488", "500", "502", "503", "504",
	"603", "4xx", "5xx", "6xx", "ended", "unregistered", "error"}

// FailureReasons lists the reasons a load call fails with (the labels of
// deskphone_load_call_failures_total).
func FailureReasons() []string { return slices.Clone(failureReasons[:]) }

// sipStatus finds the status in an alert such as "Service Unavailable (503)".
var sipStatus = regexp.MustCompile(`\((\d{3})\)$`)

// FailureReason is the reason label of a failed call from the alert the
// calling phone showed (its words for the SIP status).
func FailureReason(alert string) string {
	switch alert {
	case "Busy":
		return "busy"
	case "Not found":
		return "404"
	case "Unavailable":
		return "480"
	case "No answer":
		return "408"
	case "Declined":
		return "603"
	case "Not acceptable":
		return "488"
	case "Call ended":
		return "ended"
	}
	if m := sipStatus.FindStringSubmatch(alert); m != nil {
		if slices.Contains(failureReasons[:], m[1]) {
			return m[1]
		}
		return m[1][:1] + "xx"
	}
	if len(alert) >= 10 && alert[:10] == "No service" {
		return "unregistered"
	}
	return "error"
}

// maxSamples bounds the calls kept for the summary's percentiles; past
// it, a uniform sample of every call so far is kept (reservoir sampling).
const maxSamples = 100_000

// sample is values kept for percentiles.
type sample struct {
	v []float64
	n int
}

func (s *sample) add(x float64) {
	s.n++
	if len(s.v) < maxSamples {
		s.v = append(s.v, x)
		return
	}
	if j := rand.IntN(s.n); j < maxSamples {
		s.v[j] = x
	}
}

// quantiles are the values at qs (0 to 1, nearest rank); NaN when empty.
func (s *sample) quantiles(qs ...float64) []float64 {
	out := make([]float64, len(qs))
	v := slices.Clone(s.v)
	sort.Float64s(v)
	for i, q := range qs {
		if len(v) == 0 {
			out[i] = -1
			continue
		}
		k := int(q*float64(len(v))+0.999999) - 1
		out[i] = v[min(max(k, 0), len(v)-1)]
	}
	return out
}

// loadStats are the load's counts and samples, under CallLoad.mu.
type loadStats struct {
	attempted, answered, failed, cancelled int
	inFlight, up                           int
	failures                               map[string]int
	setup, mos, jitter                     sample
	lost, received                         uint64
	withMedia                              int
}

// LoadSummary is a load's counts and figures so far, computed from every
// call (not from histogram buckets). A figure with no call behind it is
// -1.
type LoadSummary struct {
	Attempted, Answered, Failed int
	// Cancelled calls were hung up unanswered when the load was closed.
	Cancelled int
	// InFlight are the calls being set up or up now; Up those up.
	InFlight, Up int
	Failures     map[string]int
	// Setup is from INVITE to 200 OK, in seconds.
	SetupP50, SetupP95, SetupP99 float64
	// MOS, jitter (ms) and loss as the calling phones heard them.
	MOSP5, MOSP50 float64
	JitterP99     float64
	// Loss is the packets lost over those expected, across every call.
	Loss float64
	// WithMedia is how many calls the media figures come from.
	WithMedia int
}

// Summary reads the load's counts and figures now.
func (l *CallLoad) Summary() LoadSummary {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := &l.stats
	out := LoadSummary{Attempted: s.attempted, Answered: s.answered, Failed: s.failed, Cancelled: s.cancelled,
		InFlight: s.inFlight, Up: s.up, Failures: map[string]int{}, WithMedia: s.withMedia, Loss: -1}
	for k, v := range s.failures {
		out.Failures[k] = v
	}
	q := s.setup.quantiles(0.5, 0.95, 0.99)
	out.SetupP50, out.SetupP95, out.SetupP99 = q[0], q[1], q[2]
	q = s.mos.quantiles(0.05, 0.5)
	out.MOSP5, out.MOSP50 = q[0], q[1]
	out.JitterP99 = s.jitter.quantiles(0.99)[0]
	if n := s.lost + s.received; n > 0 {
		out.Loss = float64(s.lost) / float64(n)
	}
	return out
}

// Progress is the load's counts in a few words, for progress lines: no
// percentile, so it costs nothing however many calls the load placed.
func (l *CallLoad) Progress() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("calls: %d attempted, %d up, %d failed", l.stats.attempted, l.stats.up, l.stats.failed)
}

// WriteTable writes the summary as a table, one figure a row.
func (s LoadSummary) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	ms := func(sec float64) string {
		if sec < 0 {
			return "-"
		}
		return strconv.FormatFloat(sec*1000, 'f', 1, 64) + " ms"
	}
	num := func(x float64, prec int) string {
		if x < 0 {
			return "-"
		}
		return strconv.FormatFloat(x, 'f', prec, 64)
	}
	fmt.Fprintf(tw, "calls attempted\t%d\n", s.Attempted)
	fmt.Fprintf(tw, "calls answered\t%d\n", s.Answered)
	fmt.Fprintf(tw, "calls failed\t%d\n", s.Failed)
	reasons := make([]string, 0, len(s.Failures))
	for r := range s.Failures {
		reasons = append(reasons, r)
	}
	slices.SortFunc(reasons, func(a, b string) int {
		if d := s.Failures[b] - s.Failures[a]; d != 0 {
			return d
		}
		if a < b {
			return -1
		}
		return 1
	})
	for _, r := range reasons {
		fmt.Fprintf(tw, "  failed: %s\t%d\n", r, s.Failures[r])
	}
	if s.Cancelled > 0 {
		fmt.Fprintf(tw, "calls cancelled\t%d\n", s.Cancelled)
	}
	fmt.Fprintf(tw, "setup p50/p95/p99\t%s / %s / %s\n", ms(s.SetupP50), ms(s.SetupP95), ms(s.SetupP99))
	fmt.Fprintf(tw, "MOS p5/p50\t%s / %s\n", num(s.MOSP5, 2), num(s.MOSP50, 2))
	jitter := "-"
	if s.JitterP99 >= 0 {
		jitter = num(s.JitterP99, 1) + " ms"
	}
	fmt.Fprintf(tw, "jitter p99\t%s\n", jitter)
	loss := "-"
	if s.Loss >= 0 {
		loss = strconv.FormatFloat(s.Loss*100, 'f', 3, 64) + " %"
	}
	fmt.Fprintf(tw, "loss\t%s\n", loss)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("load summary: %w", err)
	}
	return nil
}
