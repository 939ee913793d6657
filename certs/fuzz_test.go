package certs_test

import (
	"errors"
	"regexp"
	"testing"

	"github.com/deskphone/deskphone/certs"
)

// FuzzImport feeds arbitrary bytes to Store.Import, the parser an
// administrator's upload reaches. It must never panic, must fail only with
// the documented sentinels, and must return well-formed entries on success.
// Seeds: testdata/fuzz/FuzzImport.
func FuzzImport(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"))
	f.Add([]byte{0x30, 0x82, 0x01, 0x00})
	s, err := certs.OpenStore(f.TempDir(), []string{certs.FactoryRoot2019})
	if err != nil {
		f.Fatal(err)
	}
	hexFP := regexp.MustCompile(`^[0-9a-f]{64}$`)
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := s.Import(data)
		if err != nil {
			if !errors.Is(err, certs.ErrNotCertificate) && !errors.Is(err, certs.ErrNotCA) && !errors.Is(err, certs.ErrTooLarge) {
				t.Fatalf("Import error wraps no sentinel: %v", err)
			}
			return
		}
		if len(entries) == 0 {
			t.Fatal("Import succeeded with no entries")
		}
		for _, e := range entries {
			if !hexFP.MatchString(e.Fingerprint) {
				t.Errorf("bad fingerprint %q", e.Fingerprint)
			}
		}
	})
}
