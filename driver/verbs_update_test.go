package driver_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/backend"
	"github.com/deskphone/deskphone/backend/updatesvc"
	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/driver/drivertest"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
)

// updateService starts an update service on clk for the test.
func updateService(t *testing.T, clk clock.Clock, name string) (*updatesvc.Service, string) {
	t.Helper()
	return drivertest.UpdateService(t, updatesvc.Config{Name: name, Clock: clk})
}

func logged(p *phone.Phone, text string) bool {
	for _, l := range p.Logs(0) {
		if strings.Contains(l.Text, text) {
			return true
		}
	}
	return false
}

func run(t *testing.T, p *phone.Phone, line string) error {
	t.Helper()
	name, arg, _ := strings.Cut(line, " ")
	v, ok := driver.Lookup(name)
	if !ok {
		t.Fatalf("no verb %s", name)
	}
	a, err := v.Parse(arg)
	if err != nil {
		return err
	}
	_, err = v.Run(context.Background(), &driver.Target{Phone: p}, a)
	return err
}

func TestUpdateInstallsWhenIdleAndComesBackRegistered(t *testing.T) {
	clk := clock.NewFake(drivertest.Start)
	cloud := drivertest.Cloud(t, clk)
	svc, url := updateService(t, clk, "")
	if err := svc.Approve("c450hd", "UCC450HD_3.4.6.537"); err != nil {
		t.Fatal(err)
	}
	p := drivertest.Phone(t, driver.Spec{Model: "c450hd", Firmware: "UCC450HD_3.2.0.1003.61", Clock: clk,
		Account: drivertest.Account(cloud, "alice"), Options: []phone.Option{phone.WithUpdateService(url)}})
	drivertest.Status(t, p, "registered", "yes")
	drivertest.Wait(t, p, driver.Cond{Status: map[string]string{"update": "available", "update_version": "UCC450HD_3.4.6.537"}})
	clk.Advance(5 * time.Minute)
	drivertest.Wait(t, p, driver.Cond{Status: map[string]string{"firmware": "UCC450HD_3.4.6.537", "firmware_slot": "b", "registered": "yes"}})
	drivertest.Wait(t, p, driver.Cond{Status: map[string]string{"update": "none", "update_version": ""}})
	if !logged(p, "marked good") {
		t.Error("the new firmware was not marked good")
	}
	if _, err := os.Stat(filepath.Join(p.StateDir(), "firmware", "slot-b.img")); err != nil {
		t.Errorf("slot b: %v", err)
	}
}

func TestUpdatePostponedTwiceThenInstalledWhenIdle(t *testing.T) {
	clk := clock.NewFake(drivertest.Start)
	cloud := drivertest.Cloud(t, clk)
	svc, url := updateService(t, clk, "")
	if err := svc.Approve("vvx501", "5.5.1.11526"); err != nil {
		t.Fatal(err)
	}
	p := drivertest.Phone(t, driver.Spec{Model: "vvx501", Firmware: "5.4.0A", Clock: clk,
		Account: drivertest.Account(cloud, "alice"), Options: []phone.Option{phone.WithUpdateService(url)}})
	for i := range 2 {
		drivertest.Wait(t, p, driver.Cond{Status: map[string]string{"update": "available", "screen": "update", "registered": "yes"}})
		if !strings.Contains(p.Screen().Text(), "Update 5.5.1.11526 available") {
			t.Fatalf("offer screen:\n%s", p.Screen().Text())
		}
		if err := p.SoftkeyLabel("Postpone"); err != nil {
			t.Fatalf("postpone %d: %v", i+1, err)
		}
		drivertest.Status(t, p, "update", "postponed")
		clk.Advance(time.Hour)
	}
	drivertest.Status(t, p, "update", "available")
	clk.Advance(5 * time.Minute)
	drivertest.Wait(t, p, driver.Cond{Status: map[string]string{"firmware": "5.5.1.11526", "registered": "yes", "update": "none"}})
}

