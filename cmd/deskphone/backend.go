package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/deskphone/deskphone/backend"
	"github.com/deskphone/deskphone/backend/gateway"
	"github.com/deskphone/deskphone/backend/idp"
	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/media"
)

func backendCommand() command {
	c := command{
		name:    "backend",
		summary: "run the mock cloud (SIP registrar and proxy over TLS), or talk to its admin API",
		usage: `Usage:
  deskphone backend [--listen TRANSPORT:HOST:PORT]... [--state DIR] [--users FILE]
                    [--load-users PATTERN:PASSWORD:COUNT[:EXT]]...
                    [--domain DOMAIN] [--admin HOST:PORT] [--root lab-2019|lab-2022]
                    [--max-connections N] [--max-connections-per-source N]
                    [--handshake-timeout DURATION] [--unregistered-idle-timeout DURATION]
                    [--flow-timer DURATION] [--code-lifetime DURATION] [--log-level error|warn|info|debug]
                    [--max-service-calls N] [--media-timeout DURATION] [--session-expires DURATION]
                    [--gateway HOST:PORT|none] [--bulk-delay DURATION]
  deskphone backend admin [--admin HOST:PORT] COMMAND

The mock cloud: a SIP registrar and proxy over TLS 1.2+ with digest
authentication (MD5 and SHA-256), a location service, routing between
registered phones (forking to every registration of a user) and service users:
echo (answers), busy (486), noanswer (rings), voicemail (answers; a message
left raises message waiting). On first start it creates its PKI under
DIR/pki from the lab roots every phone firmware trusts (lab-2019 by default).

Flags:
  --listen SPEC    tls:127.0.0.1:5061 (default); also tcp:..., udp:...; repeatable
  --state DIR      PKI and settings (default ./deskphone-backend)
  --users FILE     YAML users file: users: [{user, password, display_name, extension}]
                   (default users alice/1001, bob/1002, carol/1003, dave/1004,
                   password "secret")
  --load-users PATTERN:PASSWORD:COUNT[:EXT]
                   also create COUNT users named by PATTERN for 1..COUNT, e.g.
                   load{n:05d}:secret:10000 makes load00001 .. load10000, the
                   accounts of 'deskphone fleet --user load{n:05d}'; repeatable.
                   With :EXT they get extensions from EXT up (phone numbers,
                   which the SIP Gateway's bulk sign-in needs).
                   A fleet on one machine comes from one address: unless given,
                   both connection caps below are then raised to the load users
                   plus 1000
  --domain DOMAIN  SIP domain and digest realm (default deskphone.test)
  --admin ADDR     admin HTTP API on loopback (default 127.0.0.1:8061; "" for none)
  --root ID        issue the server chain from this lab root
  --max-connections N
                   connections open at once per TCP/TLS listener; more are
                   closed at accept (default 10000; -1: no cap)
  --max-connections-per-source N
                   the same from one IP address (default 1000; -1: no cap)
  --handshake-timeout DURATION
                   bound on a TLS handshake (default 10s; -1s: none)
  --unregistered-idle-timeout DURATION
                   close a connection this long after it opened unless a
                   REGISTER succeeded on it or it is then in a call or
                   subscription; OPTIONS pings do not keep it up
                   (default 30s; -1s: never)
  --flow-timer DURATION
                   ask phones for a CRLF keep-alive this often (RFC 5626
                   Flow-Timer in each REGISTER's 200 OK; default none: phones
                   keep their own 120 s)
  --code-lifetime DURATION
                   how long a web sign-in code is good for (default 15m)
  --max-service-calls N
                   calls one user may have with echo, tone, voicemail and
                   noanswer at once; more get 486 (default 4; -1: no cap)
  --media-timeout DURATION
                   end a service call whose caller sent no RTP for this long
                   (default 60s; -1s: never)
  --session-expires DURATION
                   the longest RFC 4028 session interval granted to a caller
                   that supports session timers; an unrefreshed call ends
                   (default 30m, at least 90s; -1s: none)
  --gateway ADDR   the Teams SIP Gateway's provisioning (plain HTTP), phones'
                   provisioning URL http://ADDR/emea (or /noam, /apac, each
                   optionally /tenantid/GUID) (default 127.0.0.1:8064, a free
                   port when that one is busy; "none" or "" for none)
  --bulk-delay DURATION
                   how long after its submission the gateway processes a bulk
                   sign-in batch (default 2m, as the real service takes
                   minutes; batches run side by side meanwhile)
  --log-level LEVEL
                   log to stderr from this level: error, warn (default), info, debug

Admin commands (against --admin, default 127.0.0.1:8061):
` + backend.HelpActions(2, 33) + `
Firmware commands (against the update service, --update, default 127.0.0.1:8062):
  firmware approve MODEL VERSION every phone of MODEL runs VERSION (the service
                                 builds and signs the catalog image)
  firmware restore MODEL VERSION phones of MODEL go back to VERSION
  firmware pending MODEL VERSION MAC...
                                 VERSION for the test devices MAC... only
  firmware publish IMAGE         sign and publish an image from 'deskphone firmware build'
  firmware rules                 the rules per model
  firmware rotate VENDOR ROOT    move VENDOR's update repository to the lab root ROOT
  firmware down|up               answer phones 503 (down) or serve again (up)

Update service flags:
  --update ADDR    the device update service (default 127.0.0.1:8062; "" for none);
                   the in-band provisioning names it to every registered phone
  --provisioning   run a provisioning server only (no SIP): an update service named
                   "provisioning server", on --update (default 127.0.0.1:8063)
  --image-size N   payload size of the images the service builds (default 4MiB)
  --rate-limit N   cap each download at N bytes per second (e.g. 1MiB; default none)
`,
	}
	c.run = func(args []string, stdout, stderr io.Writer) error {
		if len(args) > 0 && args[0] == "admin" {
			return backendAdmin(&c, args[1:], stdout, stderr)
		}
		fs := newFlags(&c, stderr)
		var listen listFlag
		fs.Var(&listen, "listen", "")
		var loadSpecs listFlag
		fs.Var(&loadSpecs, "load-users", "")
		state := fs.String("state", "deskphone-backend", "")
		users := fs.String("users", "", "")
		domain := fs.String("domain", "", "")
		admin := fs.String("admin", "127.0.0.1:8061", "")
		root := fs.String("root", "", "")
		maxConns := fs.Int("max-connections", 0, "")
		maxPerSource := fs.Int("max-connections-per-source", 0, "")
		handshake := fs.Duration("handshake-timeout", 0, "")
		idle := fs.Duration("unregistered-idle-timeout", 0, "")
		flowTimer := fs.Duration("flow-timer", 0, "")
		codeLifetime := fs.Duration("code-lifetime", 0, "")
		maxServiceCalls := fs.Int("max-service-calls", 0, "")
		mediaTimeout := fs.Duration("media-timeout", 0, "")
		sessionExpires := fs.Duration("session-expires", 0, "")
		gatewayAddr := fs.String("gateway", backend.DefaultGateway, "")
		bulkDelay := fs.Duration("bulk-delay", gateway.BatchProcessing, "")
		logLevel := fs.String("log-level", "warn", "")
		updateAddr := fs.String("update", defaultUpdateAddr, "")
		provisioning := fs.Bool("provisioning", false, "")
		imageSize := fs.String("image-size", "4MiB", "")
		rateLimit := fs.String("rate-limit", "0", "")
		if err := parse(fs, args); err != nil {
			return err
		}
		if *provisioning {
			if !flagSet(fs, "update") {
				*updateAddr = defaultProvisioningAddr
			}
			return runUpdateOnly(*state, *updateAddr, *imageSize, *rateLimit, stdout)
		}
		var level slog.Level
		if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
			return fmt.Errorf("--log-level %q: want error, warn, info or debug", *logLevel)
		}
		var load []backend.User
		for _, spec := range loadSpecs {
			users, err := backend.ParseLoadUsers(spec)
			if err != nil {
				return fmt.Errorf("--load-users: %w", err)
			}
			load = append(load, users...)
		}
		if len(load) > 0 {
			// One fleet process connects from one address: its phones must
			// not be refused as a flood from one source.
			if *maxPerSource == 0 {
				*maxPerSource = max(backend.DefaultMaxConnectionsPerSource, len(load)+1000)
			}
			if *maxConns == 0 {
				*maxConns = max(backend.DefaultMaxConnections, len(load)+1000)
			}
		}
		// Every listener is up before the first line says so: a script
		// that waits for `listening` must not go on against a cloud about
		// to fail. The update service comes first, for the provisioning
		// to name it.
		updateURL := ""
		if *updateAddr != "" {
			srv, err := listenUpdate(sourceName(false), *state, *updateAddr, *imageSize, *rateLimit)
			if err != nil {
				return fmt.Errorf("--update: %w", err)
			}
			defer srv.Close()
			updateURL = srv.URL()
		}
		gw, gwFallback := gatewayListen(*gatewayAddr, flagSet(fs, "gateway"))
		engine, err := cloudMedia()
		if err != nil {
			return err
		}
		defer engine.Close()
		leanGC()
		b, err := backend.New(backend.Config{
			LoadUsers: load,
			Listen:    listen, StateDir: *state, UsersFile: *users, Domain: *domain,
			AdminListen: *admin, ServerRoot: *root,
			Media:          backend.EngineMedia(engine, filepath.Join(*state, "voicemail")),
			MaxConnections: *maxConns, MaxConnectionsPerSource: *maxPerSource,
			HandshakeTimeout: *handshake, UnregisteredIdleTimeout: *idle,
			FlowTimer:       *flowTimer,
			MaxServiceCalls: *maxServiceCalls, MediaTimeout: *mediaTimeout, SessionExpires: *sessionExpires,
			SignIn: backend.SignInConfig{DeviceCodeLifetime: *codeLifetime},
			// A listener in trouble (out of file descriptors, say) must
			// show somewhere.
			Logger:        slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
			UpdateService: updateURL,
			Gateway:       gw, GatewayFallback: gwFallback, GatewayBatchDelay: *bulkDelay,
		})
		if err != nil {
			return backendFlagError(err)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := b.Start(ctx); err != nil {
			return err
		}
		defer b.Close()
		for _, t := range []string{"tls", "tcp", "udp"} {
			if a := b.Addr(t); a != "" {
				fmt.Fprintf(stdout, "listening %s %s\n", t, a)
			}
		}
		if a := b.AdminAddr(); a != "" {
			fmt.Fprintf(stdout, "admin http://%s/admin/\n", a)
			fmt.Fprintf(stdout, "sign-in %s\n", b.IdP().VerificationURI())
		}
		if u := b.GatewayURL(); u != "" {
			fmt.Fprintf(stdout, "gateway %s/emea (also /noam, /apac)\n", u)
		}
		fmt.Fprintf(stdout, "domain %s, server certificate from %s\n", b.Domain(), b.ServerRoot())
		if updateURL != "" {
			fmt.Fprintf(stdout, "update service %s\n", updateURL)
		}
		<-ctx.Done()
		return nil
	}
	return c
}

