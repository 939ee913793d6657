package scenarios

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/deskphone/deskphone/backend"
	"github.com/deskphone/deskphone/codecs"
	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/internal/gwurl"
	"github.com/deskphone/deskphone/internal/numbered"
	"github.com/deskphone/deskphone/internal/yamlpos"
	"github.com/deskphone/deskphone/media"
	"github.com/deskphone/deskphone/phone/catalog"
)

// Error is a problem in a scenario file, at a place in it.
type Error = yamlpos.Error

// Errors is every problem found in one file.
type Errors = yamlpos.Errors

// The keys a scenario file may use.
var (
	topKeys     = []string{"name", "description", "start", "backend", "phones", "vars", "steps"}
	backendKeys = []string{"server", "ca", "domain", "users", "load_users", "provisioning"}
	userKeys    = []string{"user", "password", "display_name", "extension"}
	phoneKeys   = []string{"name", "model", "firmware", "user", "password", "state", "account", "srtp", "codecs", "audio", "signin", "count", "provisioning", "mac"}
	// runnerSteps are the steps of the runner itself: they shape the run
	// or act on the cloud. Every other step is a verb of the driver with
	// a step form (driver.Verb.Step).
	runnerSteps = []string{"backend", "parallel", "repeat", "include", "policy", "expect_count", "power", "expect_answer"}
	// actions are every step's action; a step has exactly one of them.
	actions    = stepActions()
	stepCommon = []string{"phone", "timeout", "times", "expect_error"}
	condKeys   = []string{"screen", "call", "registered", "led", "log", "status", "tone", "dtmf", "not"}
	// notKeys are what not: may hold: a phone keeps the tone and digits
	// it heard, so their absence is no condition.
	notKeys      = []string{"screen", "call", "registered", "led", "log", "status"}
	backendSteps = backendStepKeys()
	callStates   = driver.CallStates
	ledNames     = driver.LEDNames
)

// stepActions are the driver's verbs that are steps, then the runner's
// own steps (policy, the runner's, changes the cloud's policy: the
// driver's policy verb only prints).
func stepActions() []string {
	var out []string
	for _, v := range driver.Verbs {
		if v.Step != driver.StepNone && !contains(runnerSteps, v.Name) {
			out = append(out, v.Name)
		}
	}
	return append(out, runnerSteps...)
}

// stepVerb is the driver verb a step's action names, nil for the
// runner's own steps.
func stepVerb(action string) *driver.Verb {
	if contains(runnerSteps, action) {
		return nil
	}
	v, ok := driver.Lookup(action)
	if !ok || v.Step == driver.StepNone {
		return nil
	}
	return v
}

// acts reports whether a step acts on something, and so may be refused:
// not a wait, a check, a move of the clock or a step of steps.
func acts(action string) bool {
	if v := stepVerb(action); v != nil {
		return v.Step != driver.StepWait && v.Step != driver.StepCheck && v.Step != driver.StepDuration
	}
	return !contains([]string{"expect_count", "parallel", "repeat", "include", "expect_answer"}, action)
}

// DefaultTimeout bounds a wait without its own timeout, in the scenario's
// (virtual) time.
const DefaultTimeout = 30 * time.Second

// parser collects every error of one file instead of stopping at the first.
type parser struct {
	// Reporter has the file and collects its errors.
	yamlpos.Reporter
	cat  *catalog.Catalog
	vars map[string]string
	// depth guards against include cycles.
	depth int
	// unknown holds the mappings that had a misspelt key: what their
	// absence implies (no action, no phone) was already said.
	unknown map[*yaml.Node]bool
	// varsMisspelt: the vars key itself was misspelt, so undefined
	// variables follow from it and are not reported again.
	varsMisspelt bool
	// external: the phones register to an external server, so there is
	// no embedded cloud for policy steps.
	external bool
}

// Load reads and validates a scenario file against the catalog.
func Load(path string, cat *catalog.Catalog) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return Parse(path, data, cat)
}

