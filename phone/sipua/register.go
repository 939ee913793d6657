package sipua

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// authState remembers the last challenge so refreshes reuse its nonce with a
// growing nonce count instead of taking a 401 every time.
type authState struct {
	header string // "Authorization" or "Proxy-Authorization"
	chal   *digest.Challenge
	count  int
	// bearer: the server challenged with Bearer and we answer with the
	// access token rather than a digest.
	bearer bool
}

// SetBearer replaces the access token the UA answers Bearer challenges
// with (after a refresh); "" leaves digest alone.
func (u *UA) SetBearer(token string) {
	u.mu.Lock()
	u.cfg.Bearer = token
	u.mu.Unlock()
}

// bearerChallenge returns the error_description of a Bearer challenge in
// res and whether res offers Bearer at all.
func bearerChallenge(res *sip.Response) (tokenError string, ok bool) {
	for _, name := range []string{"WWW-Authenticate", "Proxy-Authenticate"} {
		for _, h := range res.GetHeaders(name) {
			scheme, params, _ := strings.Cut(strings.TrimSpace(h.Value()), " ")
			if !strings.EqualFold(scheme, "Bearer") {
				continue
			}
			ok = true
			if i := strings.Index(params, "error_description="); i >= 0 {
				v := params[i+len("error_description="):]
				if q, err := strconv.QuotedPrefix(v); err == nil {
					v, _ = strconv.Unquote(q)
				}
				tokenError = v
			}
		}
	}
	return tokenError, ok
}

// flowTimer reads a REGISTER response's Flow-Timer header (RFC 5626
// section 10.2, whole seconds); zero when absent or not a positive number.
func flowTimer(res *sip.Response) time.Duration {
	h := res.GetHeader("Flow-Timer")
	if h == nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(h.Value()))
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

// requestTimeout bounds one request with its authentication round trip.
const requestTimeout = 32 * time.Second

// Register sends a REGISTER for expires (a refresh when already
// registered) and reports Registered or RegisterFailed.
func (u *UA) Register(expires time.Duration) {
	u.request(func(ctx context.Context) {
		res, err := u.register(ctx, expires)
		if u.ctx.Err() != nil {
			return
		}
		switch {
		case err != nil:
			u.emit(RegisterFailed{Err: err})
		case res.StatusCode == 200:
			granted := grantedExpires(res, u.contactHeader(), expires)
			if granted <= 0 && expires > 0 {
				u.emit(RegisterFailed{Err: ErrNoBinding})
				return
			}
			u.emit(Registered{Expires: granted, TLSVersion: u.TLSVersion(), FlowTimer: flowTimer(res)})
		default:
			ev := RegisterFailed{Code: res.StatusCode, Reason: res.Reason}
			if u.bearerMode() && (res.StatusCode == 401 || res.StatusCode == 407) {
				ev.TokenError, _ = bearerChallenge(res)
				if ev.TokenError == "" {
					ev.TokenError = "token refused"
				}
			}
			u.emit(ev)
		}
	})
}

// Unregister removes the registration (Expires: 0) and waits for the answer,
// at most until ctx ends.
func (u *UA) Unregister(ctx context.Context) error {
	res, err := u.register(ctx, 0)
	if err != nil {
		return err
	}
	if res.StatusCode != 200 {
		return &StatusError{Method: "unregister", Code: res.StatusCode, Reason: res.Reason}
	}
	return nil
}

func (u *UA) register(ctx context.Context, expires time.Duration) (*sip.Response, error) {
	registrar := u.aor()
	registrar.User = ""
	req := u.newRequest(sip.REGISTER, registrar)
	to := req.To()
	to.Address = u.aor()
	from := req.From()
	from.Address = u.aor()
	u.mu.Lock()
	if u.callID == "" {
		u.callID = sip.GenerateTagN(24)
	}
	u.regSeq++
	callID, seq := sip.CallIDHeader(u.callID), u.regSeq
	u.mu.Unlock()
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: sip.REGISTER})
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	req.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, REFER, NOTIFY, OPTIONS"))
	if err := u.connect(ctx, req); err != nil {
		return nil, err
	}
	req.ReplaceHeader(u.contactHeader())
	res, err := u.doAuth(ctx, req)
	if errors.Is(err, sip.ErrTransactionTransport) {
		// The connection was up (connect succeeded): the server sent
		// what sipgo could not parse, and it dropped the connection, or
		// closed it without a word.
		return nil, fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	return res, err
}

// doAuth sends req, answering 401/407 challenges with digest credentials.
// Credentials go out once per challenge: a challenge marked stale=true is
// answered again, but a fresh challenge after our credentials means they
// were wrong, and asking again would only count more failures against the
// account (a server may lock it out). A request that fails authentication
// forgets the challenge, so the next attempt starts afresh.
func (u *UA) doAuth(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	u.applyAuth(req)
	res, err := u.authLoop(ctx, req)
	if err != nil || res.StatusCode == 401 || res.StatusCode == 407 || res.StatusCode == 403 {
		u.mu.Lock()
		u.auth = nil
		u.mu.Unlock()
	}
	return res, err
}

