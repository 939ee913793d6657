package fleet

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/deskphone/deskphone/phone"
)

// Metrics are the fleet's Prometheus metrics. The counters move as the
// phones publish their status (one watcher per phone); the gauge of phones
// by state is kept as running counts, so a scrape costs the same for ten
// phones as for ten thousand.
type Metrics struct {
	reg *prometheus.Registry

	// states counts the phones in each state the gauge shows.
	states  [numStates]atomic.Int64
	running atomic.Int64
	// calls counts the fleet's calls in each call state.
	calls [len(callStateLabels)]atomic.Int64

	registrations *prometheus.CounterVec
	regFailures   *prometheus.CounterVec
	callOutcomes  *prometheus.CounterVec
	srtpFailures  *prometheus.CounterVec
	updates       *prometheus.CounterVec
	mos           prometheus.Histogram
	jitter        prometheus.Histogram
	// jitterSeconds is jitter in the base unit Prometheus's own lint asks
	// for; jitter (in ms) stays, as metric names are a contract.
	jitterSeconds prometheus.Histogram
	boot          prometheus.Histogram
	buildFailures prometheus.Counter
	// Call load (Fleet.StartLoad) and the loss of every call.
	setup        prometheus.Histogram
	loss         prometheus.Histogram
	loadCalls    *prometheus.CounterVec
	loadFailures *prometheus.CounterVec
}

// The states of the deskphone_phones gauge.
const (
	stRegistered = iota
	stSignedIn
	stLocked
	stInCall
	stUpdating
	numStates
)

var stateLabels = [numStates]string{"registered", "signed_in", "locked", "in_call", "updating"}

// callStateLabels are the call states deskphone_active_calls shows.
var callStateLabels = [...]phone.CallState{phone.CallDialing, phone.CallCalling, phone.CallRinging, phone.CallConnected, phone.CallHeld}

// NewMetrics makes the metrics and registers them, with the Go and process
// collectors, in a registry of their own.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.registrations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "deskphone_registrations_total", Help: "Successful registrations (first and after a loss; refreshes not counted)."}, []string{"group"})
	m.regFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "deskphone_registration_failures_total", Help: "Failed registrations by the reason the phone shows."}, []string{"reason"})
	m.callOutcomes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "deskphone_calls_total", Help: "Calls by outcome, counted per phone: placed (by this phone), answered (this phone connected; a call between two phones of the fleet counts twice), failed (placed, ended before connecting)."}, []string{"outcome"})
	m.srtpFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "deskphone_srtp_failures_total", Help: "SRTP packets refused: authentication failures and replays."}, []string{"kind"})
	m.updates = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "deskphone_updates_total", Help: "Firmware update outcomes: installed (the version changed) or failed."}, []string{"outcome"})
	m.mos = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "deskphone_call_mos", Help: "MOS estimate of each call at its end.", Buckets: []float64{1, 2, 2.5, 3, 3.5, 4, 4.2, 4.4, 4.5}})
	m.jitter = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "deskphone_call_jitter_ms", Help: "Interarrival jitter of each call at its end, in milliseconds.", Buckets: []float64{1, 2, 5, 10, 20, 30, 50, 100}})
	m.jitterSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "deskphone_call_jitter_seconds", Help: "Interarrival jitter of each call at its end, in seconds (deskphone_call_jitter_ms in base units).", Buckets: []float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1}})
	m.boot = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "deskphone_boot_seconds", Help: "From building a phone to its first registration.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 12)})
	m.buildFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "deskphone_build_failures_total", Help: "Phones that could not be built (bad model, state directory, CA file)."})
	m.setup = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "deskphone_call_setup_seconds", Help: "Setup time of each load call: INVITE sent to 200 OK.",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}})
	m.loss = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "deskphone_call_loss_ratio", Help: "RTP packets lost over those expected, of each call at its end (0 to 1).",
		Buckets: []float64{0, 0.0001, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5}})
	m.loadCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "deskphone_load_calls_total", Help: "Load calls by result: attempted (placed), answered, failed (not answered; the reason in deskphone_load_call_failures_total)."}, []string{"result"})
	m.loadFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "deskphone_load_call_failures_total", Help: "Failed load calls by reason: timeout, busy, a SIP status (404, 503 ...) or its class (4xx), ended, unregistered, error."}, []string{"reason"})
	phones := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "deskphone_fleet_phones", Help: "Phones running in this process."},
		func() float64 { return float64(m.running.Load()) })
	m.reg.MustRegister(m.registrations, m.regFailures, m.callOutcomes, m.srtpFailures, m.updates, m.mos, m.jitter, m.jitterSeconds, m.boot,
		m.buildFailures, phones, stateCollector{m}, m.setup, m.loss, m.loadCalls, m.loadFailures,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Every series whose label is known beforehand exists from the start,
	// at zero, so a rate or an alert sees the first event.
	for _, o := range []string{"placed", "answered", "failed"} {
		m.callOutcomes.WithLabelValues(o)
	}
	for _, r := range []string{"attempted", "answered", "failed"} {
		m.loadCalls.WithLabelValues(r)
	}
	for _, r := range FailureReasons() {
		m.loadFailures.WithLabelValues(r)
	}
	for _, k := range []string{"auth", "replay"} {
		m.srtpFailures.WithLabelValues(k)
	}
	for _, o := range []string{"installed", "failed"} {
		m.updates.WithLabelValues(o)
	}
	for _, r := range phone.RegistrationReasons() {
		m.regFailures.WithLabelValues(r)
	}
	return m
}

