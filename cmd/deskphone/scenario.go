package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"

	"gopkg.in/yaml.v3"

	"github.com/deskphone/deskphone/internal/siptrace"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/scenarios"
)

// errInvalid means a scenario file is invalid (exit code 2).
var errInvalid = errors.New("invalid scenario")

// errFailed means a scenario failed (exit code 1).
var errFailed = errors.New("scenario failed")

// errInterrupted means a run was stopped by SIGINT or SIGTERM (exit code
// 130, as a shell reports Ctrl-C).
var errInterrupted = errors.New("scenario run interrupted")

func scenarioCommand() command {
	c := command{
		name:    "scenario",
		summary: "run or check scenario files (phones, steps, expectations on virtual time)",
		usage: `Usage:
  deskphone scenario run   [-j N] [--junit FILE] [--json FILE] [--realtime] [--sip-delay D [--seed N]] [--pcap FILE] [--catalog FILE] PATH...
  deskphone scenario check [--catalog FILE] PATH...

PATH is a scenario file or a folder. A folder is walked with its subfolders:
every .yaml (or .yml) file whose top level is a mapping is a scenario; files
holding a plain list of steps are for include and are skipped. A file that
is not valid YAML counts as a scenario, so its error is reported.

run     runs the scenarios, printing one line per step with the scenario time
        and the wall time it took. On failure it prints the failed step, every
        phone's screen, the tail of its syslog and its last SIP messages (on
        the scenario clock, secrets redacted). Ctrl-C (SIGINT) or SIGTERM
        stops the run: the scenario running is reported as interrupted,
        those not started are not run.
          -j N          run N files at once (default 1)
          --junit FILE  write a JUnit XML report (one test case per scenario)
          --json FILE   write a JSON report
          --realtime    run on the wall clock instead of virtual time
          --sip-delay D make every delivery of a SIP message, to a phone or
                        to the cloud, late by a random wall-clock span below
                        D (5ms, say): a scenario on virtual time must pass
                        the same way, and one that fails only with it depends
                        on timing deskphone does not control
          --seed N      draw those delays from N (default: a random seed,
                        printed), to run a failure again
          --pcap FILE   write a pcapng capture of every scenario to FILE
                        (mode 0600): SIP in plain text, RTP decrypted, SDP
                        rewritten to plain RTP, no key written; the SIP
                        messages carry wall-clock times
check   validates the files and prints every error as file:line:column.

Exit codes: 0 all passed (or valid), 1 a scenario failed, 2 a file or path is
invalid, 130 the run was interrupted.
docs/scenarios.md documents the scenario format.
`,
	}
	c.run = func(args []string, stdout, stderr io.Writer) error {
		if len(args) == 0 {
			fmt.Fprint(stderr, c.usage)
			return errUsage
		}
		sub, args := args[0], args[1:]
		fs := newFlags(&c, stderr)
		var files listFlag
		fs.Var(&files, "catalog", "")
		jobs := fs.Int("j", 1, "")
		junit := fs.String("junit", "", "")
		jsonOut := fs.String("json", "", "")
		realtime := fs.Bool("realtime", false, "")
		sipDelay := fs.Duration("sip-delay", 0, "")
		seed := fs.Uint64("seed", 0, "")
		pcapFile := fs.String("pcap", "", "")
		paths, err := parseInterleaved(fs, args)
		if err != nil {
			return errUsage
		}
		if sub != "run" && sub != "check" {
			return fmt.Errorf("unknown scenario command %q (run, check)", sub)
		}
		if len(paths) == 0 {
			return fmt.Errorf("%s needs a scenario file or folder", sub)
		}
		cat, err := catalog.Load(files...)
		if err != nil {
			return err
		}
		if paths, err = scenarioFiles(paths); err != nil {
			fmt.Fprintf(stderr, "deskphone scenario %s: %v\n", sub, err)
			return errInvalid
		}
		var scs []*scenarios.Scenario
		invalid := false
		for _, p := range paths {
			sc, err := scenarios.Load(p, cat)
			if err != nil {
				invalid = true
				fmt.Fprintln(stderr, err)
				continue
			}
			scs = append(scs, sc)
		}
		if invalid {
			return errInvalid
		}
		if sub == "check" {
			fmt.Fprintf(stdout, "%d scenario file(s) valid\n", len(scs))
			return nil
		}
		if *jobs < 1 {
			return errors.New("-j needs at least 1")
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		base := scenarios.Options{Catalog: cat, Realtime: *realtime}
		if *sipDelay < 0 {
			return fmt.Errorf("--sip-delay %v: want a positive duration", *sipDelay)
		}
		if *sipDelay > 0 {
			base.SIPDelay, base.Seed = *sipDelay, *seed
			if !flagSet(fs, "seed") {
				base.Seed = rand.Uint64()
			}
			fmt.Fprintf(stdout, "every SIP delivery delayed by up to %v, seed %d\n", base.SIPDelay, base.Seed)
		}
		ring := siptrace.NewRing(2000)
		base.SIP = ring
		if *pcapFile != "" {
			pcap, err := openPcap(*pcapFile, stderr)
			if err != nil {
				return err
			}
			defer pcap.Close()
			base.Tap = pcap
			siptrace.Install(ring, pcap)
		} else {
			siptrace.Install(ring)
		}
		results := runScenarios(ctx, scs, base, *jobs, stdout)
		// Scenarios an interruption kept from starting have no result.
		results = slices.DeleteFunc(results, func(r scenarios.Result) bool { return r.Name == "" })
		if *junit != "" {
			if err := writeReport(*junit, results, scenarios.WriteJUnit); err != nil {
				return err
			}
		}
		if *jsonOut != "" {
			if err := writeReport(*jsonOut, results, scenarios.WriteJSON); err != nil {
				return err
			}
		}
		failed, interrupted := 0, 0
		for _, r := range results {
			switch {
			case r.Interrupted:
				interrupted++
			case !r.Passed:
				failed++
			}
		}
		if ctx.Err() != nil {
			fmt.Fprintf(stdout, "\ninterrupted: %d of %d scenario(s) started: %d passed, %d failed, %d interrupted\n",
				len(results), len(scs), len(results)-failed-interrupted, failed, interrupted)
			return errInterrupted
		}
		fmt.Fprintf(stdout, "\n%d scenario(s): %d passed, %d failed\n", len(results), len(results)-failed, failed)
		if failed > 0 {
			return errFailed
		}
		return nil
	}
	return c
}

// runScenarios runs the scenarios, jobs at a time, and prints their
// progress: live with one job, a block per scenario with more.
func runScenarios(ctx context.Context, scs []*scenarios.Scenario, base scenarios.Options, jobs int, out io.Writer) []scenarios.Result {
	results := make([]scenarios.Result, len(scs))
	var mu sync.Mutex
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	for i, sc := range scs {
		sem <- struct{}{}
		if ctx.Err() != nil {
			break // interrupted: start no more
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var buf bytes.Buffer
			w := io.Writer(&buf)
			if jobs == 1 {
				w = out
			}
			mu.Lock()
			fmt.Fprintf(w, "=== %s (%s)\n", sc.Name, sc.File)
			mu.Unlock()
			opts := base
			opts.Progress = func(st scenarios.StepResult) {
				mu.Lock()
				fmt.Fprintln(w, scenarios.ProgressLine(st))
				mu.Unlock()
			}
			res := scenarios.Run(ctx, sc, opts)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case res.Passed:
				fmt.Fprintf(w, "--- PASS %s (%v wall, %v scenario time)\n", sc.Name, res.Wall.Round(1e6), res.Virtual)
			case res.Interrupted:
				fmt.Fprintf(w, "--- INTERRUPTED %s\n%s\n", sc.Name, indent(res.Details()))
			default:
				fmt.Fprintf(w, "--- FAIL %s\n%s\n", sc.Name, indent(res.Details()))
			}
			if jobs > 1 {
				out.Write(buf.Bytes())
			}
			results[i] = res
		}()
	}
	wg.Wait()
	return results
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

func writeReport(path string, results []scenarios.Result, write func(io.Writer, []scenarios.Result) error) error {
	var buf bytes.Buffer
	if err := write(&buf, results); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// scenarioFiles expands folders into their scenario files, sorted.
func scenarioFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		info, err := os.Stat(a)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such file or folder", a)
		}
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			out = append(out, a)
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) && isScenario(path) {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("no scenario files in %s or its subfolders", a)
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}

// isScenario tells a scenario (a mapping) from an include file (a list of
// steps). A file that does not parse counts as a scenario, so check reports
// its error.
func isScenario(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return true
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return true
	}
	return doc.Content[0].Kind != yaml.SequenceNode
}

// parseInterleaved parses flags that may come before, between or after the
// positional arguments, as in "scenario run lib/ --junit out.xml".
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
