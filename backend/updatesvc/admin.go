package updatesvc

import (
	"fmt"
	"strings"
)

// Request is the JSON body of an admin command (POST
// /admin/firmware/VERB); each command reads the fields it needs.
type Request struct {
	Model   string   `json:"model,omitempty"`
	Version string   `json:"version,omitempty"`
	MACs    []string `json:"macs,omitempty"`
	Vendor  string   `json:"vendor,omitempty"`
	Root    string   `json:"root,omitempty"`
	Down    bool     `json:"down,omitempty"`
}

// Command is one admin command of an update authority. One entry serves
// its admin API (POST /admin/firmware/Verb), `deskphone backend admin
// firmware NAME ARGS...` and a scenario's backend: {firmware: ...} and
// {provisioning: ...} steps.
type Command struct {
	// Name is the command's word; Usage names its arguments.
	Name, Usage string
	// Verb is its endpoint's last part; up shares down's.
	Verb string
	// Args reads the words after the name; false when they are not the
	// command's.
	Args func(args []string) (Request, bool)
	// Do acts on the service.
	Do func(s *Service, r Request) error
}

// Commands is the table of the JSON admin commands, in the order usage
// lists them (rules, stats and publish are the admin API's others).
var Commands = []*Command{
	{Name: "approve", Usage: "MODEL VERSION", Verb: "approve", Args: modelVersion,
		Do: func(s *Service, r Request) error { return s.Approve(r.Model, r.Version) }},
	{Name: "restore", Usage: "MODEL VERSION", Verb: "restore", Args: modelVersion,
		Do: func(s *Service, r Request) error { return s.Restore(r.Model, r.Version) }},
	{Name: "pending", Usage: "MODEL VERSION MAC...", Verb: "pending",
		Args: func(a []string) (Request, bool) {
			return Request{Model: at(a, 0), Version: at(a, 1), MACs: tail(a, 2)}, len(a) >= 3
		},
		Do: func(s *Service, r Request) error { return s.Pending(r.Model, r.Version, r.MACs) }},
	{Name: "rotate", Usage: "VENDOR ROOT", Verb: "rotate",
		Args: func(a []string) (Request, bool) { return Request{Vendor: at(a, 0), Root: at(a, 1)}, len(a) == 2 },
		Do:   func(s *Service, r Request) error { return s.RotateRoot(r.Vendor, r.Root) }},
	{Name: "down", Verb: "down", Args: func(a []string) (Request, bool) { return Request{Down: true}, len(a) == 0 },
		Do: func(s *Service, r Request) error { s.SetDown(r.Down); return nil }},
	{Name: "up", Verb: "down", Args: func(a []string) (Request, bool) { return Request{}, len(a) == 0 }},
}

func modelVersion(a []string) (Request, bool) {
	return Request{Model: at(a, 0), Version: at(a, 1)}, len(a) == 2
}

func at(a []string, i int) string {
	if i < len(a) {
		return a[i]
	}
	return ""
}

func tail(a []string, i int) []string {
	if i < len(a) {
		return a[i:]
	}
	return nil
}

// Usage lists the commands: "approve MODEL VERSION, ..., down or up".
func Usage() string {
	var parts []string
	for _, c := range Commands {
		parts = append(parts, strings.TrimSpace(c.Name+" "+c.Usage))
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

// ParseCommand reads a command line's words ("approve 430hd 3.4.6.537").
func ParseCommand(words []string) (*Command, Request, error) {
	for _, c := range Commands {
		if len(words) > 0 && c.Name == words[0] {
			if r, ok := c.Args(words[1:]); ok {
				return c, r, nil
			}
			break
		}
	}
	return nil, Request{}, fmt.Errorf("%q: want %s", strings.Join(words, " "), Usage())
}

// Run does the command on s.
func (c *Command) Run(s *Service, r Request) error { return commandOf(c.Verb).Do(s, r) }

// commandOf is the command serving verb's endpoint: the first naming it.
func commandOf(verb string) *Command {
	for _, c := range Commands {
		if c.Verb == verb && c.Do != nil {
			return c
		}
	}
	return nil
}
