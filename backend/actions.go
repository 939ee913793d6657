package backend

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/internal/jsonhttp"
)

// Action is one thing the cloud's administrator does. One entry serves
// the admin HTTP API (Method and Path, its arguments as query parameters
// or a JSON body), `deskphone backend admin NAME ARGS...` (which sends
// that request) and a scenario's backend: step (Step, run in process).
type Action struct {
	// Name is the admin command: add-user, rotate.
	Name string
	// Usage names the command's arguments as help shows them.
	Usage string
	// Help says what it does, one or more lines.
	Help string
	// Method and Path are its admin API endpoint. Several commands may
	// share one (consent and revoke-consent): the first serves it.
	// Browser actions have none.
	Method, Path string
	// Params are the query parameters the command's arguments fill, in
	// order; Fixed are parameters it adds (revoke=true).
	Params []string
	Fixed  string
	// Words, when set, are the words an argument may be and the value
	// each sends (on: true).
	Words map[string]string
	// Args, when set, reads the command's arguments instead of Params.
	Args func(args []string) (Input, error)
	// Step is its key as a scenario's backend: step, "" when it is none;
	// the step's value fills Params[0] (or, for a user, the body), or
	// StepValue reads it: dir is the scenario's folder, which a file the
	// value names is relative to.
	Step      string
	StepValue func(dir, value string) (Input, error)
	// Describe words a step of it for reports, the value at %s.
	Describe string
	// Check finds a value the action would refuse, before a scenario
	// runs; a *ValueError names the words meant.
	Check func(value string) error
	// Do acts on the cloud; its answer is the API's JSON.
	Do func(b *Backend, in Input) (Answer, error)
	// Browser: the command plays the person at the IdP's verification
	// page rather than calling the admin API.
	Browser bool
}

// Input is what an action is given: the query parameters and the body of
// its request.
type Input struct {
	Query url.Values
	Body  []byte
	// Err is a step value StepValue could not read: Run refuses it.
	Err error
}

// Answer is what an action answers: the HTTP status (200 when 0) and the
// value sent as JSON.
type Answer struct {
	Code  int
	Value any
}

// StatusError is an action's refusal with the HTTP status the admin API
// answers it with.
type StatusError struct {
	Code int
	Err  error
}

func (e *StatusError) Error() string { return e.Err.Error() }
func (e *StatusError) Unwrap() error { return e.Err }

func status(code int, err error) error { return &StatusError{Code: code, Err: err} }

// ValueError is a value that is none of the words an action takes.
type ValueError struct {
	Msg   string
	Got   string
	Known []string
}

func (e *ValueError) Error() string { return e.Msg }

// maxAdminBody bounds a JSON body of the admin API.
const maxAdminBody = 64 << 10

