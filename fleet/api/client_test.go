package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The typed client against the API alone, no fleet: each method, a
// refusal as a *Problem, a failed command as a Reply, and the token.
func TestClient(t *testing.T) {
	f := twoPhones(t)
	srv := httptest.NewServer((&Server{Source: f, Token: "s3cret"}).Handler())
	t.Cleanup(srv.Close)
	ctx := context.Background()
	c := &Client{Base: srv.URL + "/", Token: "s3cret", HTTP: srv.Client()}

	phones, err := c.Phones(ctx, "", "")
	if err != nil || len(phones) != 2 || phones[0].ID != "alice" || phones[1].Status["vendor"] != "Poly" {
		t.Fatalf("Phones: %v %+v", err, phones)
	}
	if lobby, err := c.Phones(ctx, "lobby", "idle"); err != nil || len(lobby) != 1 || lobby[0].Group != "lobby" {
		t.Fatalf("Phones(lobby, idle): %v %+v", err, lobby)
	}
	one, err := c.Phone(ctx, "bob")
	if err != nil || one.ID != "bob" || one.Status["model"] != "vvx501" {
		t.Fatalf("Phone: %v %+v", err, one)
	}
	text, err := c.ScreenText(ctx, "alice")
	if err != nil || !strings.Contains(text, "No account") {
		t.Fatalf("ScreenText: %v %q", err, text)
	}
	sc, err := c.Screen(ctx, "alice")
	if err != nil || sc.Model != "SIP-T46G" || sc.Text != text || len(sc.LEDs) != 5 {
		t.Fatalf("Screen: %v %+v", err, sc)
	}
	rep, err := c.Command(ctx, "alice", "press menu")
	if err != nil || !rep.OK || rep.Kind != "screen" || rep.Screen == nil || rep.Screen.Title != "Menu" {
		t.Fatalf("Command: %v %+v", err, rep)
	}
	rep, err = c.Command(ctx, "alice", "answer")
	if err != nil || rep.OK || !strings.Contains(rep.Error, "no call to answer") {
		t.Fatalf("a failed command is a Reply, not an error: %v %+v", err, rep)
	}
	reps, err := c.GroupCommand(ctx, "desk", "status")
	if err != nil || len(reps) != 1 || reps[0].ID != "bob" || reps[0].Kind != "status" || reps[0].Status["call"] != "idle" {
		t.Fatalf("GroupCommand: %v %+v", err, reps)
	}

	for name, call := range map[string]func() error{
		"unknown phone": func() error { _, err := c.Phone(ctx, "nobody"); return err },
		"bad filter":    func() error { _, err := c.Phones(ctx, "", "ringing"); return err },
		"bad command":   func() error { _, err := c.Command(ctx, "alice", "bogus"); return err },
		"unknown group": func() error { _, err := c.GroupCommand(ctx, "nobody", "status"); return err },
		"no token": func() error {
			_, err := (&Client{Base: srv.URL, HTTP: srv.Client()}).Phones(ctx, "", "")
			return err
		},
	} {
		var p *Problem
		if err := call(); !errors.As(err, &p) || p.Status < 400 || !strings.HasPrefix(p.Type, ProblemBase) {
			t.Errorf("%s: %v, want a *Problem", name, err)
		}
	}
}

// HEAD is served wherever GET is (the Allow lists say so), with the
// headers and without a body.
func TestHead(t *testing.T) {
	f := twoPhones(t)[:1]
	h := (&Server{Source: f}).Handler()
	for _, path := range []string{"/v1/phones", "/v1/phones/alice", "/v1/phones/alice/screen", "/v1/openapi.json"} {
		req := httptest.NewRequest(http.MethodHead, path, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") == "" {
			t.Errorf("HEAD %s: %d, Content-Type %q", path, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
}

// CheckBind refuses an address beyond loopback without a token.
func TestCheckBind(t *testing.T) {
	for _, tc := range []struct {
		addr, token string
		ok          bool
	}{
		{"127.0.0.1:8070", "", true},
		{"[::1]:8070", "", true},
		{"localhost:8070", "", true},
		{"0.0.0.0:8070", "", false},
		{"192.0.2.1:8070", "", false},
		{"0.0.0.0:8070", "s3cret", true},
		{"nonsense", "", false},
	} {
		err := CheckBind(tc.addr, tc.token)
		if (err == nil) != tc.ok {
			t.Errorf("CheckBind(%q, %q) = %v, want ok %v", tc.addr, tc.token, err, tc.ok)
		}
		if !tc.ok && tc.addr != "nonsense" && !errors.Is(err, ErrToken) {
			t.Errorf("CheckBind(%q): %v, want ErrToken", tc.addr, err)
		}
	}
}
