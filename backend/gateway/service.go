package gateway

import (
	"errors"
	"net/http"
)

// errTodo marks what the gateway's first cut has yet to do.
var errTodo = errors.New("gateway: not built yet")

// Service is the gateway: its device records and batches, guarded by one
// mutex, and the provisioning HTTP handler.
type Service struct {
	cfg Config
}

// New makes a gateway.
func New(cfg Config) (*Service, error) { return &Service{cfg: cfg}, nil }

// Handler serves the provisioning API at /REGION[/tenantid/GUID]/...
func (s *Service) Handler() http.Handler { return http.NotFoundHandler() }

// Credentials are the passwords the gateway issued for SIP account name
// (a device's own account, or a user signed in on some devices): the
// registrar accepts any of them, and a registration with one of them is a
// gateway registration (no 3PIP cut-off applies to it). nil when none, or
// when the device holding it was offboarded.
func (s *Service) Credentials(account string) []string { return nil }

// Seen records that account registered (or refreshed) now: a device not
// seen for 30 days signed in, 14 signed out, is offboarded.
func (s *Service) Seen(account string) {}

// Enroll is *55*CODE dialled from a signed-out device's own account:
// the common-area phone is signed in with the code's account, and told
// by check-sync. ErrNotDevice, ErrBadEnrollCode, ErrUsedEnrollCode.
func (s *Service) Enroll(deviceAccount, code string) error { return errTodo }

// FeatureCode applies *30*..*35* (dialled: the whole number, "*33*1002")
// to the settings of user, the account that dialled it. *55* and *99* are
// the caller's (Enroll, and the voicemail service). ErrUnknownCode.
func (s *Service) FeatureCode(user, dialled string) (Settings, error) { return Settings{}, errTodo }

// Settings are user's gateway call settings, and whether user is signed
// in on any gateway device (only then do they route the user's calls).
func (s *Service) Settings(user string) (Settings, bool) { return Settings{}, false }

// IsDeviceAccount says whether account is a device's own (signed-out)
// account: it may dial *55* and nothing else.
func (s *Service) IsDeviceAccount(account string) bool { return false }