// Actions is the table of the administrator's actions, in the order help
// lists them.
var Actions = []*Action{
	{Name: "users", Help: "list users and services", Method: http.MethodGet, Path: "/admin/users",
		Do: func(b *Backend, _ Input) (Answer, error) { return Answer{Value: b.userInfos()}, nil }},
	{Name: "add-user", Usage: "USER PASSWORD [EXT]", Help: "add a user", Method: http.MethodPost, Path: "/admin/users",
		Args: addUserArgs, Step: "add_user", Describe: "add user %s", Do: (*Backend).actAddUser},
	{Name: "registrations", Help: "list registered contacts", Method: http.MethodGet, Path: "/admin/registrations",
		Do: func(b *Backend, _ Input) (Answer, error) {
			regs := b.Registrations()
			if regs == nil {
				regs = []Registration{}
			}
			return Answer{Value: regs}, nil
		}},
	{Name: "rotate", Usage: "ROOT", Help: "switch the server certificate to a chain from ROOT\n(lab-2022 reproduces seed 002's root rotation)",
		Method: http.MethodPost, Path: "/admin/rotate", Params: []string{"root"},
		Step: "rotate", Describe: "rotate to %s", Check: checkRoot, Do: (*Backend).actRotate},
	{Name: "voicemail", Usage: "USER", Help: "leave a voicemail for USER (message waiting on)",
		Method: http.MethodPost, Path: "/admin/voicemail", Params: []string{"user"},
		Step: "voicemail", Describe: "voicemail for %s", Do: (*Backend).actVoicemail},
	{Name: "health", Help: "the SIP listeners: accepting, connections, refused,\naccept errors (exit 1 when one is not accepting)",
		Method: http.MethodGet, Path: "/admin/health",
		Do: func(b *Backend, _ Input) (Answer, error) {
			h := b.Health()
			if !h.OK {
				return Answer{Code: http.StatusServiceUnavailable, Value: h}, nil
			}
			return Answer{Value: h}, nil
		}},
	{Name: "idp", Help: "the identity provider: endpoints, clients, policy", Method: http.MethodGet, Path: "/admin/idp",
		Do: func(b *Backend, _ Input) (Answer, error) { return Answer{Value: b.idpInfo()}, nil }},
	{Name: "block-legacy-auth", Usage: "on|off", Help: "refuse the password grant (\"User Credentials\"\nsign-in) as a federated IdP's policy does (seed 003)",
		Method: http.MethodPost, Path: "/admin/idp/legacy-auth", Params: []string{"block"},
		Words: map[string]string{"on": "true", "off": "false", "yes": "true", "no": "false", "true": "true", "false": "false"},
		Step:  "block_legacy_auth", Describe: "block legacy auth %s", Check: checkOnOff, Do: (*Backend).actLegacyAuth},
	{Name: "vendor-cutoff", Usage: "DATE|none", Help: "from DATE (YYYY-MM-DD, UTC) refuse the shared\nclient ID; vendor apps need consent (seed 000)",
		Method: http.MethodPost, Path: "/admin/idp/vendor-cutoff", Params: []string{"date"},
		Step: "vendor_cutoff", Describe: "vendor client ID cutoff %s", Check: checkCutoff, Do: (*Backend).actVendorCutoff},
	{Name: "consent", Usage: "CLIENT_ID", Help: "the tenant consents to a vendor's app",
		Method: http.MethodPost, Path: "/admin/idp/consent", Params: []string{"client"},
		Step: "consent", Describe: "consent to %s", Do: (*Backend).actConsent},
	{Name: "revoke-consent", Usage: "CLIENT_ID", Help: "withdraw that consent",
		Method: http.MethodPost, Path: "/admin/idp/consent", Params: []string{"client"}, Fixed: "revoke=true"},
	{Name: "disable-user", Usage: "USER", Help: "USER can no longer sign in; tokens stop working",
		Method: http.MethodPost, Path: "/admin/idp/disable", Params: []string{"user"}, Do: (*Backend).actDisable},
	{Name: "enable-user", Usage: "USER", Help: "undo disable-user",
		Method: http.MethodPost, Path: "/admin/idp/disable", Params: []string{"user"}, Fixed: "enable=true"},
	{Name: "revoke-tokens", Usage: "USER", Help: "revoke every access and refresh token of USER",
		Method: http.MethodPost, Path: "/admin/idp/revoke", Params: []string{"user"},
		Step: "revoke_tokens", Describe: "revoke the tokens of %s", Do: (*Backend).actRevoke},
	{Name: "approve", Usage: "CODE USER PASSWORD", Help: "play the person at the browser: enter CODE on the\nverification page, sign in, press Continue",
		Browser: true},
	{Name: "deny", Usage: "CODE", Help: "the same, pressing Deny", Browser: true},
	{Name: "policy", Usage: "[user NAME]", Help: "the tenant's (or a user's) in-band policy",
		Method: http.MethodGet, Path: "/admin/policy", Args: policyArgs, Do: (*Backend).actPolicy},
	{Name: "policy set", Usage: "[user NAME] Field=value...", Help: "change it; every subscribed phone gets it at once",
		Method: http.MethodPost, Path: "/admin/policy", Args: policySetArgs, Do: (*Backend).actSetPolicy},
	{Name: "gateway devices", Help: "the SIP gateway's devices: model, firmware, region, state,\nuser, location, last seen, the user's DND and forwarding",
		Method: http.MethodGet, Path: "/admin/gateway/devices", Step: "gateway_devices", Describe: "gateway devices%.0s",
		Do: (*Backend).actGatewayDevices},
	{Name: "gateway provision", Usage: "MAC LOCATION", Help: "add a common-area phone (before or after it onboards)",
		Method: http.MethodPost, Path: "/admin/gateway/provision", Params: []string{"mac", "location"}, Args: provisionArgs,
		Step: "gateway_provision", StepValue: provisionStep, Describe: "gateway provision %s", Check: checkProvision,
		Do: (*Backend).actGatewayProvision},
	{Name: "gateway code", Usage: "MAC", Help: "a one-time verification code for the phone to dial *55*CODE\n(8 digits, good for 24 h)",
		Method: http.MethodPost, Path: "/admin/gateway/code", Params: []string{"mac"},
		Step: "gateway_code", Describe: "gateway code for %s", Check: checkMAC, Do: (*Backend).actGatewayCode},
	{Name: "gateway signout", Usage: "MAC", Help: "sign the device out remotely (check-sync tells the phone)",
		Method: http.MethodPost, Path: "/admin/gateway/signout", Params: []string{"mac"},
		Step: "gateway_signout", Describe: "gateway sign-out of %s", Check: checkMAC, Do: (*Backend).actGatewaySignOut},
	{Name: "gateway bulk-signin", Usage: "FILE.csv REGION", Help: "sign in the devices of a CSV (Username,HardwareId),\nat most 100, 3 batches at once per region",
		Method: http.MethodPost, Path: "/admin/gateway/bulk-signin", Args: bulkArgs,
		Step: "gateway_bulk_signin", StepValue: bulkStep, Describe: "gateway bulk sign-in %s", Check: checkBulk,
		Do: (*Backend).actGatewayBulkSignIn},
	{Name: "gateway batch", Usage: "[ID]", Help: "a bulk sign-in batch: running or completed, each row's result\n(none: every batch)",
		Method: http.MethodGet, Path: "/admin/gateway/batch", Params: []string{"id"}, Args: batchArgs,
		Step: "gateway_batch", Describe: "gateway batch %s", Do: (*Backend).actGatewayBatch},
	{Name: "gateway cutoff", Usage: "DATE|none", Help: "the Skype for Business (3PIP) end of life: from DATE\n(YYYY-MM-DD, UTC) refuse their registration and sign-in",
		Method: http.MethodPost, Path: "/admin/gateway/cutoff", Params: []string{"date"},
		Step: "gateway_cutoff", Describe: "3PIP end of life %s", Check: checkGatewayCutoff, Do: (*Backend).actGatewayCutoff},
}

