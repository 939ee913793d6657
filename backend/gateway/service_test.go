package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	mac1   = "00:90:8f:12:34:56"
	tenant = "/emea/tenantid/0b5c1e9a-2f3d-4c5e-8a9b-0123456789ab"
)

// fixture is a Service on a fake clock with a fake directory, identity
// provider, check-sync and location service.
type fixture struct {
	t   *testing.T
	s   *Service
	h   http.Handler
	mu  sync.Mutex
	now time.Time
	// pairings made, by code: the test decides their outcome.
	pairings map[string]*fakePairing
	labels   []string
	synced   []string
	offline  map[string]bool
}

type fakePairing struct {
	user      string
	err       error
	cancelled bool
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, now: time.Date(2023, 8, 1, 9, 0, 0, 0, time.UTC), pairings: map[string]*fakePairing{}, offline: map[string]bool{}}
	users := map[string]User{
		"alice": {Name: "alice", DisplayName: "Alice Smith", Number: "1001"},
		"bob":   {Name: "bob", DisplayName: "Bob Jones", Number: "1002"},
		"nonum": {Name: "nonum", DisplayName: "No Number"},
	}
	s, err := New(Config{
		Now:    func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now },
		Lookup: func(n string) (User, bool) { u, ok := users[n]; return u, ok },
		StartPairing: func(label string) (Pairing, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			code := fmt.Sprintf("CODE-%04d", len(f.labels))
			f.labels = append(f.labels, label)
			fp := &fakePairing{}
			f.pairings[code] = fp
			return Pairing{Code: code, VerificationURI: "http://idp/devicelogin", Expires: f.now.Add(15 * time.Minute), Interval: 5 * time.Second,
				Poll: func() (string, error) {
					f.mu.Lock()
					defer f.mu.Unlock()
					return fp.user, fp.err
				},
				Cancel: func() { f.mu.Lock(); fp.cancelled = true; f.mu.Unlock() }}, nil
		},
		CheckSync:  func(u string) { f.mu.Lock(); f.synced = append(f.synced, u); f.mu.Unlock() },
		Registered: func(u string) bool { f.mu.Lock(); defer f.mu.Unlock(); return !f.offline[u] },
		Registrar:  "sips:127.0.0.1:5061",
		Domain:     "deskphone.test",
	})
	if err != nil {
		t.Fatal(err)
	}
	f.s, f.h = s, s.Handler()
	return f
}

func (f *fixture) advance(d time.Duration) { f.mu.Lock(); f.now = f.now.Add(d); f.mu.Unlock() }

// post sends body to path and decodes the answer into out; it returns
// the status.
func (f *fixture) post(path string, body any, out any) int {
	f.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case string:
		raw = []byte(b)
	default:
		raw, _ = json.Marshal(b)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(raw)))
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			f.t.Fatalf("%s: %d %q: %v", path, rec.Code, rec.Body.String(), err)
		}
	}
	return rec.Code
}

type errReply struct{ Error, Reason string }

func dev(mac, key string) map[string]string {
	return map[string]string{"mac": mac, "device_key": key, "vendor": "AudioCodes", "model": "430HD", "firmware": "430HD_3.4.6.537", "mode": "sip"}
}

// onboard onboards mac at base and returns its key.
func (f *fixture) onboard(base, mac string) string {
	f.t.Helper()
	var r DeviceReply
	if code := f.post(base+"/device", dev(mac, ""), &r); code != 200 || r.DeviceKey == "" || r.State != StateSignedOut {
		f.t.Fatalf("onboard %s: %d %+v", mac, code, r)
	}
	return r.DeviceKey
}

