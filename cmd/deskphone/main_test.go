package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/deskphone/deskphone/internal/labdir"
	"github.com/deskphone/deskphone/phone/catalog"
)

// binary is the deskphone built once for the tests that run it as users do.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "deskphone-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "deskphone")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := labdir.RunTests(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// deskphone runs the binary with stdin and returns stdout, stderr and the exit code.
func deskphone(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// blocks splits headless output into its reply blocks.
func blocks(out string) []string {
	parts := strings.Split(out, "--\n")
	return parts[:len(parts)-1]
}

// The acceptance check: from the idle screen, each model reaches its
// vendor's firmware-version screen by its documented path.
func TestHeadlessFirmwareVersionPerModel(t *testing.T) {
	scripts := map[string]string{
		"audiocodes": "press menu\npress ok\npress ok\n",                                                       // Menu > Device Status > Firmware version
		"poly":       "press menu\npress ok\npress down\npress ok\npress ok\npress down\npress ok\npress ok\n", // Settings > Status > Platform > Application > Main
		"yealink":    "softkey Status\n",                                                                       // Status on the main screen
		"lpe":        "press menu\npress ok\n",                                                                 // Menu > System Information
	}
	cat, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range cat.ModelIDs() {
		m, _ := cat.Model(id)
		t.Run(id, func(t *testing.T) {
			script, ok := scripts[m.VendorID]
			if !ok {
				t.Fatalf("no script for vendor %s", m.VendorID)
			}
			out, stderr, code := deskphone(t, script+"quit\n", "run", "--headless", "--model", id, "--clock", "virtual")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			b := blocks(out)
			if len(b) != strings.Count(script, "\n") {
				t.Fatalf("%d reply blocks for %d commands:\n%s", len(b), strings.Count(script, "\n"), out)
			}
			last := b[len(b)-1]
			if !strings.Contains(last, m.DefaultFirmware) {
				t.Fatalf("last screen lacks %s:\n%s", m.DefaultFirmware, last)
			}
		})
	}
}

func TestHeadlessProtocol(t *testing.T) {
	state := t.TempDir()
	script := strings.Join([]string{
		"dial 1234",
		"advance 4s",
		"advance 1s",
		"bogus",
		"press nosuchkey",
		"softkey 9",
		"softkey Transfer",
		"advance soon",
		"status",
		"press volup",
		"screen",
		"quit",
		"screen", // after quit: never answered
	}, "\n") + "\n"
	// No account: the dial timeout must end in "No service" whatever the
	// network does, so nothing here races a registration.
	out, stderr, code := deskphone(t, script, "run", "--headless", "--no-backend", "--model", "t48g", "--state", state, "--clock", "virtual", "--start", "2026-03-02T14:30:00Z")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b := blocks(out)
	if len(b) != 11 {
		t.Fatalf("%d blocks, want 11:\n%s", len(b), out)
	}
	checks := []struct {
		block int
		want  string
	}{
		{0, "1234_"},
		{0, "14:30 Mon Mar 02"},
		{1, "Dialing"},
		{2, "No service: not registered"},
		{3, `error: unknown command "bogus"`},
		{4, `error: unknown key "nosuchkey"`},
		{5, "error: softkey 9: this phone has softkeys 1-4"},
		{6, `error: no softkey "Transfer"`},
		{7, "error: advance: \"soon\" is not a duration"},
		{8, "call=idle"},
		{8, "model=t48g"},
		{8, "time=2026-03-02T14:30:05Z"},
		{9, "Volume ######.... 6"},
	}
	for _, c := range checks {
		if !strings.Contains(b[c.block], c.want) {
			t.Errorf("block %d lacks %q:\n%s", c.block, c.want, b[c.block])
		}
	}
	if strings.Contains(b[1], "No service") {
		t.Errorf("dialled before UserDialTimeoutMS:\n%s", b[1])
	}
	// The state directory remembers the volume and the identity.
	out2, _, _ := deskphone(t, "status\n", "run", "--headless", "--model", "t48g", "--state", state)
	mac := statusValue(b[8], "mac")
	if mac == "" || statusValue(out2, "mac") != mac {
		t.Fatalf("identity not kept in --state: %q vs %q", mac, statusValue(out2, "mac"))
	}
}

func statusValue(block, key string) string {
	for _, line := range strings.Split(block, "\n") {
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			return v
		}
	}
	return ""
}

