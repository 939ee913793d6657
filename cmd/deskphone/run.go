package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/deskphone/deskphone/backend/idp"
	"github.com/deskphone/deskphone/btoe"
	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/cloud"
	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/headless"
	"github.com/deskphone/deskphone/internal/atomicfile"
	"github.com/deskphone/deskphone/internal/capture"
	"github.com/deskphone/deskphone/internal/gwurl"
	"github.com/deskphone/deskphone/internal/siptrace"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/sipua"
	"github.com/deskphone/deskphone/phone/statedir"
	"github.com/deskphone/deskphone/ui"
)

// defaultModel is the phone `deskphone run` boots without --model.
const defaultModel = "c450hd"

func runCommand() command {
	c := command{
		name:    "run",
		summary: "run one virtual phone in the terminal, or headless on stdin/stdout",
		usage: `Usage: deskphone run [--headless] [--model ID] [--firmware VERSION] [--state DIR]
                     [--catalog FILE] [--clock wall|virtual] [--start TIME]
                     [--server URI --user NAME --password SECRET [--domain DOMAIN] [--ca FILE]]
                     [--srtp mandatory|optional|off] [--codecs LIST] [--audio-source SOURCE]
                     [--media-ports shared|per-call] [--no-backend] [--client-cert FILE --client-key FILE]
                     [--sip-trace FILE [--sip-trace-secrets]] [--keylog FILE] [--pcap FILE]
                     [--policy Field=value]...
                     [--update URL] [--provisioning URL] [--no-device-update]
                     [--signin web|pc|user|pin] [--idp ISSUER_URL --client-id ID [--client-secret S]]
                     [--api HOST:PORT [--api-token TOKEN] [--api-files DIR]]

Boots one virtual desk phone. In the terminal it shows the phone's screen,
softkeys and LEDs; press ? for the key map. With --headless it reads one
command per line on stdin and prints the screen after each, ending with a
line "--" (see 'deskphone run --headless' then 'help', or docs/headless.md).

Flags:
  --headless          drive the phone over stdin/stdout instead of the terminal UI
  --model ID          phone model (default: the model of --state, else c450hd;
                      see 'deskphone models')
  --firmware VERSION  firmware version to boot (default: the version installed in
                      the state directory, else the model's default); the numeric
                      part is enough ("3.2.1.580")
  --state DIR         state directory (identity, configuration, firmware slots);
                      default: a temporary directory removed on exit
  --catalog FILE      extend the built-in catalog with FILE (repeatable)
  --clock wall|virtual
                      wall (default): real time that 'advance' can jump forward;
                      virtual: time stands still except for 'advance' (headless)
  --start TIME        start of the virtual clock, RFC 3339 (default 2026-01-05T09:00:00Z,
                      or now with --server: a real server's certificate is checked on it)
  --server URI        register to this SIP server: sips:HOST[:PORT] (TLS, default
                      port 5061) or sip:HOST[:PORT];transport=tcp|udp
  --user NAME, --password SECRET, --domain DOMAIN
                      the account (domain defaults to the server's host)
  --ca FILE           import this root certificate (PEM, DER or bundle) into the
                      phone's CA store before it boots
  --srtp MODE         mandatory (default: RTP/SAVP, SRTP or no call), optional
                      (RTP/AVP with a=crypto: SRTP when the far end can) or off
  --codecs LIST       codec order, the policy's form (default G722_8000;PCMU;PCMA;G729);
                      names this phone cannot do are skipped and logged
  --audio-source SRC  what calls send: tone:HZ, wav:FILE (8/16 kHz mono), silence
                      (default) or echo
` + mediaPortsUsage + `
  --no-backend        without --server, do not start the embedded mock cloud
                      (the phone then has no account)
  --client-cert FILE, --client-key FILE
                      present this client certificate (PEM) in the TLS handshake
  --sip-trace FILE    write every SIP message with time and direction to FILE
                      (mode 0600; digest responses and SRTP keys redacted)
  --sip-trace-secrets keep digest responses and SRTP keys in the --sip-trace file
  --keylog FILE       write TLS secrets in the NSS key log format (Wireshark)
` + pcapUsage + `  --policy Field=value
                      set a field of the embedded cloud's in-band policy before
                      the phone boots (repeatable), e.g. PhoneLockTimeout=00:01:00
  --update URL        the device update service (default: the embedded cloud's,
                      on 127.0.0.1:8062 when free)
  --provisioning URL  a provisioning server that offers firmware too (a second
                      update authority)
                      a Teams SIP Gateway URL (http://HOST:PORT/REGION, REGION
                      emea, noam or apac, optionally /tenantid/GUID) onboards
                      the phone: its SIP server and account come from the
                      gateway, so without --server no embedded cloud starts;
                      kept in --state, so later runs onboard with it too
  --no-device-update  EnableDeviceUpdate false: the phone never checks for firmware
  --signin METHOD     boot signed out and sign in with the identity provider:
                      web or pc (a code shows at once), user or pin (the sign-in
                      screen); without it the embedded cloud's alice is signed in
  --idp ISSUER_URL    sign in with this OpenID Connect provider (discovery, RFC 8628
                      device flow, refresh); without --server no SIP server is used
  --client-id ID      the OAuth client ID (default: the firmware's, from the catalog)
  --client-secret S   for a confidential client (sent by HTTP Basic)
  --api HOST:PORT     also serve the phone on the HTTP control API (as 'deskphone
                      fleet --api' does; its id is the account's user name)
  --api-token TOKEN   bearer token the API requires (default $DESKPHONE_API_TOKEN;
                      needed beyond loopback)
  --api-files DIR     the one folder the API's play wav, record and import_ca
                      may name files in (default: the working directory)

Without --server the phone registers as alice to an embedded mock cloud
(the same as 'deskphone backend') on a free loopback port.
`,
	}
	c.run = func(args []string, stdout, stderr io.Writer) error {
		fs := newFlags(&c, stderr)
		var files listFlag
		headlessMode := fs.Bool("headless", false, "")
		model := fs.String("model", "", "")
		firmware := fs.String("firmware", "", "")
		state := fs.String("state", "", "")
		clockKind := fs.String("clock", "wall", "")
		start := fs.String("start", "", "")
		fs.Var(&files, "catalog", "")
		server := fs.String("server", "", "")
		user := fs.String("user", "", "")
		password := fs.String("password", "", "")
		domain := fs.String("domain", "", "")
		caFile := fs.String("ca", "", "")
		noBackend := fs.Bool("no-backend", false, "")
		var policyFlags listFlag
		fs.Var(&policyFlags, "policy", "")
		sipTraceFile := fs.String("sip-trace", "", "")
		sipTraceSecrets := fs.Bool("sip-trace-secrets", false, "")
		keylogFile := fs.String("keylog", "", "")
		pcapFile := fs.String("pcap", "", "")
		clientCert := fs.String("client-cert", "", "")
		clientKey := fs.String("client-key", "", "")
		srtp := fs.String("srtp", "mandatory", "")
		codecList := fs.String("codecs", driver.DefaultCodecs, "")
		mediaPortsFlag := fs.String("media-ports", "shared", "")
		audioSource := fs.String("audio-source", "silence", "")
		updateURL := fs.String("update", "", "")
		provisioningURL := fs.String("provisioning", "", "")
		noDeviceUpdate := fs.Bool("no-device-update", false, "")
		signinMethod := fs.String("signin", "", "")
		idpURL := fs.String("idp", "", "")
		clientID := fs.String("client-id", "", "")
		clientSecret := fs.String("client-secret", "", "")
		apiAddr := fs.String("api", "", "")
		apiToken := fs.String("api-token", os.Getenv("DESKPHONE_API_TOKEN"), "")
		apiFiles := fs.String("api-files", ".", "")
		if err := parse(fs, args); err != nil {
			return err
		}
		switch *signinMethod {
		case "", "web", "pc", "user", "pin":
		default:
			return badFlag("--signin %q: want web, pc, user or pin", *signinMethod)
		}
		if *idpURL == "" && (*clientID != "" || *clientSecret != "") {
			return badFlag("--client-id and --client-secret go with --idp")
		}
		if *idpURL != "" && *signinMethod == "" {
			*signinMethod = "web"
		}
		if *server == "" && (*user != "" || *password != "" || *domain != "") {
			return badFlag("--user, --password and --domain go with --server")
		}
		if *server != "" {
			if _, _, err := sipua.ParseServer(*server); err != nil {
				return badFlag("--server: %v", err)
			}
			if *user == "" {
				return badFlag("--server needs --user (and --password)")
			}
		}
		cat, err := catalog.Load(files...)
		if err != nil {
			return err
		}
		if *model == "" {
			// A state directory remembers its phone's model.
			*model = defaultModel
			if id, _, err := statedir.Peek(*state); *state != "" && err == nil {
				*model = id.Model
			}
		}
		if _, err := cat.Model(*model); err != nil {
			return err
		}
		var clk interface {
			clock.Clock
			driver.Advancer
		}
		switch *clockKind {
		case "wall":
			clk = clock.NewSkewed()
		case "virtual":
			t, err := virtualStart(*start, *server != "" || keptGateway(*provisioningURL, *state) != "")
			if err != nil {
				return err
			}
			clk = clock.NewFake(t)
		default:
			return badFlag("--clock %q: want wall or virtual", *clockKind)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		spec := driver.Spec{Catalog: cat, Model: *model, Firmware: *firmware, StateDir: *state, Clock: clk,
			Audio: *audioSource, ClientCert: *clientCert, ClientKey: *clientKey}
		if *caFile != "" {
			spec.CA = []string{*caFile}
		}
		var tracers []siptrace.Tracer
		if *sipTraceFile != "" {
			f, err := siptrace.OpenFile(*sipTraceFile, *sipTraceSecrets)
			if err != nil {
				return fmt.Errorf("--sip-trace: %w", err)
			}
			defer f.Close()
			tracers = append(tracers, f)
		}
		var pcap *capture.Writer
		if *pcapFile != "" {
			if pcap, err = openPcap(*pcapFile, stderr); err != nil {
				return err
			}
			// Closed after the media (deferred earlier, run later): the
			// last packets are in the file.
			defer pcap.Close()
			tracers = append(tracers, pcap)
		}
		if len(tracers) > 0 {
			siptrace.Install(tracers...)
		}
		if *keylogFile != "" {
			// Appends to a key log of our own (0600); a link or a file
			// someone else planted is refused.
			f, err := atomicfile.OpenPrivate(*keylogFile, false)
			if err != nil {
				return fmt.Errorf("--keylog: %w", err)
			}
			defer f.Close()
			spec.KeyLog = f
		}
		md, err := newMedia(*srtp, *codecList, *mediaPortsFlag, tapOf(pcap))
		if err != nil {
			return err
		}
		defer md.Close()
		spec.Media = md
		if (*clientCert == "") != (*clientKey == "") {
			return errors.New("--client-cert and --client-key go together")
		}
		gatewayURL := keptGateway(*provisioningURL, *state)
		if len(policyFlags) > 0 && (*server != "" || *noBackend || gatewayURL != "") {
			return errors.New("--policy sets the embedded cloud's policy: not with --server or --no-backend")
		}
		signIn := phone.SignIn{Issuer: *idpURL, ClientID: *clientID, ClientSecret: *clientSecret, Method: *signinMethod}
		switch {
		case *server != "":
			spec.Account = &statedir.Account{Server: *server, User: *user, Password: *password, Domain: *domain}
		case gatewayURL != "":
			// The gateway gives the phone its SIP server and account.
		case !*noBackend && *idpURL == "":
			dir, err := os.MkdirTemp("", "deskphone-cloud-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			// The admin listener serves the identity provider (--signin).
			cfg := cloud.Config{Dir: dir, Clock: clk, Admin: true, Catalog: cat}
			if pcap != nil {
				// The cloud's service users (echo, voicemail) are captured
				// too.
				cm, err := driver.NewTappedMedia("optional", driver.DefaultCodecs, pcap)
				if err != nil {
					return err
				}
				defer cm.Close()
				cfg.Media = cm.Engine
			}
			if *updateURL == "" {
				cfg.Update = &cloud.Update{Addr: defaultUpdateAddr}
			}
			c, err := cloud.Start(ctx, cfg)
			if err != nil {
				return fmt.Errorf("embedded backend: %w", err)
			}
			defer c.Close()
			if err := setPolicyFlags(c.Backend, policyFlags); err != nil {
				return err
			}
			account, err := c.Account("alice")
			if err != nil {
				return err
			}
			spec.Account = &account
			if c.UpdateURL != "" {
				*updateURL = c.UpdateURL
			}
			if *signinMethod != "" {
				// Signed out until the cloud's identity provider signs
				// alice (or another user) in.
				spec.Account.Password = ""
				signIn.Issuer = c.IdP().Issuer()
			}
		}
		if signIn.Issuer != "" {
			if signIn.Method != "web" && signIn.Method != "pc" {
				signIn.Method = ""
			}
			spec.Options = append(spec.Options, phone.WithSignIn(signIn))
		} else if *signinMethod != "" {
			return badFlag("--signin needs the embedded cloud or --idp")
		}
		spec.Options = append(spec.Options, updateOptions(*updateURL, *provisioningURL, *noDeviceUpdate)...)
		p, closePhone, err := driver.Build(ctx, spec)
		if err != nil {
			if errors.Is(err, driver.ErrCA) {
				return fmt.Errorf("--%w", err)
			}
			return err
		}
		defer closePhone()
		if pcLink, err := btoe.Listen(ctx, p); err == nil {
			defer pcLink.Close()
		} else {
			fmt.Fprintf(stderr, "deskphone: %v\n", err)
		}
		if *apiAddr != "" {
			closeAPI, err := serveOnePhone(*apiAddr, *apiToken, *apiFiles, p, clk, stderr)
			if err != nil {
				return err
			}
			defer closeAPI()
		}
		if *headlessMode {
			s := &headless.Session{Target: driver.Target{Phone: p, Clock: clk, Browser: idp.Approve}}
			return s.Run(ctx, os.Stdin, stdout)
		}
		return ui.New(p).Run()
	}
	return c
}

// keptGateway is the Teams SIP Gateway URL a run onboards with: the
// --provisioning flag's when it is one, else (without the flag) the one
// the state directory kept; "" when none.
func keptGateway(flagURL, state string) string {
	if flagURL != "" {
		if gwurl.IsGateway(flagURL) {
			return flagURL
		}
		return ""
	}
	if state == "" {
		return ""
	}
	if cfg, err := statedir.PeekConfig(state); err == nil && gwurl.IsGateway(cfg.Provisioning) {
		return cfg.Provisioning
	}
	return ""
}

// defaultStart is where a virtual clock starts unless told otherwise.
var defaultStart = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// virtualStart is the start of a virtual clock: --start, else the default,
// else (against an external server, whose certificate was issued in real
// time and is checked on the phone's clock) the current time.
func virtualStart(flag string, external bool) (time.Time, error) {
	switch {
	case flag != "":
		t, err := time.Parse(time.RFC3339, flag)
		if err != nil {
			return time.Time{}, badFlag("--start %q: want a time like 2026-01-05T09:00:00Z (RFC 3339)", flag)
		}
		return t, nil
	case external:
		return time.Now().UTC().Truncate(time.Second), nil
	}
	return defaultStart, nil
}
