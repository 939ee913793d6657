package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/deskphone/deskphone/backend"
	"github.com/deskphone/deskphone/backend/idp"
	"github.com/deskphone/deskphone/btoe"
)

func pcCommand() command {
	c := command{
		name:    "pc",
		summary: "act as the PC paired with a running phone (Better Together over Ethernet)",
		usage: `Usage: deskphone pc pair --code CODE --user USER --password PASSWORD [--cloud URL]
       deskphone pc --state DIR pair [CODE]
       deskphone pc --state DIR lock|unlock
       deskphone pc --state DIR call TARGET

pc pair --code completes a phone's "Sign in via PC" (or web sign-in) code at
the cloud's sign-in page, as USER: the phone then signs in as USER. --cloud
is the cloud's sign-in address (the phone's signin_url; default
http://127.0.0.1:8061).

Talks to the phone that 'deskphone run --state DIR' runs, as the user's PC
does over Better Together over Ethernet: pair (in Manual pairing mode with
the code the phone shows), lock and unlock the phone with the PC, and click
to call. The phone must allow it (EnableBetterTogetherOverEthernet).
`,
	}
	c.run = func(args []string, stdout, stderr io.Writer) error {
		if len(args) > 0 && args[0] == "pair" {
			return pcSignInPair(&c, args[1:], stdout, stderr)
		}
		fs := newFlags(&c, stderr)
		state := fs.String("state", "", "")
		if err := fs.Parse(args); err != nil {
			return errUsage
		}
		if *state == "" || fs.NArg() == 0 {
			fs.Usage()
			return errUsage
		}
		reply, err := btoe.Send(*state, strings.Join(fs.Args(), " "))
		if err != nil {
			return fmt.Errorf("pc: %w", err)
		}
		fmt.Fprintln(stdout, reply)
		return nil
	}
	return c
}

// setPolicyFlags sets the embedded cloud's tenant policy from --policy
// Field=value flags before the phone boots.
func setPolicyFlags(b *backend.Backend, flags []string) error {
	if len(flags) == 0 {
		return nil
	}
	set := map[string]string{}
	for _, f := range flags {
		k, v, found := strings.Cut(f, "=")
		if !found || k == "" {
			return fmt.Errorf("--policy %q: want Field=value", f)
		}
		set[k] = v
	}
	if _, err := b.SetPolicy("", set); err != nil {
		return fmt.Errorf("--policy: %w", err)
	}
	return nil
}

// pcSignInPair stands in for the PC app of "Sign in via PC": it completes
// the pairing code a phone shows, signed in as the PC's user.
func pcSignInPair(c *command, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(c, stderr)
	code := fs.String("code", "", "")
	user := fs.String("user", "", "")
	password := fs.String("password", "", "")
	cloud := fs.String("cloud", "http://127.0.0.1:8061", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *code == "" || *user == "" {
		return badFlag("pc pair needs --code and --user (or --state DIR for Better Together pairing)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := idp.Approve(ctx, *cloud, *code, *user, *password, true); err != nil {
		return fmt.Errorf("pc pair: %w", err)
	}
	fmt.Fprintf(stdout, "paired %s as %s\n", *code, *user)
	return nil
}