func (u *UA) authLoop(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	// answered: the request carries our answer to a challenge of this
	// exchange, not credentials remembered from an earlier one (whose
	// nonce a restarted server no longer knows).
	answered := false
	for attempt := 0; ; attempt++ {
		res, err := u.client.Do(ctx, req)
		if err != nil {
			return nil, err
		}
		if res.StatusCode != 401 && res.StatusCode != 407 {
			return res, nil
		}
		header := "Authorization"
		if res.StatusCode == 407 {
			header = "Proxy-Authorization"
		}
		u.mu.Lock()
		token := u.cfg.Bearer
		u.mu.Unlock()
		if _, offered := bearerChallenge(res); offered && token != "" {
			// RFC 8898: answer with the access token, once; a second
			// challenge means the token was refused.
			if answered || attempt >= 2 {
				return res, nil
			}
			u.mu.Lock()
			u.auth = &authState{header: header, bearer: true}
			u.mu.Unlock()
		} else {
			chal, err := pickChallenge(res)
			if err != nil {
				return nil, err
			}
			if attempt >= 2 || (answered && !chal.Stale) || u.cfg.Password == "" {
				return res, nil
			}
			u.mu.Lock()
			u.auth = &authState{header: header, chal: chal}
			u.mu.Unlock()
		}
		// A new transaction: new branch, next CSeq.
		req.RemoveHeader("Via")
		if cseq := req.CSeq(); cseq != nil {
			cseq.SeqNo++
			if req.Method == sip.REGISTER {
				u.mu.Lock()
				u.regSeq = cseq.SeqNo
				u.mu.Unlock()
			}
		}
		if err := sipgo.ClientRequestBuild(u.client, req); err != nil {
			return nil, err
		}
		u.applyAuth(req)
		answered = true
	}
}

// applyAuth adds credentials for the remembered challenge, if any.
func (u *UA) applyAuth(req *sip.Request) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.auth != nil && u.auth.bearer && u.cfg.Bearer != "" {
		req.RemoveHeader("Authorization")
		req.RemoveHeader("Proxy-Authorization")
		req.AppendHeader(sip.NewHeader(u.auth.header, "Bearer "+u.cfg.Bearer))
		return
	}
	if u.auth == nil || u.auth.chal == nil || u.cfg.Password == "" {
		return
	}
	u.auth.count++
	cred, err := digest.Digest(u.auth.chal, digest.Options{
		Method:   req.Method.String(),
		URI:      req.Recipient.Addr(),
		Username: u.cfg.User,
		Password: u.cfg.Password,
		Count:    u.auth.count,
	})
	if err != nil {
		return
	}
	req.RemoveHeader("Authorization")
	req.RemoveHeader("Proxy-Authorization")
	req.AppendHeader(sip.NewHeader(u.auth.header, cred.String()))
}

// bearerMode reports whether the UA answers with a bearer token.
func (u *UA) bearerMode() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.cfg.Bearer != ""
}

// pickChallenge chooses the strongest digest challenge offered: SHA-256
// (RFC 8760) before MD5.
func pickChallenge(res *sip.Response) (*digest.Challenge, error) {
	var best *digest.Challenge
	for _, name := range []string{"WWW-Authenticate", "Proxy-Authenticate"} {
		for _, h := range res.GetHeaders(name) {
			chal, err := digest.ParseChallenge(h.Value())
			if err != nil {
				continue
			}
			alg := strings.ToUpper(chal.Algorithm)
			if alg != "" && alg != "MD5" && alg != "SHA-256" {
				continue
			}
			if best == nil || (alg == "SHA-256" && strings.ToUpper(best.Algorithm) != "SHA-256") {
				best = chal
			}
		}
	}
	if best == nil {
		return nil, fmt.Errorf("%d: %w", res.StatusCode, ErrNoChallenge)
	}
	return best, nil
}

// grantedExpires reads the registration time the server granted: the
// expires parameter of our Contact, else the Expires header.
func grantedExpires(res *sip.Response, ours *sip.ContactHeader, asked time.Duration) time.Duration {
	// The 200 lists every binding of the address of record; ours is the
	// one with our contact's host and port, else the first.
	var found *sip.ContactHeader
	for _, h := range res.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok {
			continue
		}
		if found == nil || (c.Address.Host == ours.Address.Host && c.Address.Port == ours.Address.Port) {
			found = c
		}
	}
	if found != nil && found.Params != nil {
		if v, ok := found.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
	}
	return asked
}
