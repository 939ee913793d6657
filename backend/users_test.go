package backend

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseUsers(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int    // users, when valid
		errPart string // substring of the error, when not
	}{
		{"valid", "users:\n  - user: alice\n    password: secret\n    display_name: Alice Smith\n    extension: \"1001\"\n  - user: bob\n    password: pw\n", 2, ""},
		{"unknown key", "users:\n  - user: alice\n    password: secret\n    pasword: x\n", 0, "users file:4:5: unknown key \"pasword\""},
		{"unknown top-level key", "people: []\n", 0, "users file:1:1: unknown key \"people\""},
		{"duplicate extension", "users:\n  - user: alice\n    password: a\n    extension: \"1001\"\n  - user: bob\n    password: b\n    extension: \"1001\"\n", 0, "users file:7:16: user exists: extension 1001"},
		{"duplicate name, other case", "users:\n  - user: alice\n    password: a\n  - user: Alice\n    password: b\n", 0, "users file:4:11: user exists"},
		{"bad name", "users:\n  - user: al ice\n    password: a\n", 0, "users file:2:11: user name"},
		{"no password", "users:\n  - user: alice\n", 0, "empty password"},
		{"service name", "users:\n  - user: echo\n    password: a\n", 0, "echo service"},
		{"service extension", "users:\n  - user: eve\n    password: a\n    extension: \"8000\"\n", 0, "voicemail service"},
		{"non-numeric extension", "users:\n  - user: eve\n    password: a\n    extension: x1\n", 0, "extension"},
		{"empty", "", 0, "empty"},
		{"no users", "users: []\n", 0, "no users"},
		{"not yaml", "users: [\n", 0, "users file:1:1: not valid YAML"},
		{"a mapping for a key, merged", "users:\n  - &d {0}\n  - {<<,*d}\n", 0, "users file:3:9: found a mapping where a key is wanted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			users, err := ParseUsers([]byte(tt.in))
			if tt.errPart == "" {
				if err != nil || len(users) != tt.want {
					t.Fatalf("ParseUsers = %v, %v; want %d users", users, err, tt.want)
				}
				return
			}
			if !errors.Is(err, ErrUsersFile) || !strings.Contains(err.Error(), tt.errPart) {
				t.Fatalf("ParseUsers error = %v, want ErrUsersFile mentioning %q", err, tt.errPart)
			}
		})
	}
}

func TestUsersFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users.yaml")
	if err := os.WriteFile(path, []byte("users:\n  - user: zoe\n    password: pw\n    extension: \"2001\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{StateDir: dir, UsersFile: path})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if users := b.Users(); len(users) != 1 || users[0].User != "zoe" {
		t.Errorf("Users() = %+v", users)
	}
	if err := b.AddUser(User{User: "zed", Password: "pw", Extension: "2001"}); !errors.Is(err, ErrUserExists) {
		t.Errorf("AddUser with a taken extension = %v", err)
	}
	if _, err := New(Config{StateDir: dir, UsersFile: filepath.Join(dir, "missing.yaml")}); !errors.Is(err, ErrUsersFile) {
		t.Errorf("missing users file: %v", err)
	}
}

