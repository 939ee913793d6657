package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// none is a source without phones: what the routes answer before they
// reach a phone.
type none struct{}

func (none) Phones() []Phone                { return nil }
func (none) Lookup(id string) (Phone, bool) { return Phone{}, false }

// call sends one request to h with an optional bearer token and returns
// the response with its body read.
func call(t *testing.T, h http.Handler, method, path, token string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(`{"command": "status"}`))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

// A refused request carries the bearer challenge of RFC 6750: the realm,
// and error="invalid_token" when the token sent is not the one.
func TestUnauthorizedChallenge(t *testing.T) {
	h := (&Server{Source: none{}, Token: "s3cret", Metrics: http.NotFoundHandler()}).Handler()
	tests := []struct {
		name, token, challenge string
	}{
		{"no token", "", `Bearer realm="deskphone"`},
		{"wrong token", "guess", `Bearer realm="deskphone", error="invalid_token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := call(t, h, http.MethodGet, "/v1/phones", tt.token)
			if res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", res.StatusCode)
			}
			if got := res.Header.Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tt.challenge)
			}
			var p Problem
			if err := json.Unmarshal([]byte(body), &p); err != nil || p.Status != 401 || p.Type != ProblemBase+"unauthorized" {
				t.Errorf("problem %+v (%v) from %q", p, err, body)
			}
		})
	}
	if res, body := call(t, h, http.MethodGet, "/v1/phones", "s3cret"); res.StatusCode != http.StatusOK || strings.TrimSpace(body) != "[]" {
		t.Errorf("with the token: %d %q", res.StatusCode, body)
	}
}

// A route asked with a method it does not take answers 405 with Allow
// (RFC 9110 section 15.5.6), not 404; a path the API lacks stays 404.
func TestMethodNotAllowed(t *testing.T) {
	for _, token := range []string{"", "s3cret"} {
		h := (&Server{Source: none{}, Token: token, Metrics: http.NotFoundHandler()}).Handler()
		tests := []struct {
			method, path, allow string
		}{
			{http.MethodDelete, "/v1/phones", "GET, HEAD"},
			{http.MethodPost, "/v1/phones/alice", "GET, HEAD"},
			{http.MethodGet, "/v1/phones/alice/commands", "POST"},
			{http.MethodPut, "/v1/groups/lobby/commands", "POST"},
			{http.MethodPost, "/v1/openapi.json", "GET, HEAD"},
			{http.MethodPost, "/metrics", "GET, HEAD"},
		}
		for _, tt := range tests {
			res, body := call(t, h, tt.method, tt.path, token)
			if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != tt.allow {
				t.Errorf("token %q, %s %s: %d, Allow %q; want 405, Allow %q", token, tt.method, tt.path, res.StatusCode, res.Header.Get("Allow"), tt.allow)
				continue
			}
			var p Problem
			if err := json.Unmarshal([]byte(body), &p); err != nil || p.Status != 405 || p.Type != ProblemBase+"method-not-allowed" {
				t.Errorf("%s %s: problem %+v (%v) from %q", tt.method, tt.path, p, err, body)
			}
		}
		if res, _ := call(t, h, http.MethodGet, "/v1/nothing", token); res.StatusCode != http.StatusNotFound {
			t.Errorf("token %q, GET /v1/nothing: %d, want 404", token, res.StatusCode)
		}
	}
}
