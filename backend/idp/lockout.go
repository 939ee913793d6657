package idp

import (
	"fmt"
	"strings"
	"time"

	"github.com/deskphone/deskphone/internal/lockout"
)

// Smart lockout, as identity providers do it (issue 19, item 6). Wrong
// guesses are budgeted, on the IdP's clock:
//
//   - per client address: CodeGuesses wrong codes or passwords per
//     CodeGuessWindow (the page and the password grant together); the
//     address is turned away, never the account;
//   - per browser session (the page's CSRF cookie): the same budget for
//     wrong codes, so one session cannot spread its guesses over many
//     addresses;
//   - per account: AccountFailures wrong passwords per AccountWindow from
//     anywhere; past it, the account's sign-ins from addresses it has not
//     signed in from (within FamiliarFor) get 429 with Retry-After until
//     the window has room, while its familiar addresses go on as before,
//     so a stranger cannot lock its owner out;
//   - in all: GlobalGuesses wrong passwords and GlobalGuesses wrong codes
//     per minute; past it, unfamiliar sign-ins and every code entry wait
//     (a person who has entered their code in a session goes on to the
//     password). With a 20^8 code space and at most MaxDeviceCodes live
//     codes, that bounds a code guesser's odds to a few in a hundred a day.
//
// Refused attempts are not checked, so they tell nothing and count
// nothing. A disabled user's password is not checked either: right and
// wrong get the same answer.

// Defaults of the account and global budgets.
const (
	DefaultAccountFailures = 10
	DefaultAccountWindow   = 15 * time.Minute
	DefaultGlobalGuesses   = 100
	DefaultFamiliarFor     = 30 * 24 * time.Hour
	// familiarPerUser bounds the addresses remembered per user.
	familiarPerUser = 16
)

// guards are the budgets; guarded by Server.mu.
type guards struct {
	byAddr    lockout.Window   // wrong codes and passwords, by client address
	bySession lockout.Window   // wrong codes, by CSRF cookie
	byAccount lockout.Window   // wrong passwords, by lower-case user name
	passwords lockout.Window   // wrong passwords in all (key "")
	codes     lockout.Window   // wrong codes in all (key "")
	familiar  lockout.Familiar // addresses each user signed in from
}

func newGuards(cfg Config) guards {
	return guards{
		byAddr:    lockout.Window{Max: cfg.CodeGuesses, Per: cfg.CodeGuessWindow},
		bySession: lockout.Window{Max: cfg.CodeGuesses, Per: cfg.CodeGuessWindow},
		byAccount: lockout.Window{Max: cfg.AccountFailures, Per: cfg.AccountWindow},
		passwords: lockout.Window{Max: cfg.GlobalGuesses, Per: time.Minute},
		codes:     lockout.Window{Max: cfg.GlobalGuesses, Per: time.Minute},
		familiar:  lockout.Familiar{Max: familiarPerUser, Per: DefaultFamiliarFor},
	}
}

// refusal says why a guess may not be made now and for how long.
type refusal struct {
	wait time.Duration
	why  string
}

func (r refusal) seconds() int { return int((r.wait + time.Second - 1) / time.Second) }

// codeWait is the wait before a code may be entered from addr in
// session; entered says the session already entered this code, which
// exempts it from the global budget.
func (s *Server) codeWait(addr, session string, entered bool, now time.Time) (refusal, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w := s.guards.byAddr.Wait(addr, now); w > 0 {
		return refusal{w, "too many wrong codes or passwords from this address"}, true
	}
	if w := s.guards.bySession.Wait(session, now); session != "" && w > 0 {
		return refusal{w, "too many wrong codes in this browser session"}, true
	}
	if w := s.guards.codes.Wait("", now); !entered && w > 0 {
		return refusal{w, "too many wrong codes are being entered: the page is slowed down"}, true
	}
	return refusal{}, false
}

// passwordWait is the wait before user's password may be tried from addr.
func (s *Server) passwordWait(user, addr string, now time.Time) (refusal, bool) {
	key := strings.ToLower(user)
	s.mu.Lock()
	defer s.mu.Unlock()
	if w := s.guards.byAddr.Wait(addr, now); w > 0 {
		return refusal{w, "too many wrong passwords or codes from this address"}, true
	}
	if s.guards.familiar.Known(key, addr, now) {
		return refusal{}, false
	}
	if w := s.guards.byAccount.Wait(key, now); w > 0 {
		return refusal{w, "too many wrong passwords for this account from unfamiliar places"}, true
	}
	if w := s.guards.passwords.Wait("", now); w > 0 {
		return refusal{w, "too many wrong passwords are being tried: sign-in from unfamiliar places is slowed down"}, true
	}
	return refusal{}, false
}

// wrongCode counts a wrong code.
func (s *Server) wrongCode(addr, session string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.guards.byAddr.Add(addr, now)
	if session != "" {
		s.guards.bySession.Add(session, now)
	}
	s.guards.codes.Add("", now)
	s.log.Info("idp wrong code", "from", addr, "recent", s.guards.byAddr.Count(addr, now))
}

// wrongPassword counts a wrong password for user.
func (s *Server) wrongPassword(user, addr string, now time.Time) {
	key := strings.ToLower(user)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.guards.byAddr.Add(addr, now)
	s.guards.byAccount.Add(key, now)
	s.guards.passwords.Add("", now)
	s.log.Info("idp wrong password", "user", user, "from", addr, "recent", s.guards.byAddr.Count(addr, now))
}

// signedIn remembers addr as familiar to user.
func (s *Server) signedIn(user, addr string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.guards.familiar.Add(strings.ToLower(user), addr, now)
}

func (r refusal) Error() string {
	return fmt.Sprintf("%s: try again in %d s", r.why, r.seconds())
}
