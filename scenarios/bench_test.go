package scenarios_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deskphone/deskphone/scenarios"
)

// BenchmarkDayOnVirtualTime runs 24 hours of phone time per iteration
// (registration refreshes, keep-alives, clock ticks) for 3 and for 100
// phones of mixed vendors, then a call between the first two; the target is
// under 5 s of wall time for 100 phones.
func BenchmarkDayOnVirtualTime(b *testing.B) {
	cat := builtin(b)
	for _, n := range []int{3, 30, 100} {
		b.Run(fmt.Sprintf("phones=%d", n), func(b *testing.B) {
			sc, err := scenarios.Parse(fmt.Sprintf("day-%d.yaml", n), dayScenario(n), cat)
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < b.N; i++ {
				if res := scenarios.Run(context.Background(), sc, scenarios.Options{Catalog: cat}); !res.Passed {
					b.Fatal(res.Failure)
				}
			}
		})
	}
}

// dayScenario is n phones idle for a day, then a call.
func dayScenario(n int) []byte {
	models := []string{"c450hd", "t48g", "vvx601", "vvx501", "t46g"}
	var b strings.Builder
	b.WriteString("name: A day of " + fmt.Sprint(n) + " phones\nbackend:\n  users:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "    - {user: p%03d, password: secret}\n", i)
	}
	b.WriteString("phones:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - {name: p%03d, model: %s}\n", i, models[i%len(models)])
	}
	b.WriteString("steps:\n  - parallel:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "      - {phone: p%03d, wait: {registered: yes}}\n", i)
	}
	b.WriteString(`  - advance: 24h
  - {phone: p000, expect: {registered: yes, status: {time: "2026-01-06T09:00:00Z"}}}
  - {phone: p000, dial: p001}
  - {phone: p001, wait: {call: ringing}}
`)
	return []byte(b.String())
}

// BenchmarkLibrary runs every library scenario per iteration; the target
// is under a minute.
func BenchmarkLibrary(b *testing.B) {
	cat := builtin(b)
	files, _ := filepath.Glob("library/*.yaml")
	var scs []*scenarios.Scenario
	for _, f := range files {
		sc, err := scenarios.Load(f, cat)
		if err != nil {
			b.Fatal(err)
		}
		scs = append(scs, sc)
	}
	for i := 0; i < b.N; i++ {
		for _, sc := range scs {
			if res := scenarios.Run(context.Background(), sc, scenarios.Options{Catalog: cat}); !res.Passed {
				b.Fatalf("%s: %s", sc.File, res.Failure)
			}
		}
	}
}
