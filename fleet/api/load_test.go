package api

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeLoad is a LoadControl that runs no calls.
type fakeLoad struct {
	running bool
	info    LoadInfo
}

func (f *fakeLoad) StartLoad(s LoadSpec) (LoadInfo, error) {
	switch {
	case f.running:
		return LoadInfo{}, ErrLoadRunning
	case s.Rate < 0:
		return LoadInfo{}, errors.New("rate -1: want 0 to 10000")
	}
	f.running, f.info = true, LoadInfo{Running: true, Placing: true, Config: s}
	return f.info, nil
}

func (f *fakeLoad) ChangeLoad(c LoadChange) (LoadInfo, error) {
	if !f.running {
		return LoadInfo{}, ErrNoLoad
	}
	if c.Rate != nil {
		f.info.Config.Rate = *c.Rate
	}
	return f.info, nil
}

func (f *fakeLoad) StopLoad() (LoadInfo, error) {
	if !f.running {
		return LoadInfo{}, ErrNoLoad
	}
	f.info.Placing = false
	return f.info, nil
}

func (f *fakeLoad) Load() (LoadInfo, bool) { return f.info, f.running }

// TestLoadRoutes answers each LoadControl outcome with its status, and
// /v1/load without a fleet with 404.
func TestLoadRoutes(t *testing.T) {
	h := (&Server{Source: fleetOf{}, Load: &fakeLoad{}}).Handler()
	for _, c := range []struct {
		method, body string
		status       int
		want         string
	}{
		{"GET", "", 404, "no-load"},
		{"PATCH", `{"rate": 2}`, 404, "no-load"},
		{"DELETE", "", 404, "no-load"},
		{"POST", `{"rate": -1, "to": "echo"}`, 400, "bad-load"},
		{"POST", `{"rate": 1, "to": "echo", "speed": 3}`, 400, "malformed-json"},
		{"POST", `{"rate": 1, "duration": "2s", "to": "echo"}`, 201, `"duration":"2s"`},
		{"POST", `{"rate": 1, "to": "echo"}`, 409, "load-running"},
		{"PATCH", `{"rate": 2}`, 200, `"rate":2`},
		{"GET", "", 200, `"placing":true`},
		{"DELETE", "", 200, `"placing":false`},
	} {
		res, body := send(h, c.method, c.body)
		if res.StatusCode != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s /v1/load %s: %d %s, want %d with %s", c.method, c.body, res.StatusCode, body, c.status, c.want)
		}
	}
	res, body := send((&Server{Source: fleetOf{}}).Handler(), http.MethodGet, "")
	if res.StatusCode != 404 || !strings.Contains(body, "no-load") {
		t.Errorf("without a fleet: %d %s", res.StatusCode, body)
	}
}

// send asks h for /v1/load with method and a JSON body (none when empty).
func send(h http.Handler, method, body string) (*http.Response, string) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, "/v1/load", rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result(), rec.Body.String()
}
