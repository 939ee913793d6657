package fleet_test

import (
	"context"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/deskphone/deskphone/backend"
	cloudpkg "github.com/deskphone/deskphone/cloud"
	"github.com/deskphone/deskphone/fleet"
	"github.com/deskphone/deskphone/fleet/api"
	"github.com/deskphone/deskphone/internal/testwait"
)

// startFleet runs n registered phones load00001.. against a cloud that
// knows them, with metrics.
func startFleet(t *testing.T, n int) (*fleet.Fleet, *fleet.Metrics) {
	t.Helper()
	return startFleetOn(t, cloud(t, n), n)
}

// startFleetOn runs n phones load00001.. on b.
func startFleetOn(t *testing.T, b *backend.Backend, n int) (*fleet.Fleet, *fleet.Metrics) {
	t.Helper()
	cfg := &fleet.Config{Server: "sips:" + b.Addr("tls"), Groups: []fleet.Group{
		{Name: "load", Count: n, Model: "vvx501", User: "load{n:05d}", Password: "secret"}}}
	members, err := cfg.Members()
	if err != nil {
		t.Fatal(err)
	}
	metrics := fleet.NewMetrics()
	f := fleet.New(members, fleet.Options{Metrics: metrics})
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := f.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	testwait.Until(t, "every phone registered", func() bool { return f.Progress().Registered == n })
	return f, metrics
}

// waitLoad waits, with a deadline, for l to end.
func waitLoad(t *testing.T, l *fleet.CallLoad) {
	t.Helper()
	select {
	case <-l.Done():
	case <-time.After(60 * time.Second):
		t.Fatalf("the load did not end: %+v", l.Summary())
	}
}

