// Package headless drives a phone from a line protocol: one command per line
// in, the screen (or the status) out after each, ending with a line "--".
// It is the contract QA and CI scripts use with `deskphone run --headless`;
// commands are added over time, never changed. The commands are the
// driver's verbs; this package only reads lines and writes replies.
package headless

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/phone"
)

// Terminator ends every reply block.
const Terminator = "--"

// Advancer moves a phone's clock forward (clock.Fake and clock.Skewed).
type Advancer = driver.Advancer

// ErrQuit is returned by Exec for the quit command.
var ErrQuit = errors.New("quit")

// Session runs protocol commands against one phone.
type Session struct {
	Phone *phone.Phone
	Clock Advancer
}

// helpIndent is the column where help text starts.
const helpIndent = 17

// Commands is the protocol's help text, one command per line.
var Commands = commands()

func commands() string {
	var b strings.Builder
	b.WriteString(driver.Help(helpIndent))
	driver.WriteHelp(&b, "help", "list the commands", helpIndent)
	driver.WriteHelp(&b, "quit", "end the session", helpIndent)
	return strings.TrimSuffix(b.String(), "\n")
}

// Run reads commands from in until EOF or quit and writes a reply block for
// each to out.
func (s *Session) Run(ctx context.Context, in io.Reader, out io.Writer) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	w := bufio.NewWriter(out)
	defer w.Flush()
	for sc.Scan() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		reply, err := s.exec(ctx, line)
		if errors.Is(err, ErrQuit) {
			return nil
		}
		if err != nil {
			reply = "error: " + err.Error() + "\n"
		}
		w.WriteString(reply)
		w.WriteString(Terminator + "\n")
		if err := w.Flush(); err != nil {
			return fmt.Errorf("headless: %w", err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("headless: reading commands: %w", err)
	}
	return nil
}

// Exec runs one command line and returns its reply (without the terminator).
func (s *Session) Exec(line string) (string, error) {
	return s.exec(context.Background(), line)
}

func (s *Session) exec(ctx context.Context, line string) (string, error) {
	name, text, _ := strings.Cut(strings.TrimSpace(line), " ")
	switch strings.ToLower(name) {
	case "help":
		return Commands + "\n", nil
	case "quit", "exit":
		return "", ErrQuit
	}
	v, ok := driver.Lookup(name)
	if !ok {
		return "", fmt.Errorf("unknown command %q (try help)", name)
	}
	a, err := v.Parse(strings.TrimSpace(text))
	if err != nil {
		return "", err
	}
	t := &driver.Target{Phone: s.Phone, Clock: s.Clock}
	res, err := v.Run(ctx, t, a)
	if err != nil {
		return "", replyError(v.Name, a, err)
	}
	return render(res), nil
}

// replyError words a failed wait as the protocol always has.
func replyError(verb string, a driver.Args, err error) error {
	var te *driver.TimeoutError
	switch {
	case verb == "wait" && errors.As(err, &te):
		want := ""
		for _, v := range a.Cond.Status {
			want = v
		}
		return fmt.Errorf("wait: %s after %v, not %s", te.Why, a.Duration, want)
	case verb == "wait":
		return fmt.Errorf("wait: %w", err)
	}
	return err
}

// render writes a result as its reply block.
func render(res driver.Result) string {
	var b strings.Builder
	switch res.Kind {
	case driver.KindStatus:
		for _, kv := range res.Status {
			fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
		}
	case driver.KindLog:
		for _, l := range res.Logs {
			b.WriteString(l.Text)
			b.WriteString("\n")
		}
	default:
		b.WriteString(res.Screen.Text())
	}
	return b.String()
}

// Reply words a verb's outcome as the protocol's reply block (without the
// terminator): the text a control API hands back beside the typed result.
func Reply(verb string, a driver.Args, res driver.Result, err error) (string, error) {
	if err != nil {
		return "", replyError(verb, a, err)
	}
	return render(res), nil
}
