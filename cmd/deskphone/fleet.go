package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"

	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/fleet"
	"github.com/deskphone/deskphone/fleet/api"
	"github.com/deskphone/deskphone/internal/atomicfile"
	"github.com/deskphone/deskphone/internal/gwurl"
	"github.com/deskphone/deskphone/internal/siptrace"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
)

func fleetCommand() command {
	c := command{
		name:    "fleet",
		summary: "run many headless phones in one process, with a control API and metrics",
		usage: `Usage: deskphone fleet FLEETFILE [flags]
       deskphone fleet --phones N --model ID --server URI --user PATTERN --password SECRET [flags]

Runs many headless phones in one process: the groups of a fleet file, or
N phones alike from flags. Phone n registers as the user PATTERN names for n
(load{n:05d}: load00001, load00002, ...), matching the mock cloud's
'deskphone backend --load-users load{n:05d}:secret:N'. SIGTERM (or Ctrl-C)
unregisters every phone and exits within --stop-timeout; a second one exits
at once.

Flags:
  --phones N          phones to run (without a fleet file)
  --model ID          their model (see 'deskphone models'; default vvx501)
  --firmware VERSION  their firmware (default: the model's default)
  --server URI        sips:HOST[:PORT] to register with
  --user PATTERN      account pattern, e.g. 'load{n:05d}'
  --password SECRET   the accounts' password
  --domain DOMAIN     SIP domain (default: the server's host)
  --ca FILE           root certificate the phones import before booting
  --provisioning URL  the phones' provisioning server (over the fleet file's): a
                      Teams SIP Gateway URL (http://HOST:PORT/REGION) onboards
                      them, their SIP server and account then the gateway's
  --bulk-csv FILE     once the phones are built, write them to FILE as a
                      gateway bulk sign-in CSV: Username,HardwareId rows (the
                      phone's user name, its MAC as xx-xx-xx-xx-xx-xx)
  --srtp MODE, --codecs LIST, --audio-source SRC, --media-ports shared|per-call
                      media, as for 'deskphone run'
  --state-root DIR    one state directory per phone, DIR/ID (default: throw-away
                      state in memory, as with --ephemeral)
  --ephemeral         throw-away state (in /dev/shm when there is one)
  --rate N            phones started per second (default 500; 0: no pacing)
  --jitter F          move each start by up to F of the interval (default 0.5)
  --connecting N      at most N phones waiting for the answer to their first
                      REGISTER; further starts wait for a place (default 256)
  --shard I/N         run only the I-th of N equal parts of the fleet
  --shards N          the same, I from $JOB_COMPLETION_INDEX (Kubernetes Indexed Job)
  --api ADDR          serve the control API and /metrics on ADDR (e.g. 127.0.0.1:8070);
                      beyond loopback it needs a token (--api-token or
                      $DESKPHONE_API_TOKEN), sent as Authorization: Bearer TOKEN
  --api-token TOKEN   require this bearer token
  --api-files DIR     the one folder the API's play wav, record and import_ca
                      may name files in (default: the working directory)
  --progress auto|bar|lines|none
                      a progress bar on a terminal, plain lines every
                      --progress-every otherwise (default auto)
  --progress-every D  period of the plain lines (default 5s)
  --stop-timeout D    bound on unregistering every phone at exit (default 30s)
  --catalog FILE      extend the built-in catalog with FILE (repeatable)
` + pcapUsage + `
Call load, in SIPp's terms (once the phones are started; the calling phones
are the fleet's idle registered ones, round-robin, and a phone in a load
call is busy for the load):
  --call-rate R       new calls per second, fractional allowed (SIPp -r)
  --call-to TARGET    whom to call: fleet (another idle phone of this fleet,
                      which answers), a user pattern like load{n:05d} (n over
                      the fleet's phones; a phone of the fleet answers), a
                      service user such as echo or tone, or a SIP URI
  --call-duration D   how long a call stays up once answered (SIPp -d; default
                      0: hang up once answered)
  --max-calls N       at most N calls up or being set up at once; new calls
                      wait while at the limit (SIPp -l; default 0: no limit)
  --calls N           stop placing after N calls (SIPp -m)
  --load-for D        stop placing after D
                      With --calls or --load-for the fleet prints the summary
                      and exits once the last call has ended; without, it
                      places calls until SIGTERM and prints the summary then.
  --call-timeout D    a call not answered within D fails, reason timeout, and
                      is hung up (default 30s)

A fleet file (YAML):

  server: sips:127.0.0.1:5061
  ca: root.pem
  state_root: fleet-state      # or ephemeral: yes
  rate: 200
  connecting: 256
  groups:
    - name: lobby
      count: 100
      model: t46g
      user: load{n:05d}        # n runs on from group to group, from 1
      password: secret
  load:                    # call load, as the --call-* flags (which win)
    rate: 5                # --call-rate
    duration: 10s          # --call-duration
    max_calls: 100         # --max-calls
    calls: 1000            # --calls
    for: 5m                # --load-for
    timeout: 30s           # --call-timeout
    to: fleet              # --call-to
`,
	}
	c.run = func(args []string, stdout, stderr io.Writer) error {
		fs := newFlags(&c, stderr)
		var files listFlag
		var file string
		if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
			file, args = args[0], args[1:]
		}
		phones := fs.Int("phones", 0, "")
		model := fs.String("model", "vvx501", "")
		firmware := fs.String("firmware", "", "")
		server := fs.String("server", "", "")
		user := fs.String("user", "", "")
		password := fs.String("password", "", "")
		domain := fs.String("domain", "", "")
		caFile := fs.String("ca", "", "")
		srtp := fs.String("srtp", "", "")
		codecList := fs.String("codecs", "", "")
		mediaPortsFlag := fs.String("media-ports", "shared", "")
		audio := fs.String("audio-source", "", "")
		stateRoot := fs.String("state-root", "", "")
		ephemeral := fs.Bool("ephemeral", false, "")
		rate := fs.Float64("rate", -1, "")
		jitter := fs.Float64("jitter", -1, "")
		connecting := fs.Int("connecting", 0, "")
		shard := fs.String("shard", "", "")
		shards := fs.Int("shards", 0, "")
		apiAddr := fs.String("api", "", "")
		apiToken := fs.String("api-token", os.Getenv("DESKPHONE_API_TOKEN"), "")
		apiFiles := fs.String("api-files", ".", "")
		progress := fs.String("progress", "auto", "")
		every := fs.Duration("progress-every", 5*time.Second, "")
		stopTimeout := fs.Duration("stop-timeout", 30*time.Second, "")
		provisioning := fs.String("provisioning", "", "")
		bulkCSV := fs.String("bulk-csv", "", "")
		pcapFile := fs.String("pcap", "", "")
		fs.Var(&files, "catalog", "")
		callRate := fs.Float64("call-rate", 0, "")
		callTo := fs.String("call-to", "", "")
		callDuration := fs.Duration("call-duration", 0, "")
		maxCalls := fs.Int("max-calls", 0, "")
		calls := fs.Int("calls", 0, "")
		loadFor := fs.Duration("load-for", 0, "")
		callTimeout := fs.Duration("call-timeout", fleet.DefaultCallTimeout, "")
		if err := parse(fs, args); err != nil {
			return err
		}
		loadFlags := map[string]bool{}
		fs.Visit(func(fl *flag.Flag) {
			switch fl.Name {
			case "call-rate", "call-to", "call-duration", "max-calls", "calls", "load-for", "call-timeout":
				loadFlags[fl.Name] = true
			}
		})
		if u, err := url.Parse(*provisioning); *provisioning != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			return badFlag("--provisioning %q: want a URL like http://127.0.0.1:8064/emea", *provisioning)
		}
		cat, err := catalog.Load(files...)
		if err != nil {
			return err
		}
		var cfg *fleet.Config
		switch {
		case file != "" && *phones != 0:
			return errors.New("give a fleet file or --phones, not both")
		case file != "":
			if cfg, err = fleet.Load(file, cat); err != nil {
				return err
			}
		case *phones > fleet.MaxPhones:
			return badFlag("--phones: %d is more than %d", *phones, fleet.MaxPhones)
		case *phones > 0:
			if (*server == "" && !gwurl.IsGateway(*provisioning)) || *user == "" {
				return errors.New("--phones needs --server (or a gateway's --provisioning) and --user (and --password)")
			}
			cfg = &fleet.Config{Server: *server, Domain: *domain, Groups: []fleet.Group{{Name: "fleet", Count: *phones,
				Model: *model, Firmware: *firmware, User: *user, Password: *password, SRTP: *srtp, Codecs: *codecList, Audio: *audio}}}
			if _, err := cat.Model(*model); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: give a fleet file or --phones N", errHelpNeeded(&c, stderr))
		}
		if *caFile != "" {
			cfg.CA = []string{*caFile}
			for i := range cfg.Groups {
				cfg.Groups[i].CA = nil
			}
		}
		if *stateRoot != "" {
			cfg.StateRoot = *stateRoot
		}
		if *provisioning != "" {
			cfg.Provisioning = *provisioning
			for i := range cfg.Groups {
				cfg.Groups[i].Provisioning = ""
			}
		}
		cfg.Ephemeral = cfg.Ephemeral || *ephemeral
		cfg.Pace(*rate, *jitter)
		switch {
		case *connecting < 0:
			return fmt.Errorf("--connecting %d: want at least 1", *connecting)
		case *connecting > 0:
			cfg.Connecting = *connecting
		}
		load, err := loadConfig(cfg.Load, loadFlags, fleet.LoadConfig{Rate: *callRate, To: *callTo, Duration: *callDuration,
			MaxCalls: *maxCalls, Calls: *calls, For: *loadFor, Timeout: *callTimeout})
		if err != nil {
			return err
		}
		members, err := cfg.Members()
		if err != nil {
			return err
		}
		if members, err = pickShard(members, *shard, *shards); err != nil {
			return err
		}
		metrics := fleet.NewMetrics()
		ports, err := mediaPorts(*mediaPortsFlag)
		if err != nil {
			return err
		}
		opts := fleet.Options{Catalog: cat, Rate: cfg.Rate, Jitter: cfg.Jitter, Connecting: cfg.Connecting, Metrics: metrics, MediaPorts: ports}
		if *pcapFile != "" {
			pcap, err := openPcap(*pcapFile, stderr)
			if err != nil {
				return err
			}
			// Closed at return, after f.Stop below: the phones' last
			// messages are in.
			defer pcap.Close()
			siptrace.Install(pcap)
			opts.Tap = pcap
		}
		f := fleet.New(members, opts)

		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		sigs := make(chan os.Signal, 2)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(sigs)
		go func() {
			<-sigs
			first := time.Now()
			cancel()
			for range sigs {
				// One signal sent to both the process and its group (as
				// timeout(1) does) arrives twice at once: not a second one.
				if time.Since(first) > 500*time.Millisecond {
					fmt.Fprintln(stderr, "deskphone fleet: second signal, exiting at once")
					os.Exit(130)
				}
			}
		}()

		if *apiAddr != "" {
			if err := api.CheckBind(*apiAddr, *apiToken); err != nil {
				return err
			}
			files, err := os.OpenRoot(*apiFiles)
			if err != nil {
				return fmt.Errorf("--api-files: %w", err)
			}
			defer files.Close()
			ln, err := net.Listen("tcp", *apiAddr)
			if err != nil {
				return fmt.Errorf("--api: %w", err)
			}
			srv := api.HTTPServer((&api.Server{Source: f.Source(), Load: f.LoadControl(), Token: *apiToken, Addr: ln.Addr().String(), Files: files,
				Metrics: promhttp.HandlerFor(metrics.Registry(), promhttp.HandlerOpts{})}).Handler())
			go srv.Serve(ln)
			defer srv.Close()
			fmt.Fprintf(stdout, "api http://%s/v1/phones, metrics http://%s/metrics\n", ln.Addr(), ln.Addr())
		}
		fmt.Fprintf(stdout, "fleet: %d phones\n", len(members))
		started := time.Now()
		stopProgress := showProgress(ctx, f, *progress, *every, stdout)
		bootGC()
		startErr := f.Start(ctx)
		for _, e := range f.Errors() {
			fmt.Fprintf(stderr, "deskphone fleet: %v\n", e)
		}
		if startErr == nil && *bulkCSV != "" {
			var b bytes.Buffer
			if err := f.WriteBulkCSV(&b); err != nil {
				return err
			}
			if err := atomicfile.Write(*bulkCSV, b.Bytes(), 0o644); err != nil {
				return fmt.Errorf("--bulk-csv: %w", err)
			}
			fmt.Fprintf(stdout, "fleet: bulk sign-in CSV of %d phones in %s\n", f.Progress().Built, *bulkCSV)
		}
		if startErr == nil {
			trimAfterBoot()
			p := f.Progress()
			fmt.Fprintf(stdout, "fleet: started in %v: %d phones, %d registered, %d failed to start\n",
				time.Since(started).Round(time.Millisecond), p.Built, p.Registered, p.Failed)
			if p.Registered < p.Built {
				fmt.Fprintf(stdout, "fleet: not registered: %s\n", countsByReason(f.NotRegistered()))
			}
			var ended <-chan struct{}
			if load != nil {
				l, err := f.StartLoad(*load)
				if err != nil {
					// Checked above: only a load already started through
					// the API gets here.
					fmt.Fprintf(stderr, "deskphone fleet: %v\n", err)
				} else {
					fmt.Fprintf(stdout, "fleet: calling %s at %s calls/s\n", load.To, strconv.FormatFloat(load.Rate, 'f', -1, 64))
					if load.Calls > 0 || load.For > 0 {
						ended = l.Done()
					}
				}
			}
			select {
			case <-ctx.Done():
			case <-ended:
			}
		}
		stopProgress()
		if l := f.CurrentLoad(); l != nil {
			// SIGTERM hangs up the calls up; the summary counts them.
			l.Close()
			fmt.Fprintln(stdout, "fleet: call load summary")
			if err := l.Summary().WriteTable(stdout); err != nil {
				return err
			}
		}
		p := f.Progress()
		fmt.Fprintf(stdout, "fleet: stopping %d phones (%d registered, up %v)\n", p.Built, p.Registered, time.Since(started).Round(time.Second))
		stopCtx, stopCancel := context.WithTimeout(context.Background(), *stopTimeout)
		defer stopCancel()
		t0 := time.Now()
		if err := f.Stop(stopCtx); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "fleet: stopped in %v\n", time.Since(t0).Round(time.Millisecond))
		return nil
	}
	return c
}

