package main

import (
	"bufio"
	"bytes"
	"html"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// writeFiles writes name → body under dir, making folders as needed.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A folder is walked with its subfolders; includes are skipped; a path
// that does not exist, or a broken file anywhere below, is invalid input.
func TestScenarioPaths(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"top.yaml":             "name: top\nphones: [{name: a, model: c450hd}]\nsteps:\n  - include: common/wait.yaml\n",
		"common/wait.yaml":     "- wait: {registered: yes}\n",
		"deeper/sub/next.yaml": "name: next\nphones: [{name: a, model: t48g}]\nsteps:\n  - wait: {registered: yes}\n",
	})
	out, stderr, code := deskphone(t, "", "scenario", "check", dir)
	if code != 0 || !strings.Contains(out, "2 scenario file(s) valid") {
		t.Fatalf("check of a folder tree: exit %d\n%s%s", code, out, stderr)
	}
	for _, args := range [][]string{{"check"}, {"run"}} {
		_, stderr, code := deskphone(t, "", append([]string{"scenario"}, append(args, filepath.Join(dir, "nonexistent"))...)...)
		if code != 2 || !strings.Contains(stderr, "nonexistent: no such file or folder") {
			t.Errorf("%s of a missing path: exit %d, %q", args[0], code, stderr)
		}
	}
	writeFiles(t, dir, map[string]string{"deeper/broken.yaml": "name: broken\nphones: [{name: a, model: c450hd}]\nsteps:\n  - wait: {registerd: yes}\n"})
	_, stderr, code = deskphone(t, "", "scenario", "check", dir)
	if code != 2 || !strings.Contains(stderr, filepath.Join("deeper", "broken.yaml")+":4:12") {
		t.Fatalf("a broken file in a subfolder: exit %d %q", code, stderr)
	}
}