func TestDefaultUsers(t *testing.T) {
	b, err := New(Config{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var names []string
	for _, u := range b.Users() {
		names = append(names, u.User+"/"+u.Extension)
		if u.Password != "secret" {
			t.Errorf("%s has password %q", u.User, u.Password)
		}
	}
	if got := strings.Join(names, " "); got != "alice/1001 bob/1002 carol/1003 dave/1004" {
		t.Errorf("default users %s", got)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []Config{
		{},
		{StateDir: dir, Listen: []string{"sctp:127.0.0.1:5060"}},
		{StateDir: dir, Listen: []string{"tls:127.0.0.1"}},
		{StateDir: dir, Listen: []string{"tls:0.0.0.0:5061"}},
		{StateDir: dir, Listen: []string{"udp:127.0.0.1:99999"}},
		{StateDir: dir, ServerRoot: "lab-1999"},
		{StateDir: dir, DigestAlgorithms: []string{"SHA-512"}},
	}
	for _, cfg := range tests {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
}

// FuzzParseUsers checks that no users file makes ParseUsers panic, and
// that what it accepts is valid.
func FuzzParseUsers(f *testing.F) {
	f.Add([]byte("users:\n  - user: alice\n    password: secret\n    extension: \"1001\"\n"))
	f.Add([]byte("users:\n  - &alice {user: alice, password: secret}\n  - {<<: *alice, user: bob, extension: 1002}\n"))
	f.Add([]byte("users:\n  - &d {0}\n  - {<<,*d}\n")) // once a panic in yaml.v3's merge
	f.Fuzz(func(t *testing.T, data []byte) {
		users, err := ParseUsers(data)
		if err != nil {
			return
		}
		for _, u := range users {
			if err := u.Validate(); err != nil {
				t.Fatalf("accepted invalid user %+v: %v", u, err)
			}
		}
	})
}

// The users file's errors speak of the file, never of Go types.
func TestUsersFileMessages(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, in, want string
	}{
		{"misspelt key", "users:\n  - user: zed\n    pasword: x\n", `users.yaml:3:5: unknown key "pasword" (did you mean "password"?)`},
		{"misspelt top key", "user:\n  - user: zed\n", `users.yaml:1:1: unknown key "user" (did you mean "users"?)`},
		{"unknown key", "users:\n  - user: zed\n    colour: red\n", `users.yaml:3:5: unknown key "colour" (the keys: user, password, display_name, extension)`},
		{"a bare list", "- user: zed\n  password: x\n", `users.yaml:1:1: found a list where the file wants the key users`},
		{"duplicate", "users:\n  - user: zed\n    password: a\n  - user: Zed\n    password: b\n", `users.yaml:4:11: user exists: name "Zed"`},
		{"no password", "users:\n  - user: zed\n", `users.yaml:2:5: user "zed": empty password`},
		{"syntax", "users: [\n", `users.yaml:1:1: not valid YAML: did not find expected node content`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "users.yaml")
			if err := os.WriteFile(path, []byte(tt.in), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadUsers(path)
			if !errors.Is(err, ErrUsersFile) {
				t.Fatalf("err = %v, want ErrUsersFile", err)
			}
			msg := strings.TrimPrefix(err.Error(), dir+string(filepath.Separator))
			if !strings.HasPrefix(msg, tt.want) {
				t.Fatalf("message %q\nwant it to start %q", msg, tt.want)
			}
			for _, goSpeak := range []string{"backend.", "unmarshal", "!!", " yaml:", "invalid users file", "backend:"} {
				if strings.Contains(msg, goSpeak) {
					t.Errorf("message %q speaks Go (%q)", msg, goSpeak)
				}
			}
		})
	}
}

// Config errors name the field and say what is wrong, once.
func TestConfigErrorMessages(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		cfg   Config
		field string
		want  string
	}{
		{Config{StateDir: dir, ServerRoot: "lab-2099"}, "ServerRoot", `invalid configuration: ServerRoot "lab-2099": unknown root (lab-2019, lab-2022)`},
		{Config{StateDir: dir, AdminListen: "0.0.0.0:8061"}, "AdminListen", `listens on loopback only`},
		{Config{StateDir: dir, AdminListen: "foo"}, "AdminListen", `want HOST:PORT`},
		{Config{StateDir: dir, Listen: []string{"bogus"}}, "Listen", `want tls:, tcp: or udp:HOST:PORT`},
		{Config{}, "StateDir", `required`},
		{Config{StateDir: dir, FlowTimer: 1500 * time.Millisecond}, "FlowTimer", `FlowTimer "1.5s": want whole seconds`},
		{Config{StateDir: dir, FlowTimer: -time.Second}, "FlowTimer", `want whole seconds`},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || !errors.Is(err, ErrConfig) || ce.Field != tt.field {
			t.Errorf("New(%+v) = %v, want a ConfigError on %s", tt.cfg, err, tt.field)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || strings.Count(err.Error(), "invalid configuration") != 1 || strings.Contains(err.Error(), "backend:") {
			t.Errorf("message %q, want %q once and no package prefix", err, tt.want)
		}
	}
	if _, err := New(Config{StateDir: dir, ServerRoot: "lab-2099"}); !errors.Is(err, ErrUnknownRoot) {
		t.Errorf("unknown root: %v, want ErrUnknownRoot", err)
	}
}

func TestParseLoadUsers(t *testing.T) {
	users, err := ParseLoadUsers("load{n:05d}:sec:ret:3")
	if err != nil {
		t.Fatal(err)
	}
	want := []User{{User: "load00001", Password: "sec:ret"}, {User: "load00002", Password: "sec:ret"}, {User: "load00003", Password: "sec:ret"}}
	if len(users) != len(want) {
		t.Fatalf("got %d users, want %d", len(users), len(want))
	}
	for i := range want {
		if users[i] != want[i] {
			t.Errorf("user %d = %+v, want %+v", i, users[i], want[i])
		}
	}
	numbered, err := ParseLoadUsers("bulk{n:03d}:secret:2:5001")
	if err != nil {
		t.Fatal(err)
	}
	if len(numbered) != 2 || numbered[0] != (User{User: "bulk001", Password: "secret", Extension: "5001"}) || numbered[1].Extension != "5002" {
		t.Fatalf("with extensions: %+v", numbered)
	}
	for _, bad := range []string{"load{n}", "load{n}:secret", "load:secret:3", "load{n}:secret:0", "load{n}::3", "load{x}:s:3", "echo{n}:s:x",
		"load{n}:s:3:7999", "load{n}:s:3:0", "load{n}:s:3:1234567890123456"} {
		if _, err := ParseLoadUsers(bad); err == nil {
			t.Errorf("ParseLoadUsers(%q) accepted", bad)
		}
	}
}

// A users file's problems are reported together, each at its line and
// column, each matching ErrUsersFile and its cause; the first is a
// *UsersFileError.
func TestUsersFileEveryProblem(t *testing.T) {
	_, err := ParseUsers([]byte("users:\n  - user: zed\n    pasword: x\n  - user: amy\n    password: [a, b]\n  - user: bo\n    password: x\n    password: y\n"))
	want := "users file:3:5: unknown key \"pasword\" (did you mean \"password\"?)\n" +
		"users file:5:15: found a list where a single value is wanted\n" +
		"users file:8:5: key \"password\" given twice"
	var first *UsersFileError
	if err == nil || err.Error() != want || !errors.Is(err, ErrUsersFile) || !errors.As(err, &first) || first.Line != 3 || first.Col != 5 {
		t.Fatalf("got\n%v\nwant\n%s", err, want)
	}
	_, err = ParseUsers([]byte("users:\n  - {user: zed, password: x}\n  - {user: amy, password: x, extension: \"12a\"}\n  - {user: Zed, password: x}\n"))
	want = "users file:3:41: user \"amy\": extension \"12a\" is not 1-15 digits\n" +
		"users file:4:12: user exists: name \"Zed\""
	if err == nil || err.Error() != want || !errors.Is(err, ErrInvalidUser) || !errors.Is(err, ErrUserExists) {
		t.Fatalf("got\n%v\nwant\n%s", err, want)
	}
	_, err = LoadUsers(filepath.Join(t.TempDir(), "none.yaml"))
	if err == nil || !strings.HasSuffix(err.Error(), "none.yaml: no such file") || !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, ErrUsersFile) {
		t.Fatalf("missing file: %v", err)
	}
}

// Anchors, aliases, merges and tags read as the YAML decoder always read
// them; a misspelt key in a mapping merged into many users is reported
// once, where it is.
func TestUsersFileAnchors(t *testing.T) {
	users, err := ParseUsers([]byte("users:\n  - &alice {user: alice, password: secret, extension: \"1001\"}\n  - <<: *alice\n    user: bob\n    extension: 1002\n  - {user: carol, password: !!binary c2VjcmV0}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []User{{User: "alice", Password: "secret", Extension: "1001"}, {User: "bob", Password: "secret", Extension: "1002"}, {User: "carol", Password: "secret"}}
	if !slices.Equal(users, want) {
		t.Fatalf("users %+v\nwant %+v", users, want)
	}
	_, err = ParseUsers([]byte("users:\n  - &d {user: a, pasword: x}\n  - {<<: *d, user: b}\n  - {<<: *d, user: c}\n"))
	if err == nil || err.Error() != `users file:2:18: unknown key "pasword" (did you mean "password"?)` {
		t.Fatalf("merged misspelling: %v", err)
	}
}