// Parse reads and validates a scenario. Errors come as Errors, with the
// file, line and column of each problem.
func Parse(file string, data []byte, cat *catalog.Catalog) (*Scenario, error) {
	p := &parser{Reporter: yamlpos.Reporter{File: file}, cat: cat, vars: map[string]string{}}
	root, serr := yamlpos.Parse(file, data)
	switch {
	case serr != nil:
		return nil, Errors{serr}
	case root == nil:
		return nil, Errors{{Pos: Pos{File: file, Line: 1, Col: 1}, Msg: "empty scenario file"}}
	}
	sc := &Scenario{File: file}
	if root.Kind != yaml.MappingNode {
		p.Errorf(root, nil, "", "a scenario is a mapping with name, phones and steps")
		return nil, p.Errs
	}
	fields := p.mapping(root, topKeys)
	p.varsMisspelt = fields["vars"] == nil && misspelt(root, topKeys, "vars")
	if n := fields["vars"]; n != nil {
		for k, v := range p.mapping(n, nil) {
			p.vars[k] = p.scalar(v)
		}
	}
	sc.Name = p.str(fields["name"])
	if sc.Name == "" {
		if !misspelt(root, topKeys, "name") {
			p.Errorf(root, nil, "", "missing name")
		}
	}
	sc.Description = p.str(fields["description"])
	if n := fields["start"]; n != nil {
		t, err := time.Parse(time.RFC3339, p.str(n))
		if err != nil {
			p.Errorf(n, nil, "", "start: want a time like 2023-07-31T09:00:00Z (RFC 3339)")
		}
		sc.Start = t.UTC()
	}
	if n := fields["backend"]; n != nil {
		sc.Backend = p.backend(n)
	}
	if n := fields["phones"]; n != nil {
		sc.Phones = p.phones(n, sc.Backend.Server != "")
	} else {
		if !misspelt(root, topKeys, "phones") {
			p.Errorf(root, nil, "", "missing phones")
		}
	}
	p.external = sc.Backend.Server != ""
	if p.external && fields["start"] != nil {
		p.Errorf(fields["start"], nil, "", "start is for the embedded cloud: an external server's certificate runs on real time")
	}
	if n := fields["steps"]; n != nil {
		sc.Steps = p.steps(n, sc.Phones)
	} else {
		if !misspelt(root, topKeys, "steps") {
			p.Errorf(root, nil, "", "missing steps")
		}
	}
	if len(p.Errs) > 0 {
		p.Errs.Sort()
		return nil, p.Errs
	}
	return sc, nil
}

// mapping returns the values of a mapping by key; keys outside known (when
// known is not nil) are errors with a suggestion.
func (p *parser) mapping(n *yaml.Node, known []string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		p.Errorf(n, nil, "", "expected a mapping (key: value), got %s", kindName(n))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if known != nil && !contains(known, k.Value) {
			if base := strings.TrimSuffix(k.Value, ":"); base != k.Value && contains(known, base) {
				p.Errorf(k, nil, "", "%q: inside {braces} write %s: with a space and a value, e.g. {%s: bob}", k.Value, base, base)
				p.markUnknown(n)
				continue
			}
			p.Errorf(k, known, k.Value, "unknown key %q", k.Value)
			p.markUnknown(n)
			continue
		}
		if _, dup := out[k.Value]; dup {
			p.Errorf(k, nil, "", "key %q given twice", k.Value)
		}
		out[k.Value] = v
	}
	return out
}

// misspelt reports whether mapping n has a key outside known that reads
// as a misspelling of key: an error said so, and key's absence is not
// reported again.
func misspelt(n *yaml.Node, known []string, key string) bool {
	return misspeltValue(n, known, key) != nil
}

// misspeltValue is the value of the key of n misspelling key, or nil.
func misspeltValue(n *yaml.Node, known []string, key string) *yaml.Node {
	for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		if k := n.Content[i].Value; !contains(known, k) && suggest(strings.TrimSuffix(k, ":"), known) == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// markUnknown notes that mapping n had a misspelt key.
func (p *parser) markUnknown(n *yaml.Node) {
	if p.unknown == nil {
		p.unknown = map[*yaml.Node]bool{}
	}
	p.unknown[n] = true
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

// scalar returns a scalar with ${vars} substituted.
func (p *parser) scalar(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		p.Errorf(n, nil, "", "expected a single value, got %s", kindName(n))
		return ""
	}
	return p.subst(n, n.Value)
}

var varRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

func (p *parser) subst(n *yaml.Node, s string) string {
	return varRE.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := p.vars[name]
		if !ok && p.varsMisspelt {
			return m
		}
		if !ok {
			names := make([]string, 0, len(p.vars))
			for k := range p.vars {
				names = append(names, k)
			}
			p.Errorf(n, names, name, "undefined variable ${%s}", name)
			return m
		}
		return v
	})
}

func (p *parser) str(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	return p.scalar(n)
}

func (p *parser) backend(n *yaml.Node) Backend {
	f := p.mapping(n, backendKeys)
	b := Backend{Server: p.str(f["server"]), CA: p.str(f["ca"]), Domain: p.str(f["domain"])}
	if b.CA != "" && !filepath.IsAbs(b.CA) {
		b.CA = filepath.Join(filepath.Dir(p.File), b.CA)
	}
	if u := f["users"]; u != nil {
		if u.Kind != yaml.SequenceNode {
			p.Errorf(u, nil, "", "users is a list")
		} else {
			for _, un := range u.Content {
				b.Users = append(b.Users, p.user(un))
			}
		}
	}
	if v := f["load_users"]; v != nil {
		users, err := backend.ParseLoadUsers(p.scalar(v))
		if err != nil {
			p.Errorf(v, nil, "", "load_users: %v", err)
		}
		for _, u := range users {
			b.Users = append(b.Users, User{User: u.User, Password: u.Password, Extension: u.Extension})
		}
	}
	if v := f["provisioning"]; v != nil {
		b.Provisioning = p.scalar(v) == "true" || p.scalar(v) == "yes"
	}
	if b.Server != "" && len(b.Users) > 0 {
		at := f["users"]
		if at == nil {
			at = f["load_users"]
		}
		p.Errorf(at, nil, "", "users are for the embedded cloud, not for an external server")
	}
	return b
}

