// The check: asking the authorities what to run, and deciding on their answers.

package update

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/deskphone/deskphone/firmware"
)

// loopWindow is how far back the agent looks for versions alternating
// between two authorities.
const loopWindow = 7 * 24 * time.Hour

// timeout bounds one exchange with an update authority, in wall time: it
// guards against a server that never answers.
const timeout = 30 * time.Second

// authority is an update authority the phone asks.
type authority struct{ source, base string }

// sources are the authorities the phone asks, in-band first: the service
// given at start, else the one the in-band provisioning names.
func (a *Agent) sources() []authority {
	var out []authority
	service := a.cfg.Service
	if service == "" {
		_, named := a.env.Policy()
		service = strings.TrimSuffix(named, "/")
	}
	if service != "" {
		out = append(out, authority{sourceInBand, service})
	}
	if a.cfg.Provisioning != "" {
		out = append(out, authority{sourceProvisioning, a.cfg.Provisioning})
	}
	return out
}

// offer is a version an authority offered.
type offer struct {
	version, source, base string
	res                   firmware.CheckResponse
	// metadataURL and imageURL are where the answer says, resolved and
	// checked by locate.
	metadataURL, imageURL string
}

// locate resolves the answer's metadata and image URLs, refusing hosts
// that are neither the service nor a mirror it lists.
func (o *offer) locate() error {
	var err error
	if o.metadataURL, err = o.res.Locate(o.base, o.res.MetadataURL); err != nil {
		return fmt.Errorf("metadata_url %w", err)
	}
	if o.imageURL, err = o.res.Locate(o.base, o.res.ImageURL); err != nil {
		return fmt.Errorf("image_url %w", err)
	}
	return nil
}

// checkResult is one authority's answer.
type checkResult struct {
	source, base string
	res          firmware.CheckResponse
	err          error
}

// Check asks the authorities what the phone should run; reason is for the
// syslog (power-on, sign-in, daily, manual, provisioning).
func (a *Agent) Check(reason string) {
	u := &a.s
	if !a.enabled() {
		if reason != "daily" {
			a.logf("info", "device update disabled by policy (EnableDeviceUpdate false): no %s check", reason)
		}
		return
	}
	if len(a.sources()) == 0 || u.working || u.state == LoopStopped {
		return
	}
	a.logf("info", "checking for firmware (%s)", reason)
	if u.checking {
		u.again = true
		return
	}
	a.runCheck()
}

// checkAgain runs the check asked for while the last one was in flight,
// unless that one set off a download.
func (a *Agent) checkAgain() {
	u := &a.s
	if !u.again || u.checking {
		return
	}
	u.again = false
	if !u.working && u.state != LoopStopped && len(a.sources()) > 0 {
		a.runCheck()
	}
}

// runCheck sends the check to every authority off the loop; the answers
// come back to onCheck.
func (a *Agent) runCheck() {
	sources := a.sources()
	a.s.checking = true
	m := a.cfg.Model
	req := firmware.CheckRequest{Vendor: m.VendorID, Model: m.ID, Firmware: a.fw.Version, MAC: a.cfg.Identity.MAC, Serial: a.cfg.Identity.Serial}
	confs := make([]*tls.Config, len(sources))
	for i, s := range sources {
		confs[i] = a.tlsFor(s.base)
	}
	a.work(func(ctx context.Context, post func(func())) {
		results := make([]checkResult, 0, len(sources))
		for i, s := range sources {
			hc := client(ctx, confs[i])
			res, err := postCheck(ctx, hc, s.base, req)
			hc.CloseIdleConnections()
			results = append(results, checkResult{source: s.source, base: s.base, res: res, err: err})
		}
		post(func() { a.onCheck(results) })
	})
}

// tlsFor is the TLS configuration for the authority at base: nil but for
// HTTPS, where it trusts the phone's CA store only.
func (a *Agent) tlsFor(base string) *tls.Config {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "https" {
		return nil
	}
	return a.env.TLS(u.Hostname())
}

// client is the HTTP client for an authority: conf over HTTPS (nil for
// plain HTTP), every request ended with ctx, the phone's life.
func client(ctx context.Context, conf *tls.Config) *http.Client {
	var base http.RoundTripper = http.DefaultTransport
	if conf != nil {
		base = &http.Transport{TLSClientConfig: conf}
	}
	return &http.Client{Timeout: timeout, Transport: lifeBound{ctx: ctx, base: base}}
}

// lifeBound ends every request it carries when ctx (the phone's life)
// ends, whoever builds the request: the TUF updater makes its own.
type lifeBound struct {
	ctx  context.Context
	base http.RoundTripper
}

