package main

import (
	"fmt"
	"io"
	"time"

	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/statedir"
)

func stateCommand() command {
	c := command{
		name:    "state",
		summary: "check, repair or factory-reset a phone's state directory",
		usage: `Usage:
  deskphone state check  --state DIR
  deskphone state repair --state DIR
  deskphone state reset  --state DIR

A phone refuses to boot on a damaged state file (config.json, identity.json,
firmware.json, policy.json, update.json that is torn, null, not a regular
file, a symbolic link, or lacks its fields) and names the file: booting on
defaults would lose the saved account and settings without a word. A
damaged phonelock.json boots the phone locked instead (no PIN opens it).
check lists the damaged files (exit 1 if any). repair moves each damaged
file aside to NAME.damaged-TIME (kept for inspection) so the next boot
starts that file afresh; sound files are left alone. A damaged
identity.json means the phone gets a new MAC address and serial number; a
damaged phonelock.json, that it boots without a PIN. reset is a factory
reset: it removes every state file but identity.json, firmware.json and the
installed firmware images (the account and settings, the sign-in tokens, the
phone lock and its PIN, the policy, the call history, imported roots, the
update record), so the phone boots as out of the box with its MAC address,
serial and firmware; the menu's Factory Reset does the same on a running
phone. The phone must not be running.
`,
	}
	c.run = func(args []string, stdout, stderr io.Writer) error {
		if len(args) == 0 || (args[0] != "repair" && args[0] != "check" && args[0] != "reset") {
			fmt.Fprint(stderr, c.usage)
			return errUsage
		}
		fs := newFlags(&c, stderr)
		state := fs.String("state", "", "")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		if *state == "" {
			return fmt.Errorf("%s needs --state DIR", args[0])
		}
		if args[0] == "reset" {
			removed, err := statedir.Reset(*state)
			for _, r := range removed {
				fmt.Fprintf(stdout, "removed %s\n", r)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s: reset to factory settings (%d removed)\n", *state, len(removed))
			return nil
		}
		if args[0] == "check" {
			damaged, err := statedir.Check(*state, phone.StateFiles()...)
			if err != nil {
				return err
			}
			if len(damaged) == 0 {
				fmt.Fprintf(stdout, "%s: no damaged state files\n", *state)
				return nil
			}
			for _, d := range damaged {
				fmt.Fprintf(stdout, "damaged %s: %s\n", d.Path, d.Reason)
			}
			return fmt.Errorf("%s: %d damaged state files (deskphone state repair --state %s moves them aside)", *state, len(damaged), *state)
		}
		moved, err := statedir.Repair(*state, time.Now(), phone.StateFiles()...)
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
