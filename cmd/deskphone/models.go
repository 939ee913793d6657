package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/deskphone/deskphone/phone/catalog"
)

func modelsCommand() command {
	c := command{
		name:    "models",
		summary: "list the phone models and firmware versions in the catalog",
		usage: `Usage: deskphone models [--catalog FILE]

Lists every model with its firmware versions and their traits: TLS versions,
factory root CAs, sign-in methods, lock type and client ID kind. The default
firmware of each model is marked with *.

Flags:
  --catalog FILE   extend the built-in catalog with FILE (repeatable)
`,
	}
	c.run = func(args []string, stdout, stderr io.Writer) error {
		fs := newFlags(&c, stderr)
		var files listFlag
		fs.Var(&files, "catalog", "catalog file")
		if err := parse(fs, args); err != nil {
			return err
		}
		cat, err := catalog.Load(files...)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "MODEL\tVENDOR\tNAME\tFIRMWARE\tTLS\tROOTS\tSIGN-IN\tLOCK\tCLIENT ID")
		for _, id := range cat.ModelIDs() {
			m, _ := cat.Model(id)
			for i, f := range m.Firmware {
				mark := " "
				if f.Version == m.DefaultFirmware {
					mark = "*"
				}
				model, vendor, name := m.ID, m.Vendor.Name, m.Name
				if i > 0 {
					model, vendor, name = "", "", ""
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s%s\t%s-%s\t%s\t%s\t%s\t%s\n", model, vendor, name, f.Version, mark,
					f.TLSMin, f.TLSMax, strings.Join(f.FactoryRoots, ","), strings.Join(f.SignIn, ","), f.Lock, f.ClientID)
			}
		}
		return tw.Flush()
	}
	return c
}

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }
