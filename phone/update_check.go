// The update agent's check: asking the authorities what to run, and deciding on their answers.

package phone

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/deskphone/deskphone/firmware"
)

// updateSources are the authorities the phone asks, in-band first.
func (p *Phone) updateSources() [][2]string {
	var out [][2]string
	if u := p.updateService(); u != "" {
		out = append(out, [2]string{sourceInBand, u})
	}
	if p.provisioningURL != "" {
		out = append(out, [2]string{sourceProvisioning, p.provisioningURL})
	}
	return out
}

// checkResult is one authority's answer.
type checkResult struct {
	source, base string
	res          firmware.CheckResponse
	err          error
}

// updateCheck asks the authorities what the phone should run.
func (p *Phone) updateCheck(reason string) {
	u := &p.s.update
	if !p.updateEnabled() {
		if reason != "daily" {
			p.logf("update", "info", "update", "device update disabled by policy (EnableDeviceUpdate false): no %s check", reason)
		}
		return
	}
	if len(p.updateSources()) == 0 || u.working || u.state == UpdateLoopStopped {
		return
	}
	p.logf("update", "info", "update", "checking for firmware (%s)", reason)
	if u.checking {
		u.again = true
		return
	}
	p.runCheck()
}

// checkAgain runs the check asked for while the last one was in flight,
// unless that one set off a download.
func (p *Phone) checkAgain() {
	u := &p.s.update
	if !u.again || u.checking {
		return
	}
	u.again = false
	if !u.working && u.state != UpdateLoopStopped && len(p.updateSources()) > 0 {
		p.runCheck()
	}
}

// runCheck sends the check to every authority off the loop; the answers
// come back to onCheck.
func (p *Phone) runCheck() {
	u := &p.s.update
	sources := p.updateSources()
	u.checking = true
	req := firmware.CheckRequest{Vendor: p.model.VendorID, Model: p.model.ID, Firmware: p.s.fw.Version, MAC: p.id.MAC, Serial: p.id.Serial}
	gen := p.s.reboots
	clients := make([]*http.Client, len(sources))
	for i, s := range sources {
		clients[i] = p.updateClient(s[1])
	}
	release := p.inflight.Hold()
	p.goWork(func(ctx context.Context) {
		defer release()
		results := make([]checkResult, 0, len(sources))
		for i, s := range sources {
			res, err := postCheck(ctx, clients[i], s[1], req)
			clients[i].CloseIdleConnections()
			results = append(results, checkResult{source: s[0], base: s[1], res: res, err: err})
		}
		_ = p.do(func() {
			if p.s.reboots == gen {
				p.onCheck(results)
			}
		})
	})
}

// updateClient is the HTTP client for the authority at base: over HTTPS it
// trusts the phone's CA store only, with the firmware's TLS versions and
// validity on the phone's clock, as for SIP.
func (p *Phone) updateClient(base string) *http.Client {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "https" {
		return &http.Client{Timeout: updateTimeout, Transport: lifeBound{ctx: p.workCtx, base: http.DefaultTransport}}
	}
	conf := p.s.cas.ClientConfig(u.Hostname(), tlsVersions[p.s.fw.TLSMin], tlsVersions[p.s.fw.TLSMax])
	conf.Time = p.clock.Now
	return &http.Client{Timeout: updateTimeout, Transport: lifeBound{ctx: p.workCtx, base: &http.Transport{TLSClientConfig: conf}}}
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
func (p *Phone) onCheck(results []checkResult) {
	u := &p.s.update
	u.checking = false
	defer p.checkAgain()
	running := p.s.fw.Version
	var chosen *offer
	offers := map[string]string{}
	for _, r := range results {
		if r.err != nil {
			p.logf("update", "warn", "update", "update check at the %s failed: %v", r.source, r.err)
			if chosen == nil && u.state != UpdateRolledBack {
				u.err, u.why = fmt.Sprintf("%s: %v", r.source, r.err), updateProblem(r.err)
			}
			continue
		}
		if r.res.Version == "" {
			continue
		}
		offers[r.source] = r.res.Version
		if r.res.Version == u.rec.Refused {
			p.logf("update", "info", "update", "the %s offers %s, which was rolled back: not installing it again", r.source, r.res.Version)
			continue
		}
		if chosen == nil && r.res.Version != running {
			chosen = &offer{version: r.res.Version, source: r.source, base: r.base, res: r.res}
		}
	}
	if chosen == nil {
		if u.installNow {
			u.installNow = false
			p.showAlert("Firmware is up to date")
		}
		if u.state == UpdateAvailable || u.state == UpdatePostponed || u.state == UpdateFailed {
			u.state, u.offer = UpdateNone, nil
		}
		return
	}
	if msg, loop := p.detectLoop(chosen, offers); loop {
		u.state, u.err, u.offer = UpdateLoopStopped, msg, nil
		u.rec.Result, u.rec.Error = "loop-stopped", msg
		if err := p.saveUpdateRecord(u.rec); err != nil {
			p.logf("update", "err", "update", "%v", err)
		}
		p.logf("update", "err", "update", "%s", msg)
		p.showAlert("Update loop stopped")
		return
	}
	if _, err := p.model.FirmwareVersion(chosen.version); err != nil {
		p.updateFailed(fmt.Errorf("the %s offers %s: %w", chosen.source, chosen.version, err))
		return
	}
	if err := chosen.locate(); err != nil {
		p.updateFailed(fmt.Errorf("the %s offers %s: %w", chosen.source, chosen.version, err))
		return
	}
	if u.offer == nil || u.offer.version != chosen.version {
		p.logf("update", "notice", "update", "firmware %s offered by the %s (running %s)", chosen.version, chosen.source, running)
	}
	u.offer, u.err = chosen, ""
	if u.state != UpdatePostponed || u.rec.Postponed != chosen.version {
		if u.state != UpdateAvailable {
			u.offeredAt = p.clock.Now()
		}
		u.state = UpdateAvailable
	}
	if u.installNow {
		p.startDownload()
		return
	}
	if u.state == UpdateAvailable {
		p.armIdleInstall()
	}
}

// detectLoop recognises two authorities taking turns: the version offered
// now was installed from this source earlier in the window, and the phone
// has since installed another version from another source.
func (p *Phone) detectLoop(o *offer, offers map[string]string) (string, bool) {
	h := p.s.update.rec.History
	since := p.clock.Now().Add(-loopWindow)
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
