package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/deskphone/deskphone/phone/statedir"
)

func stateCommand() command {
	c := command{
		name:    "state",
		summary: "check or repair a phone's state directory",
		usage: `Usage:
  deskphone state repair --state DIR

A phone refuses to boot on a damaged state file (config.json, identity.json,
firmware.json that is torn, null, not a regular file, or lacks its fields)
and names the file: booting on defaults would lose the saved account and
settings without a word. repair moves each damaged file aside to
NAME.damaged-TIME (kept for inspection) so the next boot starts that file
afresh; sound files are left alone. A damaged identity.json means the phone
gets a new MAC address and serial number. The phone must not be running.
`,
	}
	c.run = func(args []string, stdout, stderr io.Writer) error {
		if len(args) == 0 || args[0] != "repair" {
			fmt.Fprint(stderr, c.usage)
			return errUsage
		}
		fs := newFlags(&c, stderr)
		state := fs.String("state", "", "")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		if *state == "" {
			return errors.New("repair needs --state DIR")
		}
		moved, err := statedir.Repair(*state, time.Now())
		if err != nil {
			return err
		}
		if len(moved) == 0 {
			fmt.Fprintf(stdout, "%s: no damaged state files\n", *state)
		}
		for _, m := range moved {
			fmt.Fprintf(stdout, "moved aside %s\n", m)
		}
		return nil
	}
	return c
}
