package driver_test

import (
	"path/filepath"
	"testing"

	"github.com/deskphone/deskphone/backend"
	"github.com/deskphone/deskphone/backend/updatesvc"
	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/driver/drivertest"
	"github.com/deskphone/deskphone/internal/labdir"
	"github.com/deskphone/deskphone/phone"
)

// Issue 19 item 3, in one process: the phone and the cloud each take
// their installation's lab directory from their configuration. A phone
// of lab B refuses the TLS certificate of a cloud of lab A and the
// firmware A's update service signs; a phone of lab A takes both.
func TestCloudOfAnotherLab(t *testing.T) {
	open := func(name string) *labdir.Dir {
		d, err := labdir.Open(filepath.Join(t.TempDir(), name))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	labA, labB := open("a"), open("b")
	clk := clock.NewFake(drivertest.Start)
	cloud := drivertest.CloudWith(t, backend.Config{Clock: clk, Lab: labA})
	cloudB := drivertest.CloudWith(t, backend.Config{Clock: clk, Lab: labB})
	svc, svcURL := drivertest.UpdateService(t, updatesvc.Config{Clock: clk, Lab: labA})
	if err := svc.Approve("c450hd", "UCC450HD_3.4.6.537"); err != nil {
		t.Fatal(err)
	}
	newPhone := func(lab *labdir.Dir, b *backend.Backend) *phone.Phone {
		return drivertest.Phone(t, driver.Spec{Model: "c450hd", Firmware: "UCC450HD_3.2.0.1003.61", Clock: clk,
			Account: drivertest.Account(b, "alice"), Options: []phone.Option{phone.WithLab(lab), phone.WithUpdateService(svcURL)}})
	}

	other := newPhone(labB, cloud)
	drivertest.Status(t, other, "registration_error", "TLS: Untrusted certificate")
	// Registered to its own cloud, it still refuses A's firmware.
	other = newPhone(labB, cloudB)
	drivertest.Status(t, other, "registered", "yes")
	if err := run(t, other, "update now"); err != nil {
		t.Fatal(err)
	}
	waitErr(t, other, "not trusted")
	drivertest.Status(t, other, "firmware", "UCC450HD_3.2.0.1003.61")

	same := newPhone(labA, cloud)
	drivertest.Status(t, same, "registered", "yes")
	if err := run(t, same, "update now"); err != nil {
		t.Fatal(err)
	}
	drivertest.Wait(t, same, driver.Cond{Status: map[string]string{"firmware": "UCC450HD_3.4.6.537", "registered": "yes"}})
}
