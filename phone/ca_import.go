// Import Root CA: the menu entry that adds a trusted root.

package phone

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/deskphone/deskphone/certs"
)

// importCA asks for a certificate file and imports it into the CA store;
// like the real phones, it is trusted from the next boot on.
func importCA(in *entry, cas *certs.Store, env partEnv) {
	in.ask("Certificate file:", func(path string) {
		if strings.TrimSpace(path) == "" {
			env.alert("Import failed: no file given")
			return
		}
		entries, err := cas.ImportFile(path)
		if err != nil {
			env.logf("ca", "err", "ca", "import of %s failed: %v", path, err)
			env.alert("Import failed: " + importProblem(path, err))
			return
		}
		for _, e := range entries {
			env.logf("ca", "notice", "ca", "imported root %s (%s), active after reboot", e.Subject, e.Fingerprint[:16])
		}
		env.alert(fmt.Sprintf("Imported %s. Reboot to apply", count(len(entries), "certificate", "certificates")))
	})
}

// importProblem words a failed import for the LCD; the syslog has the error
// in full.
func importProblem(path string, err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no file " + path
	case errors.Is(err, fs.ErrPermission):
		return "cannot read " + path
	}
	return err.Error()
}
