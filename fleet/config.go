// Package fleet runs many headless phones in one process: a fleet file (or
// flags) names groups of phones, each phone is built by driver.Build, and
// the fleet starts them at a bounded rate, watches them for metrics and
// stops them all within a bound.
package fleet

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/deskphone/deskphone/internal/gwurl"
	"github.com/deskphone/deskphone/internal/numbered"
	"github.com/deskphone/deskphone/internal/yamlpos"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/sipua"
)

// Config is a fleet: where its phones register and the groups they form.
type Config struct {
	// Server, Domain and CA are the defaults of the groups.
	Server string
	Domain string
	CA     []string
	// StateRoot holds one state directory per phone, named by its id;
	// "" (or Ephemeral) keeps the state in throw-away directories.
	StateRoot string
	Ephemeral bool
	// Rate is how many phones start per second (0: as fast as they can);
	// Jitter spreads each start by up to this fraction of the interval.
	Rate   float64
	Jitter float64
	// Connecting bounds the phones waiting for the answer to their first
	// REGISTER (Options.Connecting); 0 is DefaultConnecting.
	Connecting int
	// Provisioning is the groups' default provisioning server: a Teams
	// SIP Gateway URL onboards the phones (their SIP server and account
	// then come from the gateway, so they need no server).
	Provisioning string
	Groups       []Group
	// Load is the call load the fleet places once started (the load
	// section); nil when none.
	Load *LoadConfig
}

// Group is Count phones alike but for their number n, which names their
// account through the User pattern.
type Group struct {
	Name     string
	Count    int
	Model    string
	Firmware string
	// User is a pattern such as load{n:05d}; First is the first n
	// (default: one past the previous group's last, from 1).
	User     string
	First    int
	Password string
	Server   string
	Domain   string
	CA       []string
	SRTP     string
	Codecs   string
	Audio    string
	// Provisioning is the group's provisioning server (see
	// Config.Provisioning).
	Provisioning string
}

// Member is one phone of the fleet as planned.
type Member struct {
	// ID is the account's user name, unique in the fleet.
	ID    string
	Group string
	// N is the phone's number in its group's pattern; Index its place in
	// the whole fleet, from 0.
	N, Index int
	Model    string
	Firmware string
	Server   string
	Domain   string
	Password string
	CA       []string
	SRTP     string
	Codecs   string
	Audio    string
	// StateDir is the phone's own state directory; "" is a throw-away one.
	StateDir string
	// Provisioning is the phone's provisioning server; "" none.
	Provisioning string
}

// MaxPhones bounds a fleet, and a group's count: as a scenario's.
const MaxPhones = numbered.MaxCount

// Error is a problem in a fleet file, at a line and column.
type Error = yamlpos.Error

// Errors is every problem of one fleet file.
type Errors = yamlpos.Errors

// The keys of a fleet file.
var (
	topKeys   = []string{"server", "domain", "ca", "state_root", "ephemeral", "rate", "jitter", "connecting", "groups", "provisioning", "load"}
	loadKeys  = []string{"rate", "duration", "max_calls", "calls", "for", "timeout", "to"}
	groupKeys = []string{"name", "count", "model", "firmware", "user", "first", "password", "server", "domain", "ca", "srtp", "codecs", "audio", "provisioning"}
	srtpModes = []string{"mandatory", "optional", "off"}
)

// Load reads a fleet file; relative paths in it (ca, state_root) are taken
// from the file's folder.
func Load(path string, cat *catalog.Catalog) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fleet file: %w", err)
	}
	c, err := Parse(path, data, cat)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	c.StateRoot = abs(c.StateRoot)
	for i := range c.CA {
		c.CA[i] = abs(c.CA[i])
	}
	for gi := range c.Groups {
		for i := range c.Groups[gi].CA {
			c.Groups[gi].CA[i] = abs(c.Groups[gi].CA[i])
		}
	}
	return c, nil
}

// parser collects the errors of one file.
type parser struct {
	file string
	cat  *catalog.Catalog
	errs Errors
}