func backendAdmin(c *command, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(c, stderr)
	addr := fs.String("admin", "127.0.0.1:8061", "")
	update := fs.String("update", defaultUpdateAddr, "")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprint(stderr, c.usage)
		return errUsage
	}
	if rest[0] == "firmware" {
		return firmwareAdmin(*update, rest[1:], stdout)
	}
	a, args, ok := backend.LookupAction(rest)
	if !ok {
		return fmt.Errorf("admin: unknown command or wrong arguments: %s", strings.Join(rest, " "))
	}
	if a.Browser {
		if a.Name == "approve" && len(args) != 3 || a.Name == "deny" && len(args) != 1 {
			return fmt.Errorf("admin: unknown command or wrong arguments: %s", strings.Join(rest, " "))
		}
		return backendApprove(*addr, rest, stdout)
	}
	in, err := a.Input(args)
	if errors.Is(err, backend.ErrActionUsage) {
		return fmt.Errorf("admin: unknown command or wrong arguments: %s", strings.Join(rest, " "))
	}
	if err != nil {
		return err
	}
	u := "http://" + *addr + a.Path
	if q := in.Query.Encode(); q != "" {
		u += "?" + q
	}
	return adminCall("admin", a.Method, u, "application/json", bytes.NewReader(in.Body), 10*time.Second, stdout)
}

