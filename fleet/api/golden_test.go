package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/driver/drivertest"
	"github.com/deskphone/deskphone/internal/golden"
	"github.com/deskphone/deskphone/phone"
)

var update = flag.Bool("update", false, "rewrite the golden API transcripts in testdata/")

// fleetOf is a source of phones in a stable order.
type fleetOf []Phone

func (f fleetOf) Phones() []Phone { return f }
func (f fleetOf) Lookup(id string) (Phone, bool) {
	for _, p := range f {
		if p.ID == id {
			return p, true
		}
	}
	return Phone{}, false
}

// twoPhones is a fleet of two vendors in two groups, on fake clocks and
// without a cloud, so every answer is the same from run to run.
func twoPhones(t *testing.T) fleetOf {
	t.Helper()
	var f fleetOf
	for _, spec := range []struct{ id, group, model string }{{"alice", "lobby", "t46g"}, {"bob", "desk", "vvx501"}} {
		clk := clock.NewFake(drivertest.Start)
		p := drivertest.Phone(t, driver.Spec{Model: spec.model, Clock: clk})
		f = append(f, Phone{ID: spec.id, Group: spec.group, Phone: p, Clock: clk})
	}
	return f
}

// exchange is one request of a transcript.
type exchange struct {
	method, path, body string
	header             http.Header
}

// volatile are the parts of an answer that differ from run to run: the
// phones' MAC addresses and serial numbers are drawn at first boot.
var volatile = []golden.Rule{
	{Pattern: regexp.MustCompile(`(serial(?:": "|=| ))[A-Za-z0-9-]{6,}`), With: "${1}SERIAL"},
	golden.MAC,
	golden.Port,
}

