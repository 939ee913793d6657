package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The gateway's admin commands against a standalone backend.
func TestBackendAdminGateway(t *testing.T) {
	b := startProc(t, "backend", "--listen", "tls:127.0.0.1:0", "--state", t.TempDir(), "--admin", "127.0.0.1:0", "--update", "", "--gateway", "127.0.0.1:0")
	admin := strings.TrimSuffix(strings.TrimPrefix(b.line("admin http://"), "admin http://"), "/admin/")
	if l := b.line("gateway "); !strings.HasPrefix(l, "gateway http://127.0.0.1:") || !strings.HasSuffix(l, "/emea (also /noam, /apac)") {
		t.Errorf("gateway line %q", l)
	}
	csv := filepath.Join(t.TempDir(), "phones.csv")
	if err := os.WriteFile(csv, []byte("Username,HardwareId\nalice,00-90-8f-12-34-56\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"gateway", "devices"}, 0, "[]"},
		{[]string{"gateway", "provision", "00-90-8f-12-34-56", "Reception", "desk"}, 0, `"location": "Reception desk"`},
		{[]string{"gateway", "code", "00-90-8f-12-34-56"}, 0, `"code": "`},
		{[]string{"gateway", "signout", "00-90-8f-12-34-56"}, 1, "no such device"},
		{[]string{"gateway", "bulk-signin", csv, "emea"}, 0, "Device not found in records."},
		{[]string{"gateway", "batch", "b1"}, 0, `"state": "completed"`},
		{[]string{"gateway", "bulk-signin", csv}, 1, ""},
	} {
		out, stderr, code := deskphone(t, "", append([]string{"backend", "admin", "--admin", admin}, c.args...)...)
		if code != c.code || !strings.Contains(out, c.want) {
			t.Errorf("%v: exit %d, %s%s", c.args, code, out, stderr)
		}
	}
}