// adminCall sends one request of an admin command, its body of media type
// ctype, and prints its answer; a status of 300 or more is an error named
// after what.
func adminCall(what, method, url, ctype string, body io.Reader, timeout time.Duration, stdout io.Writer) error {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	req.Header.Set("Content-Type", ctype)
	res, err := (&http.Client{Timeout: timeout}).Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	stdout.Write(out)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		fmt.Fprintln(stdout)
	}
	if res.StatusCode >= 300 {
		return fmt.Errorf("%s: %s", what, res.Status)
	}
	return nil
}

// backendApprove answers a web sign-in code on the verification page
// served beside the admin API, as the person at the browser would.
func backendApprove(addr string, rest []string, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	allow := rest[0] == "approve"
	user, password := "", ""
	if allow {
		user, password = rest[2], rest[3]
	}
	if err := idp.Approve(ctx, "http://"+addr, rest[1], user, password, allow); err != nil {
		return fmt.Errorf("admin %s: %w", rest[0], err)
	}
	if allow {
		fmt.Fprintf(stdout, "approved %s for %s\n", rest[1], user)
	} else {
		fmt.Fprintf(stdout, "denied %s\n", rest[1])
	}
	return nil
}

// cloudMedia is the mock cloud's media engine: SRTP when the caller offers
// it, plain RTP otherwise, the policy's codecs.
func cloudMedia() (*media.Engine, error) {
	md, err := driver.CloudMedia()
	if err != nil {
		return nil, err
	}
	return md.Engine, nil
}

