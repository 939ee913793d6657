package backend

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/deskphone/deskphone/clock"
)

// authenticator implements SIP digest authentication (RFC 3261 §22 with
// RFC 2617 MD5 and RFC 8760 SHA-256, qop=auth). A nonce carries its
// issue time on the backend's clock, random bytes and an HMAC over both,
// so any nonce we issued can be checked and aged without a table; it is
// good for NonceLifetime. Replays are refused (RFC 7616 §3.4.5): the
// nonce counts used with each nonce are remembered while the nonce lives,
// a request without qop uses its nonce once, and the digest uri must name
// the Request-URI (RFC 2617 §3.2.2.5), so credentials captured on one
// request authenticate nothing else.
type authenticator struct {
	realm      string
	algorithms []string // offered and accepted, in order of preference
	key        [32]byte
	clock      clock.Clock

	mu        sync.Mutex
	used      map[string]*nonceUse // by nonce, while it is fresh
	nextSweep time.Time
}

// nonceUse is what one live nonce has authenticated.
type nonceUse struct {
	issued time.Time
	counts map[int]struct{} // nc values seen; 0 for requests without qop
}

// maxCountsPerNonce bounds the nonce counts remembered for one nonce; past
// it the client is asked (stale=true) to take a new nonce.
const maxCountsPerNonce = 1024

func newAuthenticator(realm string, algorithms []string, clk clock.Clock) (*authenticator, error) {
	a := &authenticator{realm: realm, algorithms: algorithms, clock: clk, used: map[string]*nonceUse{}}
	if _, err := rand.Read(a.key[:]); err != nil {
		return nil, fmt.Errorf("auth key: %w", err)
	}
	return a, nil
}

// challenges returns one Digest challenge per algorithm for the header
// name ("WWW-Authenticate" or "Proxy-Authenticate"), by default SHA-256
// first, then MD5 (RFC 8760 §2.4: challenges go in order of preference,
// and clients take the first they support).
func (a *authenticator) challenges(header string, stale bool) []sip.Header {
	nonce := a.nonce()
	hs := make([]sip.Header, 0, len(a.algorithms))
	for _, alg := range a.algorithms {
		c := digest.Challenge{Realm: a.realm, Nonce: nonce, Algorithm: alg, QOP: []string{"auth"}, Stale: stale}
		hs = append(hs, sip.NewHeader(header, c.String()))
	}
	return hs
}

// nonce is hex(timestamp ‖ random ‖ HMAC-SHA256(key, timestamp ‖ random)[:16]).
func (a *authenticator) nonce() string {
	var buf [32]byte
	binary.BigEndian.PutUint64(buf[:8], uint64(a.clock.Now().UnixNano()))
	_, _ = rand.Read(buf[8:16]) // crypto/rand.Read never fails
	copy(buf[16:], a.mac(buf[:16]))
	return hex.EncodeToString(buf[:])
}

func (a *authenticator) mac(b []byte) []byte {
	m := hmac.New(sha256.New, a.key[:])
	m.Write(b)
	return m.Sum(nil)[:16]
}

// nonceState says whether we issued nonce, when, and whether it is still
// fresh.
func (a *authenticator) nonceState(nonce string) (ours, fresh bool, issued time.Time) {
	buf, err := hex.DecodeString(nonce)
	if err != nil || len(buf) != 32 || !hmac.Equal(buf[16:], a.mac(buf[:16])) {
		return false, false, time.Time{}
	}
	issued = time.Unix(0, int64(binary.BigEndian.Uint64(buf[:8])))
	age := a.clock.Now().Sub(issued)
	return true, age >= 0 && age <= NonceLifetime, issued
}

// use records that nonce authenticated a request with nonce count nc.
// It is authReplay when that count was used before, authStale when the
// nonce has been used too often, else authOK. Nonces that are no longer
// fresh are forgotten: their age refuses them.
func (a *authenticator) use(nonce string, issued time.Time, nc int) authResult {
	now := a.clock.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if !now.Before(a.nextSweep) {
		for n, u := range a.used {
			if now.Sub(u.issued) > NonceLifetime {
				delete(a.used, n)
			}
		}
		a.nextSweep = now.Add(NonceLifetime)
	}
	u := a.used[nonce]
	if u == nil {
		u = &nonceUse{issued: issued, counts: map[int]struct{}{}}
		a.used[nonce] = u
	}
	if _, seen := u.counts[nc]; seen {
		return authReplay
	}
	if len(u.counts) >= maxCountsPerNonce {
		return authStale
	}
	u.counts[nc] = struct{}{}
	return authOK
}

