package fleet_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/deskphone/deskphone/backend"
	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/driver/drivertest"
	"github.com/deskphone/deskphone/fleet"
	"github.com/deskphone/deskphone/fleet/api"
	"github.com/deskphone/deskphone/internal/labdir"
	"github.com/deskphone/deskphone/internal/testwait"
)

func TestMain(m *testing.M) {
	// sipgo's transport housekeeping is noise here.
	sip.SetDefaultLogger(slog.New(slog.DiscardHandler))
	os.Exit(labdir.RunTests(m))
}

// cloud starts a mock cloud with n load users.
func cloud(t *testing.T, n int) *backend.Backend {
	t.Helper()
	users, err := backend.ParseLoadUsers("load{n:05d}:secret:" + strconv.Itoa(n))
	if err != nil {
		t.Fatal(err)
	}
	return drivertest.CloudWith(t, backend.Config{LoadUsers: users})
}

// TestFleetEndToEnd runs a fleet of three groups against a cloud that
// knows two of them, and drives it through the API with the typed client.
func TestFleetEndToEnd(t *testing.T) {
	b := cloud(t, 12)
	server := "sips:" + b.Addr("tls")
	cfg := &fleet.Config{Server: server, Groups: []fleet.Group{
		{Name: "lobby", Count: 8, Model: "t46g", User: "load{n:05d}", Password: "secret"},
		{Name: "desks", Count: 4, Model: "vvx501", User: "load{n:05d}", Password: "secret"},
		// Unknown to the cloud: refused, counted, and the rest keep working.
		{Name: "ghosts", Count: 3, Model: "vvx501", User: "ghost{n}", Password: "secret"},
	}}
	members, err := cfg.Members()
	if err != nil {
		t.Fatal(err)
	}
	metrics := fleet.NewMetrics()
	f := fleet.New(members, fleet.Options{Rate: 200, Jitter: 0.5, Metrics: metrics})
	ctx := context.Background()
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := f.Stop(sctx); err != nil {
			t.Error(err)
		}
	})
	for _, p := range f.Phones() {
		if p.Group == "ghosts" {
			continue
		}
		if err := driver.Wait(ctx, p.Phone, driver.Cond{Status: map[string]string{"registered": "yes"}}.Check, driver.WaitOptions{Timeout: 30 * time.Second}); err != nil {
			t.Fatalf("%s: %v", p.ID, err)
		}
	}
	srv := httptest.NewServer((&api.Server{Source: f.Source(),
		Metrics: promhttp.HandlerFor(metrics.Registry(), promhttp.HandlerOpts{})}).Handler())
	t.Cleanup(srv.Close)
	c := &api.Client{Base: srv.URL}

	all, err := c.Phones(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 15 || all[0].ID != "load00001" || all[0].Status["model"] != "t46g" {
		t.Fatalf("phones: %d, first %+v", len(all), all[0])
	}
	lobby, err := c.Phones(ctx, "lobby", "registered")
	if err != nil || len(lobby) != 8 {
		t.Fatalf("registered lobby phones: %d, %v", len(lobby), err)
	}
	if _, err := c.Phones(ctx, "", "flying"); !isProblem(err, 400) {
		t.Errorf("unknown state filter: %v, want a 400 problem", err)
	}

	rep, err := c.Command(ctx, "load00009", "press 5")
	if err != nil || !rep.OK || rep.Kind != "screen" || !strings.Contains(rep.Screen.Text, "5_") || rep.Reply != rep.Screen.Text {
		t.Fatalf("press 5: %+v, %v", rep, err)
	}
	text, err := c.ScreenText(ctx, "load00009")
	if err != nil || text != rep.Screen.Text {
		t.Errorf("screen text %q (%v), want the press reply", text, err)
	}
	sc, err := c.Screen(ctx, "load00009")
	if err != nil || sc.Model != "VVX 501" || sc.Title != "Dialing" {
		t.Errorf("screen json %+v, %v", sc, err)
	}
	rep, err = c.Command(ctx, "load00009", "wait call=connected 50ms")
	if err != nil || rep.OK || !strings.Contains(rep.Error, "wait:") {
		t.Errorf("failing wait: %+v, %v", rep, err)
	}
	if _, err := c.Command(ctx, "nobody", "press 5"); !isProblem(err, 404) {
		t.Errorf("unknown phone: %v, want a 404 problem", err)
	}
	if _, err := c.Command(ctx, "load00001", "fly away"); !isProblem(err, 400) {
		t.Errorf("unknown verb: %v, want a 400 problem", err)
	}
	if _, err := c.Command(ctx, "load00001", "press banana"); !isProblem(err, 400) {
		t.Errorf("bad key: %v, want a 400 problem", err)
	}
	resp, err := http.Post(srv.URL+"/v1/phones/load00001/commands", "application/json", strings.NewReader(`{"command":`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("malformed JSON: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}

	reps, err := c.GroupCommand(ctx, "desks", "status")
	if err != nil || len(reps) != 4 {
		t.Fatalf("group status: %d replies, %v", len(reps), err)
	}
	for _, r := range reps {
		if !r.OK || r.Status["registered"] != "yes" || r.Status["user"] != r.ID {
			t.Errorf("group reply %+v", r)
		}
	}
	if _, err := c.GroupCommand(ctx, "nowhere", "status"); !isProblem(err, 404) {
		t.Errorf("unknown group: %v", err)
	}

	testEvents(t, srv.URL, c)

	// The ghosts are refused and counted by reason.
	testwait.Until(t, "the ghosts' failures", func() bool {
		// Every known reason is there from the start, at zero.
		return regexp.MustCompile(`deskphone_registration_failures_total\{reason="[^"]*"\} [1-9]`).MatchString(scrape(t, srv.URL))
	})
	body := scrape(t, srv.URL)
	for _, want := range []string{`deskphone_phones{state="registered"} 12`, `deskphone_registrations_total{group="lobby"} 8`, "deskphone_boot_seconds_count 12"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	var doc map[string]any
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil || doc["openapi"] != "3.0.3" {
		t.Errorf("openapi.json: %v", err)
	}
}

// testEvents reads the stream of load00010: the first event at once, and
// one with the digit after a key press.
func testEvents(t *testing.T, base string, c *api.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/v1/phones/load00010/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("events content type %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	next := func() api.Event {
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var ev api.Event
				if err := json.Unmarshal([]byte(data), &ev); err != nil {
					t.Fatal(err)
				}
				return ev
			}
		}
		t.Fatalf("stream ended: %v", sc.Err())
		return api.Event{}
	}
	if ev := next(); ev.ID != "load00010" || ev.Status["registered"] != "yes" {
		t.Fatalf("first event %+v", ev.Status)
	}
	if _, err := c.Command(ctx, "load00010", "press 7"); err != nil {
		t.Fatal(err)
	}
	for {
		if ev := next(); ev.Status["digits"] == "7" {
			return
		}
	}
}

func scrape(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func isProblem(err error, status int) bool {
	var p *api.Problem
	return errors.As(err, &p) && p.Status == status && p.Title != ""
}

func TestToken(t *testing.T) {
	srv := httptest.NewServer((&api.Server{Source: fleet.New(nil, fleet.Options{}).Source(), Token: "s3cret"}).Handler())
	defer srv.Close()
	if _, err := (&api.Client{Base: srv.URL}).Phones(context.Background(), "", ""); !isProblem(err, 401) {
		t.Errorf("without token: %v, want 401", err)
	}
	if got, err := (&api.Client{Base: srv.URL, Token: "s3cret"}).Phones(context.Background(), "", ""); err != nil || len(got) != 0 {
		t.Errorf("with token: %v, %v", got, err)
	}
	for addr, ok := range map[string]bool{"127.0.0.1:1": true, "[::1]:1": true, "localhost:1": true, "0.0.0.0:1": false, "10.1.2.3:1": false} {
		if err := api.CheckBind(addr, ""); (err == nil) != ok {
			t.Errorf("CheckBind(%s) = %v", addr, err)
		}
	}
}
