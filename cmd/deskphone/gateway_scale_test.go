package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestGatewayScale is a fleet on the Teams SIP Gateway, the cloud in a
// process of its own: the phones onboard as devices, the fleet writes
// them as a bulk sign-in CSV, the admin signs them in in batches of 100,
// at most 3 running at once, and every phone registers as its user. A few
// phones in make test; DESKPHONE_GATEWAY_BENCH=1000 (make bench) measures
// a thousand.
func TestGatewayScale(t *testing.T) {
	n := 30
	if v := os.Getenv("DESKPHONE_GATEWAY_BENCH"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 100 {
			t.Fatalf("DESKPHONE_GATEWAY_BENCH=%q: want a number of phones, at least 100", v)
		}
	}
	const tenant = "0b5c1e9a-2f3d-4c5e-8a9b-0123456789ab"
	dir := t.TempDir()
	cloud := startProc(t, "backend", "--state", filepath.Join(dir, "cloud"), "--listen", "tls:127.0.0.1:0",
		"--admin", "127.0.0.1:0", "--update", "", "--gateway", "127.0.0.1:0", "--bulk-delay", "100ms",
		"--load-users", fmt.Sprintf("gw{n:05d}:secret:%d:20001", n))
	admin := strings.TrimSuffix(strings.TrimPrefix(cloud.line("admin http://"), "admin "), "/admin/")
	gw := strings.Fields(strings.TrimPrefix(cloud.line("gateway http://"), "gateway "))[0]
	csv := filepath.Join(dir, "fleet.csv")

	t0 := time.Now()
	fl := startProc(t, "fleet", "--phones", strconv.Itoa(n), "--model", "t48g", "--firmware", "35.83.0.130",
		"--user", "gw{n:05d}", "--provisioning", gw+"/tenantid/"+tenant, "--bulk-csv", csv,
		"--api", "127.0.0.1:0", "--rate", "0", "--progress", "none", "--stop-timeout", "30s")
	base := strings.TrimSuffix(strings.Fields(strings.TrimPrefix(fl.line("api http://"), "api "))[0], "/v1/phones,")
	waitMetric(t, base, `deskphone_phones{state="registered"}`, float64(n), 5*time.Minute)
	onboard := time.Since(t0)
	fl.line("fleet: started in ")
	rows := readCSVRows(t, csv)
	if len(rows) != n {
		t.Fatalf("the fleet's CSV has %d rows, want %d", len(rows), n)
	}

	t1 := time.Now()
	var batches []string
	for i := 0; i < n; i += 100 {
		if len(batches) >= 3 {
			waitBatch(t, admin, batches[len(batches)-3])
		}
		body, _ := json.Marshal(map[string]string{"region": "emea",
			"csv": "Username,HardwareId\n" + strings.Join(rows[i:min(i+100, n)], "\n") + "\n"})
		var b struct{ Batch string }
		adminJSON(t, http.MethodPost, admin+"/admin/gateway/bulk-signin", body, &b)
		batches = append(batches, b.Batch)
	}
	signedIn := 0
	for _, id := range batches {
		for _, r := range waitBatch(t, admin, id) {
			if r.Status == "signed-in" {
				signedIn++
			}
		}
	}
	if signedIn != n {
		t.Fatalf("%d of %d rows signed in", signedIn, n)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for users(t, base) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d phones registered as their users after 2 minutes", users(t, base), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	bulk := time.Since(t1)
	fleetKiB := metricsOf(t, base)["process_resident_memory_bytes"] / 1024
	fl.cmd.Process.Signal(syscall.SIGTERM)
	fl.line("fleet: stopped in ")

	row := func(what, value string) { t.Logf("| %-52s | %10s |", what, value) }
	row(fmt.Sprintf("fleet of %d phones on the SIP Gateway", n), "measured")
	row("onboard and register all as devices", onboard.Round(time.Millisecond).String())
	row(fmt.Sprintf("bulk sign-in: %d batches, all registered as users", len(batches)), bulk.Round(time.Millisecond).String())
	row("fleet RSS per phone", fmt.Sprintf("%.1f KiB", fleetKiB/float64(n)))
}

// readCSVRows reads the rows of a bulk sign-in CSV, its header checked.
func readCSVRows(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) == 0 || lines[0] != "Username,HardwareId" {
		t.Fatalf("CSV header %q", lines[0])
	}
	return lines[1:]
}

type batchRow struct{ Status, Error string }

// waitBatch waits until the batch id completed and returns its rows.
func waitBatch(t *testing.T, admin, id string) []batchRow {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var b struct {
			State string
			Rows  []batchRow
		}
		adminJSON(t, http.MethodGet, admin+"/admin/gateway/batch?id="+id, nil, &b)
		if b.State == "completed" {
			return b.Rows
		}
		if time.Now().After(deadline) {
			t.Fatalf("batch %s still %s after 2 minutes", id, b.State)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func adminJSON(t *testing.T, method, url string, body []byte, out any) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, url, res.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
}

// users counts the fleet's phones registered as a user signed in on the
// gateway.
func users(t *testing.T, base string) int {
	t.Helper()
	res, err := http.Get(base + "/v1/phones?state=registered")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var phones []struct {
		ID     string
		Status map[string]string
	}
	if err := json.NewDecoder(res.Body).Decode(&phones); err != nil {
		t.Fatal(err)
	}
	k := 0
	for _, p := range phones {
		if p.Status["gateway"] == "signed-in" && p.Status["user"] == p.ID {
			k++
		}
	}
	return k
}