// Ctrl-C during a run reports the scenario as interrupted, not failed,
// and exits 130.
func TestScenarioInterrupted(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"long.yaml":  "name: long\nphones: [{name: alice, model: c450hd}]\nsteps:\n  - wait: {registered: yes}\n  - {wait: {tone: 1000}, timeout: 1h}\n",
		"later.yaml": "name: later\nphones: [{name: a, model: c450hd}]\nsteps:\n  - wait: {registered: yes}\n",
	})
	cmd := exec.Command(binary, "scenario", "run", "--json", filepath.Join(dir, "out.json"), filepath.Join(dir, "long.yaml"), filepath.Join(dir, "later.yaml"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	lines := bufio.NewReader(stdout)
	for {
		line, err := lines.ReadString('\n')
		out.WriteString(line)
		if err != nil {
			t.Fatalf("run ended before its first step: %v\n%s%s", err, out.String(), stderr.String())
		}
		if strings.Contains(line, "wait registered=true") {
			break // the next step waits for an hour
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(lines)
	out.Write(rest)
	err = cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130\n%s%s", err, out.String(), stderr.String())
	}
	for _, want := range []string{"--- INTERRUPTED long", "interrupted at ", "long.yaml:5:5", "interrupted: 1 of 2 scenario(s) started"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "--- FAIL") || strings.Contains(out.String(), "=== later") || strings.Contains(out.String(), "context canceled") {
		t.Errorf("an interruption reported as a failure, or the next scenario started:\n%s", out.String())
	}
	data, err := os.ReadFile(filepath.Join(dir, "out.json"))
	if err != nil || !strings.Contains(string(data), `"interrupted": true`) {
		t.Errorf("JSON report: %v\n%s", err, data)
	}
}

// A failure report shows each phone's SIP messages once, on the scenario
// clock, labelled TLS, with no keep-alives and no secrets: no SDES key, no
// digest response, no password, in the output, JUnit and JSON alike.
func TestScenarioReportRedacted(t *testing.T) {
	dir := t.TempDir()
	const password = "Xyzzy-42-plover"
	writeFiles(t, dir, map[string]string{"call.yaml": `name: call
backend:
  users:
    - {user: erin, password: ` + password + `, extension: "1005"}
phones:
  - {name: erin, model: t46g, password: ` + password + `}
steps:
  - wait: {registered: yes}
  - dial: echo
  - wait: {call: connected}
  - expect: {screen: "No such text"}
`})
	junit, jsonOut := filepath.Join(dir, "out.xml"), filepath.Join(dir, "out.json")
	out, stderr, code := deskphone(t, "", "scenario", "run", "--junit", junit, "--json", jsonOut, filepath.Join(dir, "call.yaml"))
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, stderr)
	}
	x, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	j, err := os.ReadFile(jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	key := regexp.MustCompile(`inline:[A-Za-z0-9+/=]{20,}`)
	response := regexp.MustCompile(`response="[0-9a-f]{8,}`)
	unJSON := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\"`, `"`)
	for name, text := range map[string]string{"output": out, "junit": html.UnescapeString(string(x)), "json": unJSON.Replace(string(j))} {
		if m := key.FindString(text); m != "" {
			t.Errorf("%s holds an SDES key %q", name, m)
		}
		if m := response.FindString(text); m != "" {
			t.Errorf("%s holds a digest response %q", name, m)
		}
		if strings.Contains(text, password) {
			t.Errorf("%s holds the password", name)
		}
		if !strings.Contains(text, "inline:<redacted>") || !strings.Contains(text, `response="<redacted>"`) {
			t.Errorf("%s lacks the redacted SIP messages:\n%s", name, text)
		}
	}
	_, sip, _ := strings.Cut(out, "--- erin: last")
	header := regexp.MustCompile(`(?m)^\s*(\S+) (send|recv) (\S+) (\S+) (->|<-) (\S+) \((\d+) bytes\)$`)
	heads := header.FindAllStringSubmatch(sip, -1)
	if len(heads) < 4 {
		t.Fatalf("too few SIP messages in the report:\n%s", sip)
	}
	local := heads[0][4]
	for _, h := range heads {
		if !strings.HasPrefix(h[1], "2026-01-05T09:00:") {
			t.Errorf("SIP message not on the scenario clock: %s", h[0])
		}
		if h[3] != "TLS" || h[4] != local || h[7] == "4" {
			t.Errorf("SIP message of another side, not labelled TLS, or a keep-alive: %s", h[0])
		}
	}
	if n := strings.Count(sip, "INVITE sips:echo@"); n != 1 {
		t.Errorf("the INVITE appears %d times:\n%s", n, sip)
	}
}

// --sip-delay runs scenarios with every SIP delivery late: the delays'
// seed is printed before the run (chosen at random unless --seed names
// it) and in a failure's report, and a scenario on virtual time passes
// the same way.
func TestScenarioSIPDelay(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"reject.yaml": "name: reject\nphones:\n  - {name: alice, model: c450hd}\n  - {name: bob, model: t48g}\nsteps:\n" +
			"  - parallel:\n      - {phone: alice, wait: {registered: yes}}\n      - {phone: bob, wait: {registered: yes}}\n" +
			"  - {phone: alice, dial: bob}\n  - {phone: bob, wait: {call: ringing}}\n  - {phone: bob, softkey: Reject}\n" +
			"  - {phone: alice, wait: {screen: Declined}, timeout: 10s}\n",
		"failing.yaml": "name: failing\nphones:\n  - {name: alice, model: t46g}\nsteps:\n  - wait: {registered: yes}\n  - dial: busy\n  - {wait: {call: connected}, timeout: 10s}\n",
	})
	out, stderr, code := deskphone(t, "", "scenario", "run", "--sip-delay", "3ms", "--seed", "42", filepath.Join(dir, "reject.yaml"), filepath.Join(dir, "failing.yaml"))
	if code != 1 {
		t.Fatalf("exit %d, want 1 (one failing scenario):\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{"every SIP delivery delayed by up to 3ms, seed 42", "--- PASS reject", "(every SIP delivery delayed by up to 3ms, seed 42)", "1 passed, 1 failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, _, code = deskphone(t, "", "scenario", "run", "--sip-delay", "2ms", filepath.Join(dir, "reject.yaml"))
	if code != 0 || !regexp.MustCompile(`delayed by up to 2ms, seed \d+\n`).MatchString(out) {
		t.Fatalf("without --seed: exit %d, want 0 and a seed printed:\n%s", code, out)
	}
	if _, stderr, code = deskphone(t, "", "scenario", "run", "--sip-delay", "-1ms", filepath.Join(dir, "reject.yaml")); code == 0 || !strings.Contains(stderr, "--sip-delay -1ms") {
		t.Fatalf("a negative delay: exit %d\n%s", code, stderr)
	}
}

// scenario check finds what QA's files got wrong before anything runs: a
// misspelt policy field, a PIN that is not digits, a tenant the cloud
// does not know, and a status key written by its meaning; each once, at
// its file:line:col.
func TestScenarioCheckPolicyAndPIN(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"qa.yaml": `name: qa
phones:
  - {name: alice, model: vvx501}
steps:
  - policy: {tenant: contoso.onmicrosoft.com, set: {PhoneLockTimout: "00:01:00"}}
  - pin: set 12ab56
  - wait: {status: {signin_state: signed-in}}
`})
	_, stderr, code := deskphone(t, "", "scenario", "check", filepath.Join(dir, "qa.yaml"))
	file := filepath.Join(dir, "qa.yaml")
	want := []string{
		file + `:5:22: unknown tenant "contoso.onmicrosoft.com": the embedded cloud's tenant is deskphone.test`,
		file + `:5:53: unknown key "PhoneLockTimout" (did you mean "PhoneLockTimeout"?)`,
		file + `:6:10: PIN "12ab56" is not digits (a PIN the phone should refuse needs expect_error:)`,
		file + `:7:21: unknown status key "signin_state" (did you mean "session"?)`,
	}
	if code != 2 || strings.TrimSpace(stderr) != strings.Join(want, "\n") {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 2 and:\n%s", code, stderr, strings.Join(want, "\n"))
	}
}

// A run prints one line for a step over a group, whatever its size, and
// a policy step's line names the fields it set.
func TestScenarioRunGroupAndPolicyLines(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"lobby.yaml": `name: lobby
phones:
  - {name: lobby, count: 5, model: t46g}
steps:
  - wait: {registered: yes}
    phone: lobby[*]
  - policy: {tenant: deskphone.test, set: {UserDialTimeoutMS: 3000}}
  - wait: {status: {dial_timeout_ms: "3000"}}
    phone: lobby
`})
	out, stderr, code := deskphone(t, "", "scenario", "run", filepath.Join(dir, "lobby.yaml"))
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	for _, want := range []string{"lobby[*] (5 phones): wait registered=true\n", "policy of tenant deskphone.test: UserDialTimeoutMS=3000: policy version 2\n", "lobby[*] (5 phones): wait dial_timeout_ms=3000\n"} {
		if strings.Count(out, want) != 1 {
			t.Errorf("output lacks %q once:\n%s", want, out)
		}
	}
	if strings.Contains(out, "lobby[1]") {
		t.Errorf("a line per member:\n%s", out)
	}
}