// pairAs pairs mac (key) and approves it as user.
func (f *fixture) pairAs(base, mac, key, user string) {
	f.t.Helper()
	var p PairReply
	if code := f.post(base+"/pair", map[string]string{"mac": mac, "device_key": key}, &p); code != 200 {
		f.t.Fatalf("pair: %d", code)
	}
	f.mu.Lock()
	f.pairings[p.PairingCode].user = user
	f.mu.Unlock()
	var pr PollReply
	if f.post(base+"/pair/poll", map[string]string{"mac": mac, "device_key": key}, &pr); pr.Status != StateSignedIn {
		f.t.Fatalf("poll: %+v", pr)
	}
}

func TestRefusals(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct{ model, firmware, mode, want string }{
		{"VVX 501", "5.9.0.9373", "sip", "VVX 501 firmware 5.9.0.9373 is below the minimum 5.9.5 for the SIP Gateway."},
		// Skype for Business firmware below the minimum: the minimum says more.
		{"VVX 601", "5.9.0.9373", "3pip", "VVX 601 firmware 5.9.0.9373 is below the minimum 5.9.5 for the SIP Gateway."},
		{"430HD", "UC430HD_3.2.1.580", "3pip", "UC430HD_3.2.1.580 is Skype for Business firmware: the SIP Gateway needs SIP firmware 3.2.1 or later."},
		{"CX600", "4.0.7577.4420", "lpe", "CX600 is not supported by the SIP Gateway."},
		{"SIP-T46G", "28.82.0.20", "sip", "SIP-T46G firmware 28.82.0.20 is below the minimum 28.83.0.0 for the SIP Gateway."},
	} {
		var e errReply
		code := f.post("/emea/device", map[string]string{"mac": mac1, "model": c.model, "firmware": c.firmware, "mode": c.mode}, &e)
		if code != 403 || e.Error != "refused" || e.Reason != c.want {
			t.Errorf("%s %s: %d %+v, want %q", c.model, c.firmware, code, e, c.want)
		}
	}
	for _, ok := range [][2]string{{"VVX 601", "5.9.5"}, {"VVX 501", "6.4.3.5814"}, {"SIP-T48G", "35.83.0.130"}, {"C450HD", "C450HD_3.2.1.1"}} {
		if why := refusal(ok[0], ok[1], ModeSIP); why != "" {
			t.Errorf("%v refused: %s", ok, why)
		}
	}
	if len(f.s.Devices()) != 0 {
		t.Error("a refused device has a record")
	}
}

func TestVersionCompare(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"5.9.0.9373", "5.9.5", -1}, {"UC430HD_3.2.1.580", "3.2.1", 1}, {"3.2.1", "3.2.1.0", 0}, {"28.83.0.130", "28.83.0.0", 1}, {"10.0", "9.9", 1}} {
		if got := compareVersions(c.a, c.b); got != c.want {
			t.Errorf("compare(%s, %s) = %d", c.a, c.b, got)
		}
	}
}

