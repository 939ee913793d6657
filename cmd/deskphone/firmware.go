package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"

	"github.com/deskphone/deskphone/backend/updatesvc"
	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/firmware"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
)

// Where the update service and a provisioning server listen by default.
const (
	defaultUpdateAddr       = "127.0.0.1:8062"
	defaultProvisioningAddr = "127.0.0.1:8063"
)

func firmwareCommand() command {
	c := command{
		name:    "firmware",
		summary: "build a signed-update firmware image of a catalog firmware",
		usage: `Usage: deskphone firmware build --model ID --version V --out FILE [--size N] [--catalog FILE]
       deskphone firmware check --model ID FILE

build writes the firmware image of a catalog firmware: a manifest (model,
version, build date, size, the catalog traits it carries) and a payload of
--size bytes (default 4MiB; suffixes KiB, MiB, GiB), with a progress bar on
a terminal. The update service signs images as TUF targets when it
publishes them ('deskphone backend admin firmware publish FILE').

check reads an image and says whether it is sound and made for the model.

Flags:
  --model ID       the phone model (see 'deskphone models')
  --version V      a firmware version of that model; the numeric part is enough
  --out FILE       where to write the image
  --size N         payload size (default 4MiB)
  --catalog FILE   extend the built-in catalog with FILE (repeatable)
`,
	}
	c.run = func(args []string, stdout, stderr io.Writer) error {
		if len(args) == 0 {
			fmt.Fprint(stderr, c.usage)
			return errUsage
		}
		switch args[0] {
		case "build":
			return firmwareBuild(&c, args[1:], stdout, stderr)
		case "check":
			return firmwareCheck(&c, args[1:], stdout, stderr)
		}
		return fmt.Errorf("firmware: unknown subcommand %q (build, check)", args[0])
	}
	return c
}

func firmwareBuild(c *command, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(c, stderr)
	var files listFlag
	fs.Var(&files, "catalog", "")
	model := fs.String("model", "", "")
	version := fs.String("version", "", "")
	out := fs.String("out", "", "")
	size := fs.String("size", "4MiB", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *model == "" || *version == "" || *out == "" {
		return errors.New("firmware build: --model, --version and --out are required")
	}
	n, err := parseSize(*size)
	if err != nil {
		return fmt.Errorf("--size: %w", err)
	}
	cat, err := catalog.Load(files...)
	if err != nil {
		return err
	}
	m, err := cat.Model(*model)
	if err != nil {
		return err
	}
	fw, err := m.FirmwareVersion(*version)
	if err != nil {
		return err
	}
	man := driver.ManifestOf(m, fw)
	man.Built = time.Now().UTC().Truncate(time.Second)
	f, err := os.Create(*out + ".tmp")
	if err != nil {
		return fmt.Errorf("firmware build: %w", err)
	}
	defer os.Remove(f.Name())
	progress, done := progressBar(stderr, "building "+fw.Version)
	man, err = firmware.Build(f, man, n, progress)
	done()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(f.Name(), *out); err != nil {
		return fmt.Errorf("firmware build: %w", err)
	}
	st, err := os.Stat(*out)
	if err != nil {
		return fmt.Errorf("firmware build: %w", err)
	}
	fmt.Fprintf(stdout, "%s: %s %s (%s), %d bytes, payload sha256 %s\n", *out, m.ID, man.Version, m.Vendor.Name, st.Size(), man.PayloadSHA256[:16])
	return nil
}

func firmwareCheck(c *command, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(c, stderr)
	model := fs.String("model", "", "")
	// The file may come before or after the flag.
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	} else if file == "" || fs.NArg() != 0 {
		return errors.New("firmware check: name one image file")
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	m, err := firmware.Check(f, *model)
	if err != nil {
		return fmt.Errorf("%s: refused: %w", file, err)
	}
	fmt.Fprintf(stdout, "%s: %s %s (%s), payload %d bytes, built %s: sound\n", file, m.Model, m.Version, m.Vendor, m.PayloadSize, m.Built.Format(time.RFC3339))
	return nil
}

// progressBar draws a bar on w when w is a terminal; it returns the
// progress callback and a func to call when done.
func progressBar(w io.Writer, name string) (func(done, total int64), func()) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, func() {}
	}
	p := mpb.New(mpb.WithOutput(w), mpb.WithWidth(40))
	var bar *mpb.Bar
	return func(done, total int64) {
			if bar == nil {
				bar = p.AddBar(total,
					mpb.PrependDecorators(decor.Name(name+" ")),
					mpb.AppendDecorators(decor.CountersKibiByte("% .1f / % .1f"), decor.Percentage(decor.WCSyncSpace)))
			}
			bar.SetCurrent(done)
		}, func() {
			if bar != nil && !bar.Completed() {
				bar.Abort(false)
			}
			p.Wait()
		}
}