// LookupAction finds the action of a command line's words: its name (one
// or two words, "policy set") and the arguments after it.
func LookupAction(words []string) (*Action, []string, bool) {
	if len(words) >= 2 {
		for _, a := range Actions {
			if a.Name == words[0]+" "+words[1] {
				return a, words[2:], true
			}
		}
	}
	for _, a := range Actions {
		if len(words) > 0 && a.Name == words[0] {
			return a, words[1:], true
		}
	}
	return nil, nil, false
}

// StepAction finds the action of a scenario's backend: key.
func StepAction(key string) (*Action, bool) {
	for _, a := range Actions {
		if a.Step != "" && a.Step == key {
			return a, true
		}
	}
	return nil, false
}

// ErrActionUsage means a command's arguments are not the ones it takes.
var ErrActionUsage = errors.New("wrong arguments")

// Input reads a command's arguments: into Params in order (each through
// Words when set), or by Args.
func (a *Action) Input(args []string) (Input, error) {
	if a.Args != nil {
		return a.Args(args)
	}
	if len(args) != len(a.Params) {
		return Input{}, ErrActionUsage
	}
	q, _ := url.ParseQuery(a.Fixed)
	for i, p := range a.Params {
		v := args[i]
		if a.Words != nil {
			w, ok := a.Words[v]
			if !ok {
				return Input{}, ErrActionUsage
			}
			v = w
		}
		q.Set(p, v)
	}
	return Input{Query: q}, nil
}

