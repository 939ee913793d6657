package scenarios_test

import (
	"context"
	"flag"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/internal/golden"
	"github.com/deskphone/deskphone/scenarios"
)

var update = flag.Bool("update", false, "rewrite the golden reports in testdata/reports/")

// The wall times a report shows, fixed so the golden keeps their format
// (seconds with three decimals, milliseconds, the progress column).
const (
	scenarioWall = 1234567 * time.Microsecond
	stepWall     = 12*time.Millisecond + 345*time.Microsecond
)

// reportVolatile are the parts of the failure details that differ from
// run to run: a phone's MAC and serial number, drawn at its first boot,
// the cloud's port and the call's media counters.
var reportVolatile = []golden.Rule{
	{Pattern: regexp.MustCompile(`((?:serial|sn)(?:=| |": "))[A-Za-z0-9-]{6,}`), With: "${1}SERIAL"},
	golden.MAC,
	golden.Port,
	golden.CallStats,
}

// TestGoldenReports records what scenario runs report, as CI reads it:
// the progress lines, the failure details, the JUnit and the JSON report,
// for a passing scenario, one with refusals asserted (notes), a failing
// one and an interrupted one, on virtual time, with wall times fixed.
// Recorded before issue 20's restructuring.
func TestGoldenReports(t *testing.T) {
	cat := builtin(t)
	var results []scenarios.Result
	var progress strings.Builder
	for _, f := range []string{"library/echo-call.yaml", "library/refusals.yaml", "testdata/reports/fails.yaml"} {
		sc, err := scenarios.Load(f, cat)
		if err != nil {
			t.Fatal(err)
		}
		progress.WriteString(sc.Name + "\n")
		res := scenarios.Run(context.Background(), sc, scenarios.Options{Catalog: cat, Progress: func(st scenarios.StepResult) {
			st.Wall = stepWall
			progress.WriteString(scenarios.ProgressLine(st) + "\n")
		}})
		res.Wall = scenarioWall
		stableLogs(res.Logs)
		for i := range res.Steps {
			res.Steps[i].Wall = stepWall
		}
		results = append(results, res)
	}
	if !results[0].Passed || !results[1].Passed || results[2].Passed {
		t.Fatalf("passed: %v %v %v, want the first two only\n%s", results[0].Passed, results[1].Passed, results[2].Passed, results[2].Details())
	}
	// Interrupted from outside (Ctrl-C): an error in JUnit, not a failure.
	results = append(results, scenarios.Result{Name: "stopped", File: "stopped.yaml", Interrupted: true,
		Failure: "stopped.yaml:4:5: wait {call: connected}: interrupted", Wall: scenarioWall, Virtual: 3 * time.Second,
		Steps: []scenarios.StepResult{{Pos: scenarios.Pos{File: "stopped.yaml", Line: 3, Col: 5}, Desc: "dial echo", OK: true, Wall: stepWall, At: time.Second}}})

	golden.Check(t, *update, "reports/progress", golden.Normalise(progress.String(), reportVolatile...))
	golden.Check(t, *update, "reports/details", golden.Normalise(results[2].Details(), reportVolatile...))
	var junit, js strings.Builder
	if err := scenarios.WriteJUnit(&junit, results); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, *update, "reports/junit.xml", golden.Normalise(junit.String(), reportVolatile...))
	if err := scenarios.WriteJSON(&js, results); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, *update, "reports/report.json", golden.Normalise(js.String(), reportVolatile...))
}

// stableLogs sorts each phone's syslog tail and drops its firmware-check
// lines: within one virtual instant, lines logged by different goroutines
// (the policy and the voicemail NOTIFY) come in either order, and what an
// update check logs comes when its service answers. The report's shape is
// the contract, not that order.
func stableLogs(logs map[string][]string) {
	for name, lines := range logs {
		lines = slices.DeleteFunc(lines, func(l string) bool { return strings.Contains(l, "checking for firmware") })
		slices.Sort(lines)
		logs[name] = lines
	}
}
