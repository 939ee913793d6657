//go:build interop

package interop

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/deskphone/deskphone/backend"
	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

// TestRegistrationRates is a measurement rather than a test: registrations
// per second over TLS, in one run, for
//
//   - N deskphones in this process registering to our mock cloud (the
//     backend, in process, on a TLS listener), one TLS connection each;
//   - the same N deskphones registering to Kamailio;
//   - SIPp registering to the same Kamailio over one TLS connection (stunnel:
//     SIPp here has no TLS), as fast as it can for sippRateDuration,
//
// each registration a REGISTER, its 401 challenge and a REGISTER with
// digest. It prints a table of the figures.
//
// It keeps both cores busy for half a minute or more and its figures are
// not pass/fail, so `make interop` (which CI runs, without -run) skips it:
// it runs only with DESKPHONE_BENCH=1, which `make bench` sets:
//
//	DESKPHONE_BENCH=1 go test -tags interop -count=1 -run '^TestRegistrationRates$' -v ./interop/
//
// Missing tools skip it like the other interop tests (or fail it under
// DESKPHONE_INTEROP_REQUIRE=1).
//
// The phones' figure is N over the time from starting the first phone to the
// last one reporting registered=yes (the median of rateRounds fleets): each
// phone boots, dials, does a TLS handshake and registers. SIPp's is
// successful calls over elapsed time from its own statistics, on a
// connection that is already up: no handshakes.
func TestRegistrationRates(t *testing.T) {
	if os.Getenv(benchEnv) != "1" {
		t.Skipf("a measurement of about a minute, not a check: set %s=1 (make bench) to run it", benchEnv)
	}
	kamBin := need(t, toolKamailio)
	sippBin := need(t, toolSIPp)
	stunnelBin := need(t, toolStunnel)
	modulePath(t) // skips without kamailio-tls-modules before anything runs
	load0 := loadAverage()

	cat, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	model, err := cat.Model(rateModel)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := model.FirmwareVersion(rateFirmware)
	if err != nil {
		t.Fatal(err)
	}
	users := make([]subscriber, rateUsers)
	for i := range users {
		users[i] = subscriber{fmt.Sprintf("load%d", i), fmt.Sprintf("load%d-Pw-%04d", i, 7919*i%10000)}
	}
	fleet := func(target string, n int, acct func(i int) statedir.Account, roots ...string) rateRow {
		f := &fleetRun{model: model, firmware: fw.Version, n: n, account: acct, roots: roots}
		runs := make([]float64, rateRounds)
		var tlsVersion string
		for r := range runs {
			runs[r], tlsVersion = f.measure(t)
			t.Logf("%s, %d phones, round %d: %.0f registrations/s", target, n, r+1, runs[r])
		}
		return rateRow{target, strconv.Itoa(n), fmt.Sprintf("TLS %s, %d conns", tlsVersion, n), median(runs), runs}
	}
	var rows []rateRow

	// (1) The mock cloud, in process. It is closed before Kamailio starts.
	func() {
		b, err := backend.New(backend.Config{Listen: []string{"tls:127.0.0.1:0"}, StateDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		for _, u := range users {
			if err := b.AddUser(backend.User{User: u.user, Password: u.password}); err != nil {
				t.Fatal(err)
			}
		}
		for _, n := range rateFleets {
			// Every firmware trusts the backend's factory root.
			rows = append(rows, fleet("deskphone -> mock cloud", n, func(i int) statedir.Account {
				return statedir.Account{Server: "sips:" + b.Addr("tls"), User: users[i].user, Password: users[i].password, Domain: b.Domain()}
			}))
		}
	}()
	if t.Failed() {
		t.FailNow()
	}

	// (2) Kamailio: the interop configuration without sipdump, and with
	// one TLS worker. Kamailio 5.6.3 on Debian 12 shares OpenSSL 3's
	// per-thread state between its processes (kamailio/kamailio#3791,
	// tls_threads_mode from 5.7.4/5.8 fixes it): with two TLS workers a
	// burst of a few hundred handshakes fails some ("TLS handshake
	// failed", then a 5 s retry in the phone) and within a few bursts
	// crashes a worker (qm_free: freeing already freed pointer, SIGSEGV).
	kamName := "Kamailio " + programVersion(kamBin, `kamailio (\d+\.\d+\.\d+)`)
	lab := newLab(t)
	k := startKamailioWith(t, kamBin, lab, kamailioOptions{users: users, noDump: true, shmMB: 256, tcpChildren: 1})
	newRoot := lab.Path(certs.LabNewRootCert)
	for _, n := range rateFleets {
		rows = append(rows, fleet("deskphone -> "+kamName, n, func(i int) statedir.Account {
			return statedir.Account{Server: fmt.Sprintf("sips:127.0.0.1:%d", k.tlsPort), User: users[i].user, Password: users[i].password, Domain: kamailioDomain}
		}, newRoot))
	}
	if t.Failed() {
		t.FailNow()
	}

	// (3) SIPp against the same Kamailio, through stunnel.
	dir := t.TempDir()
	port := startStunnel(t, stunnelBin, dir, k.tlsPort, newRoot, "localhost")
	st := runSIPpRate(t, sippBin, dir, port, users)
	rows = append(rows, rateRow{
		target:    fmt.Sprintf("SIPp %s -> %s", programVersion(sippBin, `SIPp v(\d+\.\d+\.\d+)`), kamName),
		clients:   "1",
		transport: "TLS via stunnel, 1 conn",
		rate:      st.rate(),
	})

	printRates(os.Stdout, rows, []string{
		fmt.Sprintf("clients and servers on the same %d-core machine; load average %s at the start, %s at the end",
			runtime.NumCPU(), load0, loadAverage()),
		"deskphone: " + rateModel + " " + rateFirmware + " phones in this process, a TLS handshake each; the time from the first Start to the last registered=yes",
		"Kamailio: usrloc in memory, db_text subscribers, no sipdump, 1 TLS worker (5.6.3 with OpenSSL 3 crashes with 2 under handshake bursts, kamailio#3791)",
		fmt.Sprintf("SIPp: register_rate.xml for %v, -r %d -l %d over one connection already up; successful calls over elapsed time from -trace_stat", sippRateDuration, sippRate, sippRateLimit),
	})
}

// loadAverage is the 1-minute load average, or "?".
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

// benchEnv, set to 1, runs TestRegistrationRates.
const benchEnv = "DESKPHONE_BENCH"

const (
	// rateModel and rateFirmware are the fleet's phones: firmware that
	// speaks TLS 1.2 only and trusts the backend's factory root.
	rateModel    = "vvx601"
	rateFirmware = "5.9.0.9373"
	// rateUsers are the load users load0... in both registrars: enough
	// for the largest fleet.
	rateUsers = 200
	// rateRounds is how often each fleet registers; the table shows the
	// median.
	rateRounds = 5
	// fleetTimeout bounds one fleet's registration.
	fleetTimeout = 60 * time.Second
)

// rateFleets are the fleet sizes measured against each registrar.
var rateFleets = []int{50, 200}

// rateRow is a line of the table.
type rateRow struct {
	target, clients, transport string
	rate                       float64
	runs                       []float64 // the rounds behind rate, if several
}

// printRates writes the table and notes under it.
func printRates(w io.Writer, rows []rateRow, notes []string) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Registrations per second over TLS, each a REGISTER, its 401 and a REGISTER with digest:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "target\tclients\ttransport\tregistrations/s\t")
	for _, r := range rows {
		runs := ""
		if len(r.runs) > 1 {
			s := make([]string, len(r.runs))
			for i, v := range r.runs {
				s[i] = fmt.Sprintf("%.0f", v)
			}
			runs = fmt.Sprintf("(median of %s)", strings.Join(s, ", "))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%s\n", r.target, r.clients, r.transport, r.rate, runs)
	}
	tw.Flush()
	for _, n := range notes {
		fmt.Fprintln(w, "  - "+n)
	}
	fmt.Fprintln(w)
}

// median of a non-empty slice.
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// programVersion runs bin -v and returns the first submatch of pattern in
// its output, or "" when there is none.
func programVersion(bin, pattern string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, "-v").CombinedOutput()
	if m := regexp.MustCompile(pattern).FindSubmatch(out); m != nil {
		return string(m[1])
	}
	return ""
}