// errHelpNeeded prints the usage for a command called without what it needs.
func errHelpNeeded(c *command, stderr io.Writer) error {
	fmt.Fprint(stderr, c.usage)
	return errUsage
}

// pickShard keeps the shard of members that --shard or --shards (with
// $JOB_COMPLETION_INDEX) names.
func pickShard(members []fleet.Member, shard string, shards int) ([]fleet.Member, error) {
	switch {
	case shard != "" && shards != 0:
		return nil, errors.New("give --shard I/N or --shards N, not both")
	case shard != "":
		i, n, err := fleet.ParseShard(shard)
		if err != nil {
			return nil, fmt.Errorf("--shard: %w", err)
		}
		return fleet.Shard(members, i, n)
	case shards != 0:
		env := os.Getenv("JOB_COMPLETION_INDEX")
		i, err := strconv.Atoi(env)
		if err != nil {
			return nil, fmt.Errorf("--shards %d: JOB_COMPLETION_INDEX %q is not a number (run as a Kubernetes Indexed Job, or use --shard I/N)", shards, env)
		}
		m, err := fleet.Shard(members, i, shards)
		if err != nil {
			return nil, fmt.Errorf("--shards with JOB_COMPLETION_INDEX=%d: %w", i, err)
		}
		return m, nil
	}
	return members, nil
}

