package backend

import (
	"github.com/deskphone/deskphone/backend/idp"
)

// IdPInfo is GET /admin/idp: where phones and browsers reach the identity
// provider, its clients and the tenant's policy.
type IdPInfo struct {
	Issuer                 string       `json:"issuer"`
	Discovery              string       `json:"discovery"`
	DeviceAuthorizationURL string       `json:"device_authorization_endpoint"`
	TokenURL               string       `json:"token_endpoint"`
	VerificationURI        string       `json:"verification_uri"`
	Clients                []idp.Client `json:"clients"`
	Policy                 idp.Policy   `json:"policy"`
}

// idpInfo is where the identity provider is reached, its clients and
// policy.
func (b *Backend) idpInfo() IdPInfo {
	s := b.idp
	return IdPInfo{
		Issuer:                 s.Issuer(),
		Discovery:              s.BaseURL() + idp.DiscoveryPath,
		DeviceAuthorizationURL: s.DeviceAuthorizationURL(),
		TokenURL:               s.TokenURL(),
		VerificationURI:        s.VerificationURI(),
		Clients:                s.Clients(),
		Policy:                 s.Policy(),
	}
}
