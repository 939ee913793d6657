// Package headless drives a phone from a line protocol: one command per line
// in, the screen (or the status) out after each, ending with a line "--".
// It is the contract QA and CI scripts use with `deskphone run --headless`;
// commands are added over time, never changed.
package headless

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/deskphone/deskphone/phone"
)

// Terminator ends every reply block.
const Terminator = "--"

// Advancer moves a phone's clock forward (clock.Fake and clock.Skewed).
type Advancer interface {
	Advance(d time.Duration)
}

// ErrQuit is returned by Exec for the quit command.
var ErrQuit = errors.New("quit")

// Session runs protocol commands against one phone.
type Session struct {
	Phone *phone.Phone
	Clock Advancer
}

// Commands is the protocol's help text, one command per line.
const Commands = `press KEY        press a hard key: 0-9 * # up down left right ok back menu home
                 hook speaker headset mute hold transfer message volup voldown
softkey N|LABEL  press softkey N (1-based) or the softkey showing LABEL
dial DIGITS      type digits on the keypad
screen           print the screen
status           print the phone's state as key=value lines
log [N]          print the last N syslog lines (default 20)
advance DURATION move the phone's clock forward (5s, 15m, 1h30m)
help             list the commands
quit             end the session`

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
		reply, err := s.Exec(line)
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
	cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	arg = strings.TrimSpace(arg)
	p := s.Phone
	var err error
	switch strings.ToLower(cmd) {
	case "press":
		var k phone.Key
		if k, err = phone.ParseKey(arg); err == nil {
			err = p.Press(k)
		}
	case "softkey":
		if arg == "" {
			return "", errors.New("softkey needs a number or a label")
		}
		if n, convErr := strconv.Atoi(arg); convErr == nil {
			err = p.Softkey(n)
		} else {
			err = p.SoftkeyLabel(arg)
		}
	case "dial":
		if arg == "" {
			return "", errors.New("dial needs digits")
		}
		err = p.Dial(arg)
	case "screen":
	case "status":
		st, err := p.Status()
		if err != nil {
			return "", err
		}
		var b strings.Builder
		for _, kv := range st {
			fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
		}
		return b.String(), nil
	case "log":
		n := 20
		if arg != "" {
			if n, err = strconv.Atoi(arg); err != nil || n < 1 {
				return "", fmt.Errorf("log: %q is not a positive number", arg)
			}
		}
		var b strings.Builder
		for _, l := range p.Logs(n) {
			b.WriteString(l.Text)
			b.WriteString("\n")
		}
		return b.String(), nil
	case "advance":
		d, perr := time.ParseDuration(arg)
		if perr != nil || d < 0 {
			return "", fmt.Errorf("advance: %q is not a duration like 5s, 15m or 1h30m", arg)
		}
		if s.Clock == nil {
			return "", errors.New("advance: this phone runs on a clock that cannot be moved")
		}
		s.Clock.Advance(d)
	case "help":
		return Commands + "\n", nil
	case "quit", "exit":
		return "", ErrQuit
	default:
		return "", fmt.Errorf("unknown command %q (try help)", cmd)
	}
	if err != nil {
		return "", err
	}
	return p.Screen().Text(), nil
}
