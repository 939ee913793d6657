package backend

import (
	"errors"
	"os"
	"path/filepath"
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
		{"unknown key", "users:\n  - user: alice\n    password: secret\n    pasword: x\n", 0, "line 4"},
		{"unknown top-level key", "people: []\n", 0, "line 1"},
		{"duplicate extension", "users:\n  - user: alice\n    password: a\n    extension: \"1001\"\n  - user: bob\n    password: b\n    extension: \"1001\"\n", 0, "line 5"},
		{"duplicate name, other case", "users:\n  - user: alice\n    password: a\n  - user: Alice\n    password: b\n", 0, "line 4"},
		{"bad name", "users:\n  - user: al ice\n    password: a\n", 0, "line 2"},
		{"no password", "users:\n  - user: alice\n", 0, "empty password"},
		{"service name", "users:\n  - user: echo\n    password: a\n", 0, "echo service"},
		{"service extension", "users:\n  - user: eve\n    password: a\n    extension: \"8000\"\n", 0, "voicemail service"},
		{"non-numeric extension", "users:\n  - user: eve\n    password: a\n    extension: x1\n", 0, "extension"},
		{"empty", "", 0, "empty"},
		{"no users", "users: []\n", 0, "no users"},
		{"not yaml", "users: [\n", 0, "line 1"},
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
		{"misspelt key", "users:\n  - user: zed\n    pasword: x\n", `users.yaml: line 3: unknown field pasword (did you mean password?)`},
		{"misspelt top key", "user:\n  - user: zed\n", `users.yaml: line 1: unknown field user (did you mean users?)`},
		{"unknown key", "users:\n  - user: zed\n    colour: red\n", `users.yaml: line 3: unknown field colour (fields: user, password, display_name, extension)`},
		{"a bare list", "- user: zed\n  password: x\n", `users.yaml: line 1: found a list where the file wants the key users`},
		{"duplicate", "users:\n  - user: zed\n    password: a\n  - user: Zed\n    password: b\n", `users.yaml: line 4: user exists: name "Zed"`},
		{"no password", "users:\n  - user: zed\n", `users.yaml: line 2: user "zed": empty password`},
		{"syntax", "users: [\n", `users.yaml: line 1: did not find expected node content`},
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
	for _, bad := range []string{"load{n}", "load{n}:secret", "load:secret:3", "load{n}:secret:0", "load{n}::3", "load{x}:s:3", "echo{n}:s:x"} {
		if _, err := ParseLoadUsers(bad); err == nil {
			t.Errorf("ParseLoadUsers(%q) accepted", bad)
		}
	}
}
