package backend

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/deskphone/deskphone/backend/idp"
	"github.com/deskphone/deskphone/internal/jsonhttp"
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

func (b *Backend) adminIdP(w http.ResponseWriter, r *http.Request) {
	s := b.idp
	jsonhttp.Write(w, http.StatusOK, IdPInfo{
		Issuer:                 s.Issuer(),
		Discovery:              s.BaseURL() + idp.DiscoveryPath,
		DeviceAuthorizationURL: s.DeviceAuthorizationURL(),
		TokenURL:               s.TokenURL(),
		VerificationURI:        s.VerificationURI(),
		Clients:                s.Clients(),
		Policy:                 s.Policy(),
	})
}

func (b *Backend) adminLegacyAuth(w http.ResponseWriter, r *http.Request) {
	block, err := strconv.ParseBool(r.URL.Query().Get("block"))
	if err != nil {
		jsonhttp.Error(w, http.StatusBadRequest, errors.New("block must be true or false"))
		return
	}
	b.idp.SetBlockLegacyAuth(block)
	jsonhttp.Write(w, http.StatusOK, b.idp.Policy())
}

// adminVendorCutoff takes a date (2019-07-01, midnight UTC), an RFC 3339
// instant, or "none".
func (b *Backend) adminVendorCutoff(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query().Get("date")
	var t time.Time
	switch v {
	case "":
		jsonhttp.Error(w, http.StatusBadRequest, errors.New("missing date: YYYY-MM-DD, an RFC 3339 time or none"))
		return
	case "none":
	default:
		var err error
		if t, err = time.Parse(time.DateOnly, v); err != nil {
			if t, err = time.Parse(time.RFC3339, v); err != nil {
				jsonhttp.Error(w, http.StatusBadRequest, fmt.Errorf("date %q: want YYYY-MM-DD, an RFC 3339 time or none", v))
				return
			}
		}
	}
	b.idp.SetVendorClientCutoff(t)
	jsonhttp.Write(w, http.StatusOK, b.idp.Policy())
}

func (b *Backend) adminConsent(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	client := q.Get("client")
	if client == "" {
		jsonhttp.Error(w, http.StatusBadRequest, errors.New("missing client"))
		return
	}
	if err := b.idp.Consent(client, q.Get("revoke") != "true"); err != nil {
		jsonhttp.Error(w, http.StatusNotFound, err)
		return
	}
	jsonhttp.Write(w, http.StatusOK, b.idp.Policy())
}

func (b *Backend) adminDisable(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	user := q.Get("user")
	if user == "" {
		jsonhttp.Error(w, http.StatusBadRequest, errors.New("missing user"))
		return
	}
	if err := b.idp.SetUserDisabled(user, q.Get("enable") != "true"); err != nil {
		jsonhttp.Error(w, http.StatusNotFound, err)
		return
	}
	jsonhttp.Write(w, http.StatusOK, b.idp.Policy())
}

func (b *Backend) adminRevoke(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user")
	if user == "" {
		jsonhttp.Error(w, http.StatusBadRequest, errors.New("missing user"))
		return
	}
	n, err := b.idp.RevokeUser(user)
	if err != nil {
		jsonhttp.Error(w, http.StatusNotFound, err)
		return
	}
	jsonhttp.Write(w, http.StatusOK, map[string]any{"user": user, "refresh_tokens_revoked": n})
}