// parseSize reads 4096, 512KiB, 8MiB, 1GiB.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30} {
		if strings.HasSuffix(s, suffix) && mult == 1 {
			s, mult = strings.TrimSuffix(s, suffix), m
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q: want a size like 4096, 512KiB or 80MiB", s)
	}
	return n * mult, nil
}

// firmwareAdmin runs `backend admin firmware ...` against the update
// service at addr.
func firmwareAdmin(addr string, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("admin firmware: approve|restore|pending|publish|rules|rotate|down|up")
	}
	base := "http://" + addr + "/admin/firmware/"
	var method, path string
	var body io.Reader
	ctype := "application/json"
	jsonBody := func(v any) io.Reader {
		b, _ := json.Marshal(v)
		return bytes.NewReader(b)
	}
	switch verb, rest := args[0], args[1:]; {
	case verb == "rules" && len(rest) == 0:
		method, path = http.MethodGet, "rules"
	case verb == "stats" && len(rest) == 0:
		method, path = http.MethodGet, "stats"
	case verb == "publish" && len(rest) == 1:
		f, err := os.Open(rest[0])
		if err != nil {
			return fmt.Errorf("admin firmware publish: %w", err)
		}
		defer f.Close()
		method, path, body, ctype = http.MethodPost, verb, f, updatesvc.PublishType
	default:
		c, req, err := updatesvc.ParseCommand(args)
		if err != nil {
			return fmt.Errorf("admin firmware: unknown command or wrong arguments: %s", strings.Join(args, " "))
		}
		method, path, body = http.MethodPost, c.Verb, jsonBody(req)
	}
	// Building an image on approve takes a moment; a large publish longer.
	return adminCall("admin firmware", method, base+path, ctype, body, 5*time.Minute, stdout)
}

func sourceName(provisioning bool) string {
	if provisioning {
		return "provisioning server"
	}
	return "update service"
}

// listenUpdate starts the update service of `deskphone backend` on addr
// exactly (a taken address is an error), keeping its images in state.
func listenUpdate(name, state, addr, imageSize, rateLimit string) (*updatesvc.Server, error) {
	size, err := parseSize(imageSize)
	if err != nil {
		return nil, fmt.Errorf("--image-size: %w", err)
	}
	rate, err := parseSize(rateLimit)
	if err != nil {
		return nil, fmt.Errorf("--rate-limit: %w", err)
	}
	cat, err := catalog.Builtin()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(state, "update")
	if name != "update service" {
		dir = filepath.Join(state, "provisioning")
	}
	svc, err := updatesvc.New(updatesvc.Config{Dir: dir, Name: name, Describe: driver.FirmwareDescriber(cat), ImageSize: size, RateLimit: rate})
	if err != nil {
		return nil, err
	}
	return svc.Listen(addr)
}

// runUpdateOnly is `deskphone backend --provisioning`: a provisioning
// server, with no SIP, until interrupted.
func runUpdateOnly(state, addr, imageSize, rateLimit string, stdout io.Writer) error {
	srv, err := listenUpdate(sourceName(true), state, addr, imageSize, rateLimit)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintf(stdout, "provisioning server http://%s (admin: deskphone backend admin --update %s firmware ...)\n", srv.Addr(), srv.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// updateOptions are the phone options of the run flags about updates.
func updateOptions(update, provisioning string, off bool) []phone.Option {
	var opts []phone.Option
	if update != "" {
		opts = append(opts, phone.WithUpdateService(update))
	}
	if provisioning != "" {
		opts = append(opts, phone.WithProvisioningServer(provisioning))
	}
	if off {
		opts = append(opts, phone.WithDeviceUpdate(false))
	}
	return opts
}
