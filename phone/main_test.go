package phone_test

import (
	"log/slog"
	"os"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/deskphone/deskphone/internal/labdir"
)

func TestMain(m *testing.M) {
	// sipgo's process-wide logger warns about connection housekeeping.
	sip.SetDefaultLogger(slog.New(slog.DiscardHandler))
	os.Exit(labdir.RunTests(m))
}
