package backend

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/deskphone/deskphone/clock"
)

// Registration is one contact binding in the location service.
type Registration struct {
	AOR       string    `json:"aor"`       // user name
	Contact   string    `json:"contact"`   // the Contact URI the phone registered
	Transport string    `json:"transport"` // "TLS", "TCP" or "UDP"
	Source    string    `json:"source"`    // host:port the REGISTER came from: the flow requests go back on
	Expires   time.Time `json:"expires"`   // on the backend's clock
	UserAgent string    `json:"user_agent,omitempty"`
}

// binding is a Registration with its expiry timer. Guarded by Backend.mu.
type binding struct {
	Registration
	key     string     // +sip.instance when the phone sends one, else the contact URI
	contact contactKey // the contact as bindingForContact matches it
	timer   clock.Timer
	gen     int // bumped on refresh so a stale timer does nothing
	// gateway: registered with a credential the Teams SIP Gateway issued
	// (gateway_sip.go), which may dial feature codes.
	gateway bool
}

func (bd *binding) stop() {
	if bd.timer != nil {
		bd.timer.Stop()
	}
}

// flow is the path back to a phone: phones behind TLS or TCP do not
// listen, so requests for them go over the connection they registered on,
// found by its remote address.
type flow struct {
	transport string // "TLS", "TCP", "UDP"
	addr      string // the phone's address as seen by us
}

func flowOf(m sip.Message) flow {
	return flow{transport: strings.ToUpper(m.Transport()), addr: m.Source()}
}

func (bd *binding) flow() flow { return flow{transport: bd.Transport, addr: bd.Source} }

// Registrations returns every live binding, sorted by AOR then contact.
func (b *Backend) Registrations() []Registration {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Registration
	for _, list := range b.bindings {
		for _, bd := range list {
			out = append(out, bd.Registration)
		}
	}
	slices.SortFunc(out, func(x, y Registration) int {
		if c := strings.Compare(x.AOR, y.AOR); c != 0 {
			return c
		}
		return strings.Compare(x.Contact, y.Contact)
	})
	return out
}

// contactsOf returns the live bindings of user (name, lower-cased).
func (b *Backend) contactsOf(user string) []*binding {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.bindings[strings.ToLower(user)])
}

// userOnFlow returns the user registered over f, if any. A request that
// arrives over a flow a user authenticated on is trusted to be that user.
func (b *Backend) userOnFlow(f flow) (User, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if list := b.byFlow[f]; len(list) > 0 {
		if u, ok := b.users.lookup(list[0].AOR); ok {
			return u, true
		}
		if list[0].gateway {
			// A gateway device's own account is in no directory.
			return User{User: list[0].AOR, DisplayName: list[0].AOR}, true
		}
	}
	return User{}, false
}

// contactKey is what bindingForContact matches a request URI on.
type contactKey struct {
	user, host string // host lower-case
	port       uint16
}

func contactKeyOf(u sip.Uri) contactKey {
	return contactKey{user: u.User, host: strings.ToLower(u.Host), port: uint16(u.Port)}
}

// index and unindex keep byFlow and byContact in step with the bindings,
// so that finding the user on a flow, or the binding of a contact, does
// not scan ten thousand registrations for every request. Called with b.mu
// held when a binding comes, goes, or changes.
func (b *Backend) index(bd *binding) {
	f := bd.flow()
	b.byFlow[f] = append(b.byFlow[f], bd)
	var c sip.Uri
	bd.contact = contactKey{}
	if sip.ParseUri(bd.Contact, &c) == nil {
		bd.contact = contactKeyOf(c)
		b.byContact[bd.contact] = append(b.byContact[bd.contact], bd)
	}
}

func (b *Backend) unindex(bd *binding) {
	dropFrom(b.byFlow, bd.flow(), bd)
	dropFrom(b.byContact, bd.contact, bd)
}

func dropFrom[K comparable](m map[K][]*binding, k K, bd *binding) {
	list := m[k]
	if i := slices.Index(list, bd); i >= 0 {
		list = slices.Delete(list, i, i+1)
	}
	if len(list) == 0 {
		delete(m, k)
		return
	}
	m[k] = list
}