func (p *parser) user(n *yaml.Node) User {
	f := p.mapping(n, userKeys)
	u := User{User: p.str(f["user"]), Password: p.str(f["password"]), DisplayName: p.str(f["display_name"]), Extension: p.str(f["extension"])}
	if u.User == "" && !misspelt(n, userKeys, "user") {
		p.Errorf(n, nil, "", "a user needs user:")
	}
	if u.Password == "" {
		u.Password = "secret"
	}
	return u
}

func (p *parser) phones(n *yaml.Node, external bool) []PhoneSpec {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		p.Errorf(n, nil, "", "phones is a list of at least one phone")
		return nil
	}
	var out []PhoneSpec
	seen := map[string]bool{}
	for _, pn := range n.Content {
		f := p.mapping(pn, phoneKeys)
		ps := PhoneSpec{
			Pos:  Pos{File: p.File, Line: pn.Line, Col: pn.Column},
			Name: p.str(f["name"]), Model: p.str(f["model"]), Firmware: p.str(f["firmware"]),
			User: p.str(f["user"]), Password: p.str(f["password"]), State: p.str(f["state"]),
			SRTP: p.str(f["srtp"]), Codecs: p.str(f["codecs"]), Audio: p.str(f["audio"]),
		}
		if ps.SRTP != "" {
			if _, err := media.ParseMode(ps.SRTP); err != nil {
				p.Errorf(f["srtp"], []string{"mandatory", "optional", "off"}, ps.SRTP, "srtp is mandatory, optional or off, not %q", ps.SRTP)
			}
		}
		if ps.Codecs != "" {
			if cs, _ := codecs.ParseOrder(ps.Codecs); len(cs) == 0 {
				p.Errorf(f["codecs"], nil, "", "no supported codec in %q (PCMU, PCMA, G722)", ps.Codecs)
			}
		}
		if ps.Audio != "" {
			if err := driver.CheckSource(ps.Audio); err != nil {
				p.Errorf(f["audio"], nil, "", "%v", err)
			}
		}
		if s := f["signin"]; s != nil {
			switch v := p.scalar(s); v {
			case "yes", "web", "pc":
				ps.SignIn = v
			case "no", "":
			default:
				p.Errorf(s, []string{"yes", "web", "pc", "no"}, v, "signin is yes (signed out until a step signs in), web, pc or no, not %q", v)
			}
			if external && ps.SignIn != "" {
				p.Errorf(s, nil, "", "signin needs the embedded mock cloud's identity provider")
			}
		}
		if v := f["provisioning"]; v != nil {
			ps.Provisioning = p.provisioning(v)
		}
		if v := f["mac"]; v != nil {
			ps.MAC = p.str(v)
			if hw, err := parseMAC(ps.MAC); err != nil {
				p.Errorf(v, nil, "", "%v", err)
			} else {
				ps.MAC = hw.String()
			}
		}
		if a := f["account"]; a != nil {
			switch v := p.scalar(a); v {
			case "none":
				ps.NoAccount = true
			case "yes", "":
			default:
				p.Errorf(a, []string{"none", "yes"}, v, "account is none or yes, not %q", v)
			}
		}
		if v := misspeltValue(pn, phoneKeys, "name"); ps.Name == "" && v != nil && v.Kind == yaml.ScalarNode {
			// Steps name the phone as meant: one error, for the key.
			ps.Name = v.Value
		}
		switch {
		case ps.Name == "":
			p.Errorf(pn, nil, "", "a phone needs name:")
		case seen[ps.Name]:
			at := f["name"]
			if at == nil {
				at = pn
			}
			p.Errorf(at, nil, "", "two phones are named %q", ps.Name)
		}
		seen[ps.Name] = true
		if ps.Model == "" {
			if !misspelt(pn, phoneKeys, "model") {
				p.Errorf(pn, nil, "", "phone %q needs model:", ps.Name)
			}
		} else if m, err := p.cat.Model(ps.Model); err != nil {
			p.Errorf(f["model"], p.cat.ModelIDs(), ps.Model, "unknown model %q", ps.Model)
		} else if _, err := m.FirmwareVersion(ps.Firmware); err != nil {
			known := make([]string, len(m.Firmware))
			for i, fw := range m.Firmware {
				known[i] = fw.Version
			}
			p.Errorf(f["firmware"], known, ps.Firmware, "%v", err)
		}
		if ps.User == "" {
			ps.User = ps.Name
		}
		if ps.Password == "" && !external {
			ps.Password = "secret"
		}
		if external && !ps.NoAccount && ps.Password == "" && !gwurl.IsGateway(ps.Provisioning) {
			p.Errorf(pn, nil, "", "phone %q needs password: for the external server", ps.Name)
		}
		if cn := f["count"]; cn != nil {
			out = append(out, p.group(ps, cn, f["user"] != nil)...)
			continue
		}
		out = append(out, ps)
	}
	return out
}

