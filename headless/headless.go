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
	"strconv"
	"strings"

	"github.com/deskphone/deskphone/driver"
)

// Terminator ends every reply block.
const Terminator = "--"

// Advancer moves a phone's clock forward (clock.Fake and clock.Skewed).
type Advancer = driver.Advancer

// ErrQuit is returned by Exec for the quit command.
var ErrQuit = errors.New("quit")

// Session runs protocol commands against one phone: the driver's target,
// whose verbs are the protocol's commands.
type Session struct {
	driver.Target
}

// MaxLine bounds a command line; a longer one gets an error reply and the
// session goes on with the next line.
const MaxLine = 64 * 1024

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
// each to out. When ctx ends (Ctrl-C, SIGTERM), Run returns nil at once,
// also while it waits for a line or a command (a wait, a dial) runs: an
// interrupt is how a user ends the session, not a failure.
func (s *Session) Run(ctx context.Context, in io.Reader, out io.Writer) error {
	lines := make(chan string)
	readErr := make(chan error, 1)
	go func() {
		r := bufio.NewReader(in)
		for {
			line, err := readLine(r)
			if err != nil {
				readErr <- err
				return
			}
			select {
			case lines <- line:
			case <-ctx.Done():
				return
			}
		}
	}()
	w := bufio.NewWriter(out)
	defer w.Flush()
	for {
		var line string
		select {
		case <-ctx.Done():
			return nil
		case err := <-readErr:
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("headless: reading commands: %w", err)
		case line = <-lines:
		}
		if line == tooLong {
			w.WriteString(fmt.Sprintf("error: line longer than %d bytes; ignored\n%s\n", MaxLine, Terminator))
			if err := w.Flush(); err != nil {
				return fmt.Errorf("headless: %w", err)
			}
			continue
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		type result struct {
			reply string
			err   error
		}
		done := make(chan result, 1)
		go func() {
			reply, err := s.exec(ctx, line)
			done <- result{reply, err}
		}()
		var r result
		select {
		case <-ctx.Done():
			return nil
		case r = <-done:
		}
		if errors.Is(r.err, ErrQuit) {
			return nil
		}
		if r.err != nil {
			if ctx.Err() != nil {
				return nil
			}
			r.reply = "error: " + r.err.Error() + "\n"
		}
		w.WriteString(r.reply)
		w.WriteString(Terminator + "\n")
		if err := w.Flush(); err != nil {
			return fmt.Errorf("headless: %w", err)
		}
	}
}

// tooLong stands for a line over MaxLine (no real line holds a NUL).
const tooLong = "\x00too long"

// readLine reads one line, without its end. A line over MaxLine is read to
// its end and given as tooLong, never held whole in memory.
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	over := false
	for {
		chunk, isPrefix, err := r.ReadLine()
		if err != nil {
			if errors.Is(err, io.EOF) && (len(b) > 0 || over) {
				break
			}
			return "", err
		}
		if !over && len(b)+len(chunk) <= MaxLine {
			b = append(b, chunk...)
		} else {
			over, b = true, nil
		}
		if !isPrefix {
			break
		}
	}
	if over {
		return tooLong, nil
	}
	return string(b), nil
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
	t := s.Target
	res, err := v.Run(ctx, &t, a)
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
	case driver.KindCalls:
		for _, c := range res.Calls {
			writePairs(&b, c.Pairs())
		}
	case driver.KindHistory:
		for _, e := range res.History {
			writePairs(&b, e.Pairs())
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

// writePairs writes one line of key=value pairs (calls, history).
func writePairs(b *strings.Builder, pairs [][2]string) {
	for i, kv := range pairs {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(kv[0] + "=" + quoteValue(kv[1]))
	}
	b.WriteString("\n")
}

// quoteValue quotes a value of a calls line that holds a space, a quote
// or an equals sign (a display name), so each line splits on spaces.
func quoteValue(v string) string {
	if strings.ContainsAny(v, " \"=\t") {
		return strconv.Quote(v)
	}
	return v
}