// transcript runs each exchange against h and writes request and answer
// as text: the status, the content type, the headers a client acts on,
// and the body (JSON indented).
func transcript(t *testing.T, h http.Handler, exchanges []exchange) string {
	t.Helper()
	var b strings.Builder
	for _, x := range exchanges {
		var body io.Reader
		if x.body != "" {
			body = strings.NewReader(x.body)
		}
		req := httptest.NewRequest(x.method, x.path, body)
		if x.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range x.header {
			req.Header[k] = v
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		res := rec.Result()
		fmt.Fprintf(&b, "### %s %s\n", x.method, x.path)
		for _, k := range []string{"Authorization", "Origin", "Accept"} {
			if v := req.Header.Get(k); v != "" {
				fmt.Fprintf(&b, "%s: %s\n", k, v)
			}
		}
		if x.body != "" {
			fmt.Fprintf(&b, "%s\n", x.body)
		}
		fmt.Fprintf(&b, "--- %d %s\n", res.StatusCode, res.Header.Get("Content-Type"))
		for _, k := range []string{"Allow", "WWW-Authenticate", "Retry-After"} {
			if v := res.Header.Get(k); v != "" {
				fmt.Fprintf(&b, "%s: %s\n", k, v)
			}
		}
		b.WriteString(pretty(rec.Body.Bytes()))
		b.WriteString("\n")
	}
	return golden.Normalise(b.String(), volatile...)
}

// pretty indents a JSON body, keeping its order; other bodies stay as
// they are.
func pretty(body []byte) string {
	var out bytes.Buffer
	if json.Indent(&out, body, "", "  ") == nil {
		return strings.TrimRight(out.String(), "\n") + "\n"
	}
	return string(body)
}

func cmd(c string) string {
	b, _ := json.Marshal(Command{Command: c})
	return string(b)
}

// TestGoldenEndpoints records every endpoint's answers, successes and
// errors, as the contract scripts rely on: a change shows as a diff of
// testdata/endpoints.golden (recorded before issue 20's restructuring).
func TestGoldenEndpoints(t *testing.T) {
	f := twoPhones(t)
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		io.WriteString(w, "# the fleet's exposition: see fleet's metrics golden\n")
	})
	h := (&Server{Source: f, Metrics: metrics}).Handler()
	got := transcript(t, h, []exchange{
		{method: "GET", path: "/v1/phones"},
		{method: "GET", path: "/v1/phones?group=desk"},
		{method: "GET", path: "/v1/phones?state=unregistered"},
		{method: "GET", path: "/v1/phones?state=in_call"},
		{method: "GET", path: "/v1/phones?state=ringing"},
		{method: "GET", path: "/v1/phones/alice"},
		{method: "GET", path: "/v1/phones/nobody"},
		{method: "GET", path: "/v1/phones/alice/screen"},
		{method: "GET", path: "/v1/phones/alice/screen?format=json"},
		{method: "GET", path: "/v1/phones/bob/screen", header: http.Header{"Accept": {"application/json"}}},
		{method: "GET", path: "/v1/phones/alice/screen?format=html"},
		{method: "GET", path: "/v1/phones/nobody/screen"},
		{method: "POST", path: "/v1/phones/alice/commands", body: cmd("status")},
		{method: "POST", path: "/v1/phones/alice/commands", body: cmd("calls")},
		{method: "POST", path: "/v1/phones/alice/commands", body: cmd("press menu")},
		{method: "POST", path: "/v1/phones/alice/commands", body: cmd("press cancel")},
		{method: "POST", path: "/v1/phones/bob/commands", body: cmd("log 3")},
		{method: "POST", path: "/v1/phones/alice/commands", body: cmd("answer")},
		{method: "POST", path: "/v1/phones/alice/commands", body: cmd("hangup")},
		{method: "POST", path: "/v1/phones/alice/commands", body: cmd("wait call=connected 1ms")},
		{method: "POST", path: "/v1/phones/alice/commands", body: cmd("bogus 1")},
		{method: "POST", path: "/v1/phones/alice/commands", body: cmd("press")},
		{method: "POST", path: "/v1/phones/alice/commands", body: cmd("press nosuchkey")},
		{method: "POST", path: "/v1/phones/alice/commands", body: cmd("")},
		{method: "POST", path: "/v1/phones/alice/commands", body: `{"command": "status", "extra": 1}`},
		{method: "POST", path: "/v1/phones/alice/commands", body: `not json`},
		{method: "POST", path: "/v1/phones/nobody/commands", body: cmd("status")},
		{method: "POST", path: "/v1/groups/desk/commands", body: cmd("status")},
		{method: "POST", path: "/v1/groups/lobby/commands", body: cmd("answer")},
		{method: "POST", path: "/v1/groups/nobody/commands", body: cmd("status")},
		{method: "POST", path: "/v1/groups/desk/commands", body: cmd("bogus")},
		{method: "GET", path: "/v1/phones/nobody/events"},
		{method: "GET", path: "/metrics"},
		{method: "POST", path: "/metrics"},
		{method: "DELETE", path: "/v1/phones"},
		{method: "POST", path: "/v1/phones/alice"},
		{method: "GET", path: "/v1/phones/alice/commands"},
		{method: "PUT", path: "/v1/groups/lobby/commands"},
		{method: "GET", path: "/v1/nothing"},
	})
	golden.Check(t, *update, "endpoints", got)
}

// TestGoldenOpenAPI keeps the served document the embedded one, and the
// document itself under review: every path and method it names.
func TestGoldenOpenAPI(t *testing.T) {
	h := (&Server{Source: fleetOf{}}).Handler()
	res, body := call(t, h, http.MethodGet, "/v1/openapi.json", "")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" || body != string(OpenAPI) {
		t.Fatalf("openapi.json: %d %s, %d bytes (embedded %d)", res.StatusCode, res.Header.Get("Content-Type"), len(body), len(OpenAPI))
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, path := range sortedKeys(doc.Paths) {
		for _, m := range sortedKeys(doc.Paths[path]) {
			fmt.Fprintf(&b, "%s %s\n", strings.ToUpper(m), path)
		}
	}
	golden.Check(t, *update, "openapi-paths", b.String())
}