func TestUpdateNowAndPostponeLimit(t *testing.T) {
	clk := clock.NewFake(drivertest.Start)
	cloud := drivertest.Cloud(t, clk)
	svc, url := updateService(t, clk, "")
	if err := svc.Approve("t46g", "28.8.1.52"); err != nil {
		t.Fatal(err)
	}
	p := drivertest.Phone(t, driver.Spec{Model: "t46g", Firmware: "28.8.0.30", Clock: clk,
		Account: drivertest.Account(cloud, "alice"), Options: []phone.Option{phone.WithUpdateService(url)}})
	drivertest.Status(t, p, "update", "available")
	for range 2 {
		if err := run(t, p, "update postpone"); err != nil {
			t.Fatal(err)
		}
		clk.Advance(2 * time.Hour)
		drivertest.Status(t, p, "update", "available")
	}
	if err := run(t, p, "update postpone"); err == nil {
		t.Fatal("a third postponement must be refused on this vendor")
	}
	if err := run(t, p, "update bogus"); err == nil {
		t.Fatal("update bogus must be refused")
	}
	if err := run(t, p, "update now"); err != nil {
		t.Fatal(err)
	}
	drivertest.Wait(t, p, driver.Cond{Status: map[string]string{"firmware": "28.8.1.52", "registered": "yes"}})
}

func TestUpdateThatCannotRegisterIsRolledBack(t *testing.T) {
	clk := clock.NewFake(drivertest.Start)
	cloud := drivertest.CloudWith(t, backend.Config{Clock: clk, ServerRoot: "lab-2022"})
	svc, url := updateService(t, clk, "")
	if err := svc.Restore("430hd", "UC430HD_3.2.1.580"); err != nil {
		t.Fatal(err)
	}
	p := drivertest.Phone(t, driver.Spec{Model: "430hd", Firmware: "UC430HD_3.4.6.537", Clock: clk,
		Account: drivertest.Account(cloud, "alice"), Options: []phone.Option{phone.WithUpdateService(url)}})
	drivertest.Status(t, p, "registered", "yes")
	drivertest.Status(t, p, "update", "available")
	if err := run(t, p, "update now"); err != nil {
		t.Fatal(err)
	}
	drivertest.Wait(t, p, driver.Cond{Status: map[string]string{"firmware": "UC430HD_3.2.1.580", "firmware_slot": "b"}})
	clk.Advance(10 * time.Minute)
	drivertest.Wait(t, p, driver.Cond{Status: map[string]string{"firmware": "UC430HD_3.4.6.537", "firmware_slot": "a", "update": "rolled-back", "registered": "yes"}})
	st, err := p.State()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(st.UpdateError, "did not come up") {
		t.Errorf("update_error = %q", st.UpdateError)
	}
}

func TestTwoAuthoritiesLoopIsStopped(t *testing.T) {
	clk := clock.NewFake(drivertest.Start)
	cloud := drivertest.Cloud(t, clk)
	inband, inURL := updateService(t, clk, "")
	prov, provURL := updateService(t, clk, "provisioning server")
	if err := inband.Approve("c450hd", "UCC450HD_3.4.6.537"); err != nil {
		t.Fatal(err)
	}
	if err := prov.Approve("c450hd", "UCC450HD_3.2.0.1003.61"); err != nil {
		t.Fatal(err)
	}
	p := drivertest.Phone(t, driver.Spec{Model: "c450hd", Firmware: "UCC450HD_3.0.0.459.1", Clock: clk,
		Account: drivertest.Account(cloud, "alice"),
		Options: []phone.Option{phone.WithUpdateService(inURL), phone.WithProvisioningServer(provURL)}})
	for _, v := range []string{"UCC450HD_3.4.6.537", "UCC450HD_3.2.0.1003.61"} {
		drivertest.Status(t, p, "update", "available")
		clk.Advance(5 * time.Minute)
		drivertest.Wait(t, p, driver.Cond{Status: map[string]string{"firmware": v, "registered": "yes"}})
	}
	drivertest.Status(t, p, "update", "loop-stopped")
	st, _ := p.State()
	if !strings.Contains(st.UpdateError, "update service") || !strings.Contains(st.UpdateError, "provisioning server") {
		t.Errorf("update_error = %q: must name both authorities", st.UpdateError)
	}
	clk.Advance(5 * time.Minute)
	if st, _ := p.State(); st.Firmware != "UCC450HD_3.2.0.1003.61" {
		t.Errorf("firmware %s after the loop stopped", st.Firmware)
	}
}