func TestSubcommands(t *testing.T) {
	out, _, code := deskphone(t, "", "--help")
	for _, want := range []string{"run", "models", "version"} {
		if code != 0 || !strings.Contains(out, "  "+want) {
			t.Fatalf("--help (exit %d) lacks %s:\n%s", code, want, out)
		}
	}
	out, _, code = deskphone(t, "", "help", "run")
	if code != 0 || !strings.Contains(out, "--headless") {
		t.Fatalf("help run: %d\n%s", code, out)
	}
	out, _, code = deskphone(t, "", "models")
	for _, want := range []string{"UC430HD_3.2.1.580", "5.4.0A", "35.8.1.52", "4.0.7577.4463", "device-lock", "1.0-1.0"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("models lacks %s:\n%s", want, out)
		}
	}
	out, _, code = deskphone(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "deskphone ") {
		t.Fatalf("version: %d %q", code, out)
	}
	_, stderr, code := deskphone(t, "", "frobnicate")
	if code != 2 || !strings.Contains(stderr, "unknown command") {
		t.Fatalf("unknown subcommand: %d %q", code, stderr)
	}
	_, stderr, code = deskphone(t, "", "run", "--model", "nokia3310", "--headless")
	if code != 1 || !strings.Contains(stderr, "unknown model") {
		t.Fatalf("unknown model: %d %q", code, stderr)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("models:\n  x1:\n    vendor: acme\n"), 0o644)
	_, stderr, code = deskphone(t, "", "models", "--catalog", bad)
	if code != 1 || !strings.Contains(stderr, `bad.yaml: model "x1"`) {
		t.Fatalf("bad catalog: %d %q", code, stderr)
	}
}

func TestScenarioCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// A broken file: exit 2, every error with its line, nothing run.
	broken := write("broken.yaml", "name: broken\nphones:\n  - {name: alice, model: vvx601}\nsteps:\n  - dail: echo\n  - {wait: {call: ringin}}\n")
	_, stderr, code := deskphone(t, "", "scenario", "check", broken)
	if code != 2 || !strings.Contains(stderr, "broken.yaml:5:5: unknown key \"dail\" (did you mean \"dial\"?)") ||
		!strings.Contains(stderr, "broken.yaml:6:19: unknown call state \"ringin\" (did you mean \"ringing\"?)") {
		t.Fatalf("check of a broken file: exit %d\n%s", code, stderr)
	}
	_, _, code = deskphone(t, "", "scenario", "run", broken)
	if code != 2 {
		t.Fatalf("run of a broken file: exit %d, want 2", code)
	}
	// A failing scenario: exit 1, the failed step, the screens in the report.
	failing := write("failing.yaml", "name: failing\nphones:\n  - {name: alice, model: t46g}\nsteps:\n  - wait: {registered: yes}\n  - dial: busy\n  - {wait: {call: connected}, timeout: 10s}\n")
	passing := write("passing.yaml", "name: passing\nphones:\n  - {name: bob, model: c450hd}\nsteps:\n  - wait: {registered: yes}\n  - advance: 15m\n  - expect: {registered: yes, screen: \"09:15\"}\n")
	junit := filepath.Join(dir, "out.xml")
	out, _, code := deskphone(t, "", "scenario", "run", failing, passing, "--junit", junit, "-j", "2")
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{"failing.yaml:7:5: alice: wait call=connected: timed out after 10s; call=idle", "--- alice: screen", "call to busy failed: Busy", "--- alice: last", "SIP/2.0 486", "--- PASS passing", "2 scenario(s): 1 passed, 1 failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	if x := string(data); strings.Count(x, "<testcase ") != 2 || !strings.Contains(x, `failures="1"`) {
		t.Fatalf("junit:\n%s", x)
	}
	out, _, code = deskphone(t, "", "scenario", "check", "../../scenarios/library")
	if code != 0 || !strings.Contains(out, "valid") {
		t.Fatalf("library check: %d %s", code, out)
	}
}

