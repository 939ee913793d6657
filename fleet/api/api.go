// Package api is the HTTP control API of deskphone fleets (and of one
// phone in deskphone run --api): list phones with their status, read a
// screen, run headless commands through the driver's one verb table, on
// one phone or a group, and follow a phone's changes as server-sent
// events. Errors are RFC 9457 problem details; openapi.json describes it.
package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"crypto/subtle"

	"github.com/deskphone/deskphone/internal/httpguard"

	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/headless"
	"github.com/deskphone/deskphone/phone"
)

// OpenAPI is the API's OpenAPI 3 document, served at /v1/openapi.json.
//
//go:embed openapi.json
var OpenAPI []byte

// Phone is a phone the API serves.
type Phone struct {
	// ID is the account's user name.
	ID    string
	Group string
	Phone *phone.Phone
	// Clock lets advance move the phone's time; nil refuses it.
	Clock driver.Advancer
}

// Source is where the API finds its phones.
type Source interface {
	// Phones lists the phones in a stable order.
	Phones() []Phone
	// Lookup finds one by id.
	Lookup(id string) (Phone, bool)
}

// Server serves the API.
type Server struct {
	Source Source
	// Token, when set, is the bearer token every request must carry.
	Token string
	// Metrics, when set, is served at /metrics (without the token, as
	// scrapers expect; it shows counts only).
	Metrics http.Handler
	// GroupParallel bounds the phones a group command runs on at once;
	// 0 is 64.
	GroupParallel int
	// Addr is the listener's host:port. Requests from web pages are
	// refused (httpguard): a foreign Origin (403), a body that is not
	// JSON (415) and, without a Token, a Host that is not this listener
	// (421, DNS rebinding). Empty skips the Host check.
	Addr string
	// Files is the one directory play wav, record and import_ca may use
	// (driver.Target.Files); nil leaves those verbs without files.
	Files *os.Root
	// MaxSubscribers caps the event streams open at once; 0 is
	// DefaultMaxSubscribers. More get 503 with Retry-After.
	MaxSubscribers int
	// Load, when set, serves /v1/load: the fleet's call load; without
	// it /v1/load answers 404.
	Load LoadControl

	subscribers atomic.Int64
}

// MaxBody bounds a request body.
const MaxBody = 64 << 10

// DefaultMaxSubscribers is the default cap on open event streams.
const DefaultMaxSubscribers = 256

// HTTPServer is an http.Server for h with the bounds every server of ours
// sets: a slow header, a slow body or an idle keep-alive connection is
// closed instead of held. No WriteTimeout: event streams are long.
func HTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// Handler is the API's routes.
func (s *Server) Handler() http.Handler {
	var opts []httpguard.Option
	if s.Token != "" || s.Addr == "" {
		opts = append(opts, httpguard.AnyHost())
	}
	opts = append(opts, httpguard.WithErrorWriter(guardProblem))
	guard, err := httpguard.New(s.Addr, opts...)
	if err != nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			problem(w, http.StatusInternalServerError, "misconfigured", "Server misconfigured", err.Error())
		})
	}
	return guard.Wrap(s.routes(), httpguard.JSON)
}