// MaxCount bounds the phones of one entry with count:, as a fleet
// group's.
const MaxCount = numbered.MaxCount

// group expands a phone entry with count: into its members NAME[1] ..
// NAME[count], each with the user its pattern names (user: lobby{n:03d};
// NAME{n} by default).
func (p *parser) group(ps PhoneSpec, cn *yaml.Node, userGiven bool) []PhoneSpec {
	count, err := numbered.ParseCount(p.scalar(cn))
	if err != nil {
		p.Errorf(cn, nil, "", "count: %v", err)
		return nil
	}
	if ps.State != "" {
		p.Errorf(cn, nil, "", "phones with count: keep throw-away state; drop state:")
	}
	pattern := ps.Name + "{n}"
	if userGiven {
		pattern = ps.User
	}
	pat, err := numbered.Parse(pattern)
	if err != nil || pat.Fixed() && count > 1 {
		p.Errorf(cn, nil, "", "user %q: %d phones need {n} in it, e.g. %s{n:03d}", pattern, count, ps.Name)
		return nil
	}
	out := make([]PhoneSpec, count)
	for i := range out {
		m := ps
		m.Name, m.User, m.Group = fmt.Sprintf("%s[%d]", ps.Name, i+1), pat.Name(i+1), ps.Name
		if ps.MAC != "" {
			mac, err := nthMAC(ps.MAC, i)
			if err != nil {
				p.Errorf(cn, nil, "", "mac: %v", err)
				return nil
			}
			m.MAC = mac
		}
		out[i] = m
	}
	return out
}

// groupOf reads a step's phone: as a group: NAME[*], or NAME when NAME is
// a group and no phone.
func groupOf(phones []PhoneSpec, name string) (string, bool) {
	g, star := strings.CutSuffix(name, "[*]")
	if !star && hasPhone(phones, name) {
		return "", false
	}
	for _, ph := range phones {
		if ph.Group != "" && ph.Group == g {
			return g, true
		}
	}
	return "", false
}

// members are the phones of group.
func members(phones []PhoneSpec, group string) []PhoneSpec {
	var out []PhoneSpec
	for _, ph := range phones {
		if ph.Group == group {
			out = append(out, ph)
		}
	}
	return out
}

// forGroup makes a step addressed to a group one step per member, run in
// parallel.
func forGroup(st Step, group string, phones []PhoneSpec) Step {
	par := Step{Pos: st.Pos, Action: "parallel", Group: group}
	for _, m := range members(phones, group) {
		sub := st
		sub.Phone = m.Name
		par.Steps = append(par.Steps, sub)
	}
	return par
}

func (p *parser) steps(n *yaml.Node, phones []PhoneSpec) []Step {
	if n.Kind != yaml.SequenceNode {
		p.Errorf(n, nil, "", "steps is a list")
		return nil
	}
	var out []Step
	for _, sn := range n.Content {
		st, ok := p.step(sn, phones)
		if !ok {
			continue
		}
		if st.Action == "include" {
			out = append(out, p.include(sn, st.Arg, phones)...)
			continue
		}
		if g, ok := groupOf(phones, st.Phone); ok && st.Phone != "" {
			st = forGroup(st, g, phones)
		}
		out = append(out, st)
	}
	return out
}

func (p *parser) include(n *yaml.Node, path string, phones []PhoneSpec) []Step {
	if p.depth > 8 {
		p.Errorf(n, nil, "", "includes nest deeper than 8 (a cycle?)")
		return nil
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(p.File), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		p.Errorf(n, nil, "", "include: %v", err)
		return nil
	}
	root, serr := yamlpos.Parse(path, data)
	if serr != nil {
		p.Errs = append(p.Errs, serr)
		return nil
	}
	if root == nil {
		return nil
	}
	sub := &parser{Reporter: yamlpos.Reporter{File: path}, cat: p.cat, vars: p.vars, depth: p.depth + 1, varsMisspelt: p.varsMisspelt, external: p.external}
	steps := sub.steps(root, phones)
	p.Errs = append(p.Errs, sub.Errs...)
	return steps
}