// showProgress reports the start: a bar on a terminal, plain lines
// otherwise. The returned func ends it.
func showProgress(ctx context.Context, f *fleet.Fleet, mode string, every time.Duration, out io.Writer) func() {
	if mode == "auto" {
		mode = "lines"
		if fd, ok := out.(interface{ Fd() uintptr }); ok && term.IsTerminal(int(fd.Fd())) {
			mode = "bar"
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	total := int64(len(f.Members()))
	switch mode {
	case "none":
		close(done)
	case "bar":
		pr := mpb.NewWithContext(ctx, mpb.WithOutput(out), mpb.WithRefreshRate(200*time.Millisecond), mpb.WithAutoRefresh())
		built := pr.AddBar(total, mpb.PrependDecorators(decor.Name("started   "), decor.CountersNoUnit("%d/%d")),
			mpb.AppendDecorators(decor.Percentage()))
		reg := pr.AddBar(total, mpb.PrependDecorators(decor.Name("registered"), decor.CountersNoUnit(" %d/%d")),
			mpb.AppendDecorators(decor.Percentage()), mpb.BarRemoveOnComplete())
		calls := pr.New(0, mpb.NopStyle(), mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
			if l := f.CurrentLoad(); l != nil {
				return l.Progress()
			}
			return ""
		})))
		go func() {
			defer close(done)
			t := time.NewTicker(200 * time.Millisecond)
			defer t.Stop()
			for {
				p := f.Progress()
				built.SetCurrent(int64(p.Built + p.Failed))
				reg.SetCurrent(int64(p.Registered))
				select {
				case <-ctx.Done():
					built.Abort(false)
					reg.Abort(false)
					calls.Abort(false)
					pr.Wait()
					return
				case <-t.C:
				}
			}
		}()
	default:
		go func() {
			defer close(done)
			t := time.NewTicker(every)
			defer t.Stop()
			last := ""
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				p := f.Progress()
				line := fmt.Sprintf("fleet: %d/%d started, %d failed, %d registered", p.Built, p.Total, p.Failed, p.Registered)
				if l := f.CurrentLoad(); l != nil {
					line += "; " + l.Progress()
				}
				if line != last {
					last = line
					fmt.Fprintln(out, line)
				}
			}
		}()
	}
	return func() { cancel(); <-done }
}

