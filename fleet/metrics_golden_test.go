package fleet

import (
	"flag"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/internal/golden"
	"github.com/deskphone/deskphone/phone"
)

var update = flag.Bool("update", false, "rewrite the golden metrics exposition in testdata/")

// bootValue is the value of the boot-time histogram, measured in wall
// time from a phone's build: the series stay in the golden, their values
// do not.
var bootValue = golden.Rule{Pattern: regexp.MustCompile(`(?m)^(deskphone_boot_seconds_(?:bucket\{[^}]*\}|sum)) .*$`), With: "$1 V"}

// TestGoldenExposition records the fleet's own metrics as a scraper reads
// them (names, labels, HELP and TYPE lines and values) after two groups'
// phones registered, called and failed: the contract of dashboards and
// alerts, recorded before issue 20's restructuring. The Go and process
// collectors are the client library's and are only checked present.
func TestGoldenExposition(t *testing.T) {
	m := NewMetrics()
	New([]Member{{ID: "a", Group: "lobby"}, {ID: "b", Group: "desks"}}, Options{Metrics: m})
	w := &watcher{m: m, group: "lobby", built: time.Now()}
	for _, st := range []phone.Status{
		{Call: phone.CallIdle, Update: phone.UpdateNone},
		{Registered: true, Session: phone.SignedIn, Call: phone.CallIdle, Update: phone.UpdateNone},
		{Registered: true, Session: phone.SignedIn, Call: phone.CallCalling, Update: phone.UpdateNone},
		{Registered: true, Session: phone.SignedIn, Call: phone.CallConnected, MOS: 4.3, JitterMS: 2, SRTPAuthFail: 2, SRTPReplayed: 1, Update: phone.UpdateNone},
		{Registered: true, Session: phone.SignedIn, Call: phone.CallIdle, Update: phone.UpdateNone},
		{RegistrationError: "Forbidden (403)", Call: phone.CallIdle, Update: phone.UpdateNone},
		{Registered: true, Session: phone.SignedIn, Lock: phone.Locked, Call: phone.CallIdle, Update: phone.UpdateAvailable},
	} {
		w.observe(&st)
	}
	body := scrapeText(t, m)
	for _, want := range []string{"go_goroutines ", "go_memstats_alloc_bytes "} {
		if !strings.Contains(body, want) {
			t.Errorf("the Go collector's %s is missing", want)
		}
	}
	var own strings.Builder
	for _, line := range strings.SplitAfter(body, "\n") {
		if strings.HasPrefix(line, "deskphone_") || strings.HasPrefix(line, "# HELP deskphone_") || strings.HasPrefix(line, "# TYPE deskphone_") {
			own.WriteString(line)
		}
	}
	golden.Check(t, *update, "metrics", golden.Normalise(own.String(), bootValue))
}
