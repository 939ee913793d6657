//go:build interop

package interop

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/deskphone/deskphone/internal/labdir"
)

func TestMain(m *testing.M) {
	// sipgo's process-wide logger warns about connection housekeeping.
	sip.SetDefaultLogger(slog.New(slog.DiscardHandler))
	os.Exit(labdir.RunTests(m))
}

// requireEnv makes a missing tool a failure instead of a skip: for a CI job
// that installed the packages and must not turn green by skipping.
const requireEnv = "DESKPHONE_INTEROP_REQUIRE"

// tool is a program a test runs and the Debian package that has it.
type tool struct {
	names   []string // candidates, first found wins
	pkg     string
	purpose string
}

var (
	toolKamailio = tool{[]string{"kamailio"}, "kamailio", "TLS registrar and proxy"}
	toolSIPp     = tool{[]string{"sipp"}, "sip-tester", "SIPp"}
	toolStunnel  = tool{[]string{"stunnel4", "stunnel"}, "stunnel4", "TLS for SIPp"}
)

// skipMissing skips the test because something it needs is not installed,
// or fails it under DESKPHONE_INTEROP_REQUIRE=1.
func skipMissing(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(requireEnv) == "1" {
		t.Fatalf("%s (%s=1)", msg, requireEnv)
	}
	t.Skipf("SKIP interop: %s", msg)
}

// need returns the path of the tool's program or skips the test.
func need(t *testing.T, tl tool) string {
	t.Helper()
	for _, n := range tl.names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
		// kamailio lives in /usr/sbin, which is not in every user's PATH.
		for _, d := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
			p := filepath.Join(d, n)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
				return p
			}
		}
	}
	skipMissing(t, "%s (%s) not found in PATH or /usr/sbin: apt-get install -y %s", tl.names[0], tl.purpose, tl.pkg)
	return ""
}

// testdata is the path of a file in testdata/.
func testdata(name string) string { return filepath.Join("testdata", name) }

// render executes the template testdata/tmpl with data into path.
func render(t *testing.T, tmpl, path string, data any) {
	t.Helper()
	tp, err := template.New(tmpl).Option("missingkey=error").ParseFiles(testdata(tmpl))
	if err != nil {
		t.Fatalf("template: %v", err)
	}
	var buf bytes.Buffer
	if err := tp.Execute(&buf, data); err != nil {
		t.Fatalf("template %s: %v", tmpl, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// freePort returns a loopback port that is free for TCP and, with udp, for
// UDP as well. Someone else may take it before our daemon binds it: the
// daemon starters retry with new ports when binding fails.
func freePort(t *testing.T, udp bool) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		ok := true
		if udp {
			pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
			if err != nil {
				ok = false
			} else {
				pc.Close()
			}
		}
		l.Close()
		if ok {
			return port
		}
	}
	t.Fatal("no free loopback port for TCP and UDP")
	return 0
}

// listening says whether something listens on TCP 127.0.0.1:port, read from
// /proc/net/tcp so that checking does not open a connection (SIPp would take
// a probe for a peer). ok is false when /proc cannot tell.
func listening(port int) (yes, ok bool) {
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return false, false
	}
	want := fmt.Sprintf("0100007F:%04X", port)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// sl local_address rem_address st ...; st 0A is LISTEN.
		if len(f) > 3 && f[1] == want && f[3] == "0A" {
			return true, true
		}
	}
	return false, true
}

// boundUDP says whether a UDP socket is bound to 127.0.0.1:port, read from
// /proc/net/udp; ok is false when /proc cannot tell.
func boundUDP(port int) (yes, ok bool) {
	data, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return false, false
	}
	want := fmt.Sprintf("0100007F:%04X", port)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) > 1 && f[1] == want {
			return true, true
		}
	}
	return false, true
}

