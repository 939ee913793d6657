//go:build interop

package interop

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/phone/statedir"
)

// kamailioDomain is the SIP domain and digest realm the phones and SIPp use
// with Kamailio.
const kamailioDomain = "127.0.0.1"

// kamailioUsers are the subscribers in the db_text table: the deskphones
// (alice, carol, and bob for the phone that never gets as far as
// registering), SIPp's caller (bob) and SIPp's callee (uas).
var kamailioUsers = []subscriber{
	{"alice", "alice-Pw-4711"},
	{"bob", "bob-Pw-0815"},
	{"carol", "carol-Pw-1618"},
	{"uas", "uas-Pw-2718"},
}

// subscriber is a row of Kamailio's db_text subscriber table.
type subscriber struct{ user, password string }

func kamailioPassword(user string) string {
	for _, u := range kamailioUsers {
		if u.user == user {
			return u.password
		}
	}
	panic("no subscriber " + user)
}

// kamailio is a Kamailio the test started.
type kamailio struct {
	proc    *proc
	sipPort int    // udp and tcp: SIPp
	tlsPort int    // tls: the phones
	dumpDir string // sipdump's files: every SIP message Kamailio saw
}

// sipAddr is the address of the TCP (and UDP) listener.
func (k *kamailio) sipAddr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(k.sipPort)) }

