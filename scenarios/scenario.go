// Package scenarios reads scenario files (YAML: phones, steps, expectations)
// and runs them on virtual time against the mock cloud or a real SIP server,
// reporting per step and per scenario for people (a live progress) and for
// CI (JUnit and JSON). New capabilities add steps and conditions here.
package scenarios

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/deskphone/deskphone/backend"
	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/internal/yamlpos"
)

// Scenario is one parsed and validated scenario file.
type Scenario struct {
	File        string
	Name        string
	Description string
	// Start is the instant the virtual clock begins at (Start when
	// zero): a story set on a date, such as the 3PIP end of life.
	Start   time.Time
	Backend Backend
	Phones  []PhoneSpec
	Steps   []Step
}

// Backend says what the phones register to: the embedded mock cloud (the
// default), or an external SIP server.
type Backend struct {
	// Server is an external server (sips:host:port); empty means embedded.
	Server string
	// CA is a root certificate file every phone imports before boot.
	CA string
	// Domain of the accounts on an external server.
	Domain string
	// Users are added to the embedded cloud (besides alice, bob, carol, dave).
	Users []User
	// Provisioning starts a provisioning server beside the embedded
	// cloud's update service: a second update authority.
	Provisioning bool
}

// User is an account on the embedded cloud.
type User struct {
	User, Password, DisplayName, Extension string
}

// PhoneSpec is one phone of a scenario.
type PhoneSpec struct {
	Pos      Pos
	Name     string
	Model    string
	Firmware string
	// User and Password of its account; on the embedded cloud the user
	// defaults to the phone's name and the password to "secret".
	User     string
	Password string
	// State is the phone's state directory; a temporary one by default.
	State string
	// NoAccount boots the phone without an account.
	NoAccount bool
	// SRTP (mandatory, optional, off), Codecs (the policy's list) and
	// Audio (tone:HZ, wav:FILE, silence, echo) set up its media.
	SRTP, Codecs, Audio string
	// SignIn: the phone signs in with the cloud's identity provider rather
	// than a password; "yes" boots signed out, "web" or "pc" starts that
	// sign-in at boot.
	SignIn string
	// Group is the name of the entry with count: the phone came from;
	// its members are named GROUP[n], from 1.
	Group string
	// Provisioning is the phone's provisioning server: a URL, or a
	// region path (/emea, /noam, /apac, optionally /tenantid/GUID) of
	// the embedded cloud's Teams SIP Gateway. A gateway's onboards the
	// phone, whose SIP server and account then come from the gateway.
	Provisioning string
	// MAC is the phone's MAC address (a group's first member's; the next
	// members count up from it); "" draws one.
	MAC string
}

// Step is one thing the runner does.
type Step struct {
	Pos     Pos
	Action  string // one of actions: a driver verb or a runner step
	Phone   string
	Arg     string
	Cond    Condition
	Timeout time.Duration
	Steps   []Step // parallel, repeat
	Times   int    // repeat
	Backend BackendAction
	Policy  *PolicyChange // policy
	// Count is what expect_count checks, with Cond.
	Count *CountCheck
	// ExpectError, when set, says the action must be refused with an
	// error containing it: the step passes on that refusal only.
	ExpectError string
	// Group names the group a parallel step runs one step on each
	// member of (phone: NAME[*]); it reports as one step.
	Group string
}

// CountCheck bounds how many phones of a group meet a condition.
type CountCheck struct {
	Group   string
	AtLeast int
	AtMost  int // -1: no bound
}

// PolicyChange is a policy step: fields of the tenant's in-band policy
// (User empty) or of one user's, set at the embedded cloud.
type PolicyChange struct {
	// Tenant is the tenant named, if any: the embedded cloud's domain.
	Tenant string
	User   string
	Set    map[string]string
}

// describe says whose policy changes and every field set, in order.
func (c *PolicyChange) describe() string {
	whose := "of the tenant"
	switch {
	case c.User != "":
		whose = "of user " + c.User
	case c.Tenant != "":
		whose = "of tenant " + c.Tenant
	}
	fields := make([]string, 0, len(c.Set))
	for k := range c.Set {
		fields = append(fields, k)
	}
	sort.Strings(fields)
	for i, k := range fields {
		v := c.Set[k]
		if v == "" {
			v = `"" (back to the level above)`
		}
		fields[i] = k + "=" + v
	}
	return whose + ": " + strings.Join(fields, ", ")
}

// BackendAction is what a backend step does to the embedded cloud: an
// action of the cloud's table (backend.Actions) by its step key, or a
// command of an update authority (firmware, provisioning).
type BackendAction struct {
	// Key is the step's key: add_user, rotate, firmware...
	Key string
	// Value is its value; User, add_user's user.
	Value string
	User  *User
}

// Condition is what wait and expect check on a phone: the driver's
// condition, so a scenario and the headless protocol mean the same.
type Condition = driver.Cond

// ToneTolerance is how far a heard tone may be from the one expected.
const ToneTolerance = driver.ToneTolerance

// Pos is a place in a scenario file.
type Pos = yamlpos.Pos

// Describe is the step as a progress line shows it, with the refusal it
// expects.
func (s Step) Describe() string {
	d := s.describe()
	if s.ExpectError != "" {
		d += fmt.Sprintf(" (expect error %q)", s.ExpectError)
	}
	return d
}

func (s Step) describe() string {
	who := ""
	if s.Phone != "" {
		who = s.Phone + ": "
	}
	if v := stepVerb(s.Action); v != nil && (v.Step == driver.StepWait || v.Step == driver.StepCheck) {
		return who + s.Action + " " + s.Cond.String()
	}
	switch s.Action {
	case "expect_count":
		d := fmt.Sprintf("expect_count %s: %s at least %d", s.Count.Group, s.Cond.String(), s.Count.AtLeast)
		if s.Count.AtMost >= 0 {
			d += fmt.Sprintf(", at most %d", s.Count.AtMost)
		}
		return d
	case "parallel":
		if s.Group != "" && len(s.Steps) > 0 {
			one := s.Steps[0]
			one.Phone = ""
			return fmt.Sprintf("%s[*] (%d phones): %s", s.Group, len(s.Steps), one.Describe())
		}
		return fmt.Sprintf("parallel (%d steps)", len(s.Steps))
	case "repeat":
		return fmt.Sprintf("repeat %d× (%d steps)", s.Times, len(s.Steps))
	case "backend":
		if s.Backend.User != nil {
			return "backend: add user " + s.Backend.User.User
		}
		if a, ok := backend.StepAction(s.Backend.Key); ok {
			return "backend: " + fmt.Sprintf(a.Describe, s.Backend.Value)
		}
		return "backend: " + s.Backend.Key + " " + s.Backend.Value
	case "power":
		return who + "power " + s.Arg
	case "policy":
		if c := s.Policy; c != nil {
			return "policy " + c.describe()
		}
	case "browser_signin":
		// USER PASSWORD [allow|deny]; the password stays out of reports.
		if f := strings.Fields(s.Arg); len(f) >= 2 {
			d := "allow"
			if len(f) == 3 {
				d = f[2]
			}
			return who + "browser sign-in as " + f[0] + ", " + d
		}
	case "signin":
		// The password stays out of reports.
		if f := strings.Fields(s.Arg); len(f) == 3 {
			return who + "signin " + f[0] + " " + f[1] + " ***"
		}
	}
	if s.Arg == "" {
		return who + s.Action
	}
	return who + s.Action + " " + s.Arg
}