// register is the registrar (RFC 3261 §10.3).
func (b *Backend) register(req *sip.Request, tx sip.ServerTransaction) {
	to := req.To()
	if to == nil {
		b.reply(req, tx, sip.StatusBadRequest, "Missing To")
		return
	}
	aor := to.Address.User
	if _, ok := lookupService(aor); ok {
		b.reply(req, tx, sip.StatusForbidden, "Service users cannot register")
		return
	}
	user, ok := b.lookupAccount(aor)
	if !ok {
		// Unknown users get 404 before any challenge: this is a lab, and
		// telling a typo from a wrong password helps more than hiding
		// which users exist.
		b.reply(req, tx, sip.StatusNotFound, "Not Found")
		return
	}
	_, how, ok := b.authenticateHow(req, tx, &user, false)
	if !ok {
		return
	}
	// After the cut-off the Skype for Business service serves no phone:
	// a password or a token of its sign-in alike; only the gateway's
	// credentials register.
	if how != authByGateway && b.refuse3PIP(req, tx) {
		return
	}

	contacts, wildcard, expires, err := registerContacts(req)
	if err != nil {
		b.reply(req, tx, sip.StatusBadRequest, err.Error())
		return
	}
	if wildcard && (expires != 0 || len(contacts) > 0) {
		b.reply(req, tx, sip.StatusBadRequest, "Contact * needs Expires: 0 and no other contact")
		return
	}
	for _, c := range contacts {
		if e := contactExpires(c, expires); e > 0 && e < MinExpires {
			res := sip.NewResponseFromRequest(req, sip.StatusIntervalToBrief, "Interval Too Brief", nil)
			res.AppendHeader(sip.NewHeader("Min-Expires", strconv.Itoa(int(MinExpires/time.Second))))
			b.respond(tx, res)
			return
		}
	}

	f := flowOf(req)
	userAgent := ""
	if h := req.GetHeader("User-Agent"); h != nil {
		userAgent = h.Value()
	}
	now := b.clock.Now()
	b.mu.Lock()
	key := strings.ToLower(user.User)
	if wildcard {
		for _, bd := range b.bindings[key] {
			bd.stop()
			b.unindex(bd)
		}
		delete(b.bindings, key)
	}
	for _, c := range contacts {
		e := min(contactExpires(c, expires), MaxExpires)
		bkey := bindingKey(c)
		i := slices.IndexFunc(b.bindings[key], func(bd *binding) bool { return bd.key == bkey })
		if e == 0 {
			if i >= 0 {
				b.bindings[key][i].stop()
				b.unindex(b.bindings[key][i])
				b.bindings[key] = slices.Delete(b.bindings[key], i, i+1)
			}
			continue
		}
		var bd *binding
		if i >= 0 {
			bd = b.bindings[key][i]
			b.unindex(bd)
		} else {
			bd = &binding{key: bkey}
			b.bindings[key] = append(b.bindings[key], bd)
		}
		bd.gateway = how == authByGateway
		bd.Registration = Registration{
			AOR:       user.User,
			Contact:   c.Address.String(),
			Transport: f.transport,
			Source:    f.addr,
			Expires:   now.Add(e),
			UserAgent: userAgent,
		}
		b.index(bd)
		b.scheduleExpiry(key, bd, e)
	}
	if len(b.bindings[key]) == 0 {
		delete(b.bindings, key)
	}
	current := slices.Clone(b.bindings[key])
	b.mu.Unlock()

	if how == authByGateway {
		if gw := b.gateway(); gw != nil {
			gw.Seen(user.User)
		}
	}
	b.log.Info("register", "user", user.User, "contacts", len(current), "flow", f.transport+" "+f.addr)
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	for _, bd := range current {
		left := max(int(bd.Expires.Sub(now)/time.Second), 0)
		res.AppendHeader(sip.NewHeader("Contact", "<"+bd.Contact+">;expires="+strconv.Itoa(left)))
	}
	if s := int(b.cfg.FlowTimer / time.Second); s > 0 && len(current) > 0 {
		res.AppendHeader(sip.NewHeader("Flow-Timer", strconv.Itoa(s)))
	}
	res.AppendHeader(sip.NewHeader("Date", now.UTC().Format(http.TimeFormat)))
	b.respond(tx, res)
}

