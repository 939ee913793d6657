package scenarios_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/deskphone/deskphone/internal/labdir"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/scenarios"
)

func TestMain(m *testing.M) {
	sip.SetDefaultLogger(slog.New(slog.DiscardHandler))
	os.Exit(labdir.RunTests(m))
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

// Every scenario of the library passes the same way when each delivery of
// a SIP message, to a phone or to the cloud, comes a few milliseconds
// late: virtual time waits for what is on its way, however long it takes.
// The runs mostly wait, so eight go at once.
func TestLibraryUnderSIPDelay(t *testing.T) {
	files, err := filepath.Glob("library/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no library scenarios: %v", err)
	}
	seeds := []uint64{1, 2, 3}
	if testing.Short() {
		seeds = seeds[:1]
	}
	cat := builtin(t)
	type run struct {
		name string
		sc   *scenarios.Scenario
		seed uint64
		res  scenarios.Result
	}
	var runs []*run
	for _, f := range files {
		sc, err := scenarios.Load(f, cat)
		if err != nil {
			t.Fatal(err)
		}
		for _, seed := range seeds {
			runs = append(runs, &run{name: fmt.Sprintf("%s/seed=%d", strings.TrimSuffix(filepath.Base(f), ".yaml"), seed), sc: sc, seed: seed})
		}
	}
	// A scenario of hundreds of phones takes the room of eight small ones:
	// it runs alone, as its settling is bounded in wall time.
	const room = 8
	sem := make(chan struct{}, room)
	var wg sync.WaitGroup
	for _, r := range runs {
		// Only this loop takes room, so a big one waiting for all of it
		// never holds part of it against another.
		w := min(room, max(1, len(r.sc.Phones)/32))
		for range w {
			sem <- struct{}{}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				for range w {
					<-sem
				}
			}()
			r.res = scenarios.Run(context.Background(), r.sc, scenarios.Options{Catalog: cat, SIPDelay: sipDelay, Seed: r.seed})
		}()
	}
	wg.Wait()
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			if !r.res.Passed {
				t.Fatalf("%s", r.res.Details())
			}
		})
	}
}

// sipDelay bounds the random lateness of each SIP delivery in the tests
// that run scenarios under delays: longer than a goroutine's hand-over,
// short enough for a scenario of a hundred messages.
const sipDelay = 5 * time.Millisecond

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
