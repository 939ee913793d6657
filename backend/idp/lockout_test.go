package idp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// pageFrom is a browser at 127.0.0.n with jar as its cookies.
func pageFrom(n int, jar http.CookieJar) *http.Client {
	c := clientFrom(n)
	c.Jar = jar
	return c
}

func passwordFrom(t *testing.T, e *env, n int, user, password string) (int, string) {
	t.Helper()
	st, _, retry := postFrom(t, clientFrom(n), e.s.TokenURL(), url.Values{"client_id": {PolyClientID},
		"grant_type": {GrantPassword}, "username": {user}, "password": {password}, "scope": {"sip"}})
	return st, retry
}

// The probe of issue 19, item 6: 300 source addresses × 4 tries made
// 1,200 password guesses. Now an account takes AccountFailures wrong
// passwords from unfamiliar addresses per window, then those get 429 with
// Retry-After, unchecked; its owner's familiar address signs in all the
// while, and a new address of the owner's once the window has room. The
// stranger locks out nobody but their own addresses.
func TestPasswordSprayFromManyAddresses(t *testing.T) {
	e := newEnv(t, nil)
	if st, _ := passwordFrom(t, e, 1, "alice", "secret"); st != http.StatusOK {
		t.Fatalf("alice's own sign-in: %d", st)
	}
	checked, limited := 0, 0
	for a := 10; a < 10+60; a++ { // 60 addresses × 4 tries
		for i := range 4 {
			switch st, retry := passwordFrom(t, e, a, "alice", fmt.Sprint("guess", a, i)); {
			case st == http.StatusBadRequest:
				checked++
			case st == http.StatusTooManyRequests && retry != "":
				limited++
			default:
				t.Fatalf("guess from 127.0.0.%d: %d (Retry-After %q)", a, st, retry)
			}
		}
	}
	if checked != DefaultAccountFailures || limited != 240-DefaultAccountFailures {
		t.Fatalf("%d guesses checked and %d limited, want %d checked", checked, limited, DefaultAccountFailures)
	}
	if st, _ := passwordFrom(t, e, 1, "alice", "secret"); st != http.StatusOK {
		t.Fatalf("alice from her familiar address during the spray: %d", st)
	}
	if st, _ := passwordFrom(t, e, 200, "alice", "secret"); st != http.StatusTooManyRequests {
		t.Fatalf("alice from a new address during the spray: %d, want 429", st)
	}
	if st, _ := passwordFrom(t, e, 201, "bob", "hunter2"); st != http.StatusOK {
		t.Fatalf("another account: %d", st)
	}
	e.clk.Advance(DefaultAccountWindow)
	if st, _ := passwordFrom(t, e, 200, "alice", "secret"); st != http.StatusOK {
		t.Fatalf("alice from a new address after the window: %d", st)
	}
}

// A spray over many accounts meets the global budget: past
// GlobalGuesses wrong passwords a minute, unfamiliar sign-ins wait.
func TestPasswordSprayGlobalBudget(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.GlobalGuesses = 20 })
	if st, _ := passwordFrom(t, e, 1, "bob", "hunter2"); st != http.StatusOK {
		t.Fatal("bob's own sign-in")
	}
	checked := 0
	for a := 10; a < 10+40; a++ {
		if st, _ := passwordFrom(t, e, a, fmt.Sprint("user", a), "guess"); st == http.StatusBadRequest {
			checked++
		}
	}
	if checked != 20 {
		t.Fatalf("%d guesses checked, want the global budget of 20", checked)
	}
	if st, _ := passwordFrom(t, e, 1, "bob", "hunter2"); st != http.StatusOK {
		t.Fatalf("bob from his familiar address: %d", st)
	}
	if st, _ := passwordFrom(t, e, 99, "alice", "secret"); st != http.StatusTooManyRequests {
		t.Fatalf("alice from an unfamiliar address: %d, want 429", st)
	}
	e.clk.Advance(time.Minute)
	if st, _ := passwordFrom(t, e, 99, "alice", "secret"); st != http.StatusOK {
		t.Fatalf("after a minute: %d", st)
	}
}

