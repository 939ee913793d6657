// Package httpguard keeps web pages away from the local HTTP APIs (the
// cloud's admin API and identity provider, the update service's admin
// API, the fleet control API). A page in any browser may send a simple
// request (a form, or fetch with text/plain) to a loopback port, and a
// page whose name was rebound to 127.0.0.1 reads the answers as its own
// (DNS rebinding). The guard refuses:
//
//   - a Host that is not the listener's: its own host:port, localhost or
//     a loopback literal with its port (421 Misdirected Request);
//   - a request a browser marks as cross-site (Sec-Fetch-Site), or whose
//     Origin is not the listener's own scheme://host:port (403);
//   - on endpoints that take JSON, a body of another media type (415): a
//     page cannot send application/json without a CORS preflight, which
//     these APIs never answer.
//
// Clients that are not browsers send no Origin and are not affected. Each
// refusal is a JSON error that names why.
package httpguard

import (
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/deskphone/deskphone/internal/jsonhttp"
)

// JSON is the media type of the APIs' bodies; "application/*+json" types
// (problem details, merge patches) count as JSON too.
const JSON = "application/json"

// Errors, for errors.Is in an ErrorWriter.
var (
	ErrHost        = errors.New("host not allowed")
	ErrCrossOrigin = errors.New("cross-origin request refused")
	ErrMediaType   = errors.New("unsupported media type")
)

// ErrorWriter answers a refusal; the default writes {"error": "..."}.
type ErrorWriter func(w http.ResponseWriter, status int, err error)

// Guard checks requests to one listener.
type Guard struct {
	port     string
	hosts    []string // allowed Host values besides loopback literals, lower-case
	anyHost  bool
	writeErr ErrorWriter
}

// Option configures a Guard.
type Option func(*Guard)

// AnyHost skips the Host check. Only for a listener beyond loopback whose
// every request needs a bearer token a page cannot know: rebinding gains
// nothing there, and clients reach it by names the guard cannot list.
func AnyHost() Option { return func(g *Guard) { g.anyHost = true } }

// WithErrorWriter answers refusals in the API's own error format.
func WithErrorWriter(f ErrorWriter) Option { return func(g *Guard) { g.writeErr = f } }

// New guards the listener at addr, its host:port as ln.Addr() gives it;
// with AnyHost, addr may be empty.
func New(addr string, opts ...Option) (*Guard, error) {
	g := &Guard{writeErr: writeJSONError}
	for _, o := range opts {
		o(g)
	}
	if addr == "" && g.anyHost {
		return g, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || port == "0" {
		return nil, fmt.Errorf("httpguard: listener address %q: want host:port with the port bound", addr)
	}
	g.port, g.hosts = port, []string{strings.ToLower(net.JoinHostPort(host, port)), "localhost:" + port}
	return g, nil
}

func writeJSONError(w http.ResponseWriter, status int, err error) { jsonhttp.Error(w, status, err) }

// Wrap checks each request before next sees it. With bodyTypes, a request
// that carries a body (a Content-Type, or a non-empty body) must be of one
// of those media types; JSON admits application/*+json too.
func (g *Guard) Wrap(next http.Handler, bodyTypes ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status, err := g.Check(r, bodyTypes...); err != nil {
			g.writeErr(w, status, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Check reports why r is refused, with the status to answer, or nil.
func (g *Guard) Check(r *http.Request, bodyTypes ...string) (int, error) {
	if !g.anyHost && !g.hostAllowed(r.Host) {
		return http.StatusMisdirectedRequest, fmt.Errorf("%w: Host %q is not this listener (use localhost or a loopback address with port %s)", ErrHost, r.Host, g.port)
	}
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none":
	default:
		return http.StatusForbidden, fmt.Errorf("%w: the browser marks it %s", ErrCrossOrigin, site)
	}
	if origin := r.Header.Get("Origin"); origin != "" && !g.originAllowed(origin, r) {
		return http.StatusForbidden, fmt.Errorf("%w: Origin %q is not this listener", ErrCrossOrigin, origin)
	}
	if len(bodyTypes) > 0 {
		if err := mediaTypeAllowed(r, bodyTypes); err != nil {
			return http.StatusUnsupportedMediaType, err
		}
	}
	return 0, nil
}

// hostAllowed: the listener's own address, localhost, or any loopback
// literal, with the listener's port.
func (g *Guard) hostAllowed(hostport string) bool {
	hostport = strings.ToLower(hostport)
	if slices.Contains(g.hosts, hostport) {
		return true
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || port != g.port {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// originAllowed: the Origin names this listener, by the Host the request
// came with (already checked), under the scheme the request came over.
func (g *Guard) originAllowed(origin string, r *http.Request) bool {
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	rest, ok := strings.CutPrefix(strings.ToLower(origin), scheme)
	return ok && rest == strings.ToLower(r.Host) && (g.anyHost || g.hostAllowed(rest))
}

func mediaTypeAllowed(r *http.Request, types []string) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
			return nil
		}
		return fmt.Errorf("%w: a body without Content-Type: send %s", ErrMediaType, strings.Join(types, " or "))
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil {
		for _, t := range types {
			if mt == t || (t == JSON && strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: Content-Type %q: send %s", ErrMediaType, ct, strings.Join(types, " or "))
}