// onePhone is the control API's view of the one phone of deskphone run.
type onePhone struct{ p api.Phone }

func (o onePhone) Phones() []api.Phone { return []api.Phone{o.p} }

func (o onePhone) Lookup(id string) (api.Phone, bool) { return o.p, id == o.p.ID }

// serveOnePhone serves p on the control API at addr, announcing it on
// stderr (stdout is the headless protocol's).
func serveOnePhone(addr, token, filesDir string, p *phone.Phone, clk driver.Advancer, stderr io.Writer) (func(), error) {
	if err := api.CheckBind(addr, token); err != nil {
		return nil, err
	}
	files, err := os.OpenRoot(filesDir)
	if err != nil {
		return nil, fmt.Errorf("--api-files: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		files.Close()
		return nil, fmt.Errorf("--api: %w", err)
	}
	id := p.Published().User
	if st, err := p.State(); err == nil && st.User != "" {
		id = st.User
	}
	if id == "" {
		id = "phone"
	}
	srv := api.HTTPServer((&api.Server{Source: onePhone{api.Phone{ID: id, Phone: p, Clock: clk}}, Token: token,
		Addr: ln.Addr().String(), Files: files}).Handler())
	go srv.Serve(ln)
	fmt.Fprintf(stderr, "api http://%s/v1/phones/%s\n", ln.Addr(), id)
	return func() { srv.Close(); files.Close() }, nil
}

// countsByReason reads "reason ×n" for each reason, the most common first.
func countsByReason(m map[string]int) string {
	reasons := slices.Collect(maps.Keys(m))
	slices.SortFunc(reasons, func(a, b string) int { return cmp.Or(m[b]-m[a], strings.Compare(a, b)) })
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = fmt.Sprintf("%s ×%d", r, m[r])
	}
	return strings.Join(parts, ", ")
}