// namesServer reports whether a digest uri names a server rather than a
// user (no user part): some clients send the address they send to for
// every request instead of its Request-URI (SIPp does, the address of a
// relay such as stunnel when it goes through one). Such credentials are
// good for any request; their nonce count still makes each usable once.
func namesServer(digestURI string) bool {
	var u sip.Uri
	return sip.ParseUri(digestURI, &u) == nil && u.User == "" && u.Host != ""
}

// sameURI reports whether the digest uri names the Request-URI: scheme,
// user, host and port (parameters aside, which clients differ on).
func sameURI(digestURI string, ruri sip.Uri) bool {
	var u sip.Uri
	if err := sip.ParseUri(digestURI, &u); err != nil {
		return false
	}
	port := func(x sip.Uri) int {
		if x.Port != 0 {
			return x.Port
		}
		if x.IsEncrypted() {
			return 5061
		}
		return 5060
	}
	return strings.EqualFold(u.Scheme, ruri.Scheme) && u.User == ruri.User &&
		strings.EqualFold(u.Host, ruri.Host) && port(u) == port(ruri)
}

// authResult is the outcome of checking one request's credentials.
type authResult int

const (
	authMissing  authResult = iota // no credentials for our realm: challenge
	authOK                         // correct
	authStale                      // correct but for an expired nonce: challenge with stale=true
	authWrong                      // wrong password (or garbled response)
	authMismatch                   // credentials for another user than claimed
	authReplay                     // a nonce count used before: challenge afresh, not a wrong password
	authOtherURI                   // the digest uri is not the Request-URI: 400
)

// check verifies the credentials in header ("Authorization" or
// "Proxy-Authorization") of req. lookup returns the password of a user
// name, or false when the user is unknown; extra, when set, the other
// passwords the user may answer with (the gateway's credentials), each
// tried in turn. It returns the result, the user name the credentials are
// for, and whether one of extra's passwords answered (an empty directory
// password never does).
func (a *authenticator) check(req *sip.Request, header string, lookup func(string) (User, bool), extra func(string) []string) (authResult, User, bool) {
	var cred *digest.Credentials
	for _, h := range req.GetHeaders(header) {
		c, err := digest.ParseCredentials(h.Value())
		if err == nil && c.Realm == a.realm {
			cred = c
			break
		}
	}
	if cred == nil {
		return authMissing, User{}, false
	}
	ours, fresh, issued := a.nonceState(cred.Nonce)
	if !ours {
		// A nonce we never issued (a restart, or a guess): ask again.
		return authMissing, User{}, false
	}
	u, ok := lookup(cred.Username)
	if !ok {
		return authMismatch, User{}, false
	}
	if !sameURI(cred.URI, req.Recipient) && !namesServer(cred.URI) {
		return authOtherURI, u, false
	}
	alg := strings.ToUpper(cred.Algorithm)
	if alg == "" {
		alg = "MD5"
	}
	if !slices.Contains(a.algorithms, alg) {
		return authWrong, u, false
	}
	chal := &digest.Challenge{Realm: a.realm, Nonce: cred.Nonce, Algorithm: alg}
	if cred.QOP != "" {
		if cred.QOP != "auth" {
			return authWrong, u, false
		}
		chal.QOP = []string{"auth"}
	}
	// The digest is computed per candidate password: the directory's,
	// then each the gateway issued.
	candidates := []string{u.Password}
	if extra != nil {
		candidates = append(candidates, extra(u.User)...)
	}
	match := -1
	for i, password := range candidates {
		if password == "" {
			continue
		}
		want, err := digest.Digest(chal, digest.Options{
			Method:   string(req.Method),
			URI:      cred.URI,
			Username: cred.Username,
			Password: password,
			Cnonce:   cred.Cnonce,
			Count:    cred.Nc,
		})
		if err == nil && subtle.ConstantTimeCompare([]byte(strings.ToLower(cred.Response)), []byte(want.Response)) == 1 {
			match = i
			break
		}
	}
	if match < 0 {
		return authWrong, u, false
	}
	gateway := match > 0
	if !fresh {
		return authStale, u, gateway
	}
	nc := cred.Nc
	if cred.QOP == "" {
		nc = 0 // no nonce count: the nonce is good once
	}
	return a.use(cred.Nonce, issued, nc), u, gateway
}
