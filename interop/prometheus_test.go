//go:build interop

package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/deskphone/deskphone/fleet/api"
)

var (
	toolPrometheus = tool{[]string{"prometheus"}, "prometheus", "Prometheus server"}
	toolPromtool   = tool{[]string{"promtool"}, "prometheus", "Prometheus's promtool"}
)

// promFleet is the size of the fleet Prometheus scrapes: pairs of phones
// calling each other.
const promFleet = 10

// buildDeskphone builds the deskphone command into dir.
func buildDeskphone(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "deskphone")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/deskphone")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// docsScrapeConfigs are the Prometheus configurations of docs/fleet.md:
// its yaml blocks with scrape_configs. The first, for a fleet on this
// machine, starts "# file: prometheus.yml".
func docsScrapeConfigs(t *testing.T) [][]byte {
	t.Helper()
	data, err := os.ReadFile("../docs/fleet.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks [][]byte
	var block []string
	in := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !in && line == "```yaml":
			in, block = true, nil
		case in && line == "```":
			if text := strings.Join(block, "\n") + "\n"; strings.Contains(text, "\nscrape_configs:") || strings.HasPrefix(text, "scrape_configs:") {
				blocks = append(blocks, []byte(text))
			}
			in = false
		case in:
			block = append(block, line)
		}
	}
	if len(blocks) == 0 || !bytes.HasPrefix(blocks[0], []byte("# file: prometheus.yml\n")) {
		t.Fatal("docs/fleet.md: the first yaml block with scrape_configs must start # file: prometheus.yml")
	}
	return blocks
}

// scrapeConfigFor is the docs' configuration with only the scrape interval
// and the static targets replaced: interval, and target for the fleet.
func scrapeConfigFor(t *testing.T, doc []byte, target string, interval time.Duration) []byte {
	t.Helper()
	var cfg map[string]any
	if err := yaml.Unmarshal(doc, &cfg); err != nil {
		t.Fatalf("docs/fleet.md prometheus.yml: %v", err)
	}
	global, _ := cfg["global"].(map[string]any)
	if global == nil {
		global = map[string]any{}
		cfg["global"] = global
	}
	global["scrape_interval"] = interval.String()
	jobs, _ := cfg["scrape_configs"].([]any)
	n := 0
	for _, j := range jobs {
		job, _ := j.(map[string]any)
		statics, _ := job["static_configs"].([]any)
		for _, s := range statics {
			if st, ok := s.(map[string]any); ok {
				st["targets"] = []string{target}
				n++
			}
		}
	}
	if n != 1 {
		t.Fatalf("docs/fleet.md prometheus.yml: %d static target lists, want 1", n)
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// promQuery runs an instant query and returns its vector's values.
func promQuery(ctx context.Context, base, query string) ([]float64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/query?query="+url.QueryEscape(query), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("query %s: %w", query, err)
	}
	if r.Status != "success" || r.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: %s %s %s", query, r.Status, r.Data.ResultType, r.Error)
	}
	var vals []float64
	for _, s := range r.Data.Result {
		str, _ := s.Value[1].(string)
		v, err := strconv.ParseFloat(str, 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: value %v", query, s.Value[1])
		}
		vals = append(vals, v)
	}
	return vals, nil
}

// hasLoadFlags says whether deskphone fleet generates call load itself
// (--call-rate and the others); before that, the test places the calls
// through the control API.
func hasLoadFlags(t *testing.T, bin string) bool {
	t.Helper()
	out, _ := exec.Command(bin, "help", "fleet").CombinedOutput()
	return bytes.Contains(out, []byte("--call-rate")) && bytes.Contains(out, []byte("--call-to"))
}

