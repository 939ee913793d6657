package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

func certsCommand() command {
	c := command{
		name:    "certs",
		summary: "manage a phone's root-CA store, or create a lab PKI",
		usage: `Usage:
  deskphone certs list   --state DIR
  deskphone certs import --state DIR FILE...
  deskphone certs remove --state DIR FINGERPRINT
  deskphone certs lab    --out DIR [--host NAME]... [--factory] [--force]

list    shows the phone's trusted roots: the factory roots of its firmware and
        the imported ones. ACTIVE=no means imported since the last boot: like
        the real phones, an import takes effect after a reboot.
import  adds root certificates from PEM, DER or a PEM bundle.
remove  deletes an imported root (a unique fingerprint prefix is enough).
lab     writes a lab PKI into DIR: an "old" and a "new" root (to reproduce a
        root rotation), an intermediate under each, server certificates with DNS
        and IP SANs, the server-auth EKU and a CRL distribution point, and
        ca-bundle.pem. --factory issues from the lab-2019/lab-2022 roots every
        phone firmware ships with instead of fresh roots. Default hosts:
        localhost and 127.0.0.1. A DIR that already holds a lab PKI is left
        alone unless --force is given: its roots may be trusted by phones.
`,
	}
	c.run = func(args []string, stdout, stderr io.Writer) error {
		if len(args) == 0 {
			fmt.Fprint(stderr, c.usage)
			return errUsage
		}
		sub, args := args[0], args[1:]
		if !slices.Contains([]string{"list", "import", "remove", "lab"}, sub) {
			fmt.Fprintf(stderr, "deskphone certs: unknown command %q (list, import, remove, lab)\n", sub)
			return errUsage
		}
		fs := newFlags(&c, stderr)
		state := fs.String("state", "", "")
		out := fs.String("out", "", "")
		factory := fs.Bool("factory", false, "")
		force := fs.Bool("force", false, "")
		var hosts listFlag
		fs.Var(&hosts, "host", "")
		if err := fs.Parse(args); err != nil {
			return errUsage
		}
		if sub == "lab" {
			if *out == "" {
				return errors.New("lab needs --out DIR")
			}
			if !*force {
				if _, err := os.Stat(filepath.Join(*out, certs.LabOldRootCert)); err == nil {
					return fmt.Errorf("%s already holds a lab PKI (%s): phones may trust its roots; use --force to replace it", *out, certs.LabOldRootCert)
				}
			}
			lab, err := certs.GenerateLab(*out, certs.LabOptions{Hosts: hosts, UseFactoryRoots: *factory})
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "lab PKI in %s\n  old root %s\n  new root %s\n  server (old chain) %s\n  server (new chain) %s\n",
				lab.Dir, certs.Fingerprint(lab.OldRoot.Cert)[:16], certs.Fingerprint(lab.NewRoot.Cert)[:16],
				lab.Path(certs.LabOldServerCert), lab.Path(certs.LabNewServerCert))
			return nil
		}
		if *state == "" {
			return fmt.Errorf("%s needs --state DIR", sub)
		}
		store, err := openPhoneStore(*state)
		if err != nil {
			return err
		}
		for _, d := range store.Damaged() {
			fmt.Fprintf(stderr, "deskphone certs: %s is damaged (%s); 'deskphone certs remove --state %s %s' deletes it\n",
				filepath.Join(*state, "ca", "imported", d.Name), d.Reason, *state, strings.TrimSuffix(d.Name, ".pem"))
		}
		switch sub {
		case "list":
			return listCerts(stdout, bootedState(*state, store.List()), store.Damaged())
		case "import":
			if fs.NArg() == 0 {
				return errors.New("import needs a FILE")
			}
			had := map[string]bool{}
			for _, e := range store.List() {
				had[e.Fingerprint] = true
			}
			for _, f := range fs.Args() {
				entries, err := store.ImportFile(f)
				if err != nil {
					return err
				}
				for _, e := range entries {
					if had[e.Fingerprint] {
						fmt.Fprintf(stdout, "already present %s %s (nothing to do)\n", e.Fingerprint[:16], e.Subject)
						continue
					}
					had[e.Fingerprint] = true
					fmt.Fprintf(stdout, "imported %s %s (trusted after the next reboot)\n", e.Fingerprint[:16], e.Subject)
				}
			}
			return nil
		case "remove":
			if fs.NArg() != 1 {
				return errors.New("remove needs one FINGERPRINT")
			}
			if err := store.Remove(fs.Arg(0)); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "removed %s (untrusted after the next reboot)\n", fs.Arg(0))
			return nil
		}
		return nil
	}
	return c
}

// openPhoneStore opens the CA store of the phone whose state is in dir,
// with the factory roots of the firmware installed there.
func openPhoneStore(dir string) (*certs.Store, error) {
	id, fw, err := statedir.Peek(dir)
	if err != nil {
		return nil, err
	}
	cat, err := catalog.Builtin()
	if err != nil {
		return nil, err
	}
	m, err := cat.Model(id.Model)
	if err != nil {
		return nil, err
	}
	f, err := m.FirmwareVersion(fw.Active)
	if err != nil {
		return nil, err
	}
	// A damaged imported file leaves the rest of the store usable: it is
	// listed, and remove can delete it.
	store, err := certs.OpenStore(dir, f.FactoryRoots)
	if store != nil && errors.Is(err, certs.ErrCorrupt) {
		return store, nil
	}
	return store, err
}

func listCerts(w io.Writer, entries []certs.Entry, damaged []certs.Damaged) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FINGERPRINT\tSOURCE\tACTIVE\tEXPIRES\tSUBJECT")
	for _, e := range entries {
		active := "no"
		if e.Active {
			active = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Fingerprint[:16], e.Source, active, e.NotAfter.Format(time.DateOnly), strings.TrimSpace(e.Subject))
	}
	for _, d := range damaged {
		name := strings.TrimSuffix(d.Name, ".pem")
		if len(name) > 16 {
			name = name[:16]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, "damaged", "no", "-", "DAMAGED: "+d.Reason)
	}
	return tw.Flush()
}

// bootedState marks as active the roots the phone trusted at its last boot
// (a fresh store counts every file it finds).
func bootedState(dir string, entries []certs.Entry) []certs.Entry {
	data, err := os.ReadFile(filepath.Join(dir, phone.BootedRootsFile))
	var booted []string
	if err == nil {
		json.Unmarshal(data, &booted)
	}
	for i := range entries {
		entries[i].Active = slices.Contains(booted, entries[i].Fingerprint)
	}
	return entries
}