// StepInput is the input of a scenario step's value: its first
// parameter (add-user takes UserInput instead).
func (a *Action) StepInput(value string) Input {
	return a.StepInputIn("", value)
}

// StepInputIn is StepInput for a scenario in folder dir (a file a step
// names is relative to it).
func (a *Action) StepInputIn(dir, value string) Input {
	if a.StepValue != nil {
		in, err := a.StepValue(dir, value)
		if err != nil {
			return Input{Err: err}
		}
		return in
	}
	if len(a.Params) == 0 {
		return Input{Query: url.Values{}}
	}
	if a.Words != nil {
		if w, ok := a.Words[value]; ok {
			value = w
		}
	}
	return Input{Query: url.Values{a.Params[0]: {value}}}
}

// UserInput is the input of add-user for u.
func UserInput(u User) Input {
	body, _ := json.Marshal(u)
	return Input{Body: body}
}

// Run does the action on b: the one way in, for the admin API and for
// scenarios.
func (a *Action) Run(b *Backend, in Input) (Answer, error) {
	do := a.Do
	if do == nil {
		// An alias of the endpoint's first action (revoke-consent is
		// consent with revoke=true).
		for _, o := range Actions {
			if o.Method == a.Method && o.Path == a.Path && o.Do != nil {
				do = o.Do
				break
			}
		}
	}
	if in.Err != nil {
		return Answer{}, status(http.StatusBadRequest, in.Err)
	}
	if in.Query == nil {
		in.Query = url.Values{}
	}
	return do(b, in)
}

// serveAction answers an admin API request by its action.
func (b *Backend) serveAction(a *Action) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		in := Input{Query: r.URL.Query()}
		if r.Method == http.MethodPost && r.Body != nil {
			body, err := io.ReadAll(io.LimitReader(r.Body, maxAdminBody))
			if err != nil {
				jsonhttp.Error(w, http.StatusBadRequest, err)
				return
			}
			in.Body = body
		}
		ans, err := a.Run(b, in)
		if err != nil {
			code := http.StatusInternalServerError
			var se *StatusError
			if errors.As(err, &se) {
				code = se.Code
			}
			jsonhttp.Error(w, code, err)
			return
		}
		if ans.Code == 0 {
			ans.Code = http.StatusOK
		}
		jsonhttp.Write(w, ans.Code, ans.Value)
	}
}

// HelpActions is the admin commands' help, one per entry, each line
// starting with indent spaces and the text at column col.
func HelpActions(indent, col int) string {
	var sb strings.Builder
	pad := strings.Repeat(" ", col)
	for _, a := range Actions {
		head := strings.Repeat(" ", indent) + strings.TrimSpace(a.Name+" "+a.Usage)
		sb.WriteString(head)
		if len(head) < col {
			sb.WriteString(pad[len(head):])
		} else {
			sb.WriteString("\n" + pad)
		}
		sb.WriteString(strings.ReplaceAll(a.Help, "\n", "\n"+pad))
		sb.WriteString("\n")
	}
	return sb.String()
}

func addUserArgs(args []string) (Input, error) {
	if len(args) != 2 && len(args) != 3 {
		return Input{}, ErrActionUsage
	}
	u := User{User: args[0], Password: args[1]}
	if len(args) == 3 {
		u.Extension = args[2]
	}
	return UserInput(u), nil
}

// errPolicyUsage is the usage of the policy commands.
var errPolicyUsage = errors.New("admin: usage: policy [user NAME], or policy set [user NAME] Field=value")

func policyArgs(args []string) (Input, error) {
	switch {
	case len(args) == 0:
		return Input{Query: url.Values{}}, nil
	case args[0] == "user" && len(args) == 2:
		return Input{Query: url.Values{"user": {args[1]}}}, nil
	}
	return Input{}, errPolicyUsage
}

