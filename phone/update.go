// The phone's side of the update agent (package phone/update): its options, its environment, and the public requests.

package phone

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/deskphone/deskphone/clock"
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
	return update.New(cfg, (*updateHost)(p))
}

// updateHost is the phone as its update agent's environment (update.Env).
type updateHost Phone

func (h *updateHost) Clock() clock.Clock         { return h.clock }
func (h *updateHost) Do(f func()) error          { return h.do(f) }
func (h *updateHost) Go(f func(context.Context)) { h.goWork(f) }
func (h *updateHost) Hold() func()               { return h.inflight.Hold() }
func (h *updateHost) Reboot()                    { (*Phone)(h).reboot() }
func (h *updateHost) Alert(msg string)           { (*Phone)(h).showAlert(msg) }
func (h *updateHost) Log(level, msg string) {
	(*Phone)(h).logf("update", level, "update", "%s", msg)
}

func (h *updateHost) After(d time.Duration, f func()) func() {
	t := new(timer)
	h.tm.start(t, d, f)
	return t.stop
}

func (h *updateHost) Call() string {
	if st := h.s.calls.state(); st != CallIdle {
		return st.String()
	}
	return ""
}

func (h *updateHost) Idle() bool { return h.s.calls.state() == CallIdle && !h.s.menu.isOpen() }

func (h *updateHost) Policy() (bool, string) {
	return h.s.policy.deviceUpdate, h.s.policy.updateService
}

func (h *updateHost) TLS(host string) *tls.Config {
	conf := h.s.cas.ClientConfig(host, tlsVersions[h.s.fw.TLSMin], tlsVersions[h.s.fw.TLSMax])
	conf.Time = h.clock.Now
	return conf
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
