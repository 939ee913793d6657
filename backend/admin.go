package backend

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/deskphone/deskphone/internal/httpguard"
	"github.com/deskphone/deskphone/internal/jsonhttp"
)

// The admin API, on loopback only, with JSON in and out:
//
//	GET  /admin/users                  users and services
//	POST /admin/users                  add a user: {"user":..,"password":..,"display_name":..,"extension":..}
//	GET  /admin/registrations          the location service
//	GET  /admin/health                 the SIP listeners: accepting, connections, refusals, errors (503 when one is not accepting)
//	POST /admin/rotate?root=lab-2022   switch the TLS server chain (seed 002)
//	POST /admin/voicemail?user=alice   leave a voicemail: MWI lights up
//	GET  /admin/idp                    the identity provider: endpoints, clients, policy
//	POST /admin/idp/legacy-auth?block=true|false      block the password grant (seed 003)
//	POST /admin/idp/vendor-cutoff?date=2019-07-01|none refuse the shared client ID from then (seed 000)
//	POST /admin/idp/consent?client=ID[&revoke=true]    the tenant consents to a vendor's app
//	POST /admin/idp/disable?user=alice[&enable=true]   disable (enable) a user's sign-in
//	POST /admin/idp/revoke?user=alice  revoke every token of a user
//	POST /admin/gateway/cutoff?date=2023-08-01|none    the 3PIP end of life: password REGISTERs and the phones' token grants refused from then
//
// The same listener serves the identity provider itself (package idp):
// discovery, device code, token, JWKS and the verification page.
//	GET  /admin/policy[?user=alice]    the tenant's (or a user's) in-band policy
//	POST /admin/policy                 change it: {"user":..,"set":{"Field":value}}; phones get a NOTIFY
//	GET  /admin/gateway/devices        the SIP gateway's devices
//	POST /admin/gateway/provision?mac=M&location=L  a common-area phone
//	POST /admin/gateway/code?mac=M     a one-time *55* verification code
//	POST /admin/gateway/signout?mac=M  sign a device out remotely
//	POST /admin/gateway/bulk-signin    {"region":"emea","csv":"Username,HardwareId\n..."}
//	GET  /admin/gateway/batch[?id=b1]  a bulk sign-in batch (or every batch)
//
// Errors are {"error": "..."} with 400 (bad input), 404 (unknown user or
// root), 409 (user exists) or 405 (wrong method).

// UserInfo is a user as the admin API lists it: no password.
type UserInfo struct {
	User        string `json:"user"`
	DisplayName string `json:"display_name,omitempty"`
	Extension   string `json:"extension,omitempty"`
	Service     string `json:"service,omitempty"` // what a service user does; empty for phones' users
}

// newAdminServer serves the admin API and the IdP on the listener at addr.
// The guard keeps web pages out (httpguard): a Host other than this
// listener's, a foreign Origin, and on /admin/ a body that is not JSON are
// refused, so a page cannot add users or rotate roots with a form post.
// The IdP's form posts (token endpoint, device login page) keep their
// form bodies.
func (b *Backend) newAdminServer(addr string) (*http.Server, error) {
	guard, err := httpguard.New(addr)
	if err != nil {
		return nil, fmt.Errorf("admin API: %w", err)
	}
	mux := http.NewServeMux()
	// Every endpoint is an action of the table, served by the first
	// action naming it; 405 lists the methods of a known path.
	allow := map[string]string{}
	for _, a := range Actions {
		if a.Path == "" || a.Do == nil {
			continue
		}
		mux.HandleFunc(a.Method+" "+a.Path, b.serveAction(a))
		if m := allow[a.Path]; m != "" {
			allow[a.Path] = m + ", " + a.Method
		} else {
			allow[a.Path] = a.Method
		}
	}
	for _, p := range b.idp.Routes() {
		mux.Handle(p, b.idp.Handler())
	}
	// Everything else, in JSON: 405 for a known path, 404 otherwise.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if methods, ok := allow[r.URL.Path]; ok {
			w.Header().Set("Allow", methods)
			jsonhttp.Error(w, http.StatusMethodNotAllowed, fmt.Errorf("%s %s: use %s", r.Method, r.URL.Path, methods))
			return
		}
		jsonhttp.Error(w, http.StatusNotFound, fmt.Errorf("no such endpoint %s %s", r.Method, r.URL.Path))
	})
	admin := guard.Wrap(mux, httpguard.JSON)
	top := http.NewServeMux()
	top.Handle("/admin/", admin)
	top.Handle("/", guard.Wrap(mux))
	return &http.Server{
		Handler:           top,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(b.log.Handler(), slog.LevelWarn),
	}, nil
}
