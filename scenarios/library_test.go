package scenarios_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// --realtime runs the same scenario on the wall clock; advance jumps it.
func TestRealtime(t *testing.T) {
	cat := builtin(t)
	sc, err := scenarios.Load("library/echo-call.yaml", cat)
	if err != nil {
		t.Fatal(err)
	}
	res := scenarios.Run(context.Background(), sc, scenarios.Options{Catalog: cat, Realtime: true})
	if !res.Passed {
		t.Fatalf("%s\n%s", res.Failure, res.Details())
	}
	if res.Virtual < time.Minute {
		t.Fatalf("scenario time %v, want at least the minute advanced", res.Virtual)
	}
}

// The JUnit and JSON reports carry every scenario and the failure details.
func TestReports(t *testing.T) {
	results := []scenarios.Result{
		{Name: "good", File: "a.yaml", Passed: true, Steps: []scenarios.StepResult{{Desc: "dial echo", OK: true}}},
		{Name: "bad <&>", File: "b.yaml", Failure: "b.yaml:3:5: wait: timed out", Screens: map[string]string{"alice": "SCREEN\n"}, Logs: map[string][]string{"alice": {"log line"}}},
	}
	var junit, js strings.Builder
	if err := scenarios.WriteJUnit(&junit, results); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`tests="2"`, `failures="1"`, `name="bad &lt;&amp;&gt;"`, `message="b.yaml:3:5: wait: timed out"`, "SCREEN", "log line"} {
		if !strings.Contains(junit.String(), want) {
			t.Errorf("JUnit lacks %q:\n%s", want, junit.String())
		}
	}
	if err := scenarios.WriteJSON(&js, results); err != nil {
		t.Fatal(err)
	}
	var parsed []map[string]any
	if err := json.Unmarshal([]byte(js.String()), &parsed); err != nil || len(parsed) != 2 || parsed[1]["passed"] != false {
		t.Fatalf("JSON report: %v\n%s", err, js.String())
	}
}