// fleetRun is a fleet of phones that register together.
type fleetRun struct {
	model    *catalog.Model
	firmware string
	n        int
	account  func(i int) statedir.Account
	roots    []string // PEM files imported into every phone's store
}

// measure builds the fleet's phones with fresh state directories, starts
// them all and waits until each reports registered=yes. It returns n over
// the time that took, and the TLS version the phones negotiated (it fails
// the test when they differ). The phones are closed before it returns.
func (f *fleetRun) measure(t *testing.T) (rate float64, tlsVersion string) {
	t.Helper()
	dir := t.TempDir()
	phones := make([]*phone.Phone, f.n)
	// changed[i] is set by phone i's screen subscription: only those are
	// asked for their status, so that waiting costs the phones little.
	changed := make([]atomic.Bool, f.n)
	wake := make(chan struct{}, 1)
	for i := range phones {
		p, err := phone.New(f.model, f.firmware, phone.WithStateDir(filepath.Join(dir, strconv.Itoa(i))), phone.WithAccount(f.account(i)))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range f.roots {
			if _, err := p.CAStore().ImportFile(r); err != nil {
				t.Fatalf("import %s: %v", r, err)
			}
		}
		unsubscribe := p.Subscribe(func() {
			changed[i].Store(true)
			select {
			case wake <- struct{}{}:
			default:
			}
		})
		defer unsubscribe()
		phones[i] = p
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer closePhones(t, phones)

	versions := map[string]int{}
	pending := make([]int, f.n)
	for i := range pending {
		pending[i] = i
	}
	t0 := time.Now()
	for _, p := range phones {
		p.Start(ctx)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var elapsed time.Duration
	for all := false; len(pending) > 0; {
		select {
		case <-wake:
		case <-tick.C:
			all = true // a change the subscription could not show
		}
		kept := pending[:0]
		for _, i := range pending {
			if !all && !changed[i].Swap(false) {
				kept = append(kept, i)
				continue
			}
			st := status(t, phones[i])
			if st["registered"] != "yes" {
				kept = append(kept, i)
				continue
			}
			elapsed = time.Since(t0)
			versions[st["tls"]]++
		}
		pending, all = kept, false
		if len(pending) > 0 && time.Since(t0) > fleetTimeout {
			p := phones[pending[0]]
			st := status(t, p)
			showPhone(t, p)
			t.Fatalf("%d of %d phones not registered after %v; %s: registered=%q registration_error=%q",
				len(pending), f.n, fleetTimeout, f.account(pending[0]).User, st["registered"], st["registration_error"])
		}
	}
	// A phone whose first attempt failed retries after 5 s: that is in
	// the figure, and said here.
	retried, first := 0, ""
	for _, p := range phones {
		for _, l := range p.Logs(0) {
			if strings.Contains(l.Text, "registration failed") {
				if retried++; first == "" {
					first = l.Text
				}
				break
			}
		}
	}
	if retried > 0 {
		t.Logf("%d of %d phones registered only on a retry; the first failure: %s", retried, f.n, first)
	}
	if len(versions) != 1 {
		t.Errorf("the phones negotiated different TLS versions: %v", versions)
	}
	for v := range versions {
		tlsVersion = v
	}
	return float64(f.n) / elapsed.Seconds(), tlsVersion
}

// closePhones closes the phones all at once: each unregisters first.
func closePhones(t *testing.T, phones []*phone.Phone) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(phones))
	for i, p := range phones {
		wg.Go(func() { errs[i] = p.Close() })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("phone %d: %v", i, err)
		}
	}
}