func (p *parser) step(n *yaml.Node, phones []PhoneSpec) (st Step, ok bool) {
	st = Step{Pos: Pos{File: p.File, Line: n.Line, Col: n.Column}}
	if n.Kind == yaml.ScalarNode && contains(actions, n.Value) {
		p.Errorf(n, nil, "", "%q: write %s: with a colon (an action without a value), or %s: PHONE", n.Value, n.Value, n.Value)
		return st, false
	}
	if n.Kind != yaml.MappingNode {
		p.Errorf(n, nil, "", "a step is a mapping like {dial: echo, phone: alice}, got %s", kindName(n))
		return st, false
	}
	f := p.mapping(n, append(append([]string(nil), actions...), stepCommon...))
	var kind string
	var arg *yaml.Node
	for _, k := range actions {
		if v, ok := f[k]; ok {
			if kind != "" {
				p.Errorf(n, nil, "", "a step has one action, this one has %s and %s", kind, k)
				return st, false
			}
			kind, arg = k, v
		}
	}
	if kind == "" {
		if !p.unknown[n] { // a misspelt action was reported as such
			p.Errorf(n, nil, "", "a step needs an action: one of %s", strings.Join(actions, ", "))
		}
		return st, false
	}
	st.Action = kind
	if pn := f["phone"]; pn != nil {
		st.Phone = p.scalar(pn)
		if _, group := groupOf(phones, st.Phone); !group && !hasPhone(phones, st.Phone) {
			p.Errorf(pn, phoneNames(phones), st.Phone, "no phone named %q", st.Phone)
		}
	}
	if tn := f["timeout"]; tn != nil {
		d, err := time.ParseDuration(p.scalar(tn))
		if err != nil || d <= 0 {
			p.Errorf(tn, nil, "", "timeout %q is not a duration like 10s or 20m", tn.Value)
		}
		st.Timeout = d
	}
	// named: the action's value names the phone, known or not; an error
	// about that name says enough.
	named := false
	defer func() {
		v := stepVerb(kind)
		if v != nil && !v.NoPhone && st.Phone == "" && !named && !p.unknown[n] {
			if len(phones) == 1 {
				st.Phone = phones[0].Name
			} else {
				p.Errorf(n, nil, "", "%s needs phone: (the scenario has %d phones)", kind, len(phones))
			}
		}
	}()
	if f["times"] != nil && kind != "repeat" {
		p.Errorf(f["times"], nil, "", "times goes with repeat")
	}
	if v := f["expect_error"]; v != nil {
		st.ExpectError = p.scalar(v)
		switch {
		case !acts(kind):
			p.Errorf(v, nil, "", "expect_error goes with an action step, not %s; a condition that must not hold is written not: {...}", kind)
		case st.ExpectError == "" && v.Kind == yaml.ScalarNode:
			p.Errorf(v, nil, "", "expect_error needs the text the refusal contains, e.g. expect_error: \"PIN too short\"")
		}
	}
	if v := stepVerb(kind); v != nil {
		named = p.verbStep(&st, v, f, arg, phones)
		return st, true
	}
	switch kind {
	case "expect_answer":
		if st.Arg = p.scalar(arg); st.Arg == "" {
			p.Errorf(arg, nil, "", "expect_answer needs the text the last backend answer holds")
		}
	case "power":
		st.Arg = p.scalar(arg)
		if st.Arg != "off" && st.Arg != "on" {
			p.Errorf(arg, []string{"off", "on"}, st.Arg, "power is off or on, not %q", st.Arg)
		}
		if st.Phone == "" {
			if len(phones) == 1 {
				st.Phone = phones[0].Name
			} else {
				p.Errorf(n, nil, "", "power needs phone: (the scenario has %d phones)", len(phones))
			}
		} else if _, group := groupOf(phones, st.Phone); group {
			p.Errorf(f["phone"], nil, "", "power acts on one phone, not the group %s", st.Phone)
		}
	case "policy":
		st.Policy = p.policyChange(arg)
	case "backend":
		st.Backend = p.backendAction(arg)
	case "parallel":
		st.Steps = p.steps(arg, phones)
		for _, sub := range st.Steps {
			if sub.Action == "power" {
				p.Errorf(arg, nil, "", "power is a step of its own, not one of parallel")
				break
			}
		}
	case "repeat":
		st.Steps = p.steps(arg, phones)
		st.Times = 1
		if tn := f["times"]; tn != nil {
			t, err := strconv.Atoi(p.scalar(tn))
			if err != nil || t < 1 || t > 100000 {
				p.Errorf(tn, nil, "", "times %q is not a count from 1 to 100000", tn.Value)
			}
			st.Times = t
		} else if !misspelt(n, stepCommon, "times") {
			p.Errorf(n, nil, "", "repeat needs times:")
		}
	case "include":
		st.Arg = p.scalar(arg)
	case "expect_count":
		st.Count, st.Cond = p.countCheck(arg, phones)
	}
	return st, true
}

