package firmware

import (
	"os"
	"testing"

	"github.com/deskphone/deskphone/internal/labdir"
)

// TestMain gives the tests a lab directory of their own (see labdir).
func TestMain(m *testing.M) { os.Exit(labdir.RunTests(m)) }
