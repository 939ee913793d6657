package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// The wire between a phone and the gateway: a POST of JSON per request
// to the provisioning URL (BASE) with a path, a JSON answer; errors are
// {"error": CODE, "reason": SENTENCE} with their HTTP status.

// maxBody bounds what the phone reads of an answer (the spec's 64 KiB).
const maxBody = 64 << 10

// requestTimeout bounds one exchange with the gateway.
const requestTimeout = 30 * time.Second

// request is what every request carries, plus the device's facts when
// it onboards.
type request struct {
	MAC       string `json:"mac"`
	DeviceKey string `json:"device_key"`
	Vendor    string `json:"vendor,omitempty"`
	Model     string `json:"model,omitempty"`
	Firmware  string `json:"firmware,omitempty"`
	Mode      string `json:"mode,omitempty"`
}

// provisioning is the answer of /device and /signout.
type provisioning struct {
	DeviceKey string `json:"device_key"`
	State     string `json:"state"`
	Registrar struct {
		Server string `json:"server"`
		Domain string `json:"domain"`
	} `json:"registrar"`
	Account struct {
		User        string `json:"user"`
		Password    string `json:"password"`
		DisplayName string `json:"display_name"`
		Number      string `json:"number"`
	} `json:"account"`
	Screens Screens `json:"screens"`
	Config  struct {
		PollSeconds int `json:"poll_seconds"`
	} `json:"config"`
}

// Screens are the sign-in screens the gateway pushes: the lines of the
// signed-out screen and of the pairing screen ({url}, {code}, {expires}).
type Screens struct {
	SignedOut []string `json:"signed_out,omitempty"`
	Pairing   []string `json:"pairing,omitempty"`
}

// pairing is the answer of /pair.
type pairing struct {
	Code      string `json:"pairing_code"`
	URL       string `json:"pairing_url"`
	ExpiresIn int    `json:"expires_in"`
	Interval  int    `json:"interval"`
}

// pollAnswer is the answer of /pair/poll.
type pollAnswer struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// refusal is a gateway's error answer: its HTTP status, code and reason.
type refusal struct {
	Status int
	Code   string `json:"error"`
	Reason string `json:"reason"`
}

func (r *refusal) Error() string {
	if r.Reason != "" {
		return fmt.Sprintf("gateway refused (%d %s): %s", r.Status, r.Code, r.Reason)
	}
	return fmt.Sprintf("gateway refused (%d %s)", r.Status, r.Code)
}

// post sends body to base+path and decodes a 200 answer into out; any
// other status is a *refusal.
func post(ctx context.Context, c *http.Client, base, path string, body, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("gateway %s: %w", path, err)
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	u := strings.TrimRight(base, "/") + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("gateway %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("gateway %s: %w", path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxBody+1))
	if err != nil {
		return fmt.Errorf("gateway %s: %w", path, err)
	}
	if len(raw) > maxBody {
		return fmt.Errorf("gateway %s: answer larger than %d bytes", path, maxBody)
	}
	if res.StatusCode != http.StatusOK {
		r := &refusal{Status: res.StatusCode}
		_ = json.Unmarshal(raw, r) // a body that is not JSON still has its status
		r.Reason = clean(r.Reason, 200)
		r.Code = clean(r.Code, 40)
		return r
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("gateway %s: bad answer: %w", path, err)
	}
	return nil
}

// errBadAnswer: a 200 whose body lacks what the phone needs.
var errBadAnswer = errors.New("gateway: incomplete answer")

// check validates a provisioning answer: what the phone registers with
// comes from the wire.
func (p *provisioning) check() error {
	switch {
	case p.DeviceKey == "" || len(p.DeviceKey) > 200:
		return fmt.Errorf("%w: device_key", errBadAnswer)
	case p.State != "signed-out" && p.State != "signed-in":
		return fmt.Errorf("%w: state %q", errBadAnswer, clean(p.State, 40))
	case p.Registrar.Server == "" || p.Account.User == "":
		return fmt.Errorf("%w: registrar or account", errBadAnswer)
	}
	for _, s := range []*string{&p.Registrar.Server, &p.Registrar.Domain, &p.Account.User, &p.Account.Password, &p.Account.DisplayName, &p.Account.Number} {
		*s = clean(*s, 200)
	}
	p.Screens.SignedOut = cleanLines(p.Screens.SignedOut)
	p.Screens.Pairing = cleanLines(p.Screens.Pairing)
	return nil
}

func (p *pairing) check() error {
	p.Code, p.URL = clean(p.Code, 40), clean(p.URL, 200)
	if p.Code == "" || p.URL == "" || p.ExpiresIn <= 0 {
		return fmt.Errorf("%w: pairing code, URL or expiry", errBadAnswer)
	}
	return nil
}

// clean keeps a string from the wire printable and at most n runes.
func clean(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if r := []rune(s); len(r) > n {
		s = string(r[:n])
	}
	return s
}

// cleanLines keeps at most 10 screen lines of at most 80 runes.
func cleanLines(lines []string) []string {
	if len(lines) > 10 {
		lines = lines[:10]
	}
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		out = append(out, clean(l, 80))
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