func TestCertsCommand(t *testing.T) {
	dir := t.TempDir()
	lab := filepath.Join(dir, "lab")
	out, stderr, code := deskphone(t, "", "certs", "lab", "--out", lab, "--host", "sip.test", "--host", "10.1.2.3")
	if code != 0 || !strings.Contains(out, "lab PKI in") {
		t.Fatalf("certs lab: %d %s %s", code, out, stderr)
	}
	for _, f := range []string{"ca-bundle.pem", "server-old.pem", "server-new.pem"} {
		if _, err := os.Stat(filepath.Join(lab, f)); err != nil {
			t.Fatalf("lab lacks %s: %v", f, err)
		}
	}
	state := filepath.Join(dir, "phone")
	if _, _, code := deskphone(t, "status\n", "run", "--headless", "--model", "430hd", "--firmware", "3.2.1.580", "--state", state, "--no-backend"); code != 0 {
		t.Fatal("could not create the phone's state")
	}
	out, _, code = deskphone(t, "", "certs", "list", "--state", state)
	if code != 0 || strings.Count(out, "factory") != 1 || !strings.Contains(out, "Deskphone Lab Root CA 2019") {
		t.Fatalf("list of a 3.2.1.580 phone: %d\n%s", code, out)
	}
	out, _, code = deskphone(t, "", "certs", "import", "--state", state, filepath.Join(lab, "ca-bundle.pem"))
	if code != 0 || strings.Count(out, "imported ") != 2 || !strings.Contains(out, "after the next reboot") {
		t.Fatalf("import of the bundle: %d\n%s", code, out)
	}
	out, _, _ = deskphone(t, "", "certs", "list", "--state", state)
	if strings.Count(out, "imported") != 2 || !strings.Contains(out, " no ") {
		t.Fatalf("imports should be listed, not active before a reboot:\n%s", out)
	}
	fp := ""
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "imported") {
			fp = strings.Fields(line)[0]
		}
	}
	if out, _, code = deskphone(t, "", "certs", "remove", "--state", state, fp); code != 0 || !strings.Contains(out, "removed") {
		t.Fatalf("remove %s: %d %s", fp, code, out)
	}
	// The next boot trusts the import that is left.
	deskphone(t, "quit\n", "run", "--headless", "--state", state, "--no-backend")
	out, _, _ = deskphone(t, "", "certs", "list", "--state", state)
	if strings.Count(out, "imported  yes") != 1 || strings.Contains(out, " no ") {
		t.Fatalf("after a reboot the remaining import is active:\n%s", out)
	}
	if _, stderr, code = deskphone(t, "", "certs", "import", "--state", state, filepath.Join(lab, "server-old.key")); code != 1 || !strings.Contains(stderr, "server-old.key") {
		t.Fatalf("importing a key file: %d %s", code, stderr)
	}
	factory := ""
	out, _, _ = deskphone(t, "", "certs", "list", "--state", state)
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "factory") {
			factory = strings.Fields(line)[0]
		}
	}
	if _, stderr, code = deskphone(t, "", "certs", "remove", "--state", state, factory); code != 1 || !strings.Contains(stderr, "factory") {
		t.Fatalf("removing a factory root: %d %s", code, stderr)
	}
}

// The codec list takes the policy's form; what the phone cannot do is
// skipped with a syslog line, and calls use what is left.
func TestCodecListAndSRTPFlags(t *testing.T) {
	out, stderr, code := deskphone(t, "wait registered=yes\nlog 30\ndial echo\nwait call=connected\nstatus\nquit\n",
		"run", "--headless", "--codecs", "G729;SILK;PCMA", "--srtp", "optional", "--audio-source", "tone:900")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"codec G729 from the codec list is not supported; skipped", "codec SILK from the codec list is not supported; skipped", "codec=PCMA\n", "srtp=AES_CM_128_HMAC_SHA1_80\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	_, stderr, code = deskphone(t, "", "run", "--headless", "--srtp", "sometimes")
	if code != 1 || !strings.Contains(stderr, "--srtp") {
		t.Fatalf("bad --srtp: %d %s", code, stderr)
	}
	_, stderr, code = deskphone(t, "", "run", "--headless", "--codecs", "G729")
	if code != 1 || !strings.Contains(stderr, "none of the codecs is supported") {
		t.Fatalf("no usable codec: %d %s", code, stderr)
	}
	_, stderr, code = deskphone(t, "", "run", "--headless", "--audio-source", "wav:/nonexistent.wav")
	if code != 1 || !strings.Contains(stderr, "nonexistent.wav") {
		t.Fatalf("missing WAV: %d %s", code, stderr)
	}
	_, stderr, code = deskphone(t, "", "run", "--headless", "--media-ports", "each")
	if code != 2 || !strings.Contains(stderr, `--media-ports "each": want shared or per-call`) {
		t.Fatalf("bad --media-ports: %d %s", code, stderr)
	}
}

// Ctrl-C ends `run --headless` at once and cleanly (exit 0, nothing on
// stderr), with stdin still open: while it waits for a line and while a
// command runs.
func TestHeadlessInterrupt(t *testing.T) {
	tests := []struct {
		name, input string
		signal      os.Signal
	}{
		{"waiting for a line", "", os.Interrupt},
		{"during a wait", "wait call=connected 1h\n", os.Interrupt},
		{"SIGTERM during a wait", "wait call=connected 1h\n", syscall.SIGTERM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(binary, "run", "--headless", "--no-backend", "--state", t.TempDir())
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var errb bytes.Buffer
			cmd.Stderr = &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// A first reply says the session reads commands.
			io.WriteString(stdin, "status\n"+tt.input)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() && sc.Text() != "--" {
			}
			go io.Copy(io.Discard, stdout)
			if err := cmd.Process.Signal(tt.signal); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("exit: %v, stderr %q", err, errb.String())
				}
				if errb.Len() != 0 {
					t.Fatalf("stderr %q", errb.String())
				}
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatal("still running 10 s after the signal")
			}
		})
	}
}