// addGroups starts the registrations of each group at zero.
func (m *Metrics) addGroups(members []Member) {
	for i, mb := range members {
		if i == 0 || members[i-1].Group != mb.Group {
			m.registrations.WithLabelValues(mb.Group)
		}
	}
}

// Registry is what /metrics serves.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// stateCollector reports deskphone_phones{state} from the running counts.
type stateCollector struct{ m *Metrics }

var (
	phonesDesc = prometheus.NewDesc("deskphone_phones", "Phones by state (a phone may be in several: registered and in_call).", []string{"state"}, nil)
	callsDesc  = prometheus.NewDesc("deskphone_active_calls", "Calls up now across the fleet by state (a phone with a held call and a connected one counts in both).", []string{"state"}, nil)
)

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- phonesDesc; ch <- callsDesc }

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	for i, l := range stateLabels {
		ch <- prometheus.MustNewConstMetric(phonesDesc, prometheus.GaugeValue, float64(c.m.states[i].Load()), l)
	}
	for i, s := range callStateLabels {
		ch <- prometheus.MustNewConstMetric(callsDesc, prometheus.GaugeValue, float64(c.m.calls[i].Load()), s.String())
	}
}

// watcher follows one phone's published status, in the order the phone
// published it.
type watcher struct {
	mu      sync.Mutex
	m       *Metrics
	group   string
	built   time.Time
	booted  bool
	last    seen
	flags   [numStates]bool
	placed  bool // the current call was placed by this phone
	connect bool // and it connected
}

// prime takes in what p published before the watch began. Read under the
// lock, it is never older than a status the watch delivers after it: the
// phone hands a status to its watchers before publishing the next.
func (w *watcher) prime(p *phone.Phone) {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := p.Published()
	w.apply(&st)
}

// observe runs on the phone's loop after every change it publishes: it
// takes the status by pointer, as copies on the stack would grow every
// loop's stack.
func (w *watcher) observe(st *phone.Status) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.apply(st)
}

// seen is what the watcher keeps of the last status to tell what changed:
// the few fields its counts need, not the whole status, for each of ten
// thousand phones.
type seen struct {
	Registered                 bool
	RegistrationError          string
	Call                       phone.CallState
	CallStates                 phone.CallCounts
	Update                     phone.UpdateState
	Firmware                   string
	SRTPAuthFail, SRTPReplayed uint64
	MOS, JitterMS              float64
	// Loss is the call's loss ratio: a float32 where the two counts would
	// take a bigger allocation per phone.
	Loss float32
}

