// Package layers holds the test that keeps the import graph the way
// DESIGN.md draws it: the mock cloud is a peer on the wire and never links
// the firmware, and the firmware never reaches the programs built on it.
package layers

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/deskphone/deskphone/"

// forbidden maps a package tree to the trees it must never reach, directly
// or through any other package.
var forbidden = map[string][]string{
	"backend":   {"phone", "ui", "headless", "scenarios", "driver", "fleet"},
	"phone":     {"ui", "headless", "scenarios", "backend", "driver", "fleet", "cmd"},
	"ui":        {"headless", "scenarios", "backend", "fleet", "cmd"},
	"headless":  {"ui", "scenarios", "backend", "fleet", "cmd"},
	"clock":     {"phone", "backend", "media"},
	"media":     {"phone", "backend"},
	"codecs":    {"phone", "backend", "media", "certs"},
	"certs":     {"phone", "backend", "media", "codecs"},
	"scenarios": {"ui", "headless", "cmd", "fleet"},
	"fleet":     {"ui", "scenarios", "backend", "cmd"},
	"firmware":  {"phone", "backend", "driver"},
	"cloud":     {"ui", "headless", "scenarios", "fleet", "cmd"},
	"btoe":      {"ui", "headless", "scenarios", "backend", "fleet", "cmd"},
	// The tests' helpers are leaves every package's tests may import.
	"internal/testwait": {"phone", "backend", "driver", "media", "fleet", "scenarios", "headless", "ui", "cmd"},
	"internal/golden":   {"phone", "backend", "driver", "media", "fleet", "scenarios", "headless", "ui", "cmd"},
	// The update agent reaches the phone through its Env only, never the
	// SIP side.
	"phone/update": {"phone/sipua"},
}

// direct maps a package tree to trees it may reach only through others: a
// thin layer on the driver does not import the firmware itself.
var direct = map[string][]string{
	"headless": {"phone"},
}

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps=false", "-json=ImportPath,Imports,Deps", module+"...").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		rel := strings.TrimPrefix(p.ImportPath, module)
		for tree, bans := range direct {
			if !within(rel, tree) {
				continue
			}
			for _, imp := range p.Imports {
				for _, ban := range bans {
					if d := strings.TrimPrefix(imp, module); imp != d && d == ban {
						t.Errorf("%s imports %s itself; it goes through driver/", rel, d)
					}
				}
			}
		}
		for tree, bans := range forbidden {
			if !within(rel, tree) {
				continue
			}
			seen++
			for _, dep := range p.Deps {
				if !strings.HasPrefix(dep, module) {
					continue
				}
				d := strings.TrimPrefix(dep, module)
				for _, ban := range bans {
					if within(d, ban) && !within(d, tree) {
						t.Errorf("%s reaches %s (no package under %s/ may import %s/)", rel, d, tree, ban)
					}
				}
			}
		}
	}
	if seen < len(forbidden) {
		t.Fatalf("only %d packages checked: go list found too little", seen)
	}
}

// within reports whether the package path rel lies in the tree root.
func within(rel, root string) bool {
	return rel == root || strings.HasPrefix(rel, root+"/")
}