// guardProblem answers a refusal of the guard as problem details.
func guardProblem(w http.ResponseWriter, status int, err error) {
	kind, title := "cross-origin", "Cross-origin request refused"
	switch {
	case errors.Is(err, httpguard.ErrHost):
		kind, title = "misdirected-request", "Host not allowed"
	case errors.Is(err, httpguard.ErrMediaType):
		kind, title = "unsupported-media-type", "Unsupported media type"
	}
	problem(w, status, kind, title, err.Error())
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(OpenAPI)
	})
	mux.HandleFunc("GET /v1/phones", s.list)
	mux.HandleFunc("GET /v1/phones/{id}", s.one)
	mux.HandleFunc("GET /v1/phones/{id}/screen", s.screen)
	mux.HandleFunc("POST /v1/phones/{id}/commands", s.command)
	mux.HandleFunc("GET /v1/phones/{id}/events", s.events)
	mux.HandleFunc("POST /v1/groups/{group}/commands", s.groupCommand)
	s.loadRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if methodNotAllowed(w, r, mux) {
			return
		}
		problem(w, http.StatusNotFound, "not-found", "No such resource", fmt.Sprintf("%s %s is not part of the API; see /v1/openapi.json", r.Method, r.URL.Path))
	})
	var h http.Handler = mux
	if s.Token != "" {
		h = s.auth(mux)
	}
	if s.Metrics != nil {
		outer := http.NewServeMux()
		outer.Handle("GET /metrics", s.Metrics)
		outer.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			// Scrapes need no token, so neither does being told the
			// method /metrics takes.
			if methodNotAllowed(w, r, outer) {
				return
			}
			h.ServeHTTP(w, r)
		})
		return outer
	}
	return h
}