// verbStep reads the value of a step that is a driver verb, by the verb's
// step form, and checks its arguments as the verb parses them. named says
// the value named the phone ("answer: bob"): an error about that name
// says enough.
func (p *parser) verbStep(st *Step, v *driver.Verb, f map[string]*yaml.Node, arg *yaml.Node, phones []PhoneSpec) (named bool) {
	switch v.Step {
	case driver.StepText:
		if arg.Kind != yaml.ScalarNode {
			p.Errorf(arg, nil, "", "%s takes a single value, e.g. %s: %s", v.Name, v.Name, v.Usage)
			return false
		}
		st.Arg = p.scalar(arg)
		p.checkArgs(v, st.Arg, st.ExpectError != "", arg, func(string) *yaml.Node { return arg })
	case driver.StepPhone:
		// The value, if any, names the phone: "answer: bob"; beside
		// phone:, it is the call's id for the verbs that take one.
		if arg.Kind != yaml.ScalarNode {
			p.Errorf(arg, nil, "", "%s takes the phone's name or nothing, e.g. %s: bob", v.Name, v.Name)
		} else if arg.Tag != "!!null" && arg.Value != "" {
			named = true
			name := p.scalar(arg)
			// A verb that takes a call's id parses it as its text.
			id, err := v.Parse(name)
			takesID := err == nil && id.Text == name
			switch {
			case st.Phone != "" && f["phone"] != nil && st.Phone != name && !hasPhone(phones, name) && takesID:
				// With phone: given, the value is a call's id: "phone:
				// alice, hold: c2".
				named, st.Arg = false, name
			case st.Phone != "" && f["phone"] != nil && st.Phone != name:
				p.Errorf(arg, nil, "", "%s: %s, but phone: %s", v.Name, name, st.Phone)
			case !hasPhone(phones, name):
				p.Errorf(arg, phoneNames(phones), name, "no phone named %q", name)
			default:
				st.Phone = name
			}
		}
	case driver.StepFields:
		keys := append([]string{"phone"}, v.Fields...)
		fields := p.mapping(arg, keys)
		if pn := fields["phone"]; pn != nil {
			name := p.scalar(pn)
			if !hasPhone(phones, name) {
				p.Errorf(pn, phoneNames(phones), name, "no phone named %q", name)
			} else if st.Phone == "" {
				st.Phone = name
			}
		}
		var words []string
		for _, k := range v.Fields {
			if fn := fields[k]; fn != nil {
				words = append(words, p.scalar(fn))
			}
		}
		st.Arg = strings.Join(words, " ")
		if p.unknown[arg] || arg.Kind != yaml.MappingNode {
			return false // a misspelt key was said; what it lacks follows
		}
		at := func(word string) *yaml.Node {
			for _, k := range v.Fields {
				if fn := fields[k]; fn != nil && fn.Value == word {
					return fn
				}
			}
			return arg
		}
		p.checkArgs(v, st.Arg, st.ExpectError != "", arg, at)
	case driver.StepWait, driver.StepCheck:
		st.Cond = p.condition(arg)
		if st.Timeout == 0 {
			st.Timeout = DefaultTimeout
		}
	case driver.StepDuration:
		d, err := time.ParseDuration(p.scalar(arg))
		if err != nil || d <= 0 {
			p.Errorf(arg, nil, "", "%s %q is not a duration like 5s or 15m", v.Name, arg.Value)
		}
		st.Arg = arg.Value
		st.Timeout = d
	}
	return named
}

// checkArgs parses a step's argument text as the verb does and checks
// what the phone would refuse (unless the step expects a refusal); a word
// that is none the verb takes is reported where it is (at), with the word
// meant.
func (p *parser) checkArgs(v *driver.Verb, text string, refusalExpected bool, n *yaml.Node, at func(word string) *yaml.Node) {
	if hasRefs(text) {
		return // filled in as the scenario runs
	}
	a, err := v.Parse(text)
	if err == nil && v.Check != nil && !refusalExpected {
		err = v.Check(a)
	}
	var ae *driver.ArgError
	switch {
	case err == nil:
	case errors.As(err, &ae) && ae.Known != nil:
		p.Errorf(at(ae.Got), ae.Known, ae.Got, "%s", ae.Msg)
	default:
		p.Errorf(n, nil, "", "%v", err)
	}
}

