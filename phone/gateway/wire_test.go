package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// What comes from the wire is validated: refusals keep their status
// whatever their body, answers too large or incomplete are errors, and
// strings lose control characters.
func TestWire(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/emea/device":
			fmt.Fprint(w, `{"device_key": "K", "state": "signed-in", "registrar": {"server": "sips:h"}, "account": {"user": "al\u0007ice", "number": "1001"}, "extra": 1}`)
		case "/emea/gone":
			w.WriteHeader(http.StatusGone)
			fmt.Fprint(w, "<html>gone</html>")
		case "/emea/big":
			fmt.Fprintf(w, `{"device_key": %q}`, strings.Repeat("k", maxBody))
		case "/emea/partial":
			fmt.Fprint(w, `{"device_key": "K", "state": "signed-in"}`)
		case "/emea/state":
			fmt.Fprint(w, `{"device_key": "K", "state": "flying", "registrar": {"server": "sips:h"}, "account": {"user": "a"}}`)
		}
	}))
	defer srv.Close()
	base, ctx, c := srv.URL+"/emea", context.Background(), srv.Client()
	var p provisioning
	if err := post(ctx, c, base, "/device", request{MAC: "m"}, &p); err != nil {
		t.Fatal(err)
	}
	if err := p.check(); err != nil || p.Account.User != "alice" || p.Account.Number != "1001" {
		t.Errorf("provisioning %+v, %v", p, err)
	}
	var ref *refusal
	if err := post(ctx, c, base, "/gone", request{}, &p); !errors.As(err, &ref) || ref.Status != 410 {
		t.Errorf("a 410 with HTML: %v", err)
	}
	if err := post(ctx, c, base, "/big", request{}, &p); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("an oversize answer: %v", err)
	}
	for _, path := range []string{"/partial", "/state"} {
		var q provisioning
		if err := post(ctx, c, base, path, request{}, &q); err != nil {
			t.Fatal(err)
		}
		if err := q.check(); !errors.Is(err, errBadAnswer) {
			t.Errorf("%s: %v", path, err)
		}
	}
	pc := pairing{Code: "C", URL: "u", ExpiresIn: 0}
	if err := pc.check(); !errors.Is(err, errBadAnswer) {
		t.Errorf("a code that never expires: %v", err)
	}
}
