package fleet

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/deskphone/deskphone/phone"
)

// TestWatcher follows one phone through registration, a call and a
// failed registration.
func TestWatcher(t *testing.T) {
	m := NewMetrics()
	w := &watcher{m: m, group: "g", built: time.Now()}
	steps := []phone.Status{
		{Call: phone.CallIdle, Update: phone.UpdateNone},
		{Registered: true, Session: phone.SignedIn, Call: phone.CallIdle, Update: phone.UpdateNone},
		{Registered: true, Session: phone.SignedIn, Call: phone.CallCalling, Update: phone.UpdateNone},
		{Registered: true, Session: phone.SignedIn, Call: phone.CallConnected, MOS: 4.3, JitterMS: 2, SRTPAuthFail: 2, Update: phone.UpdateNone},
		{Registered: true, Session: phone.SignedIn, Call: phone.CallIdle, Update: phone.UpdateNone},
		{Registered: true, Session: phone.SignedIn, Call: phone.CallCalling, Update: phone.UpdateNone},
		{Registered: true, Session: phone.SignedIn, Call: phone.CallIdle, Update: phone.UpdateNone},
		{RegistrationError: "Forbidden (403)", Call: phone.CallIdle, Update: phone.UpdateNone},
	}
	for _, st := range steps {
		w.observe(&st)
	}
	body := scrapeText(t, m)
	for _, want := range []string{
		`deskphone_calls_total{outcome="placed"} 2`, `deskphone_calls_total{outcome="answered"} 1`,
		`deskphone_calls_total{outcome="failed"} 1`, `deskphone_srtp_failures_total{kind="auth"} 2`,
		`deskphone_registration_failures_total{reason="Forbidden (403)"} 1`, `deskphone_registrations_total{group="g"} 1`,
		`deskphone_call_mos_count 1`, `deskphone_phones{state="registered"} 0`, `deskphone_boot_seconds_count 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	w.observe(&steps[1])
	if body := scrapeText(t, m); !strings.Contains(body, `deskphone_phones{state="registered"} 1`) {
		t.Error("registered again, not counted")
	}
	w.gone()
	if body := scrapeText(t, m); !strings.Contains(body, `deskphone_phones{state="registered"} 0`) {
		t.Error("a closed phone still counted")
	}
}

func scrapeText(t testing.TB, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(m.Registry(), promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d", rec.Code)
	}
	return rec.Body.String()
}

// BenchmarkScrape10000 scrapes the metrics of 10,000 registered phones,
// some with failures and calls behind them: a scrape must stay far under
// 100 ms.
func BenchmarkScrape10000(b *testing.B) {
	m := NewMetrics()
	for i := range 10000 {
		w := &watcher{m: m, group: fmt.Sprintf("g%d", i%10), built: time.Now()}
		w.observe(&phone.Status{RegistrationError: fmt.Sprintf("Reason %d", i%5)})
		w.observe(&phone.Status{Registered: true, Session: phone.SignedIn, Call: phone.CallIdle})
		w.observe(&phone.Status{Registered: true, Session: phone.SignedIn, Call: phone.CallConnected, MOS: 4.2})
		w.observe(&phone.Status{Registered: true, Session: phone.SignedIn, Call: phone.CallIdle})
	}
	b.ResetTimer()
	for b.Loop() {
		scrapeText(b, m)
	}
}

// A counter whose labels are known beforehand is scraped at zero before
// any event: the update outcomes, the phone's own registration failure
// reasons, the calls, the SRTP failures and each group's registrations.
func TestMetricsStartAtZero(t *testing.T) {
	m := NewMetrics()
	New([]Member{{ID: "a", Group: "lobby"}, {ID: "b", Group: "lobby"}, {ID: "c", Group: "desks"}}, Options{Metrics: m})
	body := scrapeText(t, m)
	for _, want := range []string{
		`deskphone_updates_total{outcome="installed"} 0`, `deskphone_updates_total{outcome="failed"} 0`,
		`deskphone_registration_failures_total{reason="Forbidden (403)"} 0`,
		`deskphone_registration_failures_total{reason="Wrong password (401)"} 0`,
		`deskphone_registration_failures_total{reason="Server unreachable"} 0`,
		`deskphone_calls_total{outcome="answered"} 0`, `deskphone_srtp_failures_total{kind="replay"} 0`,
		`deskphone_registrations_total{group="lobby"} 0`, `deskphone_registrations_total{group="desks"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// deskphone_active_calls follows the calls of two phones by state, and a
// closed phone's calls leave it.
func TestActiveCallsByState(t *testing.T) {
	m := NewMetrics()
	counts := func(kv map[phone.CallState]uint8) phone.CallCounts {
		var c phone.CallCounts
		for s, n := range kv {
			c[s] = n
		}
		return c
	}
	a := &watcher{m: m, built: time.Now()}
	b := &watcher{m: m, built: time.Now()}
	a.observe(&phone.Status{Call: phone.CallConnected, CallStates: counts(map[phone.CallState]uint8{phone.CallConnected: 1})})
	// b: a held call and a second call connected, and a third ringing in.
	b.observe(&phone.Status{Call: phone.CallConnected, CallStates: counts(map[phone.CallState]uint8{
		phone.CallConnected: 1, phone.CallHeld: 1, phone.CallRinging: 1})})
	want := func(lines ...string) {
		t.Helper()
		body := scrapeText(t, m)
		for _, l := range lines {
			if !strings.Contains(body, l+"\n") {
				t.Errorf("metrics lack %s", l)
			}
		}
	}
	want(`deskphone_active_calls{state="connected"} 2`, `deskphone_active_calls{state="held"} 1`,
		`deskphone_active_calls{state="ringing"} 1`, `deskphone_active_calls{state="dialing"} 0`,
		`deskphone_active_calls{state="calling"} 0`)
	// b rejects the waiting call and resumes: one connected.
	b.observe(&phone.Status{Call: phone.CallConnected, CallStates: counts(map[phone.CallState]uint8{phone.CallConnected: 1})})
	want(`deskphone_active_calls{state="connected"} 2`, `deskphone_active_calls{state="held"} 0`,
		`deskphone_active_calls{state="ringing"} 0`)
	a.gone()
	want(`deskphone_active_calls{state="connected"} 1`)
}