func (p *parser) errorf(n *yaml.Node, suggest, format string, args ...any) {
	p.errs = append(p.errs, &Error{Pos: yamlpos.At(p.file, n), Msg: fmt.Sprintf(format, args...), Suggest: suggest})
}

// Parse reads a fleet file's text; file names it in errors. Every problem
// is reported with its line and column, a misspelt word with a suggestion.
func Parse(file string, data []byte, cat *catalog.Catalog) (*Config, error) {
	if cat == nil {
		var err error
		if cat, err = catalog.Builtin(); err != nil {
			return nil, err
		}
	}
	p := &parser{file: file, cat: cat}
	root, serr := yamlpos.Parse(file, data)
	switch {
	case serr != nil:
		return nil, Errors{serr}
	case root == nil:
		return nil, fmt.Errorf("%s: empty fleet file", file)
	}
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "", "a fleet file is a mapping with groups:")
		return nil, p.errs
	}
	c := &Config{}
	var groups *yaml.Node
	p.mapping(root, topKeys, func(k string, v *yaml.Node) {
		switch k {
		case "server":
			c.Server = p.server(v)
		case "domain":
			c.Domain = p.str(v)
		case "ca":
			c.CA = p.strs(v)
		case "state_root":
			c.StateRoot = p.str(v)
		case "ephemeral":
			c.Ephemeral = p.boolean(v)
		case "rate":
			c.Rate = p.number(k, v, 0, 1e6)
		case "jitter":
			c.Jitter = p.number(k, v, 0, 1)
		case "connecting":
			c.Connecting = int(p.number(k, v, 1, 1e6))
		case "groups":
			groups = v
		case "provisioning":
			c.Provisioning = p.provisioning(v)
		case "load":
			c.Load = p.load(v)
		}
	})
	if groups == nil {
		p.errorf(root, "", "no groups: a fleet needs at least one group")
		return nil, p.errs
	}
	if groups.Kind != yaml.SequenceNode {
		p.errorf(groups, "", "groups is a list")
		return nil, p.errs
	}
	for _, gn := range groups.Content {
		c.Groups = append(c.Groups, p.group(gn, len(c.Groups)))
	}
	if len(p.errs) == 0 {
		if _, err := c.Members(); err != nil {
			p.errorf(groups, "", "%v", err)
		}
	}
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	return c, nil
}

func (p *parser) group(n *yaml.Node, i int) Group {
	g := Group{Name: fmt.Sprintf("group%d", i+1), Count: 1}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "", "a group is a mapping with count, model, user, ...")
		return g
	}
	seenUser := false
	p.mapping(n, groupKeys, func(k string, v *yaml.Node) {
		switch k {
		case "name":
			g.Name = p.str(v)
			if strings.ContainsAny(g.Name, "[]/ ") || g.Name == "" {
				p.errorf(v, "", "group name %q: letters, digits, '-', '_' and '.'", g.Name)
			}
		case "count":
			n, err := numbered.ParseCount(p.str(v))
			if err != nil {
				p.errorf(v, "", "count: %v", err)
			}
			g.Count = max(n, 1)
		case "first":
			g.First = int(p.number(k, v, 0, 1e15))
		case "model":
			g.Model = p.str(v)
			if _, err := p.cat.Model(g.Model); err != nil && g.Model != "" {
				p.errorf(v, suggest(g.Model, p.cat.ModelIDs()), "unknown model %q", g.Model)
			}
		case "firmware":
			g.Firmware = p.str(v)
		case "user":
			g.User = p.str(v)
			seenUser = true
			if _, err := numbered.Parse(g.User); err != nil {
				p.errorf(v, "", "%v", err)
			}
		case "password":
			g.Password = p.str(v)
		case "server":
			g.Server = p.server(v)
		case "domain":
			g.Domain = p.str(v)
		case "ca":
			g.CA = p.strs(v)
		case "srtp":
			g.SRTP = p.str(v)
			if !contains(srtpModes, g.SRTP) {
				p.errorf(v, suggest(g.SRTP, srtpModes), "srtp %q: want mandatory, optional or off", g.SRTP)
			}
		case "codecs":
			g.Codecs = p.str(v)
		case "audio":
			g.Audio = p.str(v)
		case "provisioning":
			g.Provisioning = p.provisioning(v)
		}
	})
	if g.Model == "" {
		p.errorf(n, "", "group %s has no model", g.Name)
	}
	if !seenUser {
		p.errorf(n, "", "group %s has no user pattern, e.g. user: load{n:05d}", g.Name)
	}
	return g
}

