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
	"syscall"
	"testing"
	"time"
	"unicode"
)

// The examples of the README and of every page in docs/ are tests: every
// ```console block is run (its `$ ` lines, with `> ` continuation lines, in
// one bash with the built deskphone first on the PATH) and its output
// compared, and every ```yaml block that starts with a `# file: NAME` line is
// written to NAME in the examples' working folder first, so a block can use
// the files shown above it in the same page. Each page has a working folder
// of its own. A change to a page that breaks an example fails here.
//
// Expected output is matched line by line; a line `...` stands for any
// number of lines, and text in an expected line is matched literally except
// that `...` inside a line matches anything.

// docBlock is one fenced block of a page.
type docBlock struct {
	lang  string
	line  int // of the opening fence
	lines []string
}

// docBlocks reads the fenced blocks of the page at rel (from the repository
// root).
func docBlocks(t *testing.T, rel string) []docBlock {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	var blocks []docBlock
	var cur *docBlock
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &docBlock{lang: strings.TrimSpace(strings.TrimPrefix(line, "```")), line: n}
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.lines = append(cur.lines, line)
		}
	}
	if cur != nil {
		t.Fatalf("%s:%d: unclosed code block", rel, cur.line)
	}
	return blocks
}

// docPages lists the pages under docs/, as paths from the repository root.
func docPages(t *testing.T) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(repoRoot(t), "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("docs/ has no pages")
	}
	pages := make([]string, len(names))
	for i, n := range names {
		pages[i] = filepath.ToSlash(filepath.Join("docs", filepath.Base(n)))
	}
	return pages
}

// A runnable example must sit in a console block, where it is tested; an
// indented block is for synopses only.
func TestREADMEHasNoUntestedExamples(t *testing.T) {
	checkNoUntestedExamples(t, "README.md")
}

func TestDocsHaveNoUntestedExamples(t *testing.T) {
	for _, page := range docPages(t) {
		checkNoUntestedExamples(t, page)
	}
}

func checkNoUntestedExamples(t *testing.T, rel string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
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
			t.Errorf("%s:%d: %q is an example outside a ```console block, so no test runs it", rel, n+1, code)
		}
	}
}

// synopsis tells a usage line (placeholders in capitals, optional parts in
// brackets) from an example.
var synopsis = regexp.MustCompile(`\[|\.\.\.|\b[A-Z][A-Z_]+\b`)

func TestREADMEExamples(t *testing.T) {
	if runPageExamples(t, "README.md") == 0 {
		t.Fatal("README.md has no console examples")
	}
}

// TestDocsExamples runs the examples of each page in docs/, as
// TestDocsExamples/<page>/line<N>.
func TestDocsExamples(t *testing.T) {
	for _, page := range docPages(t) {
		t.Run(filepath.Base(page), func(t *testing.T) {
			runPageExamples(t, page)
		})
	}
}

// runPageExamples runs the examples of the page at rel in a working folder of
// their own, one subtest line<N> per console block, and returns how many
// it ran.
func runPageExamples(t *testing.T, rel string) int {
	t.Helper()
	work := t.TempDir()
	// The examples run as from a clone's root: its folders are there.
	for _, name := range []string{"scenarios", "phone", "certs", "backend"} {
		if err := os.Symlink(filepath.Join(repoRoot(t), name), filepath.Join(work, name)); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Dir(binary)
	ran := 0
	for _, b := range docBlocks(t, rel) {
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
				t.Errorf("%s:%d: %v\n--- script:\n%s\n--- output:\n%s%s", rel, b.line, err, script, got, logTails(work))
			}
		})
	}
	return ran
}

// logTails is the end of each *.log file in dir: what the example's
// background processes said, to tell why an example failed.
func logTails(dir string) string {
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	var b strings.Builder
	for _, name := range logs {
		data, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		fmt.Fprintf(&b, "--- %s (last lines):\n%s\n", filepath.Base(name), strings.Join(lines[max(0, len(lines)-20):], "\n"))
	}
	return b.String()
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
	// The example and what it starts in the background are a process
	// group of their own: an example killed at its timeout skips its
	// trap, and its servers must not live on holding the ports the next
	// examples use.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
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
	return fmt.Errorf("output does not match the page:\n--- want:\n%s", strings.Join(want, "\n"))
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

// TestDocsLinks checks every link from one page of the documentation
// (README.md, DESIGN.md, docs/*.md) to another: the page exists and, when
// the link names a heading (#anchor), the page has that heading, so moving
// a section cannot leave a link behind. Every page in docs/ is linked from
// the README.
func TestDocsLinks(t *testing.T) {
	pages := append([]string{"README.md", "DESIGN.md"}, docPages(t)...)
	anchors := map[string]map[string]bool{}
	for _, p := range pages {
		anchors[p] = headingAnchors(t, p)
	}
	linked := map[string]bool{}
	for _, p := range pages {
		data, err := os.ReadFile(filepath.Join(repoRoot(t), p))
		if err != nil {
			t.Fatal(err)
		}
		for n, line := range strings.Split(string(data), "\n") {
			for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
				target, anchor, _ := strings.Cut(m[1], "#")
				if strings.Contains(target, "://") || strings.HasPrefix(m[1], "mailto:") {
					continue
				}
				dest := p
				if target != "" {
					dest = filepath.ToSlash(filepath.Join(filepath.Dir(p), target))
				}
				if !strings.HasSuffix(dest, ".md") {
					if _, err := os.Stat(filepath.Join(repoRoot(t), dest)); err != nil {
						t.Errorf("%s:%d: link to %s: no such file", p, n+1, m[1])
					}
					continue
				}
				if p == "README.md" {
					linked[dest] = true
				}
				heads, ok := anchors[dest]
				if !ok {
					t.Errorf("%s:%d: link to %s: no such page", p, n+1, m[1])
					continue
				}
				if anchor != "" && !heads[anchor] {
					t.Errorf("%s:%d: link to %s: %s has no heading #%s", p, n+1, m[1], dest, anchor)
				}
			}
		}
	}
	for _, p := range docPages(t) {
		if !linked[p] {
			t.Errorf("README.md does not link to %s", p)
		}
	}
}

// mdLink finds the target of a markdown link: [text](target).
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// headingAnchors lists the anchors GitHub makes for a page's headings:
// lower case, punctuation but - and _ dropped, spaces turned into -, and a
// -N suffix on a repeated one.
func headingAnchors(t *testing.T, rel string) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	for _, b := range docHeadings(t, rel) {
		var sb strings.Builder
		for _, r := range strings.ToLower(b) {
			switch {
			case r == ' ':
				sb.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				sb.WriteRune(r)
			}
		}
		a := sb.String()
		for i := 1; seen[a]; i++ {
			a = fmt.Sprintf("%s-%d", sb.String(), i)
		}
		seen[a] = true
	}
	return seen
}

// docHeadings returns the text of a page's headings, outside code blocks.
func docHeadings(t *testing.T, rel string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	var heads []string
	fenced := false
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		if fenced || !strings.HasPrefix(line, "#") {
			continue
		}
		text := strings.TrimLeft(line, "#")
		if text == line || !strings.HasPrefix(text, " ") {
			continue
		}
		heads = append(heads, strings.TrimSpace(text))
	}
	return heads
}
