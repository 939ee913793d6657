// Package gwtest is a Teams SIP Gateway for tests of the phone's side and
// the programs around it: it answers the provisioning wire with a
// signed-out device and a pairing code still pending, and records what
// the phones sent.
package gwtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Server is the fake gateway; set its fields before phones use it.
type Server struct {
	URL string // http://127.0.0.1:PORT, the region paths below it
	// Key, User and Code are the device key, the device's account and
	// the pairing code it gives.
	Key, User, Code string

	mu    sync.Mutex
	sent  []map[string]string
	paths []string
}

// New starts a fake gateway, closed at the test's end.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{Key: "K", User: "dev-1", Code: "ABCD-EFGH"}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	var body map[string]string
	_ = json.NewDecoder(r.Body).Decode(&body)
	s.mu.Lock()
	s.sent = append(s.sent, body)
	s.paths = append(s.paths, r.URL.Path)
	key, user, code := s.Key, s.User, s.Code
	s.mu.Unlock()
	switch {
	case strings.HasSuffix(r.URL.Path, "/device"):
		fmt.Fprintf(w, `{"device_key": %q, "state": "signed-out", "registrar": {"server": "sips:127.0.0.1:1"}, "account": {"user": %q, "password": "p"}}`, key, user)
	case strings.HasSuffix(r.URL.Path, "/pair"):
		fmt.Fprintf(w, `{"pairing_code": %q, "pairing_url": "http://gw.test/devicelogin", "expires_in": 900, "interval": 5}`, code)
	default:
		fmt.Fprint(w, `{"status": "pending"}`)
	}
}

// Sent is the value of field in every request so far, in order.
func (s *Server) Sent(field string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.sent))
	for i, b := range s.sent {
		out[i] = b[field]
	}
	return out
}

// Paths are the paths of every request so far, in order.
func (s *Server) Paths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.paths...)
}
