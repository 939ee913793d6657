package scenarios_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/scenarios"
)

func TestMain(m *testing.M) {
	sip.SetDefaultLogger(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

func builtin(t testing.TB) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// Every scenario of the library passes.
func TestLibrary(t *testing.T) {
	files, err := filepath.Glob("library/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no library scenarios: %v", err)
	}
	cat := builtin(t)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			sc, err := scenarios.Load(f, cat)
			if err != nil {
				t.Fatal(err)
			}
			res := scenarios.Run(context.Background(), sc, scenarios.Options{Catalog: cat})
			if !res.Passed {
				var b strings.Builder
				for name, s := range res.Screens {
					b.WriteString(name + ":\n" + s + strings.Join(res.Logs[name], "\n") + "\n")
				}
				t.Fatalf("%s\n%s", res.Failure, b.String())
			}
			t.Logf("%d steps, %v of scenario time in %v", len(res.Steps), res.Virtual, res.Wall)
		})
	}
}
