// Package footprint_test measures what an idle registered phone costs in a
// process that runs a fleet of them, and what each registered connection
// costs the mock cloud.
package footprint_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/backend"
	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/internal/labdir"
	"github.com/deskphone/deskphone/internal/testwait"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
	"github.com/emiago/sipgo/sip"
)

// The test binary re-executes itself to run one side of the measurement in
// a child process; these variables tell the child its role.
const (
	envRole   = "DESKPHONE_FOOTPRINT_ROLE" // "cloud" or "phones"
	envN      = "DESKPHONE_FOOTPRINT_N"
	envServer = "DESKPHONE_FOOTPRINT_SERVER" // phones: sips:host:port
	envDomain = "DESKPHONE_FOOTPRINT_DOMAIN"
)

const model = "c450hd"

var start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

func TestMain(m *testing.M) {
	// sipgo's process-wide logger warns about connection housekeeping.
	sip.SetDefaultLogger(slog.New(slog.DiscardHandler))
	switch os.Getenv(envRole) {
	case "cloud":
		os.Exit(child(runCloud))
	case "phones":
		os.Exit(child(runPhones))
	}
	os.Exit(labdir.RunTests(m))
}

// child runs one side until its parent closes stdin; it reports on stdout.
func child(run func(n int, out io.Writer) (stop func(), err error)) int {
	n, err := strconv.Atoi(os.Getenv(envN))
	if err != nil {
		fmt.Fprintln(os.Stderr, "footprint child:", err)
		return 2
	}
	stop, err := run(n, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "footprint child:", err)
		return 1
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	stop()
	return 0
}

// runCloud starts a backend with n users and prints its address and domain.
func runCloud(n int, out io.Writer) (func(), error) {
	dir, err := os.MkdirTemp("", "footprint-cloud-")
	if err != nil {
		return nil, err
	}
	b, ctxStop, err := startCloud(dir, n)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "%s %s\n", "sips:"+b.Addr("tls"), b.Domain())
	return func() { ctxStop(); b.Close(); os.RemoveAll(dir) }, nil
}

// runPhones boots n registered phones against the server in the
// environment and prints "ready".
func runPhones(n int, out io.Writer) (func(), error) {
	dir, err := os.MkdirTemp("", "footprint-phones-")
	if err != nil {
		return nil, err
	}
	phones, err := bootPhones(dir, n, os.Getenv(envServer), os.Getenv(envDomain))
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(out, "ready")
	return func() { closePhones(phones); os.RemoveAll(dir) }, nil
}

func user(i int) string { return fmt.Sprintf("fleet%04d", i) }

func startCloud(dir string, n int) (*backend.Backend, func(), error) {
	b, err := backend.New(backend.Config{Listen: []string{"tls:127.0.0.1:0"}, StateDir: dir,
		// The phones check its certificate on their fake clock.
		Clock: clock.NewFake(start)})
	if err != nil {
		return nil, nil, err
	}
	for i := 0; i < n; i++ {
		if err := b.AddUser(backend.User{User: user(i), Password: "secret"}); err != nil {
			return nil, nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := b.Start(ctx); err != nil {
		cancel()
		return nil, nil, err
	}
	return b, cancel, nil
}

// bootPhones starts n phones with accounts on server and waits until every
// one is registered with nothing in flight. The phones run on a fake clock
// that never moves, so they stay idle: no refresh, no keep-alive.
func bootPhones(dir string, n int, server, domain string) ([]*phone.Phone, error) {
	cat, err := catalog.Builtin()
	if err != nil {
		return nil, err
	}
	m, err := cat.Model(model)
	if err != nil {
		return nil, err
	}
	phones := make([]*phone.Phone, 0, n)
	for i := 0; i < n; i++ {
		p, err := phone.New(m, "", phone.WithClock(clock.NewFake(start)),
			phone.WithStateDir(fmt.Sprintf("%s/%d", dir, i)),
			phone.WithAccount(statedir.Account{Server: server, User: user(i), Password: "secret", Domain: domain}))
		if err != nil {
			closePhones(phones)
			return nil, err
		}
		p.Start(context.Background())
		phones = append(phones, p)
	}
	for _, p := range phones {
		if !testwait.Poll(2*time.Minute, func() bool { return registered(p) && p.Settled() }) {
			closePhones(phones)
			return nil, fmt.Errorf("phone not registered after 2 minutes:\n%s", p.Screen().Text())
		}
	}
	return phones, nil
}

func closePhones(phones []*phone.Phone) {
	for _, p := range phones {
		p.Close()
	}
}

func registered(p *phone.Phone) bool {
	st, _ := p.Status()
	for _, kv := range st {
		if kv[0] == "registered" {
			return kv[1] == "yes"
		}
	}
	return false
}

// usage is what the process holds live: heap after a full collection plus
// goroutine stacks, and its goroutine count.
type usage struct {
	bytes      uint64
	goroutines int
}

func measureNow() usage {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return usage{bytes: ms.HeapAlloc + ms.StackInuse, goroutines: runtime.NumGoroutine()}
}

// perUnit divides the growth from before to after among n units.
func perUnit(before, after usage, n int) (kib, goroutines float64) {
	return (float64(after.bytes) - float64(before.bytes)) / 1024 / float64(n),
		float64(after.goroutines-before.goroutines) / float64(n)
}

// peer is the other side, run by this test binary in a child process.
type peer struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

func startPeer(role string, n int, env ...string) (*peer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{envRole + "=" + role, envN + "=" + strconv.Itoa(n)}, env...)...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s peer: %w", role, err)
	}
	return &peer{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}, nil
}

