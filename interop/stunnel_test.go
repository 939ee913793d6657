//go:build interop

package interop

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// startStunnel starts stunnel in client mode and returns the loopback port
// it accepts plain TCP on: each connection is carried over TLS (1.2 at
// least) to 127.0.0.1:connect, whose chain must verify against caFile and
// name host. This is how SIPp, built without TLS, reaches a TLS listener.
func startStunnel(t *testing.T, bin, dir string, connect int, caFile, host string) int {
	t.Helper()
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		name := fmt.Sprintf("stunnel-%d-try%d", connect, attempt)
		port := freePort(t, false)
		conf := filepath.Join(dir, name+".conf")
		render(t, "stunnel.conf.tmpl", conf, map[string]any{
			"PIDFile":     filepath.Join(dir, name+".pid"),
			"AcceptPort":  port,
			"ConnectPort": connect,
			"CAFile":      caFile,
			"CheckHost":   host,
		})
		p := start(t, name, dir, daemonTimeout, []string{bin, conf})
		if err = waitListening(p, port, 15*time.Second); err == nil {
			return port
		}
		if !p.bindFailed() {
			break
		}
		t.Logf("%v; trying other ports", err)
	}
	t.Fatal(err)
	return 0
}