func TestUpdateFaults(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, svc *updatesvc.Service, dir string)
		opts  []phone.Option
		want  string
	}{
		{"service down", func(t *testing.T, svc *updatesvc.Service, _ string) { svc.SetDown(true) }, nil, "503"},
		{"full disk", nil, []phone.Option{phone.WithStateLimit(64 << 10)}, "not enough space"},
		{"altered image", func(t *testing.T, _ *updatesvc.Service, dir string) {
			path := filepath.Join(dir, "images", "c450hd", "UCC450HD_3.4.6.537.img")
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)-1] ^= 1
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}, nil, "does not match"},
		{"truncated image", func(t *testing.T, _ *updatesvc.Service, dir string) {
			path := filepath.Join(dir, "images", "c450hd", "UCC450HD_3.4.6.537.img")
			if err := os.Truncate(path, 1000); err != nil {
				t.Fatal(err)
			}
		}, nil, "does not match"},
		{"wrong signature", nil, nil, "not trusted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewFake(drivertest.Start)
			cloud := drivertest.Cloud(t, clk)
			cat, _ := catalog.Builtin()
			dir := t.TempDir()
			cfg := updatesvc.Config{Dir: dir, Clock: clk, Describe: driver.FirmwareDescriber(cat), ImageSize: 256 << 10}
			if tc.name == "wrong signature" {
				// A service signing with keys no firmware trusts.
				cfg.Roots = map[string]string{"audiocodes": "intruder"}
			}
			svc, err := updatesvc.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			srv, err := svc.Listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			if err := svc.Approve("c450hd", "UCC450HD_3.4.6.537"); err != nil {
				t.Fatal(err)
			}
			if tc.setup != nil {
				tc.setup(t, svc, dir)
			}
			p := drivertest.Phone(t, driver.Spec{Model: "c450hd", Firmware: "UCC450HD_3.2.0.1003.61", Clock: clk,
				Account: drivertest.Account(cloud, "alice"), Options: append([]phone.Option{phone.WithUpdateService(srv.URL())}, tc.opts...)})
			drivertest.Status(t, p, "registered", "yes")
			if err := run(t, p, "update now"); err != nil && tc.name != "service down" {
				t.Fatal(err)
			}
			drivertest.Wait(t, p, driver.Cond{Status: map[string]string{"firmware": "UCC450HD_3.2.0.1003.61", "firmware_slot": "a"}})
			waitErr(t, p, tc.want)
		})
	}
}

// waitErr waits until update_error mentions want.
func waitErr(t *testing.T, p *phone.Phone, want string) {
	t.Helper()
	err := driver.Wait(context.Background(), p, func(p *phone.Phone) (bool, string, error) {
		st, err := p.State()
		if err != nil {
			return false, "", err
		}
		return strings.Contains(st.UpdateError, want), "update_error=" + st.UpdateError, nil
	}, driver.WaitOptions{Timeout: drivertest.Timeout})
	if err != nil {
		t.Fatalf("update_error never mentioned %q: %v", want, err)
	}
}

func TestUpdateDisabledByPolicy(t *testing.T) {
	clk := clock.NewFake(drivertest.Start)
	cloud := drivertest.Cloud(t, clk)
	svc, url := updateService(t, clk, "")
	if err := svc.Approve("c450hd", "UCC450HD_3.4.6.537"); err != nil {
		t.Fatal(err)
	}
	p := drivertest.Phone(t, driver.Spec{Model: "c450hd", Firmware: "UCC450HD_3.2.0.1003.61", Clock: clk,
		Account: drivertest.Account(cloud, "alice"), Options: []phone.Option{phone.WithUpdateService(url), phone.WithDeviceUpdate(false)}})
	drivertest.Status(t, p, "registered", "yes")
	if err := run(t, p, "update check"); err == nil {
		t.Fatal("update check must be refused when device update is off")
	}
	clk.Advance(25 * time.Hour)
	if st := svc.Stats(); st.Checks != 0 {
		t.Errorf("%d checks with device update off", st.Checks)
	}
	if !logged(p, "device update disabled") {
		t.Error("no syslog line about the disabled update")
	}
}

// A phone whose firmware ships the vendor's first update root follows the
// repository to a rotated root, signed by the old one.
func TestUpdateAfterRootRotation(t *testing.T) {
	clk := clock.NewFake(drivertest.Start)
	cloud := drivertest.Cloud(t, clk)
	svc, url := updateService(t, clk, "")
	if err := svc.Approve("t48g", "35.8.1.52"); err != nil {
		t.Fatal(err)
	}
	if err := svc.RotateRoot("yealink", "yealink-2"); err != nil {
		t.Fatal(err)
	}
	p := drivertest.Phone(t, driver.Spec{Model: "t48g", Firmware: "35.8.0.30", Clock: clk,
		Account: drivertest.Account(cloud, "alice"), Options: []phone.Option{phone.WithUpdateService(url)}})
	drivertest.Status(t, p, "update", "available")
	if err := run(t, p, "update now"); err != nil {
		t.Fatal(err)
	}
	drivertest.Wait(t, p, driver.Cond{Status: map[string]string{"firmware": "35.8.1.52", "registered": "yes"}})
	b, err := os.ReadFile(filepath.Join(p.StateDir(), "firmware", "tuf", "update-service", "yealink-1", "root.json"))
	if err != nil || !strings.Contains(string(b), `"version":2`) {
		t.Fatalf("the phone did not keep the rotated root: %v", err)
	}
}

