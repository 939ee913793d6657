package idp

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"time"
)

// The verification page: a person opens VerificationURI in a browser,
// enters the code the phone shows, sees which phone asks, signs in with
// user name and password and allows (Continue) or declines (Deny). Every
// form carries a CSRF token bound to a cookie; wrong codes and wrong
// passwords count against the client address, on the IdP's clock.

// Page kinds, in the data-page attribute of <body> so tests and scripts
// can tell the pages apart.
const (
	PageCode     = "code"     // enter the code
	PageSignIn   = "signin"   // "<phone> wants to sign in": credentials, Continue, Deny
	PageDone     = "done"     // signed in: you can close this window
	PageDenied   = "denied"   // declined: you can close this window
	PageUnknown  = "unknown"  // no such code
	PageExpired  = "expired"  // the code expired
	PageUsed     = "used"     // the code was already used
	PageLimited  = "limited"  // too many wrong guesses
	PageDisabled = "disabled" // the user is disabled
	PageBadForm  = "badform"  // CSRF check failed
)

const csrfCookie = "deskphone_idp_csrf"

type pageData struct {
	Kind         string
	Title        string
	Error        string
	Code         string // as the user typed it, or formatted
	CSRF         string
	Device       string // "<Manufacturer> <Model>"
	Manufacturer string
	SIP          bool // a SIP device the gateway pairs, not a certified phone
	User         string
	RetryAfter   int
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:sans-serif;background:#f2f2f2;margin:0}
main{max-width:26rem;margin:3rem auto;background:#fff;padding:2rem;box-shadow:0 2px 6px #0003}
h1{font-size:1.4rem;font-weight:600}
.sub{color:#555}
.error{color:#a4262c;font-weight:600}
label{display:block;margin-top:1rem}
input[type=text],input[type=password]{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
.buttons{margin-top:1.5rem;display:flex;gap:.5rem;justify-content:flex-end}
button{padding:.5rem 1.5rem;font-size:1rem}
button.primary{background:#0067b8;color:#fff;border:0}
</style></head>
<body data-page="{{.Kind}}"><main>
<h1 id="title">{{.Title}}</h1>
{{if .Error}}<p class="error" id="error">{{.Error}}</p>{{end}}
{{- if eq .Kind "code" "unknown" "limited"}}
<p class="sub">Enter the code displayed on your phone to allow it to sign in.</p>
<form method="post" action="devicelogin" id="codeform">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<input type="hidden" name="step" value="code">
<label for="code">Code</label>
<input type="text" id="code" name="code" value="{{.Code}}" autocomplete="off" autofocus maxlength="32">
<div class="buttons"><button class="primary" type="submit" id="next">Next</button></div>
</form>
{{- else if eq .Kind "signin"}}
<p class="sub" id="device">{{if .SIP}}A SIP phone, through the Teams SIP Gateway{{else}}{{.Manufacturer}} Skype for Business Certified Phone{{end}}</p>
<p>Sign in with your organisation's account to let this phone use it. Only continue if you started the sign-in on the phone yourself.</p>
<form method="post" action="devicelogin" id="signinform">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<input type="hidden" name="step" value="signin">
<input type="hidden" name="code" value="{{.Code}}">
<label for="username">User name</label>
<input type="text" id="username" name="username" value="{{.User}}" autocomplete="username" placeholder="alice@deskphone.test">
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password">
<div class="buttons">
<button type="submit" name="action" value="deny" id="deny">Deny</button>
<button class="primary" type="submit" name="action" value="continue" id="continue">Continue</button>
</div>
</form>
{{- else if eq .Kind "expired" "used"}}
<p><a href="devicelogin" id="again">Enter another code</a></p>
{{- else if eq .Kind "done" "denied"}}
{{if .User}}<p id="signedin">{{.User}} is signed in on the {{.Device}}.</p>{{end}}
<p id="close">You can close this window.</p>
{{- end}}
</main></body></html>
`))

// page serves VerificationPath.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	csrf := s.csrfFor(w, r)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		code := limit(r.URL.Query().Get("code"), 32)
		s.render(w, http.StatusOK, pageData{Kind: PageCode, Title: "Enter code", Code: code, CSRF: csrf})
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil || !s.csrfValid(r) {
		s.render(w, http.StatusForbidden, pageData{Kind: PageBadForm, Title: "Something went wrong",
			Error: "This form has expired or did not come from this site. Open the sign-in page again.", CSRF: csrf})
		return
	}
	addr, session := clientAddr(r), sessionOf(r)
	now := s.clock.Now()
	limitedPage := func(no refusal, what string) {
		secs := no.seconds()
		w.Header().Set("Retry-After", fmt.Sprint(secs))
		s.log.Info("idp page limited", "from", addr, "why", no.why)
		s.render(w, http.StatusTooManyRequests, pageData{Kind: PageLimited, Title: "Too many attempts",
			Error: fmt.Sprintf("Too many wrong %s. Try again in %d seconds.", what, secs), CSRF: csrf, RetryAfter: secs})
	}
	typed := limit(r.PostForm.Get("code"), 32)
	entered := r.PostForm.Get("step") == PageSignIn && s.enteredIn(typed, session)
	if no, ok := s.codeWait(addr, session, entered, now); ok {
		limitedPage(no, "codes or passwords")
		return
	}
	d, kind := s.lookupCode(typed, now, session)
	switch kind {
	case PageUnknown:
		s.wrongCode(addr, session, now)
		s.render(w, http.StatusNotFound, pageData{Kind: PageUnknown, Title: "Enter code",
			Error: "That code wasn't recognised. Check the code on your phone and try again.", Code: typed, CSRF: csrf})
		return
	case PageExpired:
		s.render(w, http.StatusGone, pageData{Kind: PageExpired, Title: "Code expired",
			Error: "This code has expired. On the phone, press Retry (or OK) to get a new code, then enter the new one."})
		return
	case PageUsed:
		s.render(w, http.StatusConflict, pageData{Kind: PageUsed, Title: "Code already used",
			Error: "This code has already been used. Start the sign-in again on the phone."})
		return
	}
	signin := pageData{Kind: PageSignIn, Title: d.Label() + " wants to sign in", Code: FormatUserCode(NormalizeUserCode(typed)),
		CSRF: csrf, Device: d.Label(), Manufacturer: orText(d.Manufacturer, "A"), SIP: d.Name != ""}
	if r.PostForm.Get("step") != PageSignIn {
		s.render(w, http.StatusOK, signin)
		return
	}
	switch r.PostForm.Get("action") {
	case "deny":
		if s.decide(typed, now, "", false) {
			s.log.Info("idp sign-in declined", "device", d.Label(), "from", addr)
			s.render(w, http.StatusOK, pageData{Kind: PageDenied, Title: "Sign-in declined",
				Error: "You declined the sign-in on " + d.Label() + "."})
			return
		}
	case "continue":
		name := limit(r.PostForm.Get("username"), 256)
		if no, ok := s.passwordWait(name, addr, now); ok {
			limitedPage(no, "passwords")
			return
		}
		if u, ok := s.cfg.Users(name); ok && s.isDisabled(u.Name) {
			// The password is not checked: right and wrong get this page.
			s.render(w, http.StatusForbidden, pageData{Kind: PageDisabled, Title: "Account disabled",
				Error: "Your account has been disabled. Contact your administrator."})
			return
		}
		u, ok := s.checkPassword(name, r.PostForm.Get("password"))
		if !ok {
			s.wrongPassword(name, addr, now)
			signin.User, signin.Error = name, "Your user name or password is incorrect."
			s.render(w, http.StatusUnauthorized, signin)
			return
		}
		s.signedIn(u.Name, addr, now)
		if s.decide(typed, now, u.Name, true) {
			s.log.Info("idp sign-in approved", "user", u.Name, "device", d.Label(), "from", addr)
			s.render(w, http.StatusOK, pageData{Kind: PageDone, Title: "You have signed in", Device: d.Label(), User: u.Name})
			return
		}
	default:
		signin.Error = "Choose Continue or Deny."
		s.render(w, http.StatusBadRequest, signin)
		return
	}
	// The code expired or was used between the two pages.
	s.render(w, http.StatusGone, pageData{Kind: PageExpired, Title: "Code expired",
		Error: "This code has expired or was used meanwhile. Start the sign-in again on the phone."})
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// sessionOf is the browser session of a page request: its CSRF cookie.
func sessionOf(r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil {
		return limit(c.Value, 64)
	}
	return ""
}

// enteredIn reports whether session entered the code typed.
func (s *Server) enteredIn(typed, session string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.byCode[NormalizeUserCode(typed)]
	return ok && session != "" && d.viewer == session
}

// lookupCode finds a pending device authorization by what the user typed
// in session, and marks it entered.
func (s *Server) lookupCode(typed string, now time.Time, session string) (Device, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.byCode[NormalizeUserCode(typed)]
	switch {
	case !ok || typed == "":
		return Device{}, PageUnknown
	case !now.Before(d.expires):
		return Device{}, PageExpired
	case d.state != devicePending:
		return Device{}, PageUsed
	}
	d.viewed, d.viewer = true, session
	return Device{Manufacturer: d.manufacturer, Model: d.model, Name: d.label}, ""
}

// decide approves (for user) or denies a pending code; false when it is
// no longer pending or has expired.
func (s *Server) decide(typed string, now time.Time, user string, allow bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.byCode[NormalizeUserCode(typed)]
	if !ok || !now.Before(d.expires) || d.state != devicePending {
		return false
	}
	if allow {
		d.state, d.user = deviceApproved, user
	} else {
		d.state = deviceDenied
	}
	return true
}

func (s *Server) render(w http.ResponseWriter, status int, p pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pageTemplate.Execute(w, p); err != nil {
		s.log.Warn("idp page", "error", err)
	}
}

// csrfFor returns the form token for the browser's cookie, setting a new
// cookie when there is none.
func (s *Server) csrfFor(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 16 {
		return s.csrfToken(c.Value)
	}
	v, err := randomString(18)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: v, Path: VerificationPath, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	// A POST without the cookie fails csrfValid; a GET gets the token
	// for the cookie just set.
	return s.csrfToken(v)
}

func (s *Server) csrfToken(cookie string) string {
	m := hmac.New(sha256.New, s.csrfKey[:])
	m.Write([]byte(cookie))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Server) csrfValid(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || len(c.Value) < 16 {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(s.csrfToken(c.Value))) == 1
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
