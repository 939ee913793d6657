// The phone's side of the update agent (package phone/update): its options, its environment, and the public requests.

package phone

import (
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/deskphone/deskphone/phone/update"
)

// UpdateState is the firmware self-update agent's progress.
type UpdateState = update.State

// Update states.
const (
	UpdateUnknown     = update.Unknown
	UpdateNone        = update.None
	UpdateAvailable   = update.Available
	UpdateDownloading = update.Downloading
	UpdateInstalling  = update.Installing
	UpdatePostponed   = update.Postponed
	UpdateVerifying   = update.Verifying
	UpdateRebooting   = update.Rebooting
	UpdateFailed      = update.Failed
	UpdateRolledBack  = update.RolledBack
	UpdateLoopStopped = update.LoopStopped
)

// ErrNoUpdate: an update request with nothing to act on (no service, no
// offer, updates disabled or stopped).
var ErrNoUpdate = update.ErrNoUpdate

// updateFileSpec is how the agent's record is read at open.
var updateFileSpec = update.RecordFile()

// WithUpdateService sets the base URL of the in-band device update service.
func WithUpdateService(base string) Option {
	return func(p *Phone) error { p.updateCfg.Service = base; return nil }
}

// WithProvisioningServer sets the base URL of a provisioning server that
// offers firmware too: a second update authority.
func WithProvisioningServer(base string) Option {
	return func(p *Phone) error { p.updateCfg.Provisioning = base; return nil }
}

// WithDeviceUpdate turns the update agent on or off (EnableDeviceUpdate as
// provisioned; the in-band policy may say otherwise).
func WithDeviceUpdate(on bool) Option {
	return func(p *Phone) error { p.updateCfg.Off = !on; return nil }
}

// WithStateLimit caps the bytes the state directory may hold, as a small
// flash disk would; 0 is no cap.
func WithStateLimit(bytes int64) Option {
	return func(p *Phone) error {
		if bytes < 0 {
			return fmt.Errorf("state limit %d: must not be negative", bytes)
		}
		p.updateCfg.StateLimit = bytes
		return nil
	}
}

// newUpdateAgent makes the phone's update agent once its state directory
// is open. The environment is the phone's loop, clock, syslog and work,
// and the few facts the agent asks for, read on the loop.
func newUpdateAgent(p *Phone) *update.Agent {
	cfg := p.updateCfg
	cfg.Model, cfg.State, cfg.Identity, cfg.Lab = p.model, p.state, p.id, p.lab
	return update.New(cfg, update.Env{
		Clock: p.clock,
		Log:   func(level, msg string) { p.logf("update", level, "update", "%s", msg) },
		Do:    p.do,
		Go:    p.goWork,
		After: func(d time.Duration, f func()) func() {
			t := new(timer)
			p.tm.start(t, d, f)
			return t.stop
		},
		Hold:   p.inflight.Hold,
		Reboot: p.reboot,
		Alert:  p.showAlert,
		Call: func() string {
			if p.s.calls.state() == CallIdle {
				return ""
			}
			return p.s.calls.state().String()
		},
		Idle:   func() bool { return p.s.calls.state() == CallIdle && !p.s.menu.isOpen() },
		Policy: func() (bool, string) { return p.s.policy.deviceUpdate, p.s.policy.updateService },
		TLS: func(host string) *tls.Config {
			conf := p.s.cas.ClientConfig(host, tlsVersions[p.s.fw.TLSMin], tlsVersions[p.s.fw.TLSMax])
			conf.Time = p.clock.Now
			return conf
		},
	})
}

// agentErr tags the agent's refusal during a call with ErrBusy, as every
// request the phone refuses for a call.
func agentErr(err error) error {
	if errors.Is(err, update.ErrInCall) {
		return &phoneError{msg: err.Error(), kind: ErrBusy, cause: err}
	}
	return err
}

// updateLines are the agent's lines for the idle screen.
func updateLines(texts []string) []Line {
	lines := make([]Line, len(texts))
	for i, t := range texts {
		lines[i] = Line{Text: t}
	}
	return lines
}

// UpdateCheck checks for firmware now.
func (p *Phone) UpdateCheck() error { return p.doErr(p.upd.CheckNow) }

// UpdateNow is the Update softkey: download, verify, install and reboot at
// once, whatever the idle rule (never during a call).
func (p *Phone) UpdateNow() error {
	return p.doErr(func() error { return agentErr(p.upd.Now()) })
}

// UpdatePostpone is the Postpone softkey.
func (p *Phone) UpdatePostpone() error { return p.doErr(p.upd.Postpone) }
