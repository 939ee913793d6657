package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// proc is a running deskphone whose stdout is read line by line.
type proc struct {
	t     *testing.T
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
}

func startProc(t *testing.T, args ...string) *proc {
	t.Helper()
	return startProcEnv(t, nil, args...)
}

// startProcEnv is startProc with env added to the test's environment.
func startProcEnv(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, in: in, lines: make(chan string, 1000)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		in.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	return p
}

// line returns the next output line that starts with prefix.
func (p *proc) line(prefix string) string {
	p.t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("output ended before a line starting %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout:
			p.t.Fatalf("no line starting %q", prefix)
		}
	}
}

// exec sends one headless command and returns its reply block.
func (p *proc) exec(cmd string) string {
	p.t.Helper()
	if _, err := io.WriteString(p.in, cmd+"\n"); err != nil {
		p.t.Fatal(err)
	}
	var b strings.Builder
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("%s: output ended", cmd)
			}
			if l == "--" {
				reply := b.String()
				if strings.HasPrefix(reply, "error:") {
					p.t.Fatalf("%s: %s", cmd, reply)
				}
				return reply
			}
			b.WriteString(l + "\n")
		case <-timeout:
			p.t.Fatalf("%s: no reply", cmd)
		}
	}
}

// Two headless phones of different vendors call each other through a
// standalone `deskphone backend`; its admin API leaves a voicemail.
func TestHeadlessCallThroughBackend(t *testing.T) {
	state := t.TempDir()
	b := startProc(t, "backend", "--listen", "tls:127.0.0.1:0", "--state", state, "--admin", "127.0.0.1:0")
	addr := strings.TrimPrefix(b.line("listening tls "), "listening tls ")
	admin := strings.TrimSuffix(strings.TrimPrefix(b.line("admin http://"), "admin http://"), "/admin/")

	account := func(user string) []string {
		return []string{"run", "--headless", "--server", "sips:" + addr, "--user", user, "--password", "secret", "--domain", "deskphone.test"}
	}
	bob := startProc(t, append(account("bob"), "--model", "t48g")...)
	bob.exec("wait registered=yes")
	alice := startProc(t, append(account("alice"), "--model", "vvx601", "--sip-trace", state+"/alice.trace")...)
	if st := alice.exec("wait registered=yes"); !strings.Contains(st, "Registered") {
		t.Fatalf("alice's screen:\n%s", st)
	}
	if st := alice.exec("status"); !strings.Contains(st, "tls=1.2\n") || !strings.Contains(st, "registered=yes\n") {
		t.Fatalf("alice status:\n%s", st)
	}
	alice.exec("dial bob")
	if scr := bob.exec("wait call=ringing"); !strings.Contains(scr, "Incoming call") {
		t.Fatalf("bob ringing:\n%s", scr)
	}
	bob.exec("answer")
	alice.exec("wait call=connected")
	st := alice.exec("status")
	if !strings.Contains(st, "remote=bob\n") {
		t.Fatalf("alice status in call:\n%s", st)
	}
	// Media: each hears the other's tone, DTMF crosses, all over SRTP.
	alice.exec("play tone 1000")
	bob.exec("play tone 1500")
	bob.exec("wait tone_hz=1000")
	alice.exec("wait tone_hz=1500")
	alice.exec("dtmf 5#")
	bob.exec("wait dtmf_heard=5#")
	if st := bob.exec("status"); !strings.Contains(st, "srtp=AES_CM_128_HMAC_SHA1_80\n") || !strings.Contains(st, "codec=G722\n") {
		t.Fatalf("bob's media status:\n%s", st)
	}
	alice.exec("hold")
	alice.exec("wait call=held")
	alice.exec("resume")
	alice.exec("wait call=connected")
	bob.exec("hangup")
	alice.exec("wait call=idle")

	out, stderr, code := deskphone(t, "", "backend", "admin", "--admin", admin, "voicemail", "bob")
	if code != 0 {
		t.Fatalf("admin voicemail: %d %s %s", code, out, stderr)
	}
	if scr := bob.exec("wait mwi=1"); !strings.Contains(scr, "message=on") {
		t.Fatalf("message LED:\n%s", scr)
	}
	// The rest of the admin API, as a script would use it.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"users"}, `"user": "echo"`},
		{[]string{"registrations"}, `"bob"`},
		{[]string{"health"}, `"ok": true`},
		{[]string{"add-user", "erin", "pw-erin", "1005"}, `"erin"`},
		{[]string{"rotate", "lab-2022"}, `"root": "lab-2022"`},
	} {
		out, stderr, code := deskphone(t, "", append([]string{"backend", "admin", "--admin", admin}, c.args...)...)
		if code != 0 || !strings.Contains(out, c.want) {
			t.Errorf("admin %v: exit %d, %q lacks %q (%s)", c.args, code, out, c.want, stderr)
		}
	}
	if _, stderr, code := deskphone(t, "", "backend", "admin", "--admin", admin, "rotate", "lab-1999"); code != 1 || !strings.Contains(stderr, "404") {
		t.Errorf("rotate to an unknown root: exit %d %s", code, stderr)
	}

	raw, err := os.ReadFile(state + "/alice.trace")
	data := string(raw)
	if err != nil || !strings.Contains(data, "REGISTER sips:") || !strings.Contains(data, "INVITE sip") || !strings.Contains(data, "SIP/2.0 200 OK") {
		t.Fatalf("SIP trace lacks REGISTER/INVITE/200 (%v):\n%.2000s", err, data)
	}
	// Credentials and SRTP keys are redacted; the file is the owner's.
	if !strings.Contains(data, `response="<redacted>"`) || !strings.Contains(data, "inline:<redacted>") {
		t.Errorf("SIP trace not redacted:\n%.3000s", data)
	}
	if st, err := os.Stat(state + "/alice.trace"); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("SIP trace mode: %v %v", st.Mode(), err)
	}
}

