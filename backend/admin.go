package backend

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/deskphone/deskphone/certs"
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
//
// The same listener serves the identity provider itself (package idp):
// discovery, device code, token, JWKS and the verification page.
//	GET  /admin/policy[?user=alice]    the tenant's (or a user's) in-band policy
//	POST /admin/policy                 change it: {"user":..,"set":{"Field":value}}; phones get a NOTIFY
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
	mux.HandleFunc("GET /admin/users", b.adminUsers)
	mux.HandleFunc("POST /admin/users", b.adminAddUser)
	mux.HandleFunc("GET /admin/registrations", func(w http.ResponseWriter, r *http.Request) {
		regs := b.Registrations()
		if regs == nil {
			regs = []Registration{}
		}
		jsonhttp.Write(w, http.StatusOK, regs)
	})
	mux.HandleFunc("GET /admin/health", func(w http.ResponseWriter, r *http.Request) {
		h := b.Health()
		code := http.StatusOK
		if !h.OK {
			code = http.StatusServiceUnavailable
		}
		jsonhttp.Write(w, code, h)
	})
	mux.HandleFunc("POST /admin/rotate", b.adminRotate)
	mux.HandleFunc("POST /admin/voicemail", b.adminVoicemail)
	mux.HandleFunc("GET /admin/idp", b.adminIdP)
	mux.HandleFunc("POST /admin/idp/legacy-auth", b.adminLegacyAuth)
	mux.HandleFunc("POST /admin/idp/vendor-cutoff", b.adminVendorCutoff)
	mux.HandleFunc("POST /admin/idp/consent", b.adminConsent)
	mux.HandleFunc("POST /admin/idp/disable", b.adminDisable)
	mux.HandleFunc("POST /admin/idp/revoke", b.adminRevoke)
	for _, p := range b.idp.Routes() {
		mux.Handle(p, b.idp.Handler())
	}
	mux.HandleFunc("GET /admin/policy", b.adminPolicy)
	mux.HandleFunc("POST /admin/policy", b.adminSetPolicy)
	// Everything else, in JSON: 405 for a known path, 404 otherwise.
	allow := map[string]string{
		"/admin/users":         "GET, POST",
		"/admin/registrations": "GET",
		"/admin/health":        "GET",
		"/admin/rotate":        "POST",
		"/admin/voicemail":     "POST",
		"/admin/idp":           "GET",
		"/admin/policy":        "GET, POST",
	}
	for _, p := range []string{"legacy-auth", "vendor-cutoff", "consent", "disable", "revoke"} {
		allow["/admin/idp/"+p] = "POST"
	}
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

func (b *Backend) adminUsers(w http.ResponseWriter, _ *http.Request) {
	var out []UserInfo
	for _, u := range b.Users() {
		out = append(out, UserInfo{User: u.User, DisplayName: u.DisplayName, Extension: u.Extension})
	}
	for _, s := range Services() {
		out = append(out, UserInfo{User: s.Name, Extension: s.Extension, Service: s.Description})
	}
	jsonhttp.Write(w, http.StatusOK, out)
}

func (b *Backend) adminAddUser(w http.ResponseWriter, r *http.Request) {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	var u User
	if err := dec.Decode(&u); err != nil {
		jsonhttp.Error(w, http.StatusBadRequest, fmt.Errorf("bad user JSON: %w", err))
		return
	}
	if err := b.AddUser(u); err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, ErrUserExists) {
			code = http.StatusConflict
		}
		jsonhttp.Error(w, code, err)
		return
	}
	jsonhttp.Write(w, http.StatusCreated, UserInfo{User: u.User, DisplayName: u.DisplayName, Extension: u.Extension})
}

func (b *Backend) adminRotate(w http.ResponseWriter, r *http.Request) {
	root := r.URL.Query().Get("root")
	if root == "" {
		jsonhttp.Error(w, http.StatusBadRequest, fmt.Errorf("missing root; one of %v", certs.FactoryRootIDs()))
		return
	}
	if err := b.RotateCertificate(root); err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, ErrUnknownRoot) {
			code = http.StatusNotFound
			err = fmt.Errorf("%w; known roots: %v", err, certs.FactoryRootIDs())
		}
		jsonhttp.Error(w, code, err)
		return
	}
	jsonhttp.Write(w, http.StatusOK, map[string]string{"root": b.ServerRoot(), "server_name": b.ServerName()})
}

func (b *Backend) adminVoicemail(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user")
	if user == "" {
		jsonhttp.Error(w, http.StatusBadRequest, errors.New("missing user"))
		return
	}
	if err := b.LeaveVoicemail(user); err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, ErrUnknownUser) {
			code = http.StatusNotFound
		}
		jsonhttp.Error(w, code, err)
		return
	}
	newMsgs, oldMsgs, _ := b.Voicemail(user)
	jsonhttp.Write(w, http.StatusOK, map[string]any{"user": user, "new": newMsgs, "old": oldMsgs})
}