func TestOnboardPairSignOut(t *testing.T) {
	f := newFixture(t)
	key := f.onboard("/emea", mac1)
	var r DeviceReply
	f.post("/emea/device", dev(mac1, key), &r)
	if r.Account.User != "dev-00908f123456" || r.Account.Password == "" || r.Registrar.Server != "sips:127.0.0.1:5061" || r.Config.PollSeconds != 3600 {
		t.Fatalf("signed out: %+v", r)
	}
	if !f.s.IsDeviceAccount("dev-00908f123456") || f.s.Credentials("dev-00908f123456")[0] != r.Account.Password {
		t.Fatal("device account not known")
	}
	// Pending, then approved.
	var p PairReply
	f.post("/emea/pair", map[string]string{"mac": mac1, "device_key": key}, &p)
	if p.PairingCode == "" || p.ExpiresIn != 900 || p.Interval != 5 || f.labels[0] != "SIP device: AudioCodes 430HD (00-90-8f-12-34-56)" {
		t.Fatalf("pair: %+v %q", p, f.labels)
	}
	var pr PollReply
	if f.post("/emea/pair/poll", map[string]string{"mac": mac1, "device_key": key}, &pr); pr.Status != "pending" {
		t.Fatalf("poll: %+v", pr)
	}
	f.pairings[p.PairingCode].user = "alice"
	if f.post("/emea/pair/poll", map[string]string{"mac": mac1, "device_key": key}, &pr); pr.Status != StateSignedIn {
		t.Fatalf("poll: %+v", pr)
	}
	f.post("/emea/device", dev(mac1, key), &r)
	if r.State != StateSignedIn || r.Account.User != "alice" || r.Account.Number != "1001" || r.Account.DisplayName != "Alice Smith" {
		t.Fatalf("signed in: %+v", r)
	}
	if c := f.s.Credentials("alice"); len(c) != 1 || c[0] != r.Account.Password {
		t.Fatalf("credentials %v", c)
	}
	if _, in := f.s.Settings("alice"); !in {
		t.Error("alice not signed in on a device")
	}
	// Another phone may not take it over; pairing again is 409.
	var e errReply
	if code := f.post("/emea/device", dev(mac1, ""), &e); code != 409 || e.Error != "in-use" {
		t.Errorf("empty key on a signed-in device: %d %+v", code, e)
	}
	if code := f.post("/emea/pair", map[string]string{"mac": mac1, "device_key": key}, &e); code != 409 {
		t.Errorf("pair when signed in: %d", code)
	}
	// Sign-out on the phone.
	if f.post("/emea/signout", map[string]string{"mac": mac1, "device_key": key}, &r); r.State != StateSignedOut || r.Account.User != "dev-00908f123456" {
		t.Fatalf("signout: %+v", r)
	}
	if f.s.Credentials("alice") != nil || len(f.synced) != 0 {
		t.Errorf("after sign-out: %v %v", f.s.Credentials("alice"), f.synced)
	}
	// A wrong key is 409; an empty key on a signed-out device onboards again.
	if code := f.post("/emea/device", dev(mac1, "nope"), &e); code != 409 {
		t.Errorf("wrong key: %d", code)
	}
	if k := f.onboard("/emea", mac1); k == key {
		t.Error("re-onboarding kept the key")
	}
}

func TestPairingOutcomes(t *testing.T) {
	f := newFixture(t)
	key := f.onboard("/noam", mac1)
	req := map[string]string{"mac": mac1, "device_key": key}
	for _, c := range []struct {
		name, user string
		err        error
		want       PollReply
	}{
		{"denied", "", ErrPairingDenied, PollReply{"denied", "The sign-in was declined."}},
		{"expired", "", ErrPairingExpired, PollReply{Status: "expired"}},
		{"no number", "nonum", nil, PollReply{"denied", RowNoNumber}},
		{"no user", "mallory", nil, PollReply{"denied", RowUserNotFound}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var p PairReply
			f.post("/noam/pair", req, &p)
			f.pairings[p.PairingCode].user, f.pairings[p.PairingCode].err = c.user, c.err
			var pr PollReply
			if f.post("/noam/pair/poll", req, &pr); pr != c.want {
				t.Fatalf("%+v, want %+v", pr, c.want)
			}
			if f.post("/noam/pair/poll", req, &pr); pr.Status != "expired" {
				t.Fatalf("after the end: %+v", pr)
			}
		})
	}
	// A new pair request replaces the old code; time runs out on the
	// cloud's clock.
	var p1, p2 PairReply
	f.post("/noam/pair", req, &p1)
	f.post("/noam/pair", req, &p2)
	if !f.pairings[p1.PairingCode].cancelled || p1.PairingCode == p2.PairingCode {
		t.Error("the old pairing was not cancelled")
	}
	f.advance(15 * time.Minute)
	var pr PollReply
	if f.post("/noam/pair/poll", req, &pr); pr.Status != "expired" {
		t.Errorf("after 15 min: %+v", pr)
	}
}