// The backend's configuration errors name the flags as the user typed them,
// once, and exit 2 like any bad flag value.
func TestBackendFlagErrors(t *testing.T) {
	dir := t.TempDir()
	users := filepath.Join(dir, "users.yaml")
	if err := os.WriteFile(users, []byte("users:\n  - user: zed\n    pasword: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--root", "lab-2099"}, `--root "lab-2099": unknown root (lab-2019, lab-2022)`},
		{[]string{"--admin", "0.0.0.0:8061"}, `--admin "0.0.0.0:8061": the admin API has no authentication and listens on loopback only`},
		{[]string{"--admin", "foo"}, `--admin "foo": want HOST:PORT`},
		{[]string{"--listen", "bogus"}, `--listen "bogus": want tls:, tcp: or udp:HOST:PORT`},
		{[]string{"--users", users}, `--users ` + users + `:3:5: unknown key "pasword" (did you mean "password"?)`},
		{[]string{"--users", filepath.Join(dir, "none.yaml")}, `: no such file`},
		{[]string{"--flow-timer", "1500ms"}, `--flow-timer "1.5s": want whole seconds, e.g. 2m or 90s`},
		{[]string{"--session-expires", "30s"}, `--session-expires "30s": want whole seconds, at least 90s`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			args := append([]string{"backend", "--state", filepath.Join(dir, "state")}, tt.args...)
			_, stderr, code := runCLI(t, args...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q\nwant exit 2 and %q", code, stderr, tt.want)
			}
			for _, goSpeak := range []string{"ServerRoot", "AdminListen", "FlowTimer", "SessionExpires", "backend: backend:", "backend.User", "invalid configuration"} {
				if strings.Contains(stderr, goSpeak) {
					t.Errorf("stderr %q speaks Go (%q)", stderr, goSpeak)
				}
			}
		})
	}
}