// loadConfig is the call load the fleet file's load section and the
// --call-* flags (set: those given) ask for, the flags winning; nil when
// neither asks for one.
func loadConfig(file *fleet.LoadConfig, set map[string]bool, flags fleet.LoadConfig) (*fleet.LoadConfig, error) {
	if file == nil && len(set) == 0 {
		return nil, nil
	}
	if file == nil && !set["call-rate"] {
		names := slices.Sorted(maps.Keys(set))
		return nil, badFlag("--%s needs --call-rate (or a load section in the fleet file)", names[0])
	}
	c := fleet.LoadConfig{Timeout: fleet.DefaultCallTimeout}
	if file != nil {
		c = *file
	}
	for name := range set {
		switch name {
		case "call-rate":
			if flags.Rate <= 0 {
				return nil, badFlag("--call-rate %v: want more than 0 calls per second (0.5 is one call every 2 s)", flags.Rate)
			}
			c.Rate = flags.Rate
		case "call-to":
			c.To = flags.To
		case "call-duration":
			if flags.Duration < 0 {
				return nil, badFlag("--call-duration %v is negative", flags.Duration)
			}
			c.Duration = flags.Duration
		case "max-calls":
			if flags.MaxCalls < 0 {
				return nil, badFlag("--max-calls %d: want 0 (no limit) or more", flags.MaxCalls)
			}
			c.MaxCalls = flags.MaxCalls
		case "calls":
			if flags.Calls < 1 {
				return nil, badFlag("--calls %d: want at least 1", flags.Calls)
			}
			c.Calls = flags.Calls
		case "load-for":
			if flags.For <= 0 {
				return nil, badFlag("--load-for %v: want more than 0", flags.For)
			}
			c.For = flags.For
		case "call-timeout":
			if flags.Timeout <= 0 {
				return nil, badFlag("--call-timeout %v: want more than 0", flags.Timeout)
			}
			c.Timeout = flags.Timeout
		}
	}
	if c.To == "" {
		return nil, badFlag("call load needs --call-to: fleet, a user pattern like load{n:05d}, a service user like echo, or a SIP URI")
	}
	if err := c.Check(); err != nil {
		return nil, badFlag("%v", err)
	}
	return &c, nil
}