// enterCode opens the page with client c and enters code; it returns
// the page kind.
func enterCode(t *testing.T, e *env, c *http.Client, code string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kind, body, err := fetch(ctx, c, http.MethodGet, e.s.VerificationURI(), nil)
	if err != nil || kind != PageCode {
		t.Fatalf("open the page: %q %v", kind, err)
	}
	kind, _, err = fetch(ctx, c, http.MethodPost, e.s.VerificationURI(), url.Values{
		"csrf": {hiddenValue(body, "csrf")}, "step": {PageCode}, "code": {code}})
	if err != nil {
		t.Fatal(err)
	}
	return kind
}

// The probe of issue 19, item 6 on the page: 2,000 user-code guesses with
// one CSRF cookie from many addresses. The session's budget stops them,
// and many sessions from many addresses meet the global budget, while a
// person who entered their code goes on to sign in.
func TestCodeGuessesBudgets(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.GlobalGuesses = 30 })
	jar := newJar(t)
	counts := map[string]int{}
	for a := 10; a < 10+20; a++ { // one session, 20 addresses × 2
		for range 2 {
			counts[enterCode(t, e, pageFrom(a, jar), "BCDF-GHJK")]++
		}
	}
	if counts[PageUnknown] != DefaultCodeGuesses || counts[PageLimited] != 40-DefaultCodeGuesses {
		t.Fatalf("one session from many addresses: %v, want %d checked", counts, DefaultCodeGuesses)
	}
	// A person enters their code before the next flood.
	mine := e.deviceCode(PolyClientID).str("user_code")
	person := pageFrom(1, newJar(t))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kind, body, err := fetch(ctx, person, http.MethodGet, e.s.VerificationURI(), nil)
	if err != nil || kind != PageCode {
		t.Fatal(kind, err)
	}
	kind, body, err = fetch(ctx, person, http.MethodPost, e.s.VerificationURI(), url.Values{
		"csrf": {hiddenValue(body, "csrf")}, "step": {PageCode}, "code": {mine}})
	if err != nil || kind != PageSignIn {
		t.Fatal(kind, err)
	}
	// Fresh sessions from fresh addresses: the global budget.
	counts = map[string]int{}
	for a := 40; a < 40+60; a++ {
		counts[enterCode(t, e, pageFrom(a, newJar(t)), "BCDF-GHJK")]++
	}
	if counts[PageUnknown] != 30-DefaultCodeGuesses || counts[PageLimited] != 60-(30-DefaultCodeGuesses) {
		t.Fatalf("many sessions: %v, want %d checked", counts, 30-DefaultCodeGuesses)
	}
	if k := enterCode(t, e, pageFrom(120, newJar(t)), mine); k != PageLimited {
		t.Fatalf("a new session while the page is slowed: %q", k)
	}
	kind, _, err = fetch(ctx, person, http.MethodPost, e.s.VerificationURI(), url.Values{
		"csrf": {hiddenValue(body, "csrf")}, "step": {PageSignIn}, "code": {hiddenValue(body, "code")},
		"username": {"alice"}, "password": {"secret"}, "action": {"continue"}})
	if err != nil || kind != PageDone {
		t.Fatalf("the person who entered their code: %q %v", kind, err)
	}
}

// A disabled user's right and wrong passwords get the same answer, and
// neither is checked.
func TestDisabledUserSameAnswer(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.s.SetUserDisabled("alice", true); err != nil {
		t.Fatal(err)
	}
	right, wrong := e.password(PolyClientID, "alice", "secret"), e.password(PolyClientID, "alice", "nope")
	if right.status != wrong.status || fmt.Sprint(right.body) != fmt.Sprint(wrong.body) {
		t.Fatalf("right %d %v, wrong %d %v", right.status, right.body, wrong.status, wrong.body)
	}
	for _, pw := range []string{"secret", "nope"} {
		code := e.deviceCode(PolyClientID).str("user_code")
		if err := e.approve(code, "alice", pw, true); err == nil || !strings.Contains(err.Error(), PageDisabled) {
			t.Fatalf("page with %q: %v", pw, err)
		}
	}
}