func TestStaleDevices(t *testing.T) {
	f := newFixture(t)
	in := f.onboard("/emea", mac1)
	f.pairAs("/emea", mac1, in, "alice")
	const mac2 = "00:90:8f:00:00:02"
	out := f.onboard("/emea", mac2)

	f.advance(14*24*time.Hour - time.Second)
	f.s.Seen("alice")
	if !f.s.IsDeviceAccount("dev-00908f000002") {
		t.Fatal("offboarded early")
	}
	f.advance(time.Second)
	if f.s.IsDeviceAccount("dev-00908f000002") || f.s.Credentials("dev-00908f000002") != nil {
		t.Fatal("signed out 14 days: still onboarded")
	}
	var e errReply
	if code := f.post("/emea/device", dev(mac2, out), &e); code != 410 || !strings.Contains(e.Reason, "14 days") {
		t.Errorf("old key after offboarding: %d %+v", code, e)
	}
	f.onboard("/emea", mac2) // reset: afresh

	f.advance(30*24*time.Hour - 2*time.Second) // alice was seen a second before the last advance
	if f.s.Credentials("alice") == nil {
		t.Fatal("signed in offboarded early")
	}
	f.advance(time.Second)
	if f.s.Credentials("alice") != nil {
		t.Fatal("signed in 30 days unseen: still onboarded")
	}
	if code := f.post("/emea/device", dev(mac1, in), &e); code != 410 || e.Reason != "This device was offboarded after 30 days without a connection. Reset it to factory settings to onboard it again." {
		t.Errorf("30 days: %d %+v", code, e)
	}
	if d, _ := f.s.Device(mac1); d.State != StateOffboarded {
		t.Errorf("listed %+v", d)
	}
}

func TestCommonArea(t *testing.T) {
	f := newFixture(t)
	if _, err := f.s.Code(mac1); !errors.Is(err, ErrNotProvisioned) {
		t.Fatalf("code before provision: %v", err)
	}
	if _, err := f.s.Provision("nope", "Lobby"); !errors.Is(err, ErrBadMAC) {
		t.Fatalf("bad mac: %v", err)
	}
	if info, err := f.s.Provision("00-90-8F-12-34-56", "Lobby"); err != nil || info.State != StateProvisioned || info.Location != "Lobby" {
		t.Fatalf("provision: %+v %v", info, err)
	}
	f.onboard("/emea", mac1)
	code, err := f.s.Code(mac1)
	if err != nil || len(code.Code) != 8 || strings.Trim(code.Code, "0123456789") != "" {
		t.Fatalf("code %+v %v", code, err)
	}
	if err := f.s.Enroll("alice", code.Code); !errors.Is(err, ErrNotDevice) {
		t.Errorf("from a user: %v", err)
	}
	if err := f.s.Enroll("dev-00908f123456", "12345678x"); !errors.Is(err, ErrBadEnrollCode) {
		t.Errorf("wrong code: %v", err)
	}
	if err := f.s.Enroll("dev-00908f123456", code.Code); err != nil {
		t.Fatal(err)
	}
	if len(f.synced) != 1 || f.synced[0] != "dev-00908f123456" {
		t.Errorf("check-sync %v", f.synced)
	}
	info, _ := f.s.Device(mac1)
	if info.State != StateSignedIn || info.User != "cap-00908f123456" || info.Location != "Lobby" {
		t.Fatalf("enrolled %+v", info)
	}
	// Used: the device is signed in now, so sign it out and try again.
	if _, err := f.s.SignOut(mac1); err != nil {
		t.Fatal(err)
	}
	if err := f.s.Enroll("dev-00908f123456", code.Code); !errors.Is(err, ErrUsedEnrollCode) {
		t.Errorf("used code: %v", err)
	}
	// Expired after 24 h.
	code2, _ := f.s.Code(mac1)
	f.advance(EnrollCodeLifetime)
	f.s.Seen("dev-00908f123456")
	if err := f.s.Enroll("dev-00908f123456", code2.Code); !errors.Is(err, ErrBadEnrollCode) {
		t.Errorf("expired code: %v", err)
	}
}