// waitBoundUDP is waitListening for a program that receives on UDP
// 127.0.0.1:port. Without /proc it waits only for p to stay up.
func waitBoundUDP(p *proc, port int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		yes, ok := boundUDP(port)
		if yes || !ok && !p.exited() {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("%s exited before binding UDP port %d: %v", p.name, port, p.waitErr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s has not bound UDP port %d after %v", p.name, port, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitListening waits until p listens on TCP 127.0.0.1:port. It fails when
// p exits first (bindFailed then tells whether it could not bind the port)
// or the deadline passes.
func waitListening(p *proc, port int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		yes, ok := listening(port)
		if yes {
			return nil
		}
		if !ok {
			// No /proc: fall back to a connection attempt.
			if c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second); err == nil {
				c.Close()
				return nil
			}
		}
		if p.exited() {
			return fmt.Errorf("%s exited before listening on port %d: %v", p.name, port, p.waitErr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening on port %d after %v", p.name, port, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// bindFailed says whether a program that ended early could not bind its
// port (someone took the free port we picked): worth a retry on others.
func (p *proc) bindFailed() bool {
	if !p.exited() {
		return false
	}
	data, _ := os.ReadFile(p.logs[0])
	s := strings.ToLower(string(data))
	return strings.Contains(s, "address already in use")
}

// daemonTimeout is the longest a daemon may live: a safety net, since each
// test stops its daemons when it ends.
const daemonTimeout = 4 * time.Minute

// exchange writes one SIP request on conn and reads the final response: its
// status line and headers (provisional responses are skipped; responses
// must have no body).
func exchange(conn net.Conn, req string) (status string, hdr textproto.MIMEHeader, err error) {
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte(req)); err != nil {
		return "", nil, err
	}
	r := textproto.NewReader(bufio.NewReader(conn))
	for {
		if status, err = r.ReadLine(); err != nil {
			return "", nil, err
		}
		if hdr, err = r.ReadMIMEHeader(); err != nil {
			return status, nil, err
		}
		if !strings.HasPrefix(status, "SIP/2.0 1") {
			return status, hdr, nil
		}
	}
}

// proc is a program a test started, in its own process group so that it
// and its children are stopped together by process group id.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logs    []string // files (glob patterns) shown when the test fails
	done    chan struct{}
	waitErr error // Wait's result, once done is closed
}

// start runs argv in the background with stdout and stderr in
// dir/name.out. It is killed after timeout at the latest, and stopped
// (SIGTERM, then SIGKILL) when the test ends. logs are more files (glob
// patterns) to show, with the output, when the test has failed.
func start(t *testing.T, name, dir string, timeout time.Duration, argv []string, logs ...string) *proc {
	t.Helper()
	out := filepath.Join(dir, name+".out")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	p := &proc{name: name, cmd: cmd, logs: append([]string{out}, logs...), done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		cancel()
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		f.Close()
		cancel()
		close(p.done)
	}()
	t.Logf("started %s (pid %d): %s", name, cmd.Process.Pid, strings.Join(argv, " "))
	// Cleanups run last-in first-out: the logs are shown after the stop,
	// when they are complete.
	t.Cleanup(func() {
		if t.Failed() {
			p.showLogs(t)
		}
	})
	t.Cleanup(p.stop)
	return p
}

// exited says whether the program has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits up to timeout for the program to end and returns its exit
// code; ok is false when it is still running.
func (p *proc) wait(timeout time.Duration) (code int, ok bool) {
	select {
	case <-p.done:
	default:
		select {
		case <-p.done:
		case <-time.After(timeout):
			return 0, false
		}
	}
	var ee *exec.ExitError
	switch {
	case p.waitErr == nil:
		return 0, true
	case errors.As(p.waitErr, &ee):
		return ee.ExitCode(), true
	}
	return -1, true
}

// stop ends the program and its children: SIGTERM to the process group,
// SIGKILL if it has not ended after a few seconds.
func (p *proc) stop() {
	pgid := p.cmd.Process.Pid
	if !p.exited() {
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
		}
	}
	// Children the leader left behind, if any, are ours too.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-p.done
}

// showLogs prints the tail of the program's log files.
func (p *proc) showLogs(t *testing.T) {
	t.Helper()
	var paths []string
	for _, pattern := range p.logs {
		m, _ := filepath.Glob(pattern)
		paths = append(paths, m...)
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		t.Logf("----- %s: %s (%d bytes) -----\n%s", p.name, filepath.Base(path), len(data), tail(data, 200))
	}
}

// tail is the last n lines of data.
func tail(data []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines before]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