// waitDump waits until a SIP message in Kamailio's sipdump has every one
// of parts, and returns it; "tag: rcv" among parts asks for one Kamailio
// received, "tag: snd" for one it sent.
func (k *kamailio) waitDump(t *testing.T, what string, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(phoneTimeout)
	for {
		files, _ := filepath.Glob(filepath.Join(k.dumpDir, "*"))
		for _, f := range files {
			data, _ := os.ReadFile(f)
			for _, msg := range strings.Split(string(data), "====================") {
				found := true
				for _, p := range parts {
					found = found && strings.Contains(msg, p)
				}
				if found {
					return msg
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Kamailio received no %s (a message with %q) in %v", what, parts, phoneTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// modulePath finds the folder of Kamailio's modules, skipping the test when
// the TLS module (package kamailio-tls-modules) is not there.
func modulePath(t *testing.T) string {
	t.Helper()
	var dirs []string
	for _, pattern := range []string{
		"/usr/lib/*/kamailio/modules",
		"/usr/lib/kamailio/modules",
		"/usr/lib64/kamailio/modules",
		"/usr/local/lib/*/kamailio/modules",
		"/usr/local/lib/kamailio/modules",
		"/usr/local/lib64/kamailio/modules",
	} {
		m, _ := filepath.Glob(pattern)
		dirs = append(dirs, m...)
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "tls.so")); err == nil {
			return d
		}
	}
	if len(dirs) == 0 {
		skipMissing(t, "no Kamailio modules folder found: apt-get install -y kamailio kamailio-tls-modules")
	}
	skipMissing(t, "Kamailio's tls.so is not in %s: apt-get install -y kamailio-tls-modules", strings.Join(dirs, ", "))
	return ""
}

// writeSubscribers writes the db_text tables auth_db reads: the version
// table and the subscriber table. ha1 and ha1b must be declared nullable,
// else Kamailio takes the table for missing; auth_db computes the HA1 from
// the plain password (calculate_ha1).
func writeSubscribers(t *testing.T, dir string, users []subscriber) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	version := "table_name(string) table_version(int)\nsubscriber:7\n"
	var sub strings.Builder
	sub.WriteString("id(int,auto) username(string) domain(string) password(string) ha1(string,null) ha1b(string,null)\n")
	for i, u := range users {
		fmt.Fprintf(&sub, "%d:%s:%s:%s::\n", i+1, u.user, kamailioDomain, u.password)
	}
	for name, data := range map[string]string{"version": version, "subscriber": sub.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// kamailioOptions changes how startKamailioWith runs Kamailio; the zero
// value is what the interop tests use.
type kamailioOptions struct {
	// users are more subscribers, beside kamailioUsers.
	users []subscriber
	// noDump turns sipdump off: a rate measurement should not measure
	// Kamailio writing every message to disk.
	noDump bool
	// shmMB is Kamailio's shared memory in MB (-m); 0 is 64. OpenSSL's
	// per-connection state lives there: hundreds of TLS clients need more.
	shmMB int
	// tcpChildren is the number of TCP/TLS worker processes; 0 is 2.
	tcpChildren int
}

// startKamailio starts Kamailio on free loopback ports, serving TLS with the
// lab's server certificate under its new root, and waits until it answers
// an OPTIONS over TLS. It is stopped when the test ends.
func startKamailio(t *testing.T, bin string, lab *certs.Lab) *kamailio {
	t.Helper()
	return startKamailioWith(t, bin, lab, kamailioOptions{})
}

// startKamailioWith is startKamailio with options.
func startKamailioWith(t *testing.T, bin string, lab *certs.Lab, opts kamailioOptions) *kamailio {
	t.Helper()
	mpath := modulePath(t)
	dir := t.TempDir()
	dbDir := filepath.Join(dir, "db")
	writeSubscribers(t, dbDir, append(slices.Clone(kamailioUsers), opts.users...))
	shm := opts.shmMB
	if shm == 0 {
		shm = 64
	}
	tcpChildren := opts.tcpChildren
	if tcpChildren == 0 {
		tcpChildren = 2
	}
	tlsCfg := filepath.Join(dir, "tls.cfg")
	render(t, "tls.cfg.tmpl", tlsCfg, map[string]string{
		"Cert": lab.Path(certs.LabNewServerCert),
		"Key":  lab.Path(certs.LabNewServerKey),
	})
	roots := x509.NewCertPool()
	roots.AddCert(lab.NewRoot.Cert)

	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		k := &kamailio{sipPort: freePort(t, true)}
		for k.tlsPort = freePort(t, false); k.tlsPort == k.sipPort; k.tlsPort = freePort(t, false) {
		}
		name := fmt.Sprintf("kamailio-try%d", attempt)
		cfg := filepath.Join(dir, name+".cfg")
		run, dump := filepath.Join(dir, name+".run"), filepath.Join(dir, name+".sipdump")
		for _, d := range []string{run, dump} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		render(t, "kamailio.cfg.tmpl", cfg, map[string]any{
			"SIPPort":     k.sipPort,
			"TLSPort":     k.tlsPort,
			"ModulePath":  mpath,
			"TLSConfig":   tlsCfg,
			"DBDir":       dbDir,
			"DumpDir":     dump,
			"SIPDump":     !opts.noDump,
			"TCPChildren": tcpChildren,
		})
		if attempt == 1 {
			checkKamailioConfig(t, bin, cfg)
		}
		k.dumpDir = dump
		k.proc = start(t, name, dir, daemonTimeout, []string{bin,
			"-f", cfg, "-Y", run, "-P", filepath.Join(run, "kamailio.pid"),
			"-DD", "-E", "-m", strconv.Itoa(shm), "-M", "8"},
			filepath.Join(dump, "*"))
		if err = waitKamailio(k, roots, 30*time.Second); err == nil {
			return k
		}
		if !k.proc.bindFailed() {
			break
		}
		t.Logf("%v; trying other ports", err)
	}
	t.Fatal(err)
	return nil
}

// checkKamailioConfig runs kamailio -c: a syntax or module error is
// reported on its own rather than as a daemon that never got ready.
func checkKamailioConfig(t *testing.T, bin, cfg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-c", "-f", cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("kamailio -c -f %s: %v\n%s", cfg, err, tail(out, 60))
	}
}

// waitKamailio polls until Kamailio answers an OPTIONS over TLS with 200.
func waitKamailio(k *kamailio, roots *x509.CertPool, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for n := 1; ; n++ {
		if last = probeTLS(k.tlsPort, roots, n); last == nil {
			return nil
		}
		if k.proc.exited() {
			return fmt.Errorf("%s exited while starting: %v (last probe: %v)", k.proc.name, k.proc.waitErr, last)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v: %v", k.proc.name, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// probeTLS sends one OPTIONS over a fresh TLS connection that verifies the
// server against roots, and wants a 200 back.
func probeTLS(port int, roots *x509.CertPool, n int) error {
	d := &tls.Dialer{
		NetDialer: &net.Dialer{Timeout: 2 * time.Second},
		Config:    &tls.Config{RootCAs: roots, ServerName: "localhost", MinVersion: tls.VersionTLS12},
	}
	conn, err := d.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	defer conn.Close()
	local := conn.LocalAddr().(*net.TCPAddr)
	req := fmt.Sprintf("OPTIONS sip:127.0.0.1:%d;transport=tls SIP/2.0\r\n"+
		"Via: SIP/2.0/TLS 127.0.0.1:%d;rport;branch=z9hG4bK-probe-%d\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:probe@127.0.0.1>;tag=probe%d\r\n"+
		"To: <sip:127.0.0.1:%d>\r\n"+
		"Call-ID: probe-%d-%d@127.0.0.1\r\n"+
		"CSeq: 1 OPTIONS\r\n"+
		"Content-Length: 0\r\n\r\n", port, local.Port, n, n, port, os.Getpid(), n)
	status, _, err := exchange(conn, req)
	if err != nil {
		return fmt.Errorf("OPTIONS: %w", err)
	}
	if !strings.HasPrefix(status, "SIP/2.0 200") {
		return fmt.Errorf("OPTIONS: %q", status)
	}
	return nil
}

// newLab generates the lab PKI (fresh roots, not the phones' factory ones)
// into a temporary directory.
func newLab(t *testing.T) *certs.Lab {
	t.Helper()
	lab, err := certs.GenerateLab(filepath.Join(t.TempDir(), "lab"), certs.LabOptions{Hosts: []string{"localhost", "127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	return lab
}

// TestKamailio runs deskphones and SIPp against Kamailio as TLS registrar
// and proxy. The phones register over TLS with digest; SIPp has no TLS and
// uses Kamailio's TCP listener, or stunnel to its TLS listener.
func TestKamailio(t *testing.T) {
	kamBin := need(t, toolKamailio)
	sippBin := need(t, toolSIPp)

	lab := newLab(t)
	k := startKamailio(t, kamBin, lab)
	dir := t.TempDir()
	newRoot := lab.Path(certs.LabNewRootCert)
	account := func(user string) statedir.Account {
		return statedir.Account{
			Server:   fmt.Sprintf("sips:127.0.0.1:%d", k.tlsPort),
			User:     user,
			Password: kamailioPassword(user),
			Domain:   kamailioDomain,
		}
	}

	t.Run("server refuses TLS 1.1", func(t *testing.T) {
		conf := &tls.Config{RootCAs: lab.Roots(), ServerName: "localhost", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
		d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: conf}
		conn, err := d.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(k.tlsPort)))
		if err == nil {
			v := conn.(*tls.Conn).ConnectionState().Version
			conn.Close()
			t.Fatalf("TLS handshake with MaxVersion 1.1 succeeded (version %s); tls.cfg says TLSv1.2+", tls.VersionName(v))
		}
		t.Logf("refused as expected: %v", err)
	})

	// alice lives for the whole test: the calls below need her registered.
	alice := bootPhone(t, "vvx601", "", account("alice"), newRoot)
	registered := t.Run("deskphone registers over TLS with digest", func(t *testing.T) {
		st := waitStatus(t, alice, "registered", "yes")
		if v := st["tls"]; v != "1.2" && v != "1.3" {
			t.Errorf("tls=%q, want 1.2 or 1.3", v)
		}
		if st["session"] != "signed-in" {
			t.Errorf("session=%q, want signed-in", st["session"])
		}
		t.Logf("%s %s registered as alice over TLS %s", st["model"], st["firmware"], st["tls"])
	})

	t.Run("TLS 1.3 firmware negotiates TLS 1.3", func(t *testing.T) {
		// tls.cfg's TLSv1.2+ lets a client that can do 1.3 have it.
		p := bootPhone(t, "c450hd", "3.4.6.537", account("carol"), newRoot)
		st := waitStatus(t, p, "registered", "yes")
		if st["tls"] != "1.3" {
			t.Errorf("tls=%q, want 1.3 (firmware allows 1.2 to 1.3)", st["tls"])
		}
	})

	t.Run("firmware without the lab root rejects the server", func(t *testing.T) {
		// Seed 002 against a real server: an AudioCodes 430HD on 3.2.1.580
		// trusts only its factory roots, and Kamailio's chain leads to the
		// lab's fresh root, which it was never given.
		p := bootPhone(t, "430hd", "3.2.1.580", account("bob"))
		st := waitStatusFunc(t, p, "registration_error", "a TLS error", func(v string) bool { return v != "" })
		if !strings.HasPrefix(st["registration_error"], "TLS:") {
			t.Errorf("registration_error=%q, want it to start with %q", st["registration_error"], "TLS:")
		}
		if st["registered"] != "no" {
			t.Errorf("registered=%q, want no", st["registered"])
		}
		// The vendor's syslog line carries OpenSSL's code for an unknown
		// issuer: 20, unable to get local issuer certificate.
		waitLog(t, p, "unable to get local issuer certificate")
	})

	t.Run("SIPp registers over TLS through stunnel", func(t *testing.T) {
		stunnelBin := need(t, toolStunnel)
		// stunnel verifies Kamailio's chain (leaf + intermediate) against
		// the lab root with OpenSSL, as a second TLS client next to Go's.
		port := startStunnel(t, stunnelBin, dir, k.tlsPort, newRoot, "localhost")
		runSIPp(t, sippBin, dir, sipp{
			name: "register-bob-tls", scenario: "register.xml",
			remote: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			keys: map[string]string{
				"dp_user": "bob", "dp_domain": kamailioDomain, "dp_transport": "TLS",
				"dp_contact": "sip:bob@127.0.0.1;transport=tls",
			},
			auth: sippAuth("bob", kamailioPassword("bob")),
		})
	})

	t.Run("deskphone calls SIPp UAS", func(t *testing.T) {
		if !registered {
			t.Skip("alice is not registered")
		}
		// SIPp answers as "uas"; a second SIPp registers its listener
		// with Kamailio (digest over TCP), so the call finds it by
		// lookup("location") like any registered user.
		uas, uasPort := startSIPp(t, sippBin, dir, sipp{name: "uas", scenario: "uas.xml"})
		if uas.exited() {
			code, _ := uas.wait(0)
			t.Fatalf("%s exited at start with %d (%s)", uas.name, code, sippExit(code))
		}
		runSIPp(t, sippBin, dir, sipp{
			name: "register-uas", scenario: "register.xml", remote: k.sipAddr(),
			keys: map[string]string{
				"dp_user": "uas", "dp_domain": kamailioDomain, "dp_transport": "TCP",
				"dp_contact": fmt.Sprintf("sip:uas@127.0.0.1:%d;transport=tcp", uasPort),
			},
			auth: sippAuth("uas", kamailioPassword("uas")),
		})

		if err := alice.Call("uas"); err != nil {
			t.Fatal(err)
		}
		st := waitStatus(t, alice, "call", "connected")
		if st["remote"] != "uas" {
			t.Errorf("remote=%q, want uas", st["remote"])
		}
		if err := alice.Hangup(); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, alice, "call", "idle")
		// SIPp's UAS got the BYE through Kamailio and answered it.
		expectSIPpSuccess(t, uas, 30*time.Second)
	})

	t.Run("SIPp UAC calls deskphone", func(t *testing.T) {
		if !registered {
			t.Skip("alice is not registered")
		}
		// bob (SIPp, TCP) calls alice (the phone, TLS): Kamailio
		// challenges bob with 407, then reaches alice over the connection
		// she registered on. SIPp hangs up after 2 s; its BYE reaches
		// alice through the alias Kamailio put in her Contact.
		uac, _ := startSIPp(t, sippBin, dir, sipp{
			name: "uac-bob", scenario: "uac.xml", remote: k.sipAddr(),
			keys: map[string]string{"dp_user": "bob", "dp_callee": "alice", "dp_domain": kamailioDomain},
			auth: sippAuth("bob", kamailioPassword("bob")),
		})
		st := waitStatus(t, alice, "call", "ringing")
		if st["remote"] != "bob" {
			t.Errorf("remote=%q, want bob", st["remote"])
		}
		if err := alice.Answer(); err != nil {
			t.Fatal(err)
		}
		waitLog(t, alice, "connected to bob")
		// SIPp talks for 2 s before its BYE: the phone is connected now,
		// unless the machine was so slow that the BYE already came.
		if c := status(t, alice)["call"]; c != "connected" && !logged(alice, "call with bob ended by the far end") {
			t.Errorf("call=%q after the answer, want connected", c)
		}
		waitLog(t, alice, "call with bob ended by the far end")
		waitStatus(t, alice, "call", "idle")
		expectSIPpSuccess(t, uac, 30*time.Second)
	})
}