// methods are those a route of the API may take.
var methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// methodNotAllowed answers 405 with Allow (RFC 9110) when r's path is a
// route of mux under other methods only, and reports whether it did. The
// mux's own 405 is lost to its catch-all route, which answers every
// method.
func methodNotAllowed(w http.ResponseWriter, r *http.Request, mux *http.ServeMux) bool {
	var allow []string
	for _, m := range methods {
		other := r.Clone(r.Context())
		other.Method = m
		if _, pattern := mux.Handler(other); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		return false
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	problem(w, http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed",
		fmt.Sprintf("%s %s: this resource takes %s", r.Method, r.URL.Path, strings.Join(allow, ", ")))
	return true
}

// auth requires the bearer token. A refusal carries the challenge of RFC
// 6750 section 3: the realm, and error="invalid_token" when a token was
// sent but is not the one.
func (s *Server) auth(next http.Handler) http.Handler {
	want := []byte("Bearer " + s.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			challenge := `Bearer realm="deskphone"`
			if got != "" {
				challenge += `, error="invalid_token"`
			}
			w.Header().Set("WWW-Authenticate", challenge)
			problem(w, http.StatusUnauthorized, "unauthorized", "Missing or wrong bearer token", "send Authorization: Bearer TOKEN")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// ProblemBase prefixes the problem types.
const ProblemBase = "https://deskphone.test/problems/"

func problem(w http.ResponseWriter, status int, kind, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(Problem{Type: ProblemBase + kind, Title: title, Status: status, Detail: detail})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// PhoneInfo is one element of GET /v1/phones.
type PhoneInfo struct {
	ID     string            `json:"id"`
	Group  string            `json:"group,omitempty"`
	Status map[string]string `json:"status"`
}

// States are the values of the state filter of GET /v1/phones.
var States = []string{"registered", "unregistered", "signed_in", "locked", "in_call", "idle", "updating"}

func inState(st phone.Status, state string) bool {
	switch state {
	case "registered":
		return st.Registered
	case "unregistered":
		return !st.Registered
	case "signed_in":
		return st.Session == phone.SignedIn
	case "locked":
		return st.Lock == phone.Locked
	case "in_call":
		return st.Call != phone.CallIdle && st.Call != phone.CallUnknown
	case "idle":
		return st.Call == phone.CallIdle
	case "updating":
		return st.Update != phone.UpdateNone && st.Update != phone.UpdateUnknown
	}
	return false
}

func statusMap(st phone.Status) map[string]string {
	pairs := st.Pairs()
	m := make(map[string]string, len(pairs))
	for _, kv := range pairs {
		m[kv[0]] = kv[1]
	}
	return m
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	group, state := r.URL.Query().Get("group"), r.URL.Query().Get("state")
	if state != "" && !contains(States, state) {
		problem(w, http.StatusBadRequest, "bad-filter", "Unknown state filter",
			fmt.Sprintf("state %q: want one of %s", state, strings.Join(States, ", ")))
		return
	}
	out := []PhoneInfo{}
	for _, p := range s.Source.Phones() {
		if group != "" && p.Group != group {
			continue
		}
		// The published status: a list of thousands never waits on loops.
		st := p.Phone.Published()
		if state != "" && !inState(st, state) {
			continue
		}
		out = append(out, PhoneInfo{ID: p.ID, Group: p.Group, Status: statusMap(st)})
	}
	writeJSON(w, out)
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (Phone, bool) {
	id := r.PathValue("id")
	p, ok := s.Source.Lookup(id)
	if !ok {
		problem(w, http.StatusNotFound, "unknown-phone", "No such phone", fmt.Sprintf("no phone %q (ids are the account user names; GET /v1/phones lists them)", id))
	}
	return p, ok
}

func (s *Server) one(w http.ResponseWriter, r *http.Request) {
	p, ok := s.lookup(w, r)
	if !ok {
		return
	}
	st, err := p.Phone.State()
	if err != nil {
		phoneProblem(w, err)
		return
	}
	writeJSON(w, PhoneInfo{ID: p.ID, Group: p.Group, Status: statusMap(st)})
}

// Screen is the JSON form of a phone's screen.
type Screen struct {
	Text     string            `json:"text"`
	Vendor   string            `json:"vendor"`
	Model    string            `json:"model"`
	Columns  int               `json:"columns"`
	Rows     int               `json:"rows"`
	Time     string            `json:"time"`
	Date     string            `json:"date"`
	Label    string            `json:"label"`
	Icons    []string          `json:"icons"`
	Title    string            `json:"title"`
	Lines    []string          `json:"lines"`
	Selected int               `json:"selected"` // the menu cursor's line, -1 when none
	Alert    string            `json:"alert"`
	Prompt   string            `json:"prompt"`
	Input    string            `json:"input"`
	Softkeys []string          `json:"softkeys"`
	LEDs     map[string]string `json:"leds"`
}

// ScreenOf is sc in its JSON form.
func ScreenOf(sc phone.Screen) Screen {
	out := Screen{Text: sc.Text(), Vendor: sc.Vendor, Model: sc.Model, Columns: sc.Columns, Rows: sc.Rows,
		Time: sc.Status.Time, Date: sc.Status.Date, Label: sc.Status.Label, Icons: nonNil(sc.Status.Icons),
		Title: sc.Title, Lines: []string{}, Selected: -1, Alert: sc.Alert, Prompt: sc.Prompt, Input: sc.Input,
		Softkeys: nonNil(sc.Softkeys),
		LEDs: map[string]string{"message": sc.LEDs.Message.String(), "line": sc.LEDs.Line.String(),
			"speaker": sc.LEDs.Speaker.String(), "headset": sc.LEDs.Headset.String(), "mute": sc.LEDs.Mute.String()}}
	for i, l := range sc.Lines {
		out.Lines = append(out.Lines, l.Text)
		if l.Selected {
			out.Selected = i
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// wantsJSON reads the screen format: ?format=json or text, else the
// Accept header; text by default, as headless prints it.
func wantsJSON(r *http.Request) bool {
	switch r.URL.Query().Get("format") {
	case "json":
		return true
	case "text":
		return false
	}
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

func (s *Server) screen(w http.ResponseWriter, r *http.Request) {
	p, ok := s.lookup(w, r)
	if !ok {
		return
	}
	if f := r.URL.Query().Get("format"); f != "" && f != "json" && f != "text" {
		problem(w, http.StatusBadRequest, "bad-format", "Unknown screen format", fmt.Sprintf("format %q: want text or json", f))
		return
	}
	sc := p.Phone.Screen()
	if wantsJSON(r) {
		writeJSON(w, ScreenOf(sc))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, sc.Text())
}

// Command is the body of a commands request: one line of the headless
// protocol.
type Command struct {
	Command string `json:"command"`
}

// Reply is what a command did: the reply block headless prints (Reply),
// and the typed result: the screen it left, the status or syslog lines.
type Reply struct {
	ID      string            `json:"id"`
	Command string            `json:"command"`
	OK      bool              `json:"ok"`
	Reply   string            `json:"reply,omitempty"`
	Error   string            `json:"error,omitempty"`
	Kind    string            `json:"kind,omitempty"`
	Screen  *Screen           `json:"screen,omitempty"`
	Status  map[string]string `json:"status,omitempty"`
	Log     []string          `json:"log,omitempty"`
	Calls   []Call            `json:"calls,omitempty"`
	// History is the call history's entries (kind history), each the
	// keys of its headless line.
	History []Call `json:"history,omitempty"`
}

// Call is one call of a phone, as the calls command lists it: the keys of
// its headless line.
type Call map[string]string

// readCommand decodes and checks a commands body; the verb must exist.
func readCommand(w http.ResponseWriter, r *http.Request) (Command, *driver.Verb, driver.Args, bool) {
	var c Command
	dec := json.NewDecoder(io.LimitReader(r.Body, MaxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		problem(w, http.StatusBadRequest, "malformed-json", "Malformed request body", fmt.Sprintf(`want {"command": "press 5"}: %v`, err))
		return c, nil, driver.Args{}, false
	}
	name, text, _ := strings.Cut(strings.TrimSpace(c.Command), " ")
	if name == "" {
		problem(w, http.StatusBadRequest, "malformed-json", "Empty command", `want {"command": "press 5"}`)
		return c, nil, driver.Args{}, false
	}
	v, ok := driver.Lookup(name)
	if !ok {
		var names []string
		for _, v := range driver.Verbs {
			names = append(names, v.Name)
		}
		problem(w, http.StatusBadRequest, "unknown-command", "Unknown command",
			fmt.Sprintf("no command %q; the commands are %s", name, strings.Join(names, ", ")))
		return c, nil, driver.Args{}, false
	}
	a, err := v.Parse(strings.TrimSpace(text))
	if err != nil {
		problem(w, http.StatusBadRequest, "bad-arguments", "Bad command arguments", err.Error())
		return c, nil, driver.Args{}, false
	}
	return c, v, a, true
}

// run runs a parsed command on one phone.
func (s *Server) run(ctx context.Context, p Phone, c Command, v *driver.Verb, a driver.Args) Reply {
	t := &driver.Target{Phone: p.Phone, Clock: p.Clock, Files: s.Files, NoFiles: s.Files == nil}
	res, err := v.Run(ctx, t, a)
	text, err := headless.Reply(v.Name, a, res, err)
	rep := Reply{ID: p.ID, Command: c.Command, OK: err == nil, Reply: text}
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	switch res.Kind {
	case driver.KindStatus:
		rep.Kind, rep.Status = "status", map[string]string{}
		for _, kv := range res.Status {
			rep.Status[kv[0]] = kv[1]
		}
	case driver.KindCalls:
		rep.Kind, rep.Calls = "calls", pairMaps(res.Calls)
	case driver.KindHistory:
		rep.Kind, rep.History = "history", pairMaps(res.History)
	case driver.KindLog:
		rep.Kind, rep.Log = "log", []string{}
		for _, l := range res.Logs {
			rep.Log = append(rep.Log, l.Text)
		}
	default:
		rep.Kind = "screen"
		sc := ScreenOf(res.Screen)
		rep.Screen = &sc
	}
	return rep
}

func (s *Server) command(w http.ResponseWriter, r *http.Request) {
	p, ok := s.lookup(w, r)
	if !ok {
		return
	}
	c, v, a, ok := readCommand(w, r)
	if !ok {
		return
	}
	rep := s.run(r.Context(), p, c, v, a)
	if !rep.OK {
		// The command ran and failed as headless would say: 422 with the
		// reply, so a script reads the same words.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		json.NewEncoder(w).Encode(rep)
		return
	}
	writeJSON(w, rep)
}

func (s *Server) groupCommand(w http.ResponseWriter, r *http.Request) {
	group := r.PathValue("group")
	var phones []Phone
	for _, p := range s.Source.Phones() {
		if p.Group == group {
			phones = append(phones, p)
		}
	}
	if len(phones) == 0 {
		problem(w, http.StatusNotFound, "unknown-group", "No such group", fmt.Sprintf("no phone in group %q", group))
		return
	}
	c, v, a, ok := readCommand(w, r)
	if !ok {
		return
	}
	par := s.GroupParallel
	if par <= 0 {
		par = 64
	}
	out := make([]Reply, len(phones))
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, p := range phones {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i] = s.run(r.Context(), p, c, v, a)
		}()
	}
	wg.Wait()
	writeJSON(w, out)
}

// Event is one server-sent event of a phone: its screen and status after
// a change.
type Event struct {
	ID     string            `json:"id"`
	Screen Screen            `json:"screen"`
	Status map[string]string `json:"status"`
}

// events streams the phone's changes: an event "change" with the screen
// and the status each time either changes, the first at once.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	p, ok := s.lookup(w, r)
	if !ok {
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		problem(w, http.StatusInternalServerError, "no-streaming", "Streaming unsupported", "this connection cannot stream")
		return
	}
	limit := int64(s.MaxSubscribers)
	if limit <= 0 {
		limit = DefaultMaxSubscribers
	}
	if s.subscribers.Add(1) > limit {
		s.subscribers.Add(-1)
		w.Header().Set("Retry-After", "30")
		problem(w, http.StatusServiceUnavailable, "too-many-subscribers", "Too many event streams",
			fmt.Sprintf("%d event streams are open, the most this API serves at once: close one or try again later", limit))
		return
	}
	defer s.subscribers.Add(-1)
	// The newest change wins: a slow reader skips states, never blocks the
	// phone.
	wake := make(chan struct{}, 1)
	cancel := p.Phone.Watch(func(phone.Screen, phone.Status) {
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	last := ""
	send := func() bool {
		ev := Event{ID: p.ID, Screen: ScreenOf(p.Phone.Screen()), Status: statusMap(p.Phone.Published())}
		data, err := json.Marshal(ev)
		if err != nil {
			return false
		}
		if string(data) == last {
			return true
		}
		last = string(data)
		if _, err := fmt.Fprintf(w, "event: change\ndata: %s\n\n", data); err != nil {
			return false
		}
		fl.Flush()
		return true
	}
	if !send() {
		return
	}
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-p.Phone.Done():
			return
		case <-wake:
			if !send() {
				return
			}
		case <-keep.C:
			// A comment line keeps proxies from closing an idle stream.
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil {
				return
			}
			fl.Flush()
		}
	}
}

func phoneProblem(w http.ResponseWriter, err error) {
	if errors.Is(err, phone.ErrClosed) {
		problem(w, http.StatusGone, "phone-closed", "Phone closed", err.Error())
		return
	}
	problem(w, http.StatusInternalServerError, "phone-error", "Phone error", err.Error())
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ErrToken is returned by CheckBind for an address beyond loopback
// without a token.
var ErrToken = errors.New("an API bound beyond loopback needs a bearer token")

// CheckBind refuses to serve addr beyond loopback without a token.
func CheckBind(addr, token string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("api address %q: %w", addr, err)
	}
	if token != "" || host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%w (--api %s: set DESKPHONE_API_TOKEN or --api-token)", ErrToken, addr)
}

// pairMaps turns entries that list themselves as key=value pairs (calls,
// history entries) into the API's objects; an empty list is [], not null.
func pairMaps[T interface{ Pairs() [][2]string }](list []T) []Call {
	out := make([]Call, 0, len(list))
	for _, e := range list {
		m := Call{}
		for _, kv := range e.Pairs() {
			m[kv[0]] = kv[1]
		}
		out = append(out, m)
	}
	return out
}