func (w *watcher) apply(st *phone.Status) {
	m, prev := w.m, w.last
	w.last = seen{Registered: st.Registered, RegistrationError: st.RegistrationError, Call: st.Call, CallStates: st.CallStates, Update: st.Update,
		Firmware: st.Firmware, SRTPAuthFail: st.SRTPAuthFail, SRTPReplayed: st.SRTPReplayed, MOS: st.MOS, JitterMS: st.JitterMS,
		Loss: lossRatio(st.RTPLost, st.RTPReceived)}
	now := [numStates]bool{
		stRegistered: st.Registered,
		stSignedIn:   st.Session == phone.SignedIn,
		stLocked:     st.Lock == phone.Locked,
		stInCall:     st.Call != phone.CallIdle && st.Call != phone.CallUnknown,
		stUpdating:   st.Update != phone.UpdateNone && st.Update != phone.UpdateUnknown,
	}
	for i := range now {
		if now[i] != w.flags[i] {
			w.flags[i] = now[i]
			if now[i] {
				m.states[i].Add(1)
			} else {
				m.states[i].Add(-1)
			}
		}
	}
	for i, s := range callStateLabels {
		if d := st.CallStates.Of(s) - prev.CallStates.Of(s); d != 0 {
			m.calls[i].Add(int64(d))
		}
	}
	if st.Registered && !prev.Registered {
		m.registrations.WithLabelValues(w.group).Inc()
		if !w.booted {
			w.booted = true
			m.boot.Observe(time.Since(w.built).Seconds())
		}
	}
	if st.RegistrationError != "" && st.RegistrationError != prev.RegistrationError {
		m.regFailures.WithLabelValues(st.RegistrationError).Inc()
	}
	switch {
	case st.Call == phone.CallCalling && prev.Call != phone.CallCalling:
		w.placed, w.connect = true, false
		m.callOutcomes.WithLabelValues("placed").Inc()
	case st.Call == phone.CallConnected && prev.Call != phone.CallConnected && prev.Call != phone.CallHeld:
		w.connect = true
		m.callOutcomes.WithLabelValues("answered").Inc()
	}
	if a, b := st.SRTPAuthFail, prev.SRTPAuthFail; a > b {
		m.srtpFailures.WithLabelValues("auth").Add(float64(a - b))
	}
	if a, b := st.SRTPReplayed, prev.SRTPReplayed; a > b {
		m.srtpFailures.WithLabelValues("replay").Add(float64(a - b))
	}
	if st.Call == phone.CallIdle && prev.Call != phone.CallIdle && prev.Call != phone.CallUnknown {
		if w.placed && !w.connect {
			m.callOutcomes.WithLabelValues("failed").Inc()
		}
		if prev.MOS > 0 {
			m.mos.Observe(prev.MOS)
			m.jitter.Observe(prev.JitterMS)
			m.jitterSeconds.Observe(prev.JitterMS / 1000)
			m.loss.Observe(float64(prev.Loss))
		}
		w.placed, w.connect = false, false
	}
	busy := func(u phone.UpdateState) bool { return u == phone.UpdateDownloading || u == phone.UpdateInstalling }
	if busy(prev.Update) && !busy(st.Update) {
		if st.Firmware != prev.Firmware {
			m.updates.WithLabelValues("installed").Inc()
		} else {
			m.updates.WithLabelValues("failed").Inc()
		}
	}
}

// gone takes a closed phone out of the state counts.
func (w *watcher) gone() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, on := range w.flags {
		if on {
			w.m.states[i].Add(-1)
			w.flags[i] = false
		}
	}
	for i, s := range callStateLabels {
		w.m.calls[i].Add(-int64(w.last.CallStates.Of(s)))
	}
	w.last.CallStates = phone.CallCounts{}
}

// lossRatio is lost over expected (lost and received); 0 with neither.
func lossRatio(lost, received uint64) float32 {
	if lost+received == 0 {
		return 0
	}
	return float32(float64(lost) / float64(lost+received))
}
