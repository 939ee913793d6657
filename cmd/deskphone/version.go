package main

import (
	"fmt"
	"io"
	"runtime"
)

func versionCommand() command {
	c := command{
		name:    "version",
		summary: "print the deskphone version",
		usage: `Usage: deskphone version

Prints the deskphone version and the Go version it was built with.
`,
	}
	c.run = func(args []string, stdout, stderr io.Writer) error {
		if err := parse(newFlags(&c, stderr), args); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deskphone %s (%s %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return nil
	}
	return c
}
