// Package gwurl reads a Teams SIP Gateway provisioning URL: the region
// path, optionally tagged with a tenant for bulk sign-in. Phones and the
// mock cloud read it alike.
package gwurl

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Regions are the provisioning paths the gateway serves.
var Regions = []string{"emea", "noam", "apac"}

// Provisioning is a parsed provisioning path.
type Provisioning struct {
	Region string // emea, noam or apac
	Tenant string // the tenant GUID, lower-case; "" untagged
}

var pathRE = regexp.MustCompile(`^/(emea|noam|apac)(?:/tenantid/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}))?/?$`)

// ParsePath reads the path of a provisioning URL: /REGION or
// /REGION/tenantid/GUID.
func ParsePath(path string) (Provisioning, bool) {
	m := pathRE.FindStringSubmatch(path)
	if m == nil {
		return Provisioning{}, false
	}
	return Provisioning{Region: m[1], Tenant: strings.ToLower(m[2])}, true
}

// IsGateway says whether raw is a gateway provisioning URL (http or
// https, a host, and a region path), rather than a provisioning server
// that only offers firmware.
func IsGateway(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false
	}
	_, ok := ParsePath(u.Path)
	return ok
}

// Parse reads a gateway provisioning URL, with an error that says what a
// gateway URL looks like.
func Parse(raw string) (*url.URL, Provisioning, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, Provisioning{}, fmt.Errorf("provisioning URL %q: %w", raw, err)
	}
	p, ok := ParsePath(u.Path)
	if !ok || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, Provisioning{}, fmt.Errorf("provisioning URL %q: a gateway URL is http://HOST:PORT/REGION[/tenantid/GUID], REGION one of %s", raw, strings.Join(Regions, ", "))
	}
	return u, p, nil
}
