package phone

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/phone/catalog"
)

// An update that fails on the update server's certificate shows the
// vendor's wording, never Go's x509 text, which stays in update_error
// and the syslog; a later failed check keeps it so.
func TestUpdateFailureWordedByVendor(t *testing.T) {
	cat, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range cat.ModelIDs() {
		t.Run(id, func(t *testing.T) {
			m, _ := cat.Model(id)
			p, err := New(m, "", WithClock(clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))), WithStateDir(t.TempDir()))
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			x := &url.Error{Op: "Get", URL: "https://updates.test/metadata/timestamp.json", Err: x509.UnknownAuthorityError{}}
			_ = p.do(func() {
				p.s.update.offer = &offer{version: "9.9.9", source: sourceInBand}
				p.updateFailed(fmt.Errorf("update metadata: %w", x))
			})
			want := m.Vendor.Update.Reasons["untrusted"]
			text := p.Screen().Plain()
			if strings.Contains(text, "x509") || !strings.Contains(text, want) {
				t.Fatalf("the screen shows:\n%s\nwant %q and no x509 text", text, want)
			}
			var st Status
			_ = p.do(func() { st = p.status() })
			if !strings.Contains(st.UpdateError, "x509: certificate signed by unknown authority") {
				t.Errorf("update_error %q lost the raw text", st.UpdateError)
			}
			_ = p.do(func() { p.onCheck([]checkResult{{source: sourceInBand, err: x}}) })
			if text := p.Screen().Plain(); strings.Contains(text, "x509") {
				t.Fatalf("after a failed check the screen shows:\n%s", text)
			}
		})
	}
}
