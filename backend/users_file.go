package backend

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/deskphone/deskphone/internal/yamlpos"
)

// usersFile is the YAML document:
//
//	users:
//	  - user: alice
//	    password: secret
//	    display_name: Alice Smith
//	    extension: "1001"
type usersFile struct {
	Users []User `yaml:"users"`
}

// MaxUsersFileSize bounds a users file.
const MaxUsersFileSize = 1 << 20

// UsersFileError is one problem of a users file, at FILE:LINE:COL (Line 0:
// the file as a whole), as the scenario and fleet files word theirs. A
// users file's problems come together as yamlpos.Errors; each matches
// ErrUsersFile and its cause.
type UsersFileError = yamlpos.Error

// usersKeys are the keys of one user in a users file.
var usersKeys = []string{"user", "password", "display_name", "extension"}

// LoadUsers reads and validates a users file; see ParseUsers.
func LoadUsers(path string) ([]User, error) {
	f, err := os.Open(path)
	if err != nil {
		msg := "cannot open it"
		switch {
		case errors.Is(err, fs.ErrNotExist):
			msg = "no such file"
		case errors.Is(err, fs.ErrPermission):
			msg = "permission denied"
		}
		return nil, wholeFile(path, msg, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxUsersFileSize+1))
	if err != nil {
		return nil, wholeFile(path, "cannot read it", err)
	}
	return parseUsers(path, data)
}

// ParseUsers parses a users file: a YAML mapping with one key, users, a
// list of mappings with the keys user, password, display_name and
// extension. Unknown keys (with the key probably meant), values of the
// wrong shape, invalid users and duplicate names or extensions (names
// compare case-insensitively) are errors, every one of them, each at its
// line and column of "users file".
func ParseUsers(data []byte) ([]User, error) { return parseUsers("users file", data) }

func parseUsers(file string, data []byte) ([]User, error) {
	if len(data) > MaxUsersFileSize {
		return nil, wholeFile(file, fmt.Sprintf("larger than %d bytes", MaxUsersFileSize), nil)
	}
	root, serr := yamlpos.Parse(file, data)
	if serr != nil {
		serr.Err = ErrUsersFile
		return nil, yamlpos.Errors{serr}
	}
	if root == nil {
		return nil, wholeFile(file, "empty: want a list of users under the key users", nil)
	}
	c := &usersChecker{Reporter: yamlpos.Reporter{File: file, Cause: ErrUsersFile}, checked: map[*yaml.Node]bool{}}
	at, items := c.users(root)
	if len(c.Errs) > 0 {
		c.Errs.Sort()
		return nil, c.Errs
	}
	// The values are the decoder's, as they always were: it alone judges
	// what a tag (!!binary) or a merge makes of them. The keys were checked
	// above, as its KnownFields did.
	var f usersFile
	if err := decode(root, &f); err != nil {
		return nil, c.decodeProblem(root, err)
	}
	if len(f.Users) == 0 {
		c.Errorf(at, nil, "", "no users: want a list of users under the key users")
		return nil, c.Errs
	}
	dir := newDirectory()
	for i, u := range f.Users {
		item := root
		if i < len(items) {
			item = items[i]
		}
		field, err := u.check()
		if err == nil {
			if err = dir.add(u); err != nil {
				field = "extension"
				if _, taken := dir.byName[strings.ToLower(u.User)]; taken {
					field = "user"
				}
			}
		}
		if err != nil {
			at := item
			if v := c.mapping(item, usersKeys, false)[field]; v != nil {
				at = v
			}
			msg := strings.TrimPrefix(err.Error(), ErrInvalidUser.Error()+": ")
			c.Errs = append(c.Errs, &yamlpos.Error{Pos: yamlpos.At(file, at), Msg: msg, Err: fmt.Errorf("%w: %w", ErrUsersFile, err)})
		}
	}
	if len(c.Errs) > 0 {
		return nil, c.Errs
	}
	return f.Users, nil
}

// decode is n.Decode, with its panics (yaml.v3 panics on a merge into a
// mapping with a mapping for a key, which the checks above reject first)
// turned into errors: no file brings the cloud down.
func decode(n *yaml.Node, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML decoder failed: %v", r)
		}
	}()
	return n.Decode(v)
}

// wholeFile is a problem of the file as a whole: it cannot be read, it is
// empty or too large.
func wholeFile(file, msg string, cause error) error {
	err := ErrUsersFile
	if cause != nil {
		err = fmt.Errorf("%w: %w", ErrUsersFile, cause)
	}
	return yamlpos.Errors{{Pos: yamlpos.Pos{File: file}, Msg: msg, Err: err}}
}