// TestLoadFleet places 20 calls between the phones of a fleet of 20, at 10
// a second, each up for 2 s, as --call-rate 10 --call-duration 2s
// --calls 20 --call-to fleet does: every one answered, with setup times
// and MOS, in the summary and the metrics.
func TestLoadFleet(t *testing.T) {
	f, m := startFleet(t, 20)
	l, err := f.StartLoad(fleet.LoadConfig{Rate: 10, Duration: 2 * time.Second, Calls: 20, To: fleet.ToFleet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.StartLoad(fleet.LoadConfig{Rate: 1, To: "echo"}); err == nil {
		t.Error("a second load started beside the first")
	}
	waitLoad(t, l)
	s := l.Summary()
	if s.Attempted != 20 || s.Answered != 20 || s.Failed != 0 || s.InFlight != 0 || s.Up != 0 {
		t.Errorf("summary %+v: want 20 attempted, 20 answered, none failed or left", s)
	}
	if s.SetupP50 <= 0 || s.SetupP99 < s.SetupP50 || s.SetupP99 > 5 {
		t.Errorf("setup p50 %v p99 %v", s.SetupP50, s.SetupP99)
	}
	if s.WithMedia == 0 || s.MOSP5 < 1 || s.MOSP50 < s.MOSP5 || s.Loss < 0 {
		t.Errorf("media figures: %d calls, MOS p5 %v p50 %v, loss %v", s.WithMedia, s.MOSP5, s.MOSP50, s.Loss)
	}
	var table strings.Builder
	if err := s.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"calls attempted  20", "calls answered  20", "setup p50/p95/p99", "MOS p5/p50"} {
		if !regexp.MustCompile(strings.ReplaceAll(regexp.QuoteMeta(want), "  ", `\s+`)).MatchString(table.String()) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	body := scrapeMetrics(t, m)
	for _, want := range []string{`deskphone_load_calls_total{result="attempted"} 20`, `deskphone_load_calls_total{result="answered"} 20`,
		`deskphone_load_calls_total{result="failed"} 0`, "deskphone_call_setup_seconds_count 20"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if !regexp.MustCompile(`deskphone_call_loss_ratio_count [1-9]`).MatchString(body) {
		t.Error("no call loss observed")
	}
}

// TestLoadFailures calls a user the cloud does not know (404) and one that
// never answers (timeout): each failure counted by its reason.
func TestLoadFailures(t *testing.T) {
	f, m := startFleet(t, 4)
	l, err := f.StartLoad(fleet.LoadConfig{Rate: 50, Duration: time.Second, Calls: 3, To: "nosuchuser"})
	if err != nil {
		t.Fatal(err)
	}
	waitLoad(t, l)
	if s := l.Summary(); s.Attempted != 3 || s.Failed != 3 || s.Failures["404"] != 3 || s.SetupP50 != -1 {
		t.Errorf("calls to nobody: %+v, want 3 failed 404", s)
	}
	l, err = f.StartLoad(fleet.LoadConfig{Rate: 50, Duration: time.Second, Calls: 2, Timeout: 300 * time.Millisecond, To: "noanswer"})
	if err != nil {
		t.Fatal(err)
	}
	waitLoad(t, l)
	if s := l.Summary(); s.Attempted != 2 || s.Failed != 2 || s.Failures["timeout"] != 2 {
		t.Errorf("calls not answered: %+v, want 2 failed timeout", s)
	}
	// Close hangs up the calls not answered yet: cancelled, not failed.
	l, err = f.StartLoad(fleet.LoadConfig{Rate: 50, Calls: 2, To: "noanswer"})
	if err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "two calls ringing", func() bool { return l.Summary().InFlight == 2 })
	l.Close()
	if s := l.Summary(); s.Cancelled != 2 || s.Failed != 0 || s.InFlight != 0 || l.Running() {
		t.Errorf("closed load: %+v", s)
	}
	// Paused (rate 0), a load still stops placing at its For.
	l, err = f.StartLoad(fleet.LoadConfig{For: 200 * time.Millisecond, To: "echo"})
	if err != nil {
		t.Fatal(err)
	}
	waitLoad(t, l)
	if s := l.Summary(); s.Attempted != 0 || l.Placing() {
		t.Errorf("paused load: %+v", s)
	}
	body := scrapeMetrics(t, m)
	for _, want := range []string{`deskphone_load_call_failures_total{reason="404"} 3`, `deskphone_load_call_failures_total{reason="timeout"} 2`,
		`deskphone_load_calls_total{result="failed"} 5`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestFailureReason(t *testing.T) {
	for alert, want := range map[string]string{"Busy": "busy", "Not found": "404", "Service Unavailable (503)": "503",
		"Teapot (418)": "4xx", "Call failed: dial tcp: refused": "error", "No service: not registered": "unregistered"} {
		if got := fleet.FailureReason(alert); got != want {
			t.Errorf("FailureReason(%q) = %q, want %q", alert, got, want)
		}
	}
}

func TestLoadConfigCheck(t *testing.T) {
	for _, c := range []fleet.LoadConfig{{Rate: -1, To: "echo"}, {Rate: 1}, {Rate: 1, To: "load{n:0"}, {Rate: 1, To: "echo", MaxCalls: -1}} {
		if err := c.Check(); err == nil {
			t.Errorf("%+v passed the check", c)
		}
	}
}

// scrapeMetrics reads m as a scraper does.
func scrapeMetrics(t *testing.T, m *fleet.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(m.Registry(), promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

// audioCloud starts a mock cloud with n load users whose services (echo)
// answer with audio.
func audioCloud(t *testing.T, n int) *backend.Backend {
	t.Helper()
	users, err := backend.ParseLoadUsers("load{n:05d}:secret:" + strconv.Itoa(n))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c, err := cloudpkg.Start(ctx, cloudpkg.Config{Dir: t.TempDir(), Backend: backend.Config{LoadUsers: users}})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); c.Close() })
	return c.Backend
}

// TestLoadAPI starts, changes and stops a load of calls to the echo
// service through the control API.
func TestLoadAPI(t *testing.T) {
	f, m := startFleetOn(t, audioCloud(t, 4), 4)
	srv := httptest.NewServer((&api.Server{Source: f.Source(), Load: f.LoadControl()}).Handler())
	t.Cleanup(srv.Close)
	c := &api.Client{Base: srv.URL}
	ctx := context.Background()
	if _, err := c.Load(ctx); !isProblem(err, 404) {
		t.Errorf("no load yet: %v, want 404", err)
	}
	if _, err := c.StartLoad(ctx, api.LoadSpec{Rate: -1, To: "echo"}); !isProblem(err, 400) {
		t.Errorf("negative rate: %v, want 400", err)
	}
	if _, err := c.StartLoad(ctx, api.LoadSpec{Rate: 20, Duration: "soon", To: "echo"}); !isProblem(err, 400) {
		t.Errorf("bad duration: %v, want 400", err)
	}
	info, err := c.StartLoad(ctx, api.LoadSpec{Rate: 20, Duration: "100ms", MaxCalls: 2, To: "echo"})
	if err != nil || !info.Running || info.Config.To != "echo" || info.Config.Timeout != "30s" {
		t.Fatalf("start: %+v, %v", info, err)
	}
	if _, err := c.StartLoad(ctx, api.LoadSpec{Rate: 1, To: "echo"}); !isProblem(err, 409) {
		t.Errorf("a second load: %v, want 409", err)
	}
	rate, limit := 40.0, 3
	if info, err = c.ChangeLoad(ctx, api.LoadChange{Rate: &rate, MaxCalls: &limit}); err != nil || info.Config.Rate != 40 || info.Config.MaxCalls != 3 {
		t.Errorf("change: %+v, %v", info.Config, err)
	}
	testwait.Until(t, "answered calls", func() bool {
		info, err := c.Load(ctx)
		if err == nil && info.Summary.InFlight > limit {
			t.Errorf("%d calls at once, over the limit of %d", info.Summary.InFlight, limit)
		}
		return err == nil && info.Summary.Answered >= 3
	})
	if info, err = c.StopLoad(ctx); err != nil || info.Placing {
		t.Errorf("stop: %+v, %v", info, err)
	}
	testwait.Until(t, "the load's end", func() bool {
		info, err = c.Load(ctx)
		return err == nil && !info.Running
	})
	s := info.Summary
	if s.Failed != 0 || s.Answered != s.Attempted || s.InFlight != 0 || s.SetupP50 == nil {
		t.Errorf("summary after stop: %+v", s)
	}
	if _, err := c.ChangeLoad(ctx, api.LoadChange{Rate: &rate}); !isProblem(err, 404) {
		t.Errorf("change after the end: %v, want 404", err)
	}
	if body := scrapeMetrics(t, m); !strings.Contains(body, `deskphone_load_calls_total{result="answered"} `+strconv.Itoa(s.Answered)) {
		t.Errorf("answered calls in the metrics: want %d", s.Answered)
	}
}
