package certs_test

import (
	"crypto/x509"
	"fmt"
	"log"
	"os"

	"github.com/deskphone/deskphone/certs"
)

// An AudioCodes 430HD on 3.2.1.580 ships only the old root. An
// administrator imports the new one; it is trusted after the reboot.
func ExampleStore() {
	dir, err := os.MkdirTemp("", "deskphone-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	store, err := certs.OpenStore(dir, []string{certs.FactoryRoot2019})
	if err != nil {
		log.Fatal(err)
	}
	newRoot, err := certs.FactoryRoot(certs.FactoryRoot2022)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := store.Import(newRoot.Raw); err != nil { // DER, as exported from Windows
		log.Fatal(err)
	}
	show := func() {
		for _, e := range store.List() {
			fmt.Printf("%-26s %-8s active=%v\n", e.Subject, e.Source, e.Active)
		}
	}
	show()
	fmt.Println("-- reboot --")
	if err := store.Reload(); err != nil {
		log.Fatal(err)
	}
	show()
	// Output:
	// Deskphone Lab Root CA 2019 factory  active=true
	// Deskphone Lab Root CA 2022 imported active=false
	// -- reboot --
	// Deskphone Lab Root CA 2019 factory  active=true
	// Deskphone Lab Root CA 2022 imported active=true
}

// The AudioCodes syslog line for a server whose issuer the phone lacks.
func ExampleClassify() {
	var err error = x509.UnknownAuthorityError{} // as returned by a TLS dial
	f := certs.Classify(err)
	fmt.Printf("server cert is invalid. ctx->error=%d %s\n", f.OpenSSLCode(), f.OpenSSLText())
	fmt.Println(f.Reason())
	// Output:
	// server cert is invalid. ctx->error=20 unable to get local issuer certificate
	// Untrusted certificate
}
