package scenarios_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/deskphone/deskphone/scenarios"
)

// BenchmarkDayOnVirtualTime runs 24 hours of phone time (two phones,
// registration refreshes, keep-alives and clock ticks) per iteration; the
// target is well under 2 s of wall time.
func BenchmarkDayOnVirtualTime(b *testing.B) {
	cat := builtin(b)
	sc, err := scenarios.Load("library/registration-day.yaml", cat)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		if res := scenarios.Run(context.Background(), sc, scenarios.Options{Catalog: cat}); !res.Passed {
			b.Fatal(res.Failure)
		}
	}
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