func policySetArgs(args []string) (Input, error) {
	user, set := "", map[string]string{}
	if len(args) >= 2 && args[0] == "user" {
		user, args = args[1], args[2:]
	}
	if len(args) == 0 {
		return Input{}, errPolicyUsage
	}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return Input{}, errors.New("admin: policy set takes Field=value, got " + a)
		}
		set[k] = v
	}
	return PolicySetInput(user, set), nil
}

// PolicySetInput is the input of policy set: fields of the tenant's
// policy (user "") or of a user's; a value "" removes a field.
func PolicySetInput(user string, set map[string]string) Input {
	body, _ := json.Marshal(struct {
		User string            `json:"user,omitempty"`
		Set  map[string]string `json:"set"`
	}{user, set})
	return Input{Body: body}
}

func checkRoot(v string) error {
	if roots := certs.FactoryRootIDs(); !contains(roots, v) {
		return &ValueError{Msg: fmt.Sprintf("unknown root %q: the lab roots are %s", v, strings.Join(roots, ", ")), Got: v, Known: roots}
	}
	return nil
}

func checkOnOff(v string) error {
	if v == "on" || v == "off" || v == "yes" || v == "no" || v == "true" || v == "false" {
		return nil
	}
	return &ValueError{Msg: fmt.Sprintf("block_legacy_auth is on or off, not %q", v), Got: v, Known: []string{"on", "off"}}
}

func checkCutoff(v string) error {
	if _, err := cutoff(v); err != nil {
		return fmt.Errorf("vendor_cutoff %q is a date (2026-07-01), an RFC 3339 time or none", v)
	}
	return nil
}

// cutoff reads a vendor cutoff: a date (midnight UTC), an RFC 3339
// instant, or none (the zero time).
func cutoff(v string) (time.Time, error) {
	if v == "none" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		t, err = time.Parse(time.RFC3339, v)
	}
	return t, err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (b *Backend) userInfos() []UserInfo {
	var out []UserInfo
	for _, u := range b.Users() {
		out = append(out, UserInfo{User: u.User, DisplayName: u.DisplayName, Extension: u.Extension})
	}
	for _, s := range Services() {
		out = append(out, UserInfo{User: s.Name, Extension: s.Extension, Service: s.Description})
	}
	return out
}

func (b *Backend) actAddUser(in Input) (Answer, error) {
	dec := json.NewDecoder(strings.NewReader(string(in.Body)))
	dec.DisallowUnknownFields()
	var u User
	if err := dec.Decode(&u); err != nil {
		return Answer{}, status(http.StatusBadRequest, fmt.Errorf("bad user JSON: %w", err))
	}
	if err := b.AddUser(u); err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, ErrUserExists) {
			code = http.StatusConflict
		}
		return Answer{}, status(code, err)
	}
	return Answer{Code: http.StatusCreated, Value: UserInfo{User: u.User, DisplayName: u.DisplayName, Extension: u.Extension}}, nil
}

func (b *Backend) actRotate(in Input) (Answer, error) {
	root := in.Query.Get("root")
	if root == "" {
		return Answer{}, status(http.StatusBadRequest, fmt.Errorf("missing root; one of %v", certs.FactoryRootIDs()))
	}
	if err := b.RotateCertificate(root); err != nil {
		if errors.Is(err, ErrUnknownRoot) {
			return Answer{}, status(http.StatusNotFound, fmt.Errorf("%w; known roots: %v", err, certs.FactoryRootIDs()))
		}
		return Answer{}, err
	}
	return Answer{Value: map[string]string{"root": b.ServerRoot(), "server_name": b.ServerName()}}, nil
}

func (b *Backend) actVoicemail(in Input) (Answer, error) {
	user := in.Query.Get("user")
	if user == "" {
		return Answer{}, status(http.StatusBadRequest, errors.New("missing user"))
	}
	if err := b.LeaveVoicemail(user); err != nil {
		if errors.Is(err, ErrUnknownUser) {
			return Answer{}, status(http.StatusNotFound, err)
		}
		return Answer{}, err
	}
	newMsgs, oldMsgs, _ := b.Voicemail(user)
	return Answer{Value: map[string]any{"user": user, "new": newMsgs, "old": oldMsgs}}, nil
}