// countCheck reads {group: G, at_least: N, at_most: M, KEY: VALUE...}.
func (p *parser) countCheck(n *yaml.Node, phones []PhoneSpec) (*CountCheck, Condition) {
	c := &CountCheck{AtMost: -1}
	if n.Kind != yaml.MappingNode {
		p.Errorf(n, nil, "", "expect_count is a mapping like {group: lobby, registered: yes, at_least: 100}")
		return c, Condition{}
	}
	countKeys := []string{"group", "at_least", "at_most"}
	f := p.mapping(n, append(append([]string(nil), condKeys...), countKeys...))
	cond := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i].Value; contains(condKeys, k) {
			cond.Content = append(cond.Content, n.Content[i], n.Content[i+1])
		}
	}
	c.Group = p.str(f["group"])
	var groups []string
	for _, ph := range phones {
		if ph.Group != "" && !contains(groups, ph.Group) {
			groups = append(groups, ph.Group)
		}
	}
	known := append(append([]string(nil), condKeys...), countKeys...)
	switch {
	case f["group"] == nil:
		if !misspelt(n, known, "group") {
			p.Errorf(n, nil, "", "expect_count needs group:")
		}
	case !contains(groups, c.Group):
		p.Errorf(f["group"], groups, c.Group, "no group %q (a phone entry with count:)", c.Group)
	}
	num := func(key string, into *int) {
		if v := f[key]; v != nil {
			x, err := strconv.Atoi(p.scalar(v))
			if err != nil || x < 0 {
				p.Errorf(v, nil, "", "%s %q is not a count", key, v.Value)
			}
			*into = x
		}
	}
	num("at_least", &c.AtLeast)
	num("at_most", &c.AtMost)
	if f["at_least"] == nil && f["at_most"] == nil && !misspelt(n, known, "at_least") && !misspelt(n, known, "at_most") {
		p.Errorf(n, nil, "", "expect_count needs at_least: or at_most:")
	}
	if len(cond.Content) == 0 && !p.unknown[n] {
		p.Errorf(n, nil, "", "expect_count needs a condition, such as registered: yes")
		return c, Condition{}
	}
	return c, p.condition(cond)
}

func (p *parser) condition(n *yaml.Node) Condition {
	return p.conditionOf(n, condKeys)
}

// conditionOf reads a condition of the keys known: condKeys, or notKeys
// inside not:.
func (p *parser) conditionOf(n *yaml.Node, known []string) Condition {
	var c Condition
	n = p.statusKeysOutside(n, known)
	f := p.mapping(n, known)
	if len(f) == 0 && n.Kind == yaml.MappingNode && !p.unknown[n] {
		p.Errorf(n, known, "", "a condition needs at least one of %s", strings.Join(known, ", "))
	}
	if v := f["not"]; v != nil {
		// not: {KEY: VALUE, ...}: each key given must fail.
		c.Not = p.conditionOf(p.negatable(v), notKeys).Atoms()
	}
	re := func(v *yaml.Node) *regexp.Regexp {
		s := p.scalar(v)
		r, err := regexp.Compile(s)
		if err != nil {
			p.Errorf(v, nil, "", "bad regular expression %q: %v", s, err)
		}
		return r
	}
	if v := f["screen"]; v != nil {
		c.Screen = re(v)
	}
	if v := f["log"]; v != nil {
		c.Log = re(v)
	}
	if v := f["call"]; v != nil {
		c.Call = p.scalar(v)
		if !contains(callStates, c.Call) {
			p.Errorf(v, callStates, c.Call, "unknown call state %q", c.Call)
		}
	}
	if v := f["registered"]; v != nil {
		var b bool
		if err := v.Decode(&b); err != nil {
			p.Errorf(v, nil, "", "registered is yes or no")
		}
		c.Registered = &b
	}
	if v := f["led"]; v != nil {
		c.LED = map[string]string{}
		for k, val := range p.mapping(v, ledNames) {
			s := p.scalar(val)
			if !contains([]string{"on", "off", "blink"}, s) {
				p.Errorf(val, []string{"on", "off", "blink"}, s, "LED state is on, off or blink")
			}
			c.LED[k] = s
		}
	}
	if v := f["tone"]; v != nil {
		hz, err := strconv.Atoi(p.scalar(v))
		if err != nil || hz < 50 || hz > 7000 {
			p.Errorf(v, nil, "", "tone is a frequency in Hz from 50 to 7000, not %q", v.Value)
		}
		c.Tone = hz
	}
	if v := f["dtmf"]; v != nil {
		c.DTMF = p.scalar(v)
	}
	if v := f["status"]; v != nil {
		c.Status = map[string]string{}
		keys := driver.StatusKeys()
		for k, val := range p.mapping(v, nil) {
			c.Status[k] = p.scalar(val)
		}
		for i := 0; v.Kind == yaml.MappingNode && i+1 < len(v.Content); i += 2 {
			if k := v.Content[i]; !contains(keys, k.Value) {
				p.Errorf(k, keys, k.Value, "unknown status key %q", k.Value)
			}
		}
	}
	return c
}

// negatable reports the keys of a not: mapping that cannot be negated and
// returns the mapping without them.
func (p *parser) negatable(n *yaml.Node) *yaml.Node {
	return p.without(n, func(k *yaml.Node) bool {
		switch k.Value {
		case "tone", "dtmf":
			p.Errorf(k, nil, "", "not: cannot hold %s: a phone keeps what it heard, so a wait could never see it go; wait for something else, such as call: idle", k.Value)
		case "not":
			p.Errorf(k, nil, "", "not: inside not: says the condition itself: write it without either")
		default:
			return false
		}
		return true
	})
}

