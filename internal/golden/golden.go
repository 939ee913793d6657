// Package golden compares a test's output with a file recorded under
// testdata/, or rewrites the file when the test package's -update flag is
// set. The files are the contracts users' scripts read (headless replies,
// status keys, scenario reports, the control API, the metrics): a change
// to one shows up in review as a diff of a .golden file.
package golden

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// Check compares got with testdata/name.golden, or writes it when update
// is set (each test package declares its own -update flag, as phone/ did
// first, and passes its value).
func Check(t testing.TB, update bool, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run '%s' -update records it)", err, t.Name())
	}
	if !bytes.Equal(want, []byte(got)) {
		t.Errorf("%s differs from %s (go test -run '%s' -update rewrites it after review)\n%s",
			name, path, t.Name(), diff(string(want), got))
	}
}

// Rule replaces what its pattern matches with a fixed text: the volatile
// parts of an output (wall times, ports, MACs, tokens) made stable.
type Rule struct {
	Pattern *regexp.Regexp
	With    string
}

// Normalise applies the rules in order.
func Normalise(s string, rules ...Rule) string {
	for _, r := range rules {
		s = r.Pattern.ReplaceAllString(s, r.With)
	}
	return s
}

// Common rules: loopback ports, MAC addresses, and the media line of a
// call screen, whose counters run in wall time.
var (
	Port      = Rule{regexp.MustCompile(`127\.0\.0\.1:\d+`), "127.0.0.1:PORT"}
	MAC       = Rule{regexp.MustCompile(`(?i)\b[0-9a-f]{2}(:[0-9a-f]{2}){5}\b`), "MAC"}
	CallStats = Rule{regexp.MustCompile(`tx \d+ rx \d+ lost \d+  MOS \d+\.\d+ *\|`), "tx N rx N lost N  MOS N |"}
)

// diff lists the lines that differ, with their numbers: enough to read a
// contract change without a diff tool.
func diff(want, got string) string {
	w, g := bytes.Split([]byte(want), []byte("\n")), bytes.Split([]byte(got), []byte("\n"))
	var b bytes.Buffer
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl []byte
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if !bytes.Equal(wl, gl) {
			fmt.Fprintf(&b, "line %d:\n  want: %s\n  got:  %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}