// load reads the load section: the knobs of the --call-* flags.
func (p *parser) load(n *yaml.Node) *LoadConfig {
	l := &LoadConfig{Timeout: DefaultCallTimeout}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "", "load is a mapping with rate, duration, max_calls, calls, for, timeout and to")
		return l
	}
	var at *yaml.Node
	p.mapping(n, loadKeys, func(k string, v *yaml.Node) {
		switch k {
		case "rate":
			l.Rate = p.number(k, v, 0, 10000)
		case "duration":
			l.Duration = p.duration(k, v, 0)
		case "max_calls":
			l.MaxCalls = int(p.number(k, v, 0, 1e9))
		case "calls":
			l.Calls = int(p.number(k, v, 1, 1e15))
		case "for":
			l.For = p.duration(k, v, 1)
		case "timeout":
			l.Timeout = p.duration(k, v, 1)
		case "to":
			l.To, at = p.str(v), v
		}
	})
	switch {
	case at == nil:
		p.errorf(n, "", "load has no to: give fleet, a user pattern like load{n:05d}, a service user like echo, or a SIP URI")
	default:
		if err := l.Check(); err != nil {
			p.errorf(at, "", "%v", err)
		}
	}
	return l
}

// duration reads the value of key, a Go duration such as 10s, of at
// least lo.
func (p *parser) duration(key string, n *yaml.Node, lo time.Duration) time.Duration {
	d, err := time.ParseDuration(p.str(n))
	switch {
	case err != nil:
		p.errorf(n, "", "%s: %q is not a duration like 10s or 2m", key, n.Value)
	case d < lo:
		p.errorf(n, "", "%s: %v is less than %v", key, d, lo)
	default:
		return d
	}
	return lo
}

// mapping walks a mapping node, refusing unknown and repeated keys.
func (p *parser) mapping(n *yaml.Node, keys []string, f func(string, *yaml.Node)) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case !contains(keys, k.Value):
			p.errorf(k, suggest(k.Value, keys), "unknown key %q", k.Value)
		case seen[k.Value]:
			p.errorf(k, "", "%s given twice", k.Value)
		default:
			seen[k.Value] = true
			f(k.Value, v)
		}
	}
}

func (p *parser) str(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, "", "want a single value")
		return ""
	}
	return n.Value
}

func (p *parser) strs(n *yaml.Node) []string {
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "", "want a value or a list")
		return nil
	}
	var out []string
	for _, c := range n.Content {
		out = append(out, p.str(c))
	}
	return out
}

func (p *parser) boolean(n *yaml.Node) bool {
	var b bool
	if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		p.errorf(n, "", "want yes or no")
	}
	return b
}

// number reads the value of key, from lo to hi; an error names the key
// and the value.
func (p *parser) number(key string, n *yaml.Node, lo, hi float64) float64 {
	num := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	v, err := strconv.ParseFloat(p.str(n), 64)
	switch {
	case err != nil:
		p.errorf(n, "", "%s: %q is not a number", key, n.Value)
	case v < lo:
		p.errorf(n, "", "%s: %s is less than %s", key, num(v), num(lo))
	case v > hi:
		p.errorf(n, "", "%s: %s is more than %s", key, num(v), num(hi))
	default:
		return v
	}
	return lo
}

// provisioning reads a provisioning server's URL: a gateway's, or
// another http(s) server's.
func (p *parser) provisioning(n *yaml.Node) string {
	s := p.str(n)
	if u, err := url.Parse(s); s != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		p.errorf(n, "", "provisioning %q: want a URL like http://127.0.0.1:8064/emea (a Teams SIP Gateway) or a provisioning server's http://HOST:PORT", s)
	}
	return s
}

