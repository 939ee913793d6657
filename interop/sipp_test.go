//go:build interop

package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// sippTimeout bounds one SIPp run: its own -timeout is a little shorter so
// that it ends by itself, with its statistics, before it is killed.
const sippTimeout = 90 * time.Second

// sipp is one SIPp run of one of our scenarios over TCP (SIPp here is built
// without TLS; stunnel carries it to TLS listeners).
type sipp struct {
	name     string            // names the log files
	scenario string            // file in testdata/
	remote   string            // host:port to send to; "" for a UAS that waits for calls
	keys     map[string]string // -key: [dp_...] values in the scenario
	// auth is the [authentication ...] keyword the scenario takes from
	// field0 of its CSV file, "" for none. The whole keyword goes into the
	// field: SIPp 3.6 garbles username=[field0].
	auth string
	// udp runs SIPp over UDP (-t u1) instead of one TCP connection: every
	// message reaches it on one socket, in the order the proxy sent it,
	// which a scenario that takes requests and responses from both sides
	// of a dialog needs (over TCP the proxy opens a second connection to
	// SIPp's listener for requests).
	udp bool
}

// sippAuth is the [authentication] keyword for user and password.
func sippAuth(user, password string) string {
	return fmt.Sprintf("[authentication username=%s password=%s]", user, password)
}

// startSIPp starts SIPp for one call (-m 1) in the background and returns
// it with its local port. SIPp listens on that port even as a client, so a
// port taken between our pick and its bind makes it exit at once (code 254):
// it is then started again on another. Its message trace, unexpected
// messages and final screen go to dir and are shown when the test fails.
func startSIPp(t *testing.T, bin, dir string, s sipp) (*proc, int) {
	t.Helper()
	scn, err := filepath.Abs(testdata(s.scenario))
	if err != nil {
		t.Fatal(err)
	}
	for attempt := 1; ; attempt++ {
		name := s.name
		if attempt > 1 {
			name = fmt.Sprintf("%s-try%d", s.name, attempt)
		}
		port := freePort(t, s.udp) // -p: SIPp's listener, [local_port]
		base := filepath.Join(dir, name)
		p := start(t, "sipp-"+name, dir, sippTimeout, sippArgs(t, bin, scn, base, port, s),
			base+".errors.log", base+".messages.log", base+".screen.log", base+".log")
		wait := waitListening
		if s.udp {
			wait = waitBoundUDP
		}
		err := wait(p, port, 15*time.Second)
		if err == nil || !p.exited() {
			if err != nil {
				t.Fatal(err)
			}
			return p, port
		}
		// It ended before we saw it listen: a bind failure is retried,
		// anything else (a run that was over in a flash, too) is for the
		// caller to judge by the exit code.
		if code, _ := p.wait(time.Second); attempt >= 3 || code != 254 && !p.bindFailed() {
			return p, port
		}
		t.Logf("%v; trying another port", err)
	}
}

// sippArgs is SIPp's command line; base names its log files.
func sippArgs(t *testing.T, bin, scenario, base string, port int, s sipp) []string {
	t.Helper()
	argv := []string{bin}
	if s.remote != "" {
		argv = append(argv, s.remote)
	}
	transport := "t1" // TCP, one connection
	if s.udp {
		transport = "u1" // UDP, one socket
	}
	argv = append(argv,
		"-sf", scenario,
		"-t", transport,
		"-i", "127.0.0.1", "-ci", "127.0.0.1", // signalling, media and control on loopback
		"-p", fmt.Sprint(port),
		"-m", "1", "-r", "1",
		"-nostdin",
		"-timeout", "80s", "-timeout_error",
		"-recv_timeout", "30000",
		"-trace_msg", "-message_file", base+".messages.log",
		"-trace_err", "-error_file", base+".errors.log",
		"-trace_screen", "-screen_file", base+".screen.log",
		"-trace_logs", "-log_file", base+".log",
	)
	keys := make([]string, 0, len(s.keys))
	for k := range s.keys {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		argv = append(argv, "-key", k, s.keys[k])
	}
	if s.auth != "" {
		csv := base + ".csv"
		if err := os.WriteFile(csv, []byte("SEQUENTIAL\n"+s.auth+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		argv = append(argv, "-inf", csv)
	}
	return argv
}

// sippExit explains SIPp's exit codes.
func sippExit(code int) string {
	switch code {
	case 0:
		return "all calls successful"
	case 1:
		return "at least one call failed"
	case 97:
		return "exit on internal command, calls may have been processed"
	case 99:
		return "normal exit without any call processed"
	case 254:
		return "fatal error binding a socket"
	case 255:
		return "fatal error"
	}
	return "unknown exit code"
}

// expectSIPpSuccess waits for SIPp to end and fails the test unless it
// says every call was successful (exit code 0).
func expectSIPpSuccess(t *testing.T, p *proc, timeout time.Duration) {
	t.Helper()
	code, ok := p.wait(timeout)
	if !ok {
		t.Fatalf("%s still running after %v", p.name, timeout)
	}
	if code != 0 {
		t.Fatalf("%s exited with %d (%s), want 0 (all calls successful)", p.name, code, sippExit(code))
	}
}

// runSIPp runs SIPp to the end and fails the test unless every call was
// successful.
func runSIPp(t *testing.T, bin, dir string, s sipp) {
	t.Helper()
	p, _ := startSIPp(t, bin, dir, s)
	expectSIPpSuccess(t, p, sippTimeout)
}
