package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/deskphone/deskphone/fleet/api"
	"github.com/deskphone/deskphone/internal/testwait"
)

// TestFleetScale measures a fleet against the mock cloud in its own
// process, side by side: memory and goroutines per registered phone on
// both sides, the time to create and register the fleet and its rate
// beside the TLS handshakes openssl s_time gets from the same cloud, SRTP
// echo calls inside the fleet, the time to stop, and with
// DESKPHONE_FLEET_BENCH set the re-registration after a cloud restart.
// make test runs it with 50 phones; DESKPHONE_FLEET_BENCH=10000 (with
// ulimit -n raised) is the full measurement, which make bench runs.
func TestFleetScale(t *testing.T) {
	n, calls, full := 50, 10, false
	if v := os.Getenv("DESKPHONE_FLEET_BENCH"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 100 {
			t.Fatalf("DESKPHONE_FLEET_BENCH=%q: want a number of phones, at least 100", v)
		}
		calls, full = 50, true
	}
	dir := t.TempDir()
	load := fmt.Sprintf("load{n:05d}:secret:%d", n)
	cloudArgs := []string{"backend", "--state", filepath.Join(dir, "cloud"), "--listen", "tls:127.0.0.1:0", "--admin", "", "--load-users", load}
	cloud := startProc(t, cloudArgs...)
	addr := strings.TrimPrefix(cloud.line("listening tls "), "listening tls ")
	cloudBase := rssKiB(t, cloud.cmd.Process.Pid)

	handshakes := 0.0
	if full {
		handshakes = sTime(t, addr)
	}

	fl := startProc(t, "fleet", "--phones", strconv.Itoa(n), "--model", "vvx501", "--server", "sips:"+addr,
		"--user", "load{n:05d}", "--password", "secret", "--api", "127.0.0.1:0", "--rate", "0", "--progress", "none",
		"--stop-timeout", "30s")
	base := "http://" + strings.Fields(strings.TrimPrefix(fl.line("api http://"), "api http://"))[0]
	base = strings.TrimSuffix(base, "/v1/phones,")
	t0 := time.Now()
	waitMetric(t, base, `deskphone_phones{state="registered"}`, float64(n), 5*time.Minute)
	boot := time.Since(t0)
	// Idle: the start is over (every first REGISTER answered, its garbage
	// handed back) when the fleet says so.
	fl.line("fleet: started in ")
	mt := metricsOf(t, base)
	fleetKiB := mt["process_resident_memory_bytes"] / 1024
	goroutines := mt["go_goroutines"]
	cloudKiB := rssKiB(t, cloud.cmd.Process.Pid)

	loss := echoCalls(t, base, calls)

	var rereg time.Duration
	var peak float64
	if full {
		before := metricsOf(t, base)[`deskphone_registrations_total{group="fleet"}`]
		cloud.cmd.Process.Signal(syscall.SIGTERM)
		cloud.cmd.Wait()
		port := addr[strings.LastIndex(addr, ":")+1:]
		cloudArgs[4] = "tls:127.0.0.1:" + port
		cloud = startProc(t, cloudArgs...)
		cloud.line("listening tls ")
		t1 := time.Now()
		peak = waitRate(t, base, `deskphone_registrations_total{group="fleet"}`, before+float64(n), 5*time.Minute)
		rereg = time.Since(t1)
	}

	fl.cmd.Process.Signal(syscall.SIGTERM)
	t2 := time.Now()
	fl.line("fleet: stopped in ")
	stop := time.Since(t2)

	fleetPer, cloudPer := fleetKiB/float64(n), (cloudKiB-cloudBase)/float64(n)
	row := func(what, value, target string) { t.Logf("| %-44s | %14s | %-18s |", what, value, target) }
	t.Logf("| %-44s | %14s | %-18s |", "fleet of "+strconv.Itoa(n)+" phones over TLS", "measured", "target")
	row("fleet RSS per registered phone", fmt.Sprintf("%.1f KiB", fleetPer), fmt.Sprintf("<= %d KiB", maxFleetKiB))
	row("goroutines per phone", fmt.Sprintf("%.2f", goroutines/float64(n)), strconv.Itoa(phoneGoroutines))
	row("cloud RSS per registered phone", fmt.Sprintf("%.1f KiB", cloudPer), fmt.Sprintf("<= %d KiB", maxCloudKiB))
	row("create and register all", boot.Round(time.Millisecond).String(), "< 20 s (10,000)")
	row("registrations/s", fmt.Sprintf("%.0f", float64(n)/boot.Seconds()), ">= 0.8 x s_time")
	if full {
		row("openssl s_time -new handshakes/s", fmt.Sprintf("%.0f", handshakes), "")
	}
	row(fmt.Sprintf("loss in %d concurrent SRTP echo calls", calls), fmt.Sprintf("%.3f %%", loss*100), "< 0.1 %")
	row("stop (unregister all)", stop.Round(time.Millisecond).String(), "")
	if full {
		row("re-register after a cloud restart", rereg.Round(time.Millisecond).String(), "")
		row("peak REGISTER rate in it (/s)", fmt.Sprintf("%.0f", peak), "bounded")
	}
	if loss >= 0.001 {
		t.Errorf("loss %.3f %% in the echo calls", loss*100)
	}
	// The per-phone targets hold for the full measurement only: with a
	// few phones each process's own memory and goroutines dominate.
	if full {
		if fleetPer > maxFleetKiB || cloudPer > maxCloudKiB {
			t.Errorf("fleet %.1f KiB, cloud %.1f KiB per registered phone; targets %d and %d KiB", fleetPer, cloudPer, maxFleetKiB, maxCloudKiB)
		}
		if goroutines > float64(phoneGoroutines*n+fleetOwnGoroutines) {
			t.Errorf("%.0f goroutines for %d phones, want %d per phone and at most %d of the fleet's own", goroutines, n, phoneGoroutines, fleetOwnGoroutines)
		}
	}
}

