package scenarios

import (
	"fmt"
	"strings"

	"github.com/deskphone/deskphone/backend/updatesvc"
)

// scenarioImageSize keeps the images of a scenario small: the download is
// real network I/O, and virtual time waits for it.
const scenarioImageSize = 256 << 10

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
