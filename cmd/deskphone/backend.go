package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/deskphone/deskphone/backend"
	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/media"
	"github.com/deskphone/deskphone/phone/statedir"
)

func backendCommand() command {
	c := command{
		name:    "backend",
		summary: "run the mock cloud (SIP registrar and proxy over TLS), or talk to its admin API",
		usage: `Usage:
  deskphone backend [--listen TRANSPORT:HOST:PORT]... [--state DIR] [--users FILE]
                    [--load-users PATTERN:PASSWORD:COUNT]...
                    [--domain DOMAIN] [--admin HOST:PORT] [--root lab-2019|lab-2022]
                    [--max-connections N] [--max-connections-per-source N]
                    [--handshake-timeout DURATION] [--unregistered-idle-timeout DURATION]
                    [--log-level error|warn|info|debug]
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
  --load-users PATTERN:PASSWORD:COUNT
                   also create COUNT users named by PATTERN for 1..COUNT, e.g.
                   load{n:05d}:secret:10000 makes load00001 .. load10000, the
                   accounts of 'deskphone fleet --user load{n:05d}'; repeatable.
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
                   close a connection that carries no request for this long
                   until a REGISTER succeeds on it (default 30s; -1s: never)
  --log-level LEVEL
                   log to stderr from this level: error, warn (default), info, debug

Admin commands (against --admin, default 127.0.0.1:8061):
  users                          list users and services
  add-user USER PASSWORD [EXT]   add a user
  registrations                  list registered contacts
  rotate ROOT                    switch the server certificate to a chain from ROOT
                                 (lab-2022 reproduces seed 002's root rotation)
  voicemail USER                 leave a voicemail for USER (message waiting on)
  health                         the SIP listeners: accepting, connections, refused,
                                 accept errors (exit 1 when one is not accepting)
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
		logLevel := fs.String("log-level", "warn", "")
		if err := parse(fs, args); err != nil {
			return err
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
		engine, err := cloudMedia()
		if err != nil {
			return err
		}
		defer engine.Close()
		b, err := backend.New(backend.Config{
			LoadUsers: load,
			Listen:    listen, StateDir: *state, UsersFile: *users, Domain: *domain,
			AdminListen: *admin, ServerRoot: *root,
			Media:          backend.EngineMedia(engine, filepath.Join(*state, "voicemail")),
			MaxConnections: *maxConns, MaxConnectionsPerSource: *maxPerSource,
			HandshakeTimeout: *handshake, UnregisteredIdleTimeout: *idle,
			// A listener in trouble (out of file descriptors, say) must
			// show somewhere.
			Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
		})
		if err != nil {
			return err
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
		}
		fmt.Fprintf(stdout, "domain %s, server certificate from %s\n", b.Domain(), b.ServerRoot())
		<-ctx.Done()
		return nil
	}
	return c
}

func backendAdmin(c *command, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(c, stderr)
	addr := fs.String("admin", "127.0.0.1:8061", "")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprint(stderr, c.usage)
		return errUsage
	}
	base := "http://" + *addr + "/admin/"
	var method, path string
	var body []byte
	switch {
	case rest[0] == "users" && len(rest) == 1:
		method, path = http.MethodGet, "users"
	case rest[0] == "registrations" && len(rest) == 1:
		method, path = http.MethodGet, "registrations"
	case rest[0] == "health" && len(rest) == 1:
		method, path = http.MethodGet, "health"
	case rest[0] == "add-user" && (len(rest) == 3 || len(rest) == 4):
		u := backend.User{User: rest[1], Password: rest[2]}
		if len(rest) == 4 {
			u.Extension = rest[3]
		}
		body, _ = json.Marshal(u)
		method, path = http.MethodPost, "users"
	case rest[0] == "rotate" && len(rest) == 2:
		method, path = http.MethodPost, "rotate?root="+url.QueryEscape(rest[1])
	case rest[0] == "voicemail" && len(rest) == 2:
		method, path = http.MethodPost, "voicemail?user="+url.QueryEscape(rest[1])
	default:
		return fmt.Errorf("admin: unknown command or wrong arguments: %s", strings.Join(rest, " "))
	}
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Timeout: 10 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	stdout.Write(out)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		fmt.Fprintln(stdout)
	}
	if res.StatusCode >= 300 {
		return fmt.Errorf("admin: %s", res.Status)
	}
	return nil
}

// startEmbeddedBackend runs the mock cloud inside `deskphone run` on a free
// loopback port, on the phone's clock, and returns the account of alice.
func startEmbeddedBackend(ctx context.Context, clk clock.Clock) (io.Closer, statedir.Account, error) {
	dir, err := os.MkdirTemp("", "deskphone-cloud-")
	if err != nil {
		return nil, statedir.Account{}, err
	}
	engine, err := cloudMedia()
	if err != nil {
		os.RemoveAll(dir)
		return nil, statedir.Account{}, err
	}
	b, err := backend.New(backend.Config{Listen: []string{"tls:127.0.0.1:0"}, StateDir: dir, Clock: clk,
		Media: backend.EngineMedia(engine, filepath.Join(dir, "voicemail"))})
	if err != nil {
		engine.Close()
		os.RemoveAll(dir)
		return nil, statedir.Account{}, err
	}
	if err := b.Start(ctx); err != nil {
		engine.Close()
		os.RemoveAll(dir)
		return nil, statedir.Account{}, fmt.Errorf("embedded backend: %w", err)
	}
	var alice backend.User
	for _, u := range b.Users() {
		if u.User == "alice" {
			alice = u
		}
	}
	if alice.User == "" {
		b.Close()
		return nil, statedir.Account{}, errors.New("embedded backend has no user alice")
	}
	account := statedir.Account{
		Server: "sips:" + b.Addr("tls"), User: alice.User, Password: alice.Password,
		Domain: b.Domain(), DisplayName: alice.DisplayName,
	}
	return &embedded{Backend: b, engine: engine, dir: dir}, account, nil
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

// embedded is the mock cloud of one `deskphone run`; closing it removes its
// temporary state.
type embedded struct {
	*backend.Backend
	engine *media.Engine
	dir    string
}

func (e *embedded) Close() error {
	err := e.Backend.Close()
	e.engine.Close()
	os.RemoveAll(e.dir)
	return err
}