// usersChecker checks the shape and the keys of a users file on its nodes,
// so that each problem is placed where it is.
type usersChecker struct {
	yamlpos.Reporter
	// checked holds the mappings whose keys, and the values whose shape,
	// were checked: a mapping merged (<<: *defaults) into many users is
	// reported once.
	checked map[*yaml.Node]bool
}

// users checks the document: a mapping with the key users, a list of
// mappings with the keys of a user, each value a single one. It returns
// the node a missing list is reported at, and the list's items.
func (c *usersChecker) users(root *yaml.Node) (at *yaml.Node, items []*yaml.Node) {
	root = resolve(root)
	if isNull(root) {
		return root, nil
	}
	if root.Kind != yaml.MappingNode {
		c.Errorf(root, nil, "", "found %s where the file wants the key users with a list of users, each with %s", kindName(root), strings.Join(usersKeys, ", "))
		return root, nil
	}
	list := c.mapping(root, []string{"users"}, true)["users"]
	if list == nil {
		return root, nil
	}
	if list = resolve(list); isNull(list) {
		return list, nil
	}
	if list.Kind != yaml.SequenceNode {
		c.Errorf(list, nil, "", "found %s where users wants a list of users, each with %s", kindName(list), strings.Join(usersKeys, ", "))
		return list, nil
	}
	for _, written := range list.Content {
		item := resolve(written)
		items = append(items, item)
		switch {
		case isNull(item):
		case item.Kind != yaml.MappingNode:
			c.Errorf(written, nil, "", "found %s where a user is wanted: a mapping with %s", kindName(item), strings.Join(usersKeys, ", "))
		default:
			for _, v := range c.mapping(item, usersKeys, true) {
				if r := resolve(v); r.Kind != yaml.ScalarNode && !c.checked[v] {
					c.checked[v] = true
					c.Errorf(v, nil, "", "found %s where a single value is wanted", kindName(r))
				}
			}
		}
	}
	return list, items
}

// mapping is the value of each key of mapping m, its own keys before
// those it merges (<<), as the decoder takes them; with check, it reports
// unknown keys and keys given twice, once per mapping.
func (c *usersChecker) mapping(m *yaml.Node, known []string, check bool) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	c.walk(resolve(m), known, check, out, map[*yaml.Node]bool{})
	return out
}

func (c *usersChecker) walk(m *yaml.Node, known []string, check bool, out map[string]*yaml.Node, seen map[*yaml.Node]bool) {
	if m.Kind != yaml.MappingNode || seen[m] {
		return
	}
	seen[m] = true
	report := check && !c.checked[m]
	if check {
		c.checked[m] = true
	}
	own := map[string]bool{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		written, v := m.Content[i], m.Content[i+1]
		k := resolve(written)
		switch {
		case isNull(k):
			// The decoder passes over a key without a name (": x").
		case k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge":
			merges = append(merges, resolve(v))
		case k.Kind != yaml.ScalarNode || !slices.Contains(known, k.Value):
			if report {
				c.unknownKey(written, k, known)
			}
		case own[k.Value]:
			if report {
				c.Errorf(written, nil, "", "key %q given twice", k.Value)
			}
		default:
			own[k.Value] = true
			if out[k.Value] == nil {
				out[k.Value] = v
			}
		}
	}
	for _, v := range merges {
		from := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			from = v.Content
		}
		for _, mm := range from {
			c.walk(resolve(mm), known, check, out, seen)
		}
	}
}

// unknownKey reports key k, written at the node written (an alias names
// it elsewhere), outside known: with the key probably meant, or else the
// keys there are.
func (c *usersChecker) unknownKey(written, k *yaml.Node, known []string) {
	if k.Kind != yaml.ScalarNode {
		c.Errorf(written, nil, "", "found %s where a key is wanted", kindName(k))
		return
	}
	if yamlpos.Suggest(k.Value, known) != "" {
		c.Errorf(written, known, k.Value, "unknown key %q", k.Value)
		return
	}
	c.Errorf(written, nil, "", "unknown key %q (the keys: %s)", k.Value, strings.Join(known, ", "))
}

var decodeLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// decodeProblem places what only the decoder finds (a bad !!binary, a
// merge of something else than a mapping, too many aliases): at the line
// it names, else at the top of the document.
func (c *usersChecker) decodeProblem(root *yaml.Node, err error) error {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	pos := yamlpos.At(c.File, root)
	if m := decodeLine.FindStringSubmatch(msg); m != nil {
		pos.Line, _ = strconv.Atoi(m[1])
		pos.Col, msg = 1, m[2]
	}
	msg = "cannot read it: " + strings.TrimPrefix(msg, "yaml: ")
	return yamlpos.Errors{{Pos: pos, Msg: msg, Err: fmt.Errorf("%w: %w", ErrUsersFile, err)}}
}

// resolve follows an alias (*name) to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	return "a value"
}