const (
	// sippRateDuration is how long SIPp registers, at sippRate calls per
	// second (more than it can do: the figure is its ceiling) with at most
	// sippRateLimit registrations under way.
	sippRateDuration = 10 * time.Second
	sippRate         = 20000
	sippRateLimit    = 200
)

// sippStats is the last line of SIPp's -trace_stat file.
type sippStats struct {
	elapsed           time.Duration
	successful        int
	failed            int
	unexpectedMessage int
}

func (s sippStats) rate() float64 { return float64(s.successful) / s.elapsed.Seconds() }

// runSIPpRate runs register_rate.xml over one TCP connection to
// 127.0.0.1:port (stunnel) for sippRateDuration and returns SIPp's final
// statistics. Calls still under way when the time is up are the only
// failures it accepts.
func runSIPpRate(t *testing.T, bin, dir string, port int, users []subscriber) sippStats {
	t.Helper()
	scn, err := filepath.Abs(testdata("register_rate.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var csvRows strings.Builder
	csvRows.WriteString("SEQUENTIAL\n")
	for _, u := range users {
		fmt.Fprintf(&csvRows, "%s;%s\n", sippAuth(u.user, u.password), u.user)
	}
	csvFile := filepath.Join(dir, "rate-users.csv")
	if err := os.WriteFile(csvFile, []byte(csvRows.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; ; attempt++ {
		name := fmt.Sprintf("sipp-rate-try%d", attempt)
		base := filepath.Join(dir, name)
		statFile := base + ".stat.csv"
		argv := []string{bin, fmt.Sprintf("127.0.0.1:%d", port),
			"-sf", scn, "-inf", csvFile,
			"-key", "dp_domain", kamailioDomain, "-key", "dp_transport", "TLS",
			"-t", "t1", // one TCP connection: stunnel makes it one TLS connection
			"-i", "127.0.0.1", "-ci", "127.0.0.1",
			"-p", strconv.Itoa(freePort(t, false)),
			"-r", strconv.Itoa(sippRate), "-l", strconv.Itoa(sippRateLimit),
			"-m", strconv.Itoa(sippRate * int(sippRateDuration/time.Second)),
			"-timeout", fmt.Sprintf("%ds", int(sippRateDuration/time.Second)),
			"-recv_timeout", "5000",
			"-nostdin",
			"-trace_stat", "-stf", statFile, "-fd", "1",
			"-trace_err", "-error_file", base + ".errors.log",
			"-trace_screen", "-screen_file", base + ".screen.log",
		}
		p := start(t, name, dir, sippRateDuration+30*time.Second, argv, base+".errors.log", base+".screen.log", statFile)
		code, ok := p.wait(sippRateDuration + 20*time.Second)
		if !ok {
			t.Fatalf("%s still running %v after its -timeout", name, 20*time.Second)
		}
		if code == 254 && attempt < 3 {
			t.Logf("%s exited with 254 (%s); trying another port", name, sippExit(code))
			continue
		}
		st, err := readSIPpStats(statFile)
		if err != nil {
			t.Fatalf("%s (exit %d, %s): %v", name, code, sippExit(code), err)
		}
		t.Logf("%s: exit %d (%s); %d successful, %d failed (%d unexpected messages) in %v",
			name, code, sippExit(code), st.successful, st.failed, st.unexpectedMessage, st.elapsed)
		if st.successful == 0 {
			t.Fatalf("%s: no successful registration", name)
		}
		// At the timeout SIPp abandons the calls under way: at most
		// sippRateLimit. More failures mean Kamailio refused some.
		if st.failed > sippRateLimit || st.unexpectedMessage > 0 {
			t.Errorf("%s: %d calls failed, %d on an unexpected message: more than the %d under way at the end",
				name, st.failed, st.unexpectedMessage, sippRateLimit)
		}
		return st
	}
}

// readSIPpStats reads the last line of a -trace_stat file.
func readSIPpStats(path string) (sippStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return sippStats{}, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = ';'
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return sippStats{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) < 2 {
		return sippStats{}, fmt.Errorf("%s: %d lines, want a header and statistics", path, len(recs))
	}
	head, last := recs[0], recs[len(recs)-1]
	row := make(map[string]string, len(head))
	for i, h := range head {
		if i < len(last) {
			row[h] = last[i]
		}
	}
	var st sippStats
	for _, c := range []struct {
		name string
		dst  *int
	}{
		{"SuccessfulCall(C)", &st.successful},
		{"FailedCall(C)", &st.failed},
		{"FailedUnexpectedMessage(C)", &st.unexpectedMessage},
	} {
		if *c.dst, err = strconv.Atoi(row[c.name]); err != nil {
			return st, fmt.Errorf("%s: %s: %w", path, c.name, err)
		}
	}
	// ElapsedTime(C) has whole seconds only: the elapsed time is
	// CurrentTime - StartTime, whose last tab-separated field is the Unix
	// time in microseconds ("2026-01-05\t09:00:00.123456\t1767603600.123456").
	var t0, t1 float64
	if t0, err = sippUnixTime(row["StartTime"]); err == nil {
		t1, err = sippUnixTime(row["CurrentTime"])
	}
	if err != nil {
		return st, fmt.Errorf("%s: %w", path, err)
	}
	st.elapsed = time.Duration((t1 - t0) * float64(time.Second))
	if st.elapsed <= 0 {
		return st, fmt.Errorf("%s: CurrentTime %v before StartTime %v", path, t1, t0)
	}
	return st, nil
}

// sippUnixTime is the Unix time at the end of a SIPp time stamp.
func sippUnixTime(stamp string) (float64, error) {
	f := strings.Fields(stamp)
	if len(f) == 0 {
		return 0, fmt.Errorf("time stamp %q has no Unix time", stamp)
	}
	v, err := strconv.ParseFloat(f[len(f)-1], 64)
	if err != nil {
		return 0, fmt.Errorf("time stamp %q has no Unix time", stamp)
	}
	return v, nil
}
