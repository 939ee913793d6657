package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The README's examples are tests: every ```console block is run (its `$ `
// lines, with `> ` continuation lines, in one bash with the built deskphone
// first on the PATH) and its output compared, and every ```yaml block that
// starts with a `# file: NAME` line is written to NAME in the examples'
// working folder first, so a block can use the files shown above it. A
// change to the README that breaks an example fails here.
//
// Expected output is matched line by line; a line `...` stands for any
// number of lines, and text in an expected line is matched literally except
// that `...` inside a line matches anything.

// readmeBlock is one fenced block of the README.
type readmeBlock struct {
	lang  string
	line  int // of the opening fence
	lines []string
}

func readmeBlocks(t *testing.T) []readmeBlock {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var blocks []readmeBlock
	var cur *readmeBlock
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &readmeBlock{lang: strings.TrimSpace(strings.TrimPrefix(line, "```")), line: n}
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.lines = append(cur.lines, line)
		}
	}
	if cur != nil {
		t.Fatalf("README.md:%d: unclosed code block", cur.line)
	}
	return blocks
}

// A runnable example must sit in a console block, where it is tested; an
// indented block is for synopses only.
func TestREADMEHasNoUntestedExamples(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	fenced := false
	for n, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		if fenced || !strings.HasPrefix(line, "    ") {
			continue
		}
		code := strings.TrimSpace(line)
		if strings.HasPrefix(code, "printf ") || strings.Contains(code, "| deskphone") ||
			strings.HasPrefix(code, "deskphone ") && !synopsis.MatchString(code) {
			t.Errorf("README.md:%d: %q is an example outside a ```console block, so no test runs it", n+1, code)
		}
	}
}

// synopsis tells a usage line (placeholders in capitals, optional parts in
// brackets) from an example.
var synopsis = regexp.MustCompile(`\[|\.\.\.|\b[A-Z][A-Z_]+\b`)

func TestREADMEExamples(t *testing.T) {
	work := t.TempDir()
	// The examples run as from a clone's root: its folders are there.
	for _, name := range []string{"scenarios", "phone", "certs", "backend"} {
		if err := os.Symlink(filepath.Join(repoRoot(t), name), filepath.Join(work, name)); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Dir(binary)
	blocks := readmeBlocks(t)
	ran := 0
	for _, b := range blocks {
		if b.lang == "yaml" && len(b.lines) > 0 && strings.HasPrefix(b.lines[0], "# file: ") {
			name := strings.TrimSpace(strings.TrimPrefix(b.lines[0], "# file: "))
			path := filepath.Join(work, name)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(strings.Join(b.lines[1:], "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if b.lang != "console" {
			continue
		}
		ran++
		script, want := splitConsole(b.lines)
		t.Run(fmt.Sprintf("line%d", b.line), func(t *testing.T) {
			got := runExample(t, work, bin, script)
			if err := matchOutput(want, got); err != nil {
				t.Errorf("README.md:%d: %v\n--- script:\n%s\n--- output:\n%s", b.line, err, script, got)
			}
		})
	}
	if ran == 0 {
		t.Fatal("README.md has no console examples")
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// splitConsole separates a console block into its commands and the output
// they must print.
func splitConsole(lines []string) (script string, want []string) {
	var cmds []string
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "$ "):
			cmds = append(cmds, strings.TrimPrefix(l, "$ "))
		case strings.HasPrefix(l, "> ") && len(cmds) > 0:
			cmds[len(cmds)-1] += "\n" + strings.TrimPrefix(l, "> ")
		default:
			want = append(want, l)
		}
	}
	return strings.Join(cmds, "\n"), want
}

// runExample runs script in bash in dir, with background jobs ended at exit,
// and returns what it printed on stdout and stderr.
func runExample(t *testing.T, dir, bin, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	full := "set -e\ntrap 'kill $(jobs -p) 2>/dev/null || true; wait' EXIT\n" + script + "\n"
	cmd := exec.CommandContext(ctx, "bash", "-c", full)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("example failed: %v", err)
	}
	return out.String()
}

// matchOutput checks got against the expected lines, where `...` alone is
// any number of lines and `...` within a line is any text.
func matchOutput(want []string, got string) error {
	gotLines := strings.Split(strings.TrimRight(got, "\n"), "\n")
	if got == "" {
		gotLines = nil
	}
	if matchLines(want, gotLines) {
		return nil
	}
	return fmt.Errorf("output does not match the README:\n--- want:\n%s", strings.Join(want, "\n"))
}

func matchLines(want, got []string) bool {
	if len(want) == 0 {
		return len(got) == 0
	}
	if strings.TrimSpace(want[0]) == "..." {
		for i := 0; i <= len(got); i++ {
			if matchLines(want[1:], got[i:]) {
				return true
			}
		}
		return false
	}
	if len(got) == 0 || !lineMatches(want[0], got[0]) {
		return false
	}
	return matchLines(want[1:], got[1:])
}

func lineMatches(want, got string) bool {
	parts := strings.Split(want, "...")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$").MatchString(strings.TrimRight(got, " "))
}