// line reads the peer's next report.
func (p *peer) line() (string, error) {
	s, err := p.out.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("peer ended without a report: %w", err)
	}
	return strings.TrimSpace(s), nil
}

func (p *peer) stop() error {
	p.stdin.Close()
	return p.cmd.Wait()
}

// figures is one measurement.
type figures struct {
	phoneKiB, phoneGoroutines float64
	cloudKiB, cloudGoroutines float64
}

// measure runs the two halves of the measurement for n phones; see
// BenchmarkIdlePhone for the method.
func measure(n int) (figures, error) {
	var f figures

	cloud, err := startPeer("cloud", n)
	if err != nil {
		return f, err
	}
	addr, err := cloud.line()
	if err != nil {
		cloud.stop()
		return f, err
	}
	server, domain, _ := strings.Cut(addr, " ")
	dir, err := os.MkdirTemp("", "footprint-phones-")
	if err != nil {
		cloud.stop()
		return f, err
	}
	defer os.RemoveAll(dir)
	if _, err := catalog.Builtin(); err != nil { // warm what every phone shares
		cloud.stop()
		return f, err
	}
	before := measureNow()
	phones, err := bootPhones(dir, n, server, domain)
	if err != nil {
		cloud.stop()
		return f, err
	}
	after := measureNow()
	f.phoneKiB, f.phoneGoroutines = perUnit(before, after, n)
	closePhones(phones)
	if err := cloud.stop(); err != nil {
		return f, fmt.Errorf("cloud peer: %w", err)
	}

	cdir, err := os.MkdirTemp("", "footprint-cloud-")
	if err != nil {
		return f, err
	}
	defer os.RemoveAll(cdir)
	b, cancel, err := startCloud(cdir, n)
	if err != nil {
		return f, err
	}
	defer func() { cancel(); b.Close() }()
	before = measureNow()
	fleet, err := startPeer("phones", n, envServer+"=sips:"+b.Addr("tls"), envDomain+"="+b.Domain())
	if err != nil {
		return f, err
	}
	if ready, err := fleet.line(); err != nil || ready != "ready" {
		fleet.stop()
		return f, fmt.Errorf("phones peer: %q, %v", ready, err)
	}
	if !testwait.Poll(time.Minute, b.Settled) {
		fleet.stop()
		return f, errors.New("cloud still sending a minute after the phones registered")
	}
	after = measureNow()
	f.cloudKiB, f.cloudGoroutines = perUnit(before, after, n)
	if err := fleet.stop(); err != nil {
		return f, fmt.Errorf("phones peer: %w", err)
	}
	return f, nil
}

// BenchmarkIdlePhone reports what an idle registered phone costs when
// 1,000 run in one process (KiB/phone, goroutines/phone), and what each
// registered phone costs the cloud (KiB/cloud-conn, goroutines/cloud-conn).
//
// Phones and cloud must be counted apart, and a process's growth can only be
// attributed when one side alone grows in it. So the test binary runs the
// other side in a child process (itself, re-executed with a role in the
// environment):
//
//   - Phones: the cloud runs in the child with 1,000 users. This process
//     measures, boots the phones, waits until every one is registered with
//     nothing in flight, and measures again; the growth over 1,000 is the
//     phone's own cost (loop, UA, TLS connection, CA store, syslog, screen).
//   - Cloud: this process starts the cloud with its 1,000 users and
//     measures; the child boots the 1,000 phones and says when all are
//     registered; the growth over 1,000 is what a registered connection
//     costs the cloud (TLS state, read buffer, reader goroutine, binding).
//
// Memory is the live heap after two collections plus goroutine stacks. The
// phones run on a fake clock that never moves, so nothing refreshes or
// pings while they are measured. The figures do not depend on b.N; each
// iteration measures afresh.
func BenchmarkIdlePhone(b *testing.B) {
	const n = 1000
	var f figures
	for i := 0; i < b.N; i++ {
		var err error
		if f, err = measure(n); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(f.phoneKiB, "KiB/phone")
	b.ReportMetric(f.phoneGoroutines, "goroutines/phone")
	b.ReportMetric(f.cloudKiB, "KiB/cloud-conn")
	b.ReportMetric(f.cloudGoroutines, "goroutines/cloud-conn")
}

// TestIdlePhoneFootprint runs the measurement for a few phones: every phone
// registers (measure fails otherwise) and the figures are plausible.
func TestIdlePhoneFootprint(t *testing.T) {
	const n = 20
	f, err := measure(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%.1f KiB/phone, %.2f goroutines/phone, %.1f KiB/cloud-conn, %.2f goroutines/cloud-conn",
		f.phoneKiB, f.phoneGoroutines, f.cloudKiB, f.cloudGoroutines)
	// An idle phone runs its loop and its connection's reader; a little
	// slack covers a request goroutine still returning when counted.
	if f.phoneGoroutines < 1 || f.phoneGoroutines > 2.5 {
		t.Errorf("goroutines/phone = %.2f, want 2", f.phoneGoroutines)
	}
	if f.phoneKiB <= 0 || f.phoneKiB > 128 || f.cloudKiB <= 0 || f.cloudKiB > 128 {
		t.Errorf("KiB/phone = %.1f, KiB/cloud-conn = %.1f, want growth on both sides of tens of KiB", f.phoneKiB, f.cloudKiB)
	}
}