// callPairs places one call from each odd phone of the fleet to the next
// one through the control API (dial, answer, some audio, hangup), all pairs
// at once, so each call ends with a MOS and jitter sample.
func callPairs(ctx context.Context, c *api.Client, phones int) error {
	run := func(id, command string) (api.Reply, error) {
		r, err := c.Command(ctx, id, command)
		if err == nil && !r.OK {
			err = fmt.Errorf("%s: %s: %s", id, command, r.Error)
		}
		return r, err
	}
	var wg sync.WaitGroup
	errs := make(chan error, phones)
	for n := 1; n+1 <= phones; n += 2 {
		caller, callee := fmt.Sprintf("load%05d", n), fmt.Sprintf("load%05d", n+1)
		wg.Go(func() {
			steps := []struct{ id, command string }{
				{caller, "dial " + callee},
				{callee, "wait call=ringing 20s"},
				{callee, "answer"},
				{caller, "wait call=connected 20s"},
			}
			for _, s := range steps {
				if _, err := run(s.id, s.command); err != nil {
					errs <- err
					return
				}
			}
			// A second of audio each way before the end.
			deadline := time.Now().Add(20 * time.Second)
			for {
				r, err := run(caller, "status")
				if err != nil {
					errs <- err
					return
				}
				if rx, _ := strconv.Atoi(r.Status["rtp_rx"]); rx >= 50 {
					break
				}
				if time.Now().After(deadline) {
					errs <- fmt.Errorf("%s: rtp_rx %q after 20s", caller, r.Status["rtp_rx"])
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
			for _, s := range []struct{ id, command string }{{caller, "hangup"}, {callee, "wait call=idle 20s"}} {
				if _, err := run(s.id, s.command); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// TestPrometheus runs Debian's Prometheus with the scrape configuration of
// docs/fleet.md against a fleet under call load, and checks through its
// HTTP API that the registered gauge is the fleet's size and the call
// histograms have samples; promtool check metrics lints the exposition.
func TestPrometheus(t *testing.T) {
	promBin := need(t, toolPrometheus)
	promtool := need(t, toolPromtool)
	dir := t.TempDir()
	bin := buildDeskphone(t, dir)
	load := hasLoadFlags(t, bin)

	// The mock cloud with the fleet's accounts.
	var cloud *proc
	sipPort := 0
	for range 3 {
		sipPort = freePort(t, false)
		cloud = start(t, "cloud", dir, daemonTimeout, []string{bin, "backend",
			"--listen", fmt.Sprintf("tls:127.0.0.1:%d", sipPort), "--admin", "", "--gateway", "none", "--update", "",
			"--state", filepath.Join(dir, "cloud"), "--load-users", fmt.Sprintf("load{n:05d}:secret:%d", promFleet)})
		if err := waitListening(cloud, sipPort, 30*time.Second); err == nil {
			break
		} else if !cloud.bindFailed() {
			t.Fatal(err)
		}
	}

	// The fleet, its API and /metrics on apiPort.
	apiPort := freePort(t, false)
	argv := []string{bin, "fleet", "--phones", strconv.Itoa(promFleet), "--model", "vvx501",
		"--server", fmt.Sprintf("sips:127.0.0.1:%d", sipPort), "--user", "load{n:05d}", "--password", "secret",
		"--api", fmt.Sprintf("127.0.0.1:%d", apiPort)}
	if load {
		// deskphone fleet's own call load: phone to phone, a few at a
		// time, for as long as the fleet runs (no --calls: a fleet that
		// stopped after its calls could not be scraped).
		argv = append(argv, "--call-to", "fleet", "--call-rate", "2", "--call-duration", "2s",
			"--max-calls", strconv.Itoa(promFleet/2))
	}
	fleetProc := start(t, "fleet", dir, daemonTimeout, argv)
	if err := waitListening(fleetProc, apiPort, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	client := &api.Client{Base: base}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for deadline := time.Now().Add(60 * time.Second); ; {
		phones, err := client.Phones(ctx, "", "registered")
		if err == nil && len(phones) == promFleet {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d phones registered after 60s (%v)", len(phones), promFleet, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Prometheus, configured as the docs say; their other configuration
	// (pod discovery, for a cluster) at least valid.
	docs := docsScrapeConfigs(t)
	for i, b := range docs[1:] {
		f := filepath.Join(dir, fmt.Sprintf("docs-%d.yml", i+1))
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(promtool, "check", "config", f).CombinedOutput()
		switch {
		case err == nil:
		case bytes.Contains(out, []byte("field kubernetes_sd_configs not found")):
			// Debian builds Prometheus without Kubernetes discovery.
			t.Logf("promtool knows no kubernetes_sd_configs: docs/fleet.md's pod discovery block not checked")
		default:
			t.Errorf("promtool check config on docs/fleet.md's block:\n%s\n%v\n%s", b, err, out)
		}
	}
	cfgFile := filepath.Join(dir, "prometheus.yml")
	cfg := scrapeConfigFor(t, docs[0], fmt.Sprintf("127.0.0.1:%d", apiPort), time.Second)
	if err := os.WriteFile(cfgFile, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "config", cfgFile).CombinedOutput(); err != nil {
		t.Fatalf("promtool check config: %v\n%s\n%s", err, out, cfg)
	}
	var prom *proc
	promPort := 0
	for range 3 {
		promPort = freePort(t, false)
		prom = start(t, "prometheus", dir, daemonTimeout, []string{promBin, "--config.file", cfgFile,
			"--storage.tsdb.path", filepath.Join(dir, "tsdb"), "--web.listen-address", fmt.Sprintf("127.0.0.1:%d", promPort)})
		if err := waitListening(prom, promPort, 30*time.Second); err == nil {
			break
		} else if !prom.bindFailed() {
			t.Fatal(err)
		}
	}
	promBase := fmt.Sprintf("http://127.0.0.1:%d", promPort)

	if !load {
		if err := callPairs(ctx, client, promFleet); err != nil {
			t.Fatal(err)
		}
	}

	// What Prometheus has scraped: the target up, the fleet registered,
	// the calls' histograms with samples.
	want := []struct {
		query string
		ok    func(float64) bool
		what  string
	}{
		{`up{job="deskphone-fleet"}`, func(v float64) bool { return v == 1 }, "1"},
		{`sum(deskphone_phones{job="deskphone-fleet",state="registered"})`, func(v float64) bool { return v == promFleet }, strconv.Itoa(promFleet)},
		{`sum(deskphone_fleet_phones{job="deskphone-fleet"})`, func(v float64) bool { return v == promFleet }, strconv.Itoa(promFleet)},
		{`sum(deskphone_call_mos_count{job="deskphone-fleet"})`, func(v float64) bool { return v > 0 }, "> 0"},
		{`sum(deskphone_call_jitter_ms_count{job="deskphone-fleet"})`, func(v float64) bool { return v > 0 }, "> 0"},
		{`sum(deskphone_call_jitter_seconds_count{job="deskphone-fleet"})`, func(v float64) bool { return v > 0 }, "> 0"},
	}
	if load {
		want = append(want, struct {
			query string
			ok    func(float64) bool
			what  string
		}{`sum(deskphone_call_setup_seconds_count{job="deskphone-fleet"})`, func(v float64) bool { return v > 0 }, "> 0"})
	}
	for _, w := range want {
		var last []float64
		var err error
		for deadline := time.Now().Add(60 * time.Second); ; {
			last, err = promQuery(ctx, promBase, w.query)
			if err == nil && len(last) == 1 && w.ok(last[0]) {
				t.Logf("prometheus: %s = %v", w.query, last[0])
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("prometheus: %s = %v (%v), want %s", w.query, last, err, w.what)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// promtool's lint of the exposition.
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	exposition, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if problems := promtoolCheckMetrics(t, promtool, exposition); len(problems) > 0 {
		t.Errorf("promtool check metrics:\n%s", strings.Join(problems, "\n"))
	}
}

// knownLint are promtool's findings on names that are a contract already
// (docs/fleet.md lists them): renaming would break dashboards, so they are
// kept, and only they are let through.
var knownLint = map[string]bool{
	"deskphone_call_jitter_ms metric names should not contain abbreviated units": true,
}

// promtoolCheckMetrics runs promtool check metrics on an exposition and
// returns its findings but the known ones; a parse error fails the test.
func promtoolCheckMetrics(t *testing.T, promtool string, exposition []byte) []string {
	t.Helper()
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(exposition)
	out, err := cmd.CombinedOutput()
	// Exit 3 is "lint problems found"; anything else but 0 is a failure
	// to read the exposition.
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 3) {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
	var problems []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line = strings.TrimSpace(line); line != "" && !knownLint[line] {
			problems = append(problems, line)
		}
	}
	return problems
}
