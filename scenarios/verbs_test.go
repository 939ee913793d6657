package scenarios

import (
	"testing"

	"github.com/deskphone/deskphone/driver"
)

// Every phone step of the format is a verb of the driver; only the steps
// that shape the run itself are the runner's own.
func TestStepsAreDriverVerbs(t *testing.T) {
	runner := []string{"backend", "parallel", "repeat", "include", "expect_count"}
	for _, k := range stepKinds {
		if contains(runner, k) {
			continue
		}
		if _, ok := driver.Lookup(k); !ok {
			t.Errorf("step %q has no driver verb", k)
		}
	}
}