func (l lifeBound) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(l.ctx, cancel)
	res, err := l.base.RoundTrip(r.WithContext(ctx))
	if err != nil {
		stop()
		cancel()
		return nil, err
	}
	// The body is read after RoundTrip returns: the request's context must
	// live until it is closed.
	res.Body = &cancelOnClose{ReadCloser: res.Body, cancel: func() { stop(); cancel() }}
	return res, nil
}

// cancelOnClose releases a request's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// CloseIdleConnections passes through, so the clients' idle connections
// still close after each check.
func (l lifeBound) CloseIdleConnections() {
	if c, ok := l.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func postCheck(ctx context.Context, hc *http.Client, base string, req firmware.CheckRequest) (firmware.CheckResponse, error) {
	var out firmware.CheckResponse
	body, err := json.Marshal(req)
	if err != nil {
		return out, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, base+firmware.CheckPath, bytes.NewReader(body))
	if err != nil {
		return out, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	res, err := hc.Do(hreq)
	if err != nil {
		return out, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return out, fmt.Errorf("%s", res.Status)
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 64<<10)).Decode(&out); err != nil {
		return out, fmt.Errorf("unreadable answer: %w", err)
	}
	return out, nil
}

// onCheck decides on the answers.
func (a *Agent) onCheck(results []checkResult) {
	u := &a.s
	u.checking = false
	defer a.checkAgain()
	running := a.fw.Version
	var chosen *offer
	offers := map[string]string{}
	for _, r := range results {
		if r.err != nil {
			a.logf("warn", "update check at the %s failed: %v", r.source, r.err)
			if chosen == nil && u.state != RolledBack {
				u.err, u.why = fmt.Sprintf("%s: %v", r.source, r.err), problem(r.err)
			}
			continue
		}
		if r.res.Version == "" {
			continue
		}
		offers[r.source] = r.res.Version
		if r.res.Version == u.rec.Refused {
			a.logf("info", "the %s offers %s, which was rolled back: not installing it again", r.source, r.res.Version)
			continue
		}
		if chosen == nil && r.res.Version != running {
			chosen = &offer{version: r.res.Version, source: r.source, base: r.base, res: r.res}
		}
	}
	if chosen == nil {
		if u.installNow {
			u.installNow = false
			a.env.Alert("Firmware is up to date")
		}
		if u.state == Available || u.state == Postponed || u.state == Failed {
			u.state, u.offer = None, nil
		}
		return
	}
	if msg, loop := a.detectLoop(chosen, offers); loop {
		u.state, u.err, u.offer = LoopStopped, msg, nil
		u.rec.Result, u.rec.Error = "loop-stopped", msg
		if err := a.save(u.rec); err != nil {
			a.logf("err", "%v", err)
		}
		a.logf("err", "%s", msg)
		a.env.Alert("Update loop stopped")
		return
	}
	if _, err := a.cfg.Model.FirmwareVersion(chosen.version); err != nil {
		a.failed(fmt.Errorf("the %s offers %s: %w", chosen.source, chosen.version, err))
		return
	}
	if err := chosen.locate(); err != nil {
		a.failed(fmt.Errorf("the %s offers %s: %w", chosen.source, chosen.version, err))
		return
	}
	if u.offer == nil || u.offer.version != chosen.version {
		a.logf("notice", "firmware %s offered by the %s (running %s)", chosen.version, chosen.source, running)
	}
	if u.offer == nil || u.offer.version != chosen.version {
		// A new offer: what went wrong with the last one is history. The
		// same offer again keeps the error of its failed install until
		// the next attempt, so a check that was queued behind the install
		// does not wipe why it failed.
		u.err, u.why = "", ""
	}
	u.offer = chosen
	if u.state != Postponed || u.rec.Postponed != chosen.version {
		if u.state != Available {
			u.offeredAt = a.env.Clock().Now()
		}
		u.state = Available
	}
	if u.installNow {
		a.startDownload()
		return
	}
	if u.state == Available {
		a.armIdleInstall()
	}
}

// detectLoop recognises two authorities taking turns: the version offered
// now was installed from this source earlier in the window, and the phone
// has since installed another version from another source.
func (a *Agent) detectLoop(o *offer, offers map[string]string) (string, bool) {
	h := a.s.rec.History
	since := a.env.Clock().Now().Add(-loopWindow)
	for i := len(h) - 1; i >= 0 && h[i].At.After(since); i-- {
		if h[i].Version != o.version || h[i].Source != o.source {
			continue
		}
		for _, later := range h[i+1:] {
			if later.Source != o.source && later.Version != o.version {
				parts := []string{fmt.Sprintf("the %s offers %s", o.source, o.version)}
				other := later.Version
				if v, ok := offers[later.Source]; ok {
					other = v
				}
				parts = append(parts, fmt.Sprintf("the %s offers %s", later.Source, other))
				return fmt.Sprintf("update loop: %s; stopped updating: use one update authority", strings.Join(parts, ", ")), true
			}
		}
	}
	return "", false
}