// backendFlags are the flags of `deskphone backend` that set each
// backend.Config field.
var backendFlags = map[string]string{
	"ServerRoot": "--root", "AdminListen": "--admin", "Listen": "--listen",
	"StateDir": "--state", "Domain": "--domain", "UsersFile": "--users",
	"MaxConnections": "--max-connections", "MaxConnectionsPerSource": "--max-connections-per-source",
	"HandshakeTimeout": "--handshake-timeout", "UnregisteredIdleTimeout": "--unregistered-idle-timeout",
	"FlowTimer": "--flow-timer", "MaxServiceCalls": "--max-service-calls",
	"MediaTimeout": "--media-timeout", "SessionExpires": "--session-expires",
	"Gateway": "--gateway",
}

// gatewayListen is the gateway's listen address for --gateway ("none"
// is none) and whether a busy address falls back to a free loopback
// port: the default, when not asked for, so that a second cloud on other
// ports still starts as it did before the gateway.
func gatewayListen(addr string, set bool) (string, bool) {
	if addr == "none" || addr == "" {
		return "", false
	}
	return addr, !set && addr == backend.DefaultGateway
}

// backendFlagError words the backend's configuration errors with the flags
// the user typed (exit 2, as any bad flag value); others pass unchanged.
func backendFlagError(err error) error {
	var ce *backend.ConfigError
	switch {
	case errors.As(err, &ce):
		name, ok := backendFlags[ce.Field]
		if !ok {
			return err
		}
		if ce.Value == "" {
			return badFlag("%s: %s", name, ce.Msg)
		}
		return badFlag("%s %q: %s", name, ce.Value, ce.Msg)
	case errors.Is(err, backend.ErrUsersFile):
		// Every problem of the file, each at FILE:LINE:COL.
		return badFlag("--users %v", err)
	}
	return err
}
