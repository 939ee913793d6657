package scenarios

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/deskphone/deskphone/backend/updatesvc"
	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
)

// scenarioImageSize keeps the images of a scenario small: the download is
// real network I/O, and virtual time waits for it.
const scenarioImageSize = 256 << 10

// updateServices are the embedded cloud's update service and, when the
// scenario asks for one, a provisioning server.
type updateServices struct {
	inBand, provisioning *updatesvc.Service
	servers              []*updatesvc.Server
}

// startUpdate starts the update services of the embedded cloud and returns
// the phone options that point phones at them.
func (e *env) startUpdate() ([]phone.Option, error) {
	cat := e.opts.Catalog
	if cat == nil {
		var err error
		if cat, err = catalog.Builtin(); err != nil {
			return nil, err
		}
	}
	start := func(name, dir string, tls bool) (*updatesvc.Service, string, error) {
		svc, err := updatesvc.New(updatesvc.Config{Dir: filepath.Join(e.dir, dir), Name: name, Clock: e.clk,
			Describe: driver.FirmwareDescriber(cat), ImageSize: scenarioImageSize})
		if err != nil {
			return nil, "", err
		}
		// The in-band service presents the cloud's certificate, as the
		// real one shares the cloud's PKI: a phone that no longer trusts
		// the cloud cannot reach it either.
		var srv *updatesvc.Server
		if tls {
			srv, err = svc.ListenTLS("127.0.0.1:0", e.cloud.GetCertificate)
		} else {
			srv, err = svc.Listen("127.0.0.1:0")
		}
		if err != nil {
			return nil, "", err
		}
		e.update.servers = append(e.update.servers, srv)
		return svc, srv.URL(), nil
	}
	svc, url, err := start("update service", "update", true)
	if err != nil {
		return nil, fmt.Errorf("update service: %w", err)
	}
	e.update.inBand = svc
	opts := []phone.Option{phone.WithUpdateService(url)}
	if e.sc.Backend.Provisioning {
		svc, url, err := start("provisioning server", "provisioning", false)
		if err != nil {
			return nil, fmt.Errorf("provisioning server: %w", err)
		}
		e.update.provisioning = svc
		opts = append(opts, phone.WithProvisioningServer(url))
	}
	return opts, nil
}

func (e *env) stopUpdate() {
	for _, s := range e.update.servers {
		s.Close()
	}
}

// firmwareStep runs "approve MODEL VERSION", "restore MODEL VERSION",
// "pending MODEL VERSION MAC...", "rotate VENDOR ROOT", "down" or "up" on
// an update authority.
func firmwareStep(svc *updatesvc.Service, cmd string) error {
	if svc == nil {
		return fmt.Errorf("no such update authority in this scenario (backend: {provisioning: true} adds one)")
	}
	f := strings.Fields(cmd)
	switch {
	case len(f) == 3 && f[0] == "approve":
		return svc.Approve(f[1], f[2])
	case len(f) == 3 && f[0] == "restore":
		return svc.Restore(f[1], f[2])
	case len(f) >= 4 && f[0] == "pending":
		return svc.Pending(f[1], f[2], f[3:])
	case len(f) == 3 && f[0] == "rotate":
		return svc.RotateRoot(f[1], f[2])
	case len(f) == 1 && (f[0] == "down" || f[0] == "up"):
		svc.SetDown(f[0] == "down")
		return nil
	}
	return fmt.Errorf("firmware %q: want approve MODEL VERSION, restore MODEL VERSION, pending MODEL VERSION MAC..., rotate VENDOR ROOT, down or up", cmd)
}

// checkFirmwareStep checks a firmware step's words when the file is read.
func checkFirmwareStep(cmd string) error {
	f := strings.Fields(cmd)
	if len(f) == 0 {
		return fmt.Errorf("firmware needs a command")
	}
	want := map[string]int{"approve": 3, "restore": 3, "pending": 4, "rotate": 3, "down": 1, "up": 1}
	n, ok := want[f[0]]
	if !ok || len(f) < n || (f[0] != "pending" && len(f) != n) {
		return fmt.Errorf("firmware %q: want approve MODEL VERSION, restore MODEL VERSION, pending MODEL VERSION MAC..., rotate VENDOR ROOT, down or up", cmd)
	}
	return nil
}