func (p *parser) server(n *yaml.Node) string {
	s := p.str(n)
	if s != "" {
		if _, _, err := sipua.ParseServer(s); err != nil {
			p.errorf(n, "", "server %q: %v", s, err)
		}
	}
	return s
}

// Members lists every phone of the fleet in order: group by group, n
// rising. Ids (the account user names) must be unique.
func (c *Config) Members() ([]Member, error) {
	total := 0
	for _, g := range c.Groups {
		total += g.Count
	}
	if total > MaxPhones {
		return nil, fmt.Errorf("%d phones: a fleet has at most %d", total, MaxPhones)
	}
	out := make([]Member, 0, total)
	seen := make(map[string]string, total)
	groups := map[string]bool{}
	next := 1
	for _, g := range c.Groups {
		if groups[g.Name] {
			return nil, fmt.Errorf("two groups named %s", g.Name)
		}
		groups[g.Name] = true
		pat, err := numbered.Parse(g.User)
		if err != nil {
			return nil, fmt.Errorf("group %s: %w", g.Name, err)
		}
		if pat.Fixed() && g.Count > 1 {
			return nil, fmt.Errorf("group %s: %d phones need {n} in the user pattern, e.g. %s{n:05d}", g.Name, g.Count, g.User)
		}
		first := next
		if g.First != 0 {
			first = g.First
		}
		server, domain, ca := or(g.Server, c.Server), or(g.Domain, c.Domain), g.CA
		if ca == nil {
			ca = c.CA
		}
		prov := or(g.Provisioning, c.Provisioning)
		if server == "" && !gwurl.IsGateway(prov) {
			return nil, fmt.Errorf("group %s: no server (give server: sips:HOST:PORT, or provisioning: a Teams SIP Gateway URL)", g.Name)
		}
		for n := first; n < first+g.Count; n++ {
			m := Member{ID: pat.Name(n), Group: g.Name, N: n, Index: len(out), Model: g.Model, Firmware: g.Firmware,
				Server: server, Domain: domain, Password: g.Password, CA: ca, SRTP: g.SRTP, Codecs: g.Codecs, Audio: g.Audio,
				Provisioning: prov}
			if other, dup := seen[strings.ToLower(m.ID)]; dup {
				return nil, fmt.Errorf("phone %s is in group %s and in group %s", m.ID, other, g.Name)
			}
			seen[strings.ToLower(m.ID)] = g.Name
			if c.StateRoot != "" && !c.Ephemeral {
				m.StateDir = filepath.Join(c.StateRoot, m.ID)
			}
			out = append(out, m)
		}
		next = first + g.Count
	}
	return out, nil
}

// ErrShard is a shard outside the fleet's shards.
var ErrShard = errors.New("bad shard")

// Shard is the i-th of n parts of members (0 <= i < n): contiguous runs
// whose sizes differ by one at most, so n shards cover every phone once.
func Shard(members []Member, i, n int) ([]Member, error) {
	if n < 1 || i < 0 || i >= n {
		return nil, fmt.Errorf("%w %d/%d: want 0 <= I < N", ErrShard, i, n)
	}
	lo, hi := len(members)*i/n, len(members)*(i+1)/n
	return members[lo:hi], nil
}

// ParseShard reads "I/N".
func ParseShard(s string) (i, n int, err error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("%w %q: want I/N with 0 <= I < N, e.g. 0/4", ErrShard, s)
	}
	return i, n, nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest is the known word got probably means, as every file's checker
// says it.
func suggest(got string, known []string) string { return yamlpos.Suggest(got, known) }

// GroupNames lists the groups of members, sorted.
func GroupNames(members []Member) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range members {
		if !seen[m.Group] {
			seen[m.Group] = true
			out = append(out, m.Group)
		}
	}
	sort.Strings(out)
	return out
}