func TestFeatureCodes(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		dialled string
		want    Settings
	}{
		{"*30*", Settings{DND: true}},
		{"*33*1002", Settings{DND: true, ForwardTo: "1002"}},
		{"*34*", Settings{DND: true, ForwardTo: "1002", ForwardNoAnswer: Voicemail}},
		{"*34*1003#", Settings{DND: true, ForwardTo: "1002", ForwardNoAnswer: "1003"}},
		{"*35*+15551234", Settings{DND: true, ForwardTo: "1002", ForwardNoAnswer: "1003", SimRing: "+15551234"}},
		{"*32*", Settings{DND: true}},
		{"*31*", Settings{}},
	} {
		got, err := f.s.FeatureCode("Alice", c.dialled)
		if err != nil || got != c.want {
			t.Errorf("%s: %+v %v, want %+v", c.dialled, got, err, c.want)
		}
	}
	for _, bad := range []string{"*33*", "*36*", "*30*1", "*33*12ab", "30", "*55*1234", "*99*", ""} {
		if _, err := f.s.FeatureCode("alice", bad); !errors.Is(err, ErrUnknownCode) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	f.s.FeatureCode("bob", "*30*")
	if st, _ := f.s.Settings("alice"); st.DND {
		t.Error("settings are not per user")
	}
}

func TestHostileInput(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		name, path, body string
		want             int
	}{
		{"oversized", "/emea/device", `{"mac":"` + strings.Repeat("a", MaxBody) + `"}`, 413},
		{"bad JSON", "/emea/device", `{"mac":`, 400},
		{"not an object", "/emea/device", `[1,2]`, 400},
		{"bad MAC", "/emea/device", `{"mac":"00:90:8f:12:34"}`, 400},
		{"bad MAC chars", "/emea/pair", `{"mac":"zz:90:8f:12:34:56"}`, 400},
		{"unknown region", "/mars/device", `{"mac":"00:90:8f:12:34:56"}`, 404},
		{"bad tenant", "/emea/tenantid/x/device", `{}`, 404},
		{"no endpoint", "/emea/reboot", `{}`, 404},
		{"bad mode", "/emea/device", `{"mac":"00:90:8f:12:34:56","model":"430HD","firmware":"3.2.1","mode":"x"}`, 400},
		{"control chars", "/emea/device", `{"mac":"00:90:8f:12:34:56","model":"430HD\u0000","firmware":"3.2.1","mode":"sip"}`, 400},
		{"unknown key", "/emea/pair", `{"mac":"00:90:8f:12:34:56","device_key":"x"}`, 403},
	} {
		var e errReply
		if code := f.post(c.path, c.body, &e); code != c.want || e.Reason == "" {
			t.Errorf("%s: %d %+v, want %d", c.name, code, e, c.want)
		}
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/emea/device", nil))
	if rec.Code != 405 {
		t.Errorf("GET: %d", rec.Code)
	}
	// Unknown fields are ignored.
	var r DeviceReply
	body := dev(mac1, "")
	body["extra"] = "x"
	if code := f.post("/apac/device", body, &r); code != 200 {
		t.Errorf("unknown field: %d", code)
	}
}

func TestParseMAC(t *testing.T) {
	for in, want := range map[string]string{"00:90:8F:12:34:56": mac1, "00-90-8f-12-34-56": mac1, "00908f123456": mac1} {
		if got, ok := ParseMAC(in); !ok || got != want {
			t.Errorf("%q: %q %v", in, got, ok)
		}
	}
	for _, bad := range []string{"", "00:90:8f:12:34", "00:90-8f:12:34:56", "00908f12345g", "0:90:8f:12:34:56:", "00::90:8f:12:34:5"} {
		if _, ok := ParseMAC(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}
