// Command deskphone runs virtual enterprise SIP desk phones: one in a
// terminal, one headless on stdin/stdout, and the tools around them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one subcommand of the deskphone binary.
type command struct {
	name    string
	summary string
	usage   string
	run     func(args []string, stdout, stderr io.Writer) error
}

// errUsage means the arguments were wrong; the usage was already printed.
var errUsage = errors.New("usage")

// flagError is a flag or argument with a value that cannot work: the
// command says why and exits 2, like any other usage error.
type flagError struct{ msg string }

func (e *flagError) Error() string { return e.msg }

// badFlag words a flagError.
func badFlag(format string, args ...any) error {
	return &flagError{msg: fmt.Sprintf(format, args...)}
}

// errHelp means the user asked for a command's usage, which was printed:
// not a failure.
var errHelp = errors.New("help requested")

func commands() map[string]command {
	list := []command{runCommand(), fleetCommand(), modelsCommand(), backendCommand(), firmwareCommand(), certsCommand(), scenarioCommand(), stateCommand(), versionCommand(), pcCommand()}
	m := map[string]command{}
	for _, c := range list {
		m[c.name] = c
	}
	return m
}

func main() {
	// sipgo logs transport housekeeping through a process-wide logger;
	// the phone reports what matters on its screen and in its syslog.
	sip.SetDefaultLogger(slog.New(slog.DiscardHandler))
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		usage(stdout, cmds)
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = []string{"version"}
	}
	name := args[0]
	if name == "help" {
		if len(args) == 1 {
			usage(stdout, cmds)
			return 0
		}
		c, ok := cmds[args[1]]
		if !ok {
			fmt.Fprintf(stderr, "deskphone: no command %q; run 'deskphone help'\n", args[1])
			return 2
		}
		fmt.Fprint(stdout, c.usage)
		return 0
	}
	c, ok := cmds[name]
	if !ok {
		fmt.Fprintf(stderr, "deskphone: unknown command %q; run 'deskphone help'\n", name)
		return 2
	}
	if wantsHelp(args[1:]) {
		fmt.Fprint(stdout, c.usage)
		return 0
	}
	return exitCode(name, c.run(args[1:], stdout, stderr), stderr)
}

// exitCode says what err means to the user, on stderr, and returns the
// exit status: 0 done, 1 failed, 2 wrong usage, 130 interrupted.
func exitCode(name string, err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var fe *flagError
	switch {
	case errors.As(err, &fe):
		fmt.Fprintf(stderr, "deskphone %s: %v\n", name, err)
		return 2
	case errors.Is(err, errHelp):
		return 0
	case errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) || errors.Is(err, errInvalid):
		return 2
	case errors.Is(err, errFailed):
		return 1
	case errors.Is(err, errInterrupted):
		// The report already says the scenario run was interrupted.
		return 130
	case errors.Is(err, context.Canceled):
		// Ctrl-C or SIGTERM ended a command before it was done.
		fmt.Fprintf(stderr, "deskphone %s: interrupted\n", name)
		return 130
	}
	fmt.Fprintf(stderr, "deskphone %s: %v\n", name, err)
	return 1
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprint(w, `deskphone: virtual enterprise SIP desk phones (AudioCodes, Poly, Yealink,
Lync Phone Edition) for developers, QA and CI.

Usage: deskphone COMMAND [flags]
       deskphone --version

Commands:
`)
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, cmds[n].summary)
	}
	fmt.Fprint(w, "\nRun 'deskphone help COMMAND' for a command's flags.\n")
}

// wantsHelp reports whether a command's arguments ask for its usage: -h,
// -help or --help before any "--" that ends the flags.
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// newFlags returns a FlagSet that prints the command's usage on error.
func newFlags(c *command, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, c.usage) }
	return fs
}

// parse parses flags and refuses stray arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		fs.Usage()
		return errUsage
	}
	return nil
}