// The targets of a full fleet measurement (docs/fleet.md, Scale): RSS per
// registered phone in the fleet and in the cloud, goroutines per phone
// (its loop and its connection's reader), and the slack for the fleet
// process's own goroutines (API, metrics, signals, the runtime's).
const (
	maxFleetKiB        = 60
	maxCloudKiB        = 28
	phoneGoroutines    = 2
	fleetOwnGoroutines = 100
)

// rssKiB reads a process's resident set.
func rssKiB(t *testing.T, pid int) float64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			v, _ := strconv.ParseFloat(f[1], 64)
			return v
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// sTime is openssl s_time -new's handshakes per second against addr.
func sTime(t *testing.T, addr string) float64 {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		return 0
	}
	out, _ := exec.Command("openssl", "s_time", "-connect", addr, "-new", "-time", "5", "-tls1_2").CombinedOutput()
	// "N connections in T real seconds, ..."
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "connections in") && strings.Contains(l, "real seconds") {
			f := strings.Fields(l)
			c, _ := strconv.ParseFloat(f[0], 64)
			s, _ := strconv.ParseFloat(f[3], 64)
			if s > 0 {
				return c / s
			}
		}
	}
	t.Logf("openssl s_time: %s", out)
	return 0
}

// metricsOf reads the fleet's metrics as name{labels} -> value.
func metricsOf(t *testing.T, base string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "#") {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if err == nil {
			out[l[:i]] = v
		}
	}
	return out
}

// waitMetric polls the metrics until name reaches want: the fleet's
// progress has no event a test outside the process can wait on.
func waitMetric(t *testing.T, base, name string, want float64, limit time.Duration) {
	t.Helper()
	waitRate(t, base, name, want, limit)
}

// waitRate polls until name reaches want and returns the highest rise
// per second seen on the way.
func waitRate(t *testing.T, base, name string, want float64, limit time.Duration) float64 {
	t.Helper()
	last, lastAt, peak := metricsOf(t, base)[name], time.Now(), 0.0
	var v float64
	if !testwait.Poll(limit, func() bool {
		v = metricsOf(t, base)[name]
		if v >= want || time.Since(lastAt) >= time.Second {
			peak = max(peak, (v-last)/time.Since(lastAt).Seconds())
			last, lastAt = v, time.Now()
		}
		return v >= want
	}) {
		t.Fatalf("%s at %v after %v, want %v", name, v, limit, want)
	}
	return peak
}

// echoCalls has the last k phones call the cloud's echo user at once,
// sending a tone for a few seconds, and returns the fraction of packets
// lost.
func echoCalls(t *testing.T, base string, k int) float64 {
	t.Helper()
	c := &api.Client{Base: base}
	ctx := context.Background()
	phones, err := c.Phones(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	phones = phones[len(phones)-k:]
	var wg sync.WaitGroup
	errs := make(chan error, k)
	for _, p := range phones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, cmd := range []string{"call echo", "wait call=connected 20s", "play tone 1000"} {
				if r, err := c.Command(ctx, p.ID, cmd); err != nil || !r.OK {
					errs <- fmt.Errorf("%s: %s: %v %s", p.ID, cmd, err, r.Error)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second) // the calls' length: media flows in wall time
	var rx, lost float64
	for _, p := range phones {
		r, err := c.Command(ctx, p.ID, "status")
		if err != nil || !r.OK {
			t.Fatalf("%s status: %v", p.ID, err)
		}
		if r.Status["srtp"] == "off" {
			t.Errorf("%s: call without SRTP", p.ID)
		}
		a, _ := strconv.ParseFloat(r.Status["rtp_rx"], 64)
		b, _ := strconv.ParseFloat(r.Status["rtp_lost"], 64)
		rx, lost = rx+a, lost+b
		if _, err := c.Command(ctx, p.ID, "hangup"); err != nil {
			t.Fatal(err)
		}
	}
	if rx == 0 {
		t.Fatal("no packet received in the echo calls")
	}
	return lost / (rx + lost)
}
