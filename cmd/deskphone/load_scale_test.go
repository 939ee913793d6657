package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/deskphone/deskphone/fleet/api"
)

// TestFleetCallLoad is the fleet's call-load measurement (docs/fleet.md,
// Call load): a fleet of phones registered with the mock cloud in its own
// process places phone-to-phone SRTP calls at a steady rate for a while,
// through the control API, and the summary and the metrics are checked
// against the targets. It runs only with DESKPHONE_LOAD_BENCH set to the
// number of phones (make bench: 10,000, 25 calls/s of 40 s for 3 minutes,
// so 1,000 calls up at once); DESKPHONE_LOAD_RATE, _DURATION and _FOR
// change the load.
func TestFleetCallLoad(t *testing.T) {
	v := os.Getenv("DESKPHONE_LOAD_BENCH")
	if v == "" {
		t.Skip("DESKPHONE_LOAD_BENCH is not set (make bench sets it)")
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 10 {
		t.Fatalf("DESKPHONE_LOAD_BENCH=%q: want a number of phones, at least 10", v)
	}
	rate, _ := strconv.ParseFloat(envOr("DESKPHONE_LOAD_RATE", "25"), 64)
	duration, err := time.ParseDuration(envOr("DESKPHONE_LOAD_DURATION", "40s"))
	if err != nil {
		t.Fatal(err)
	}
	span, err := time.ParseDuration(envOr("DESKPHONE_LOAD_FOR", "3m"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cloud := startProc(t, "backend", "--state", filepath.Join(dir, "cloud"), "--listen", "tls:127.0.0.1:0", "--admin", "", "--update", "",
		"--load-users", fmt.Sprintf("load{n:05d}:secret:%d", n))
	addr := strings.TrimPrefix(cloud.line("listening tls "), "listening tls ")

	fl := startProc(t, "fleet", "--phones", strconv.Itoa(n), "--model", "vvx501", "--server", "sips:"+addr,
		"--user", "load{n:05d}", "--password", "secret", "--api", "127.0.0.1:0", "--rate", "0", "--progress", "none",
		"--codecs", "PCMU", "--audio-source", "tone:1000", "--stop-timeout", "60s")
	base := "http://" + strings.Fields(strings.TrimPrefix(fl.line("api http://"), "api http://"))[0]
	base = strings.TrimSuffix(base, "/v1/phones,")
	waitMetric(t, base, `deskphone_phones{state="registered"}`, float64(n), 5*time.Minute)
	fl.line("fleet: started in ")
	idleKiB := metricsOf(t, base)["process_resident_memory_bytes"] / 1024 / float64(n)

	c := &api.Client{Base: base}
	ctx := context.Background()
	spec := api.LoadSpec{Rate: rate, Duration: duration.String(), For: span.String(), To: "fleet", Timeout: "10s"}
	if _, err := c.StartLoad(ctx, spec); err != nil {
		t.Fatal(err)
	}
	var cpu0 float64
	var peakUp int
	minRegistered := float64(n)
	t0 := time.Now()
	deadline := t0.Add(span + duration + 2*time.Minute)
	var info api.LoadInfo
	for {
		if info, err = c.Load(ctx); err != nil {
			t.Fatal(err)
		}
		peakUp = max(peakUp, info.Summary.Up)
		m := metricsOf(t, base)
		minRegistered = min(minRegistered, m[`deskphone_phones{state="registered"}`])
		if cpu0 == 0 {
			cpu0 = m["process_cpu_seconds_total"]
		}
		if !info.Running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the load still runs %v after it began: %+v", time.Since(t0), info.Summary)
		}
		time.Sleep(2 * time.Second) // a poll of the load's progress, not a wait for it
	}
	elapsed := time.Since(t0)
	m := metricsOf(t, base)
	cpu := 100 * (m["process_cpu_seconds_total"] - cpu0) / elapsed.Seconds()

	s := info.Summary
	f := func(p *float64, scale float64, unit string) string {
		if p == nil {
			return "-"
		}
		return strconv.FormatFloat(*p*scale, 'f', 2, 64) + unit
	}
	loss := "-"
	if s.Loss != nil {
		loss = strconv.FormatFloat(*s.Loss*100, 'f', 3, 64) + " %"
	}
	row := func(what, value, target string) { t.Logf("| %-34s | %22s | %-12s |", what, value, target) }
	t.Logf("| %-34s | %22s | %-12s |", fmt.Sprintf("%d phones, %.0f calls/s of %v for %v", n, rate, duration, span), "measured", "target")
	row("calls attempted / answered / failed", fmt.Sprintf("%d / %d / %d", s.Attempted, s.Answered, s.Failed), "")
	for r, k := range s.Failures {
		if k > 0 {
			row("  failed: "+r, strconv.Itoa(k), "")
		}
	}
	row("calls up at once (peak seen)", strconv.Itoa(peakUp), fmt.Sprintf("%.0f", rate*duration.Seconds()))
	row("setup p50 / p95 / p99", f(s.SetupP50, 1000, "")+" / "+f(s.SetupP95, 1000, "")+" / "+f(s.SetupP99, 1000, " ms"), "p95 < 250 ms")
	row("MOS p5 / p50", f(s.MOSP5, 1, "")+" / "+f(s.MOSP50, 1, ""), "p5 >= 4.0")
	row("jitter p99", f(s.JitterP99, 1, " ms"), "")
	row("loss", loss, "< 0.1 %")
	row("phones registered (lowest seen)", fmt.Sprintf("%.0f of %d", minRegistered, n), "all")
	row("fleet CPU during the load", fmt.Sprintf("%.0f %% of a core", cpu), "")
	row("fleet RSS per phone, idle", fmt.Sprintf("%.1f KiB", idleKiB), "<= 60 KiB")

	if s.Failed != 0 || s.Attempted == 0 || s.Answered != s.Attempted-s.Cancelled {
		t.Errorf("calls: %+v", s)
	}
	if s.SetupP95 == nil || *s.SetupP95 >= 0.25 {
		t.Errorf("setup p95 %s, want under 250 ms", f(s.SetupP95, 1000, " ms"))
	}
	if s.MOSP5 == nil || *s.MOSP5 < 4.0 {
		t.Errorf("MOS p5 %s, want at least 4.0", f(s.MOSP5, 1, ""))
	}
	if s.Loss == nil || *s.Loss >= 0.001 {
		t.Errorf("loss %s, want under 0.1 %%", loss)
	}
	if minRegistered < float64(n) {
		t.Errorf("%0.f of %d phones registered at the lowest: phones dropped", minRegistered, n)
	}
	if n >= 10000 && idleKiB > maxFleetKiB {
		t.Errorf("idle fleet RSS %.1f KiB per phone, target %d", idleKiB, maxFleetKiB)
	}
	fl.cmd.Process.Signal(syscall.SIGTERM)
	fl.line("fleet: stopped in ")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
