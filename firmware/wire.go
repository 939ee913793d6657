package firmware

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// CheckPath is where phones post their update check.
const CheckPath = "/RequestHandler/ucdevice.upx"

// CheckRequest is what a phone sends when it checks for firmware.
type CheckRequest struct {
	Vendor   string `json:"vendor"`
	Model    string `json:"model"`
	Firmware string `json:"firmware"`
	MAC      string `json:"mac"`
	Serial   string `json:"serial"`
}

// CheckResponse is the version the phone should run and where its signed
// image is (paths on the answering server); Version is empty when the
// server has no rule for the phone.
type CheckResponse struct {
	Source      string `json:"source"`
	Version     string `json:"version,omitempty"`
	Target      string `json:"target,omitempty"`
	MetadataURL string `json:"metadata_url,omitempty"`
	ImageURL    string `json:"image_url,omitempty"`
	Length      int64  `json:"length,omitempty"`
	SHA256      string `json:"sha256,omitempty"`
	// Mirrors are the other origins ("https://cdn.example:443") the
	// service keeps its metadata and images on; absolute URLs elsewhere
	// are refused (see Locate).
	Mirrors []string `json:"mirrors,omitempty"`
}

// ErrForeignHost means a check answer sent the phone to a host that is
// neither the service that answered nor a mirror it lists.
var ErrForeignHost = errors.New("not on the update service nor a mirror it lists")

// Locate resolves ref (MetadataURL or ImageURL) against the service at
// base and returns it if it is on the service's own origin (same scheme,
// host and port) or on one of its Mirrors: the phone fetches nothing from
// a host the service did not name, as a package manager fetches only from
// its configured repositories. The signatures keep the bytes honest; this
// keeps the phone from being sent to any host an answer names (another
// machine on its network, a plain-HTTP copy of an HTTPS service).
func (r CheckResponse) Locate(base, ref string) (string, error) {
	b, err := url.Parse(base + "/")
	if err != nil {
		return "", fmt.Errorf("update service %q: %w", base, err)
	}
	u, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("%q: %w", ref, err)
	}
	u = b.ResolveReference(u)
	if o := origin(u); o != origin(b) && !slices.ContainsFunc(r.Mirrors, func(m string) bool {
		mu, err := url.Parse(m)
		return err == nil && origin(mu) == o
	}) {
		return "", fmt.Errorf("%s: %w (%s)", u.Redacted(), ErrForeignHost, origin(b))
	}
	return u.String(), nil
}

// origin is scheme://host:port with the default port made explicit.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}
