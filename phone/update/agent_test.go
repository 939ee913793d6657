package update

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/firmware"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

// fakePhone is the environment a phone gives the agent, reduced to what a
// test sets and reads: no loop, no SIP. Do runs a result at once; Go keeps
// the work for the test to run.
type fakePhone struct {
	clk     *clock.Fake
	policy  string // the update service the provisioning names
	call    string
	mu      sync.Mutex
	logs    []string
	alerts  []string
	work    []func(context.Context)
	reboots int
}

func (f *fakePhone) env() Env { return f }

func (f *fakePhone) Clock() clock.Clock { return f.clk }
func (f *fakePhone) Log(level, msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, level+": "+msg)
}
func (f *fakePhone) Do(g func()) error { g(); return nil }
func (f *fakePhone) Go(g func(context.Context)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.work = append(f.work, g)
}
func (f *fakePhone) After(d time.Duration, g func()) func() {
	t := f.clk.AfterFunc(d, g) // the tests never advance the clock
	return func() { t.Stop() }
}
func (f *fakePhone) Hold() func()           { return func() {} }
func (f *fakePhone) Reboot()                { f.reboots++ }
func (f *fakePhone) Alert(msg string)       { f.alerts = append(f.alerts, msg) }
func (f *fakePhone) Call() string           { return f.call }
func (f *fakePhone) Idle() bool             { return f.call == "" }
func (f *fakePhone) Policy() (bool, string) { return true, f.policy }
func (f *fakePhone) TLS(string) *tls.Config { return &tls.Config{} }

// newAgent makes an agent of model id on a fresh state directory, booted
// on firmware version ("" for the model's default).
func newAgent(t *testing.T, id, version string, f *fakePhone) (*Agent, *catalog.Model) {
	t.Helper()
	cat, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	m, err := cat.Model(id)
	if err != nil {
		t.Fatal(err)
	}
	st, ident, err := statedir.Open(t.TempDir(), m.ID, m.Vendor.OUI)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := Activate(st, m, version)
	if err != nil {
		t.Fatal(err)
	}
	a := New(Config{Model: m, State: st, Identity: ident}, f.env())
	a.Boot()
	a.Booted(fw, f.clk.Now())
	return a, m
}

// An update that fails on the update server's certificate shows the
// vendor's wording, never Go's x509 text, which stays in update_error
// and the syslog; a later failed check keeps it so.
func TestUpdateFailureWordedByVendor(t *testing.T) {
	cat, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range cat.ModelIDs() {
		t.Run(id, func(t *testing.T) {
			f := &fakePhone{clk: clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))}
			a, m := newAgent(t, id, "", f)
			x := &url.Error{Op: "Get", URL: "https://updates.test/metadata/timestamp.json", Err: x509.UnknownAuthorityError{}}
			a.s.offer = &offer{version: "9.9.9", source: sourceInBand}
			a.failed(fmt.Errorf("update metadata: %w", x))
			want := m.Vendor.Update.Reasons["untrusted"]
			text := strings.Join(a.Lines(), "\n")
			if strings.Contains(text, "x509") || !strings.Contains(text, want) {
				t.Fatalf("the screen shows:\n%s\nwant %q and no x509 text", text, want)
			}
			if st := a.Status(); !strings.Contains(st.Error, "x509: certificate signed by unknown authority") {
				t.Errorf("update_error %q lost the raw text", st.Error)
			}
			a.onCheck([]checkResult{{source: sourceInBand, err: x}})
			if text := strings.Join(a.Lines(), "\n"); strings.Contains(text, "x509") {
				t.Fatalf("after a failed check the screen shows:\n%s", text)
			}
		})
	}
}

// A check set off before a reboot answers after it: the answer belongs to
// a boot that is gone, and the agent of the new boot does not act on it.
func TestCheckAnsweredAfterRebootIsDropped(t *testing.T) {
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(firmware.CheckResponse{Version: "UCC450HD_3.4.6.537", Target: "t", MetadataURL: "/metadata/", ImageURL: "/images/x"})
	}))
	defer svc.Close()
	f := &fakePhone{clk: clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)), policy: svc.URL}
	a, _ := newAgent(t, "c450hd", "UCC450HD_3.2.0.1003.61", f)
	fw := a.fw
	if len(f.work) != 1 {
		t.Fatalf("the power-on check set off %d pieces of work, want 1", len(f.work))
	}
	a.Boot() // a reboot while the check is out
	f.work[0](context.Background())
	if st := a.Status(); st.State != None || st.Version != "" || a.s.checking {
		t.Fatalf("after the stale answer: %+v (checking %v), want nothing offered", st, a.s.checking)
	}

	// The same answer to the boot that asked is an offer.
	a.Booted(fw, f.clk.Now())
	f.work[1](context.Background())
	if st := a.Status(); st.State != Available || st.Version != "UCC450HD_3.4.6.537" {
		t.Fatalf("after the answer: %+v, want UCC450HD_3.4.6.537 available", st)
	}
}

// A call refuses the Update softkey and a technician's install with
// ErrInCall, in the words users read.
func TestCallRefusesUpdate(t *testing.T) {
	f := &fakePhone{clk: clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)), call: "connected"}
	a, _ := newAgent(t, "c450hd", "", f)
	for name, err := range map[string]error{"now": a.Now(), "install": a.Install("UCC450HD_3.4.6.537")} {
		if !errors.Is(err, ErrInCall) || !strings.HasSuffix(err.Error(), "the phone is connected") {
			t.Errorf("%s during a call: %v, want ErrInCall ending %q", name, err, "the phone is connected")
		}
	}
	if f.reboots != 0 || !slices.Equal(f.alerts, nil) {
		t.Errorf("a refused request rebooted %d times, alerted %q", f.reboots, f.alerts)
	}
}

// A check that was queued behind an install answers with the same offer
// after the install failed: the offer stands again, and why its install
// failed stays in update_error until the next attempt (a script waiting
// for the reason must see it). A new version clears it.
func TestSameOfferKeepsTheFailure(t *testing.T) {
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(firmware.CheckResponse{Version: "UCC450HD_3.4.6.537", Target: "t", MetadataURL: "/metadata/", ImageURL: "/images/x"})
	}))
	defer svc.Close()
	f := &fakePhone{clk: clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)), policy: svc.URL}
	a, _ := newAgent(t, "c450hd", "UCC450HD_3.2.0.1003.61", f)
	f.work[0](context.Background())
	if st := a.Status(); st.State != Available {
		t.Fatalf("after the check: %+v, want available", st)
	}
	a.failed(errors.New("update metadata: not trusted"))
	a.Check("manual")
	f.work[len(f.work)-1](context.Background())
	if st := a.Status(); st.State != Available || !strings.Contains(st.Error, "not trusted") {
		t.Fatalf("after the same offer again: %+v, want it available with the install's error", st)
	}
	a.s.offer.version = "UCC450HD_3.4.0.1"
	a.Check("manual")
	f.work[len(f.work)-1](context.Background())
	if st := a.Status(); st.Error != "" {
		t.Fatalf("a new offer kept the old error %q", st.Error)
	}
}