// scheduleExpiry (re)arms bd's timer on the backend's clock. Called with
// b.mu held.
func (b *Backend) scheduleExpiry(key string, bd *binding, d time.Duration) {
	bd.stop()
	bd.gen++
	gen := bd.gen
	bd.timer = b.clock.AfterFunc(d, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.state == lifecycleClosed || bd.gen != gen {
			return
		}
		list := b.bindings[key]
		if i := slices.Index(list, bd); i >= 0 {
			b.unindex(bd)
			b.bindings[key] = slices.Delete(list, i, i+1)
			if len(b.bindings[key]) == 0 {
				delete(b.bindings, key)
			}
			b.log.Info("registration expired", "user", bd.AOR, "contact", bd.Contact)
		}
	})
}

// registerContacts returns the Contact headers of a REGISTER, whether one
// is the wildcard, and the Expires header (-1 when absent).
func registerContacts(req *sip.Request) (contacts []*sip.ContactHeader, wildcard bool, expires time.Duration, err error) {
	expires = -1
	if h := req.GetHeader("Expires"); h != nil {
		n, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
		if err != nil {
			return nil, false, 0, fmt.Errorf("bad Expires %q", h.Value())
		}
		expires = time.Duration(n) * time.Second
	}
	for _, h := range req.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok {
			return nil, false, 0, fmt.Errorf("bad Contact %q", h.Value())
		}
		if c.Address.Wildcard {
			wildcard = true
			continue
		}
		if c.Address.Host == "" {
			return nil, false, 0, fmt.Errorf("bad Contact %q", h.Value())
		}
		if v, ok := c.Params.Get("expires"); ok {
			if _, err := strconv.ParseUint(v, 10, 32); err != nil {
				return nil, false, 0, fmt.Errorf("bad expires parameter %q", v)
			}
		}
		contacts = append(contacts, c)
	}
	return contacts, wildcard, expires, nil
}

// contactExpires is the lifetime a contact asks for: its expires
// parameter, else the Expires header, else DefaultExpires.
func contactExpires(c *sip.ContactHeader, header time.Duration) time.Duration {
	if v, ok := c.Params.Get("expires"); ok {
		n, _ := strconv.ParseUint(v, 10, 32) // validated by registerContacts
		return time.Duration(n) * time.Second
	}
	if header >= 0 {
		return header
	}
	return DefaultExpires
}

// bindingKey identifies a contact across re-registrations: the RFC 5626
// instance id when present, else the URI.
func bindingKey(c *sip.ContactHeader) string {
	if inst, ok := c.Params.Get("+sip.instance"); ok && inst != "" {
		return "instance:" + inst
	}
	return "uri:" + c.Address.String()
}

// authenticate runs digest or, for Bearer credentials, token
// authentication (RFC 8898, signin.go) of req: 401 (or 407 when proxy)
// challenges, a Bearer challenge beside the digest ones on 401 when the
// IdP is reachable, stale=true for old nonces, 403 for credentials of
// another user than want (nil: any user will do), and 403
// LockedOutReason for AuthLockout after MaxAuthFailures wrong passwords in
// a row. It returns the authenticated
// user, or false after responding.
func (b *Backend) authenticate(req *sip.Request, tx sip.ServerTransaction, want *User, proxy bool) (User, bool) {
	u, _, ok := b.authenticateHow(req, tx, want, proxy)
	return u, ok
}

// authMethod is what authenticated a request.
type authMethod int

const (
	authByPassword authMethod = iota // digest with the directory's password
	authByGateway                    // digest with a credential the gateway issued
	authByBearer                     // an access token of our IdP (RFC 8898)
)

