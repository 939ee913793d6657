package scenarios

import (
	"fmt"
	"strings"

	"github.com/deskphone/deskphone/backend/updatesvc"
)

// scenarioImageSize keeps the images of a scenario small: the download is
// real network I/O, and virtual time waits for it.
const scenarioImageSize = 256 << 10

// firmwareStep runs a command of an update authority's table
// (updatesvc.Commands: approve MODEL VERSION, restore, pending, rotate,
// down, up) on it.
func firmwareStep(svc *updatesvc.Service, cmd string) error {
	if svc == nil {
		return fmt.Errorf("no such update authority in this scenario (backend: {provisioning: true} adds one)")
	}
	c, req, err := updatesvc.ParseCommand(strings.Fields(cmd))
	if err != nil {
		return fmt.Errorf("firmware %w", err)
	}
	return c.Run(svc, req)
}

// checkFirmwareStep checks a firmware step's words when the file is read.
func checkFirmwareStep(cmd string) error {
	if strings.TrimSpace(cmd) == "" {
		return fmt.Errorf("firmware needs a command")
	}
	if _, _, err := updatesvc.ParseCommand(strings.Fields(cmd)); err != nil {
		return fmt.Errorf("firmware %w", err)
	}
	return nil
}