// statusKeysOutside reports the keys of a condition that name status keys
// (lock: locked, or signin_state, which means session) rather than
// condition keys, and returns the condition without them.
func (p *parser) statusKeysOutside(n *yaml.Node, known []string) *yaml.Node {
	keys := driver.StatusKeys()
	return p.without(n, func(k *yaml.Node) bool {
		if contains(known, k.Value) || suggest(k.Value, known) != "" {
			return false
		}
		sk := suggest(k.Value, keys)
		if sk == "" {
			return false
		}
		p.Errs = append(p.Errs, &Error{Pos: Pos{File: p.File, Line: k.Line, Col: k.Column},
			Msg: fmt.Sprintf("unknown key %q: status keys go in status: {...}", k.Value), Suggest: "status: {" + sk + ": ...}"})
		return true
	})
}

// without returns mapping n without the keys drop reports (the errors it
// gave say what follows from their absence), so they are not reported
// again as unknown.
func (p *parser) without(n *yaml.Node, drop func(k *yaml.Node) bool) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return n
	}
	out := *n
	out.Content = nil
	dropped := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		if drop(n.Content[i]) {
			dropped = true
			continue
		}
		out.Content = append(out.Content, n.Content[i], n.Content[i+1])
	}
	if !dropped {
		return n
	}
	p.markUnknown(&out)
	p.markUnknown(n)
	return &out
}

// updateSteps are the backend: keys of the update authorities (the
// embedded cloud's update service, the provisioning server).
var updateSteps = []string{"firmware", "provisioning"}

// backendStepKeys are the keys of a backend: step: the cloud's actions
// that are steps, then the update authorities'.
func backendStepKeys() []string {
	var out []string
	for _, a := range backend.Actions {
		if a.Step != "" {
			out = append(out, a.Step)
		}
	}
	return append(out, updateSteps...)
}

func (p *parser) backendAction(n *yaml.Node) BackendAction {
	var a BackendAction
	f := p.mapping(n, backendSteps)
	if len(f) != 1 && !(len(f) == 0 && p.unknown[n]) {
		p.Errorf(n, backendSteps, "", "a backend step does one of %s", strings.Join(backendSteps, ", "))
	}
	for _, k := range backendSteps {
		v := f[k]
		if v == nil {
			continue
		}
		a.Key = k
		if k == "add_user" {
			u := p.user(v)
			a.User = &u
			continue
		}
		a.Value = p.scalar(v)
		var check func(string) error
		if act, ok := backend.StepAction(k); ok {
			check = act.Check
		} else {
			check = checkFirmwareStep
		}
		if check == nil || hasRefs(a.Value) {
			continue
		}
		var ve *backend.ValueError
		switch err := check(a.Value); {
		case err == nil:
		case errors.As(err, &ve):
			p.Errorf(v, ve.Known, ve.Got, "%s", ve.Msg)
		default:
			p.Errorf(v, nil, "", "%v", err)
		}
	}
	return a
}

func hasPhone(phones []PhoneSpec, name string) bool {
	for _, ph := range phones {
		if ph.Name == name {
			return true
		}
	}
	return false
}

func phoneNames(phones []PhoneSpec) []string {
	out := make([]string, len(phones))
	for i, ph := range phones {
		out[i] = ph.Name
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns the known word got probably means: one that means the
// same, or the closest in spelling if close enough to be a typo.
func suggest(got string, known []string) string { return yamlpos.Suggest(got, known) }

// policyChange reads {tenant: NAME | user: NAME, set: {Field: value}}.
// The fields are the in-band policy's; the tenant is the one the
// embedded cloud knows (its domain): a policy step needs that cloud.
func (p *parser) policyChange(n *yaml.Node) *PolicyChange {
	keys := []string{"tenant", "user", "set"}
	f := p.mapping(n, keys)
	c := &PolicyChange{Set: map[string]string{}}
	if p.external {
		p.Errorf(n, nil, "", "a policy step needs the embedded mock cloud, not an external server")
	}
	if f["tenant"] != nil && f["user"] != nil {
		p.Errorf(n, nil, "", "a policy step sets the tenant's policy or a user's, not both")
	}
	c.User = p.str(f["user"])
	if v := f["tenant"]; v != nil {
		c.Tenant = p.scalar(v)
		if tenants := []string{backend.DefaultDomain}; !p.external && !contains(tenants, c.Tenant) {
			p.Errorf(v, tenants, c.Tenant, "unknown tenant %q: the embedded cloud's tenant is %s", c.Tenant, strings.Join(tenants, ", "))
		}
	}
	if f["set"] == nil {
		if !misspelt(n, keys, "set") {
			p.Errorf(n, nil, "", "a policy step needs set: {Field: value}")
		}
		return c
	}
	fields := backend.PolicyFields()
	for k, v := range p.mapping(f["set"], fields) {
		c.Set[k] = p.scalar(v)
	}
	if len(c.Set) == 0 && !p.unknown[f["set"]] {
		p.Errorf(f["set"], nil, "", "set names no field")
	}
	return c
}