// A mirror frozen three days ago serves a timestamp that has expired on
// the phone's clock: the phone refuses it and says so in its log, in
// virtual time.
func TestUpdateRefusesFrozenMetadata(t *testing.T) {
	clk := clock.NewFake(drivertest.Start)
	cloud := drivertest.Cloud(t, clk)
	frozen := clock.NewFake(drivertest.Start.Add(-72 * time.Hour))
	svc, url := updateService(t, frozen, "")
	if err := svc.Approve("c450hd", "UCC450HD_3.4.6.537"); err != nil {
		t.Fatal(err)
	}
	p := drivertest.Phone(t, driver.Spec{Model: "c450hd", Firmware: "UCC450HD_3.2.0.1003.61", Clock: clk,
		Account: drivertest.Account(cloud, "alice"), Options: []phone.Option{phone.WithUpdateService(url)}})
	drivertest.Status(t, p, "update", "available")
	if err := run(t, p, "update now"); err != nil {
		t.Fatal(err)
	}
	drivertest.Status(t, p, "update", "failed")
	waitErr(t, p, "expired")
	if st, _ := p.State(); st.Firmware != "UCC450HD_3.2.0.1003.61" {
		t.Errorf("firmware %s after refusing the metadata", st.Firmware)
	}
	if !logged(p, "update failed") {
		t.Error("no syslog line about the refusal")
	}
}

// The agent never installs during a call: the idle time counts from the
// end of the call, and Update is refused while it lasts.
func TestUpdateWaitsForTheCallToEnd(t *testing.T) {
	clk := clock.NewFake(drivertest.Start)
	cloud := drivertest.Cloud(t, clk)
	svc, url := updateService(t, clk, "")
	if err := svc.Approve("c450hd", "UCC450HD_3.4.6.537"); err != nil {
		t.Fatal(err)
	}
	p := drivertest.Phone(t, driver.Spec{Model: "c450hd", Firmware: "UCC450HD_3.2.0.1003.61", Clock: clk,
		Account: drivertest.Account(cloud, "alice"), Options: []phone.Option{phone.WithUpdateService(url)}})
	drivertest.Status(t, p, "registered", "yes")
	drivertest.Status(t, p, "update", "available")
	if err := p.Call("echo"); err != nil {
		t.Fatal(err)
	}
	drivertest.Status(t, p, "call", "connected")
	if err := run(t, p, "update now"); err == nil {
		t.Error("update now during a call must be refused")
	}
	clk.Advance(10 * time.Minute)
	if st, _ := p.State(); st.Firmware != "UCC450HD_3.2.0.1003.61" || st.Call != phone.CallConnected {
		t.Fatalf("during the call: firmware %s, call %s", st.Firmware, st.Call)
	}
	if err := p.Hangup(); err != nil {
		t.Fatal(err)
	}
	drivertest.Status(t, p, "call", "idle")
	clk.Advance(4 * time.Minute)
	if st, _ := p.State(); st.Firmware != "UCC450HD_3.2.0.1003.61" {
		t.Fatalf("installed %s before the phone was idle long enough", st.Firmware)
	}
	clk.Advance(2 * time.Minute)
	drivertest.Wait(t, p, driver.Cond{Status: map[string]string{"firmware": "UCC450HD_3.4.6.537", "registered": "yes"}})
}

// An update service that answers garbage leaves the phone on its
// firmware, with the reason in update_error.
func TestUpdateServiceAnsweringGarbage(t *testing.T) {
	clk := clock.NewFake(drivertest.Start)
	cloud := drivertest.Cloud(t, clk)
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("<html>maintenance</html>"))
	}))
	defer garbage.Close()
	p := drivertest.Phone(t, driver.Spec{Model: "c450hd", Firmware: "UCC450HD_3.2.0.1003.61", Clock: clk,
		Account: drivertest.Account(cloud, "alice"), Options: []phone.Option{phone.WithUpdateService(garbage.URL)}})
	drivertest.Status(t, p, "registered", "yes")
	waitErr(t, p, "unreadable answer")
	if st, _ := p.State(); st.Firmware != "UCC450HD_3.2.0.1003.61" || st.Update != phone.UpdateNone {
		t.Errorf("firmware %s, update %s", st.Firmware, st.Update)
	}
}