// authenticateHow is authenticate, saying how the user authenticated.
func (b *Backend) authenticateHow(req *sip.Request, tx sip.ServerTransaction, want *User, proxy bool) (User, authMethod, bool) {
	header, challenge, code, reason := "Authorization", "WWW-Authenticate", sip.StatusUnauthorized, "Unauthorized"
	if proxy {
		header, challenge, code, reason = "Proxy-Authorization", "Proxy-Authenticate", sip.StatusProxyAuthRequired, "Proxy Authentication Required"
	}
	if raw, ok := bearerToken(req, header); ok {
		u, ok := b.authenticateBearer(req, tx, raw, want, proxy)
		return u, authByBearer, ok
	}
	result, user, viaGateway := b.auth.check(req, header, b.lookupAccount, b.gatewayCredentials)
	how := authByPassword
	if viaGateway {
		how = authByGateway
	}
	if want != nil && result != authMissing && result != authMismatch && !strings.EqualFold(user.User, want.User) {
		result = authMismatch
	}
	key := strings.ToLower(user.User)
	src := sourceHost(req)
	lockKey := key + " " + src
	if result == authOK || result == authWrong || result == authStale {
		if b.isLockedOut(lockKey) {
			b.log.Warn("authentication from a locked-out source", "user", user.User, "source", req.Source())
			b.reply(req, tx, sip.StatusForbidden, LockedOutReason)
			return User{}, how, false
		}
		if b.accountSlowed(key, src) {
			b.log.Warn("authentication from an unfamiliar source while the user's failure budget is spent", "user", user.User, "source", req.Source())
			b.reply(req, tx, sip.StatusForbidden, LockedOutReason)
			return User{}, how, false
		}
	}
	if result == authOK {
		b.mu.Lock()
		b.failures.Reset(lockKey)
		b.familiar.Add(key, src, b.clock.Now())
		b.mu.Unlock()
		return user, how, true
	}
	stale := false
	switch result {
	case authMismatch:
		b.log.Warn("credentials for another or unknown user", "source", req.Source())
		b.reply(req, tx, sip.StatusForbidden, "Forbidden")
		return User{}, how, false
	case authOtherURI:
		// RFC 2617 §3.2.2.5. Neither this nor a replay counts as a wrong
		// password: whoever captured a request could lock its user out.
		b.log.Warn("credentials for another Request-URI", "user", user.User, "source", req.Source())
		b.reply(req, tx, sip.StatusBadRequest, "Bad Request: digest uri is not the Request-URI")
		return User{}, how, false
	case authReplay:
		b.log.Warn("replayed credentials", "user", user.User, "source", req.Source())
	case authStale:
		stale = true
	case authWrong:
		now := b.clock.Now()
		b.mu.Lock()
		b.failures.Add(lockKey, now)
		b.acctFails.Add(key, now)
		n := b.failures.Count(lockKey, now)
		if n >= MaxAuthFailures {
			b.failures.Reset(lockKey)
			b.sweepLockoutsLocked(now)
			b.lockedOut[lockKey] = now.Add(AuthLockout)
		}
		b.mu.Unlock()
		b.log.Warn("wrong password", "user", user.User, "attempt", n, "source", req.Source())
		if n >= MaxAuthFailures {
			b.log.Warn("user locked out", "user", user.User, "for", AuthLockout)
			b.reply(req, tx, sip.StatusForbidden, LockedOutReason)
			return User{}, how, false
		}
	}
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range b.auth.challenges(challenge, stale) {
		res.AppendHeader(h)
	}
	// RFC 8898 beside digest, last: clients that read only the first
	// challenge, or know only digest, still find theirs.
	if !proxy {
		if h := b.bearerChallenge(challenge, ""); h != nil {
			res.AppendHeader(h)
		}
	}
	b.respond(tx, res)
	return User{}, how, false
}

// sourceHost is the address a request came from, without its port.
func sourceHost(req *sip.Request) string {
	host, _, err := net.SplitHostPort(req.Source())
	if err != nil {
		return req.Source()
	}
	return host
}

// accountSlowed reports whether the user's failure budget is spent and
// src is not one the user registered from.
func (b *Backend) accountSlowed(key, src string) bool {
	now := b.clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.familiar.Known(key, src, now) && b.acctFails.Wait(key, now) > 0
}

// sweepLockoutsLocked forgets lockouts that have run out once many are
// held, so that guesses from many sources do not pile up. Called with
// b.mu held.
func (b *Backend) sweepLockoutsLocked(now time.Time) {
	if len(b.lockedOut) < 1024 {
		return
	}
	for k, until := range b.lockedOut {
		if !now.Before(until) {
			delete(b.lockedOut, k)
		}
	}
}

// isLockedOut reports whether a user and source are locked out after too
// many wrong passwords, forgetting a lockout that has run out.
func (b *Backend) isLockedOut(key string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	until, ok := b.lockedOut[key]
	if !ok {
		return false
	}
	if !b.clock.Now().Before(until) {
		delete(b.lockedOut, key)
		return false
	}
	return true
}

// reply sends a response without body.
func (b *Backend) reply(req *sip.Request, tx sip.ServerTransaction, code int, reason string) {
	b.respond(tx, sip.NewResponseFromRequest(req, code, reason, nil))
}

func (b *Backend) respond(tx sip.ServerTransaction, res *sip.Response) {
	if err := tx.Respond(res); err != nil {
		b.log.Debug("respond failed", "status", res.StatusCode, "error", err)
	}
}