// TestGoldenAuth records the answers with a bearer token set: refusals
// carry RFC 6750's challenge as problem+json; /metrics needs none.
func TestGoldenAuth(t *testing.T) {
	f := twoPhones(t)[:1]
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "metrics\n") })
	h := (&Server{Source: f, Token: "s3cret", Metrics: metrics}).Handler()
	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	got := transcript(t, h, []exchange{
		{method: "GET", path: "/v1/phones"},
		{method: "GET", path: "/v1/phones", header: bearer("guess")},
		{method: "GET", path: "/v1/phones", header: http.Header{"Authorization": {"Basic czNjcmV0"}}},
		{method: "GET", path: "/v1/phones/alice", header: bearer("s3cret")},
		{method: "POST", path: "/v1/phones/alice/commands", body: cmd("status")},
		{method: "POST", path: "/v1/phones/alice/commands", body: cmd("status"), header: bearer("s3cret")},
		{method: "GET", path: "/v1/openapi.json"},
		{method: "GET", path: "/v1/nothing"},
		{method: "DELETE", path: "/v1/phones"},
		{method: "GET", path: "/metrics"},
		{method: "POST", path: "/metrics"},
	})
	golden.Check(t, *update, "auth", got)
}

// TestGoldenGuard records the refusals of requests a web page could make
// (issue 19): a foreign Origin, a body that is not JSON, a rebound Host.
func TestGoldenGuard(t *testing.T) {
	f := twoPhones(t)[:1]
	h := (&Server{Source: f, Addr: "127.0.0.1:8070"}).Handler()
	got := transcript(t, h, []exchange{
		{method: "POST", path: "http://127.0.0.1:8070/v1/phones/alice/commands", body: cmd("status"), header: http.Header{"Origin": {"https://evil.example"}}},
		{method: "POST", path: "http://127.0.0.1:8070/v1/phones/alice/commands", body: cmd("status"), header: http.Header{"Content-Type": {"text/plain"}}},
		{method: "POST", path: "http://evil.example:8070/v1/phones/alice/commands", body: cmd("status")},
		{method: "GET", path: "http://evil.example:8070/v1/phones"},
		{method: "POST", path: "http://127.0.0.1:8070/v1/phones/alice/commands", body: cmd("status"), header: http.Header{"Origin": {"http://127.0.0.1:8070"}}},
	})
	golden.Check(t, *update, "guard", got)
}

// TestGoldenClosedPhone: a phone closed under the API answers 410 Gone.
func TestGoldenClosedPhone(t *testing.T) {
	f := twoPhones(t)[:1]
	if err := f[0].Phone.Close(); err != nil {
		t.Fatal(err)
	}
	h := (&Server{Source: f}).Handler()
	got := transcript(t, h, []exchange{
		{method: "GET", path: "/v1/phones/alice"},
		{method: "POST", path: "/v1/phones/alice/commands", body: cmd("press menu")},
	})
	golden.Check(t, *update, "closed", got)
}

// TestGoldenEvents records the server-sent events' shape: the headers,
// the first event at once, and the next after a change.
func TestGoldenEvents(t *testing.T) {
	f := twoPhones(t)[:1]
	srv := httptest.NewServer((&Server{Source: f}).Handler())
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), drivertest.Timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v1/phones/alice/events", nil)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "--- %d %s\nCache-Control: %s\n", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"))
	rd := bufio.NewReader(res.Body)
	event := func() {
		t.Helper()
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				t.Fatalf("reading the stream: %v (so far:\n%s)", err, b.String())
			}
			if strings.HasPrefix(line, ": ") { // keep-alive
				continue
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				b.WriteString("data:\n" + pretty([]byte(data)))
				continue
			}
			b.WriteString(line)
			if line == "\n" {
				return
			}
		}
	}
	event()
	if err := f[0].Phone.Press(phone.KeyMenu); err != nil {
		t.Fatal(err)
	}
	event()
	golden.Check(t, *update, "events", golden.Normalise(b.String(), volatile...))
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
