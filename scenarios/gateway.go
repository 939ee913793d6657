package scenarios

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/url"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/deskphone/deskphone/internal/gwurl"
)

// provisioning reads a phone's provisioning: a URL (a gateway's, or a
// provisioning server's), or the region path of the embedded cloud's
// gateway (/emea, /noam/tenantid/GUID).
func (p *parser) provisioning(n *yaml.Node) string {
	s := p.scalar(n)
	if strings.HasPrefix(s, "/") {
		if _, ok := gwurl.ParsePath(s); !ok {
			p.Errorf(n, nil, "", "provisioning %q: a gateway region path is /REGION[/tenantid/GUID], REGION one of %s", s, strings.Join(gwurl.Regions, ", "))
		}
		return s
	}
	if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.Errorf(n, nil, "", "provisioning %q: want a URL like http://127.0.0.1:8064/emea, or /emea for the embedded cloud's gateway", s)
	}
	return s
}

// parseMAC reads a MAC address of six octets.
func parseMAC(s string) (net.HardwareAddr, error) {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return nil, fmt.Errorf("mac %q: want six octets like 00:90:8f:12:34:56", s)
	}
	return hw, nil
}

// nthMAC is the MAC i after first: a group's members count up from its
// first member's.
func nthMAC(first string, i int) (string, error) {
	hw, err := parseMAC(first)
	if err != nil {
		return "", err
	}
	var b [8]byte
	copy(b[2:], hw)
	v := binary.BigEndian.Uint64(b[:]) + uint64(i)
	if v >= 1<<48 {
		return "", fmt.Errorf("%s + %d is past ff:ff:ff:ff:ff:ff", first, i)
	}
	binary.BigEndian.PutUint64(b[:], v)
	return net.HardwareAddr(b[2:]).String(), nil
}

// gatewayCloud is the embedded cloud once it serves the Teams SIP
// Gateway (its provisioning listener's base URL, http://HOST:PORT).
type gatewayCloud interface{ GatewayURL() string }

// provisioningURL is the phone's provisioning URL: a region path is the
// embedded cloud's gateway's.
func (e *env) provisioningURL(ps PhoneSpec) (string, error) {
	if !strings.HasPrefix(ps.Provisioning, "/") {
		return ps.Provisioning, nil
	}
	// The embedded cloud names its gateway listener once it has one.
	g, ok := any(e.cloud).(gatewayCloud)
	if e.cloud == nil || !ok || g.GatewayURL() == "" {
		return "", fmt.Errorf("%s: phone %s: provisioning %s: the embedded cloud serves no SIP Gateway", ps.Pos, ps.Name, ps.Provisioning)
	}
	return strings.TrimRight(g.GatewayURL(), "/") + ps.Provisioning, nil
}