func (b *Backend) actLegacyAuth(in Input) (Answer, error) {
	block, err := strconv.ParseBool(in.Query.Get("block"))
	if err != nil {
		return Answer{}, status(http.StatusBadRequest, errors.New("block must be true or false"))
	}
	b.idp.SetBlockLegacyAuth(block)
	return Answer{Value: b.idp.Policy()}, nil
}

// cutoffDate reads a cut-off action's date: YYYY-MM-DD (midnight UTC),
// an RFC 3339 instant, or none (the zero time).
func cutoffDate(in Input) (time.Time, error) {
	v := in.Query.Get("date")
	if v == "" {
		return time.Time{}, status(http.StatusBadRequest, errors.New("missing date: YYYY-MM-DD, an RFC 3339 time or none"))
	}
	t, err := cutoff(v)
	if err != nil {
		return time.Time{}, status(http.StatusBadRequest, fmt.Errorf("date %q: want YYYY-MM-DD, an RFC 3339 time or none", v))
	}
	return t, nil
}

// actVendorCutoff takes a date (2019-07-01, midnight UTC), an RFC 3339
// instant, or "none".
func (b *Backend) actVendorCutoff(in Input) (Answer, error) {
	t, err := cutoffDate(in)
	if err != nil {
		return Answer{}, err
	}
	b.idp.SetVendorClientCutoff(t)
	return Answer{Value: b.idp.Policy()}, nil
}

func (b *Backend) actConsent(in Input) (Answer, error) {
	client := in.Query.Get("client")
	if client == "" {
		return Answer{}, status(http.StatusBadRequest, errors.New("missing client"))
	}
	if err := b.idp.Consent(client, in.Query.Get("revoke") != "true"); err != nil {
		return Answer{}, status(http.StatusNotFound, err)
	}
	return Answer{Value: b.idp.Policy()}, nil
}

func (b *Backend) actDisable(in Input) (Answer, error) {
	user := in.Query.Get("user")
	if user == "" {
		return Answer{}, status(http.StatusBadRequest, errors.New("missing user"))
	}
	if err := b.idp.SetUserDisabled(user, in.Query.Get("enable") != "true"); err != nil {
		return Answer{}, status(http.StatusNotFound, err)
	}
	return Answer{Value: b.idp.Policy()}, nil
}

func (b *Backend) actRevoke(in Input) (Answer, error) {
	user := in.Query.Get("user")
	if user == "" {
		return Answer{}, status(http.StatusBadRequest, errors.New("missing user"))
	}
	n, err := b.idp.RevokeUser(user)
	if err != nil {
		return Answer{}, status(http.StatusNotFound, err)
	}
	return Answer{Value: map[string]any{"user": user, "refresh_tokens_revoked": n}}, nil
}

func (b *Backend) actPolicy(in Input) (Answer, error) {
	info, err := b.Policy(in.Query.Get("user"))
	if err != nil {
		return Answer{}, status(http.StatusNotFound, err)
	}
	return Answer{Value: info}, nil
}

func (b *Backend) actSetPolicy(in Input) (Answer, error) {
	dec := json.NewDecoder(strings.NewReader(string(in.Body)))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var c policyChange
	if err := dec.Decode(&c); err != nil {
		return Answer{}, status(http.StatusBadRequest, fmt.Errorf("bad policy JSON: %w", err))
	}
	set := make(map[string]string, len(c.Set))
	for k, v := range c.Set {
		switch v := v.(type) {
		case string:
			set[k] = v
		case nil:
			set[k] = ""
		default:
			set[k] = fmt.Sprint(v)
		}
	}
	info, err := b.SetPolicy(c.User, set)
	if err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, ErrUnknownUser) {
			code = http.StatusNotFound
		}
		return Answer{}, status(code, err)
	}
	return Answer{Value: info}, nil
}
