package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/deskphone/deskphone/backend/idp"
)

// pcCommand stands in for the PC app of "Sign in via PC": it completes the
// pairing code a phone shows, signed in as the PC's user.
func pcCommand() command {
	c := command{
		name:    "pc",
		summary: "the PC app: pair with a phone that shows a sign-in code",
		usage: `Usage: deskphone pc pair --code CODE --user USER --password PASSWORD [--cloud URL]

pair completes a phone's "Sign in via PC" (or web sign-in) code at the
cloud's sign-in page, as USER: the phone then signs in as USER.

Flags:
  --code CODE         the pairing code the phone shows
  --user USER, --password PASSWORD
                      the PC user's account
  --cloud URL         the cloud's sign-in address (the phone's signin_url;
                      default http://127.0.0.1:8061)
`,
	}
	c.run = func(args []string, stdout, stderr io.Writer) error {
		if len(args) == 0 || args[0] != "pair" {
			return badFlag("pc: want 'pc pair --code CODE --user USER --password PASSWORD'")
		}
		fs := newFlags(&c, stderr)
		code := fs.String("code", "", "")
		user := fs.String("user", "", "")
		password := fs.String("password", "", "")
		cloud := fs.String("cloud", "http://127.0.0.1:8061", "")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		if *code == "" || *user == "" {
			return badFlag("pc pair needs --code and --user")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := idp.Approve(ctx, *cloud, *code, *user, *password, true); err != nil {
			return fmt.Errorf("pc pair: %w", err)
		}
		fmt.Fprintf(stdout, "paired %s as %s\n", *code, *user)
		return nil
	}
	return c
}
