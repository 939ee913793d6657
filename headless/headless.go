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
dial TARGET      digits are typed on the keypad (dialled on #, Send or the
                 5 s timeout); a user name or SIP URI is called at once
answer           answer the ringing (or waiting) call
hangup           end, cancel or decline the call
hold, resume     put the call on hold, take it back
transfer TARGET  blind-transfer the call to TARGET
play tone HZ     send a tone in the call (also: play wav FILE, play silence,
                 play echo)
record FILE      write the call's received audio to a WAV file
dtmf DIGITS      send DTMF digits in the call (RFC 4733)
screen           print the screen
status           print the phone's state as key=value lines
log [N]          print the last N syslog lines (default 20)
advance DURATION move the phone's clock forward (5s, 15m, 1h30m)
wait KEY=VALUE [TIMEOUT]
                 wait (real time, default 10s) until the status line KEY has
                 VALUE, e.g. wait registered=yes, wait call=connected 5s
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
			return "", errors.New("dial needs digits, a user name or a SIP URI")
		}
		err = p.DialTarget(arg)
	case "answer":
		err = p.Answer()
	case "hangup":
		err = p.Hangup()
	case "hold":
		err = p.Hold()
	case "resume":
		err = p.Resume()
	case "transfer":
		if arg == "" {
			return "", errors.New("transfer needs a target")
		}
		err = p.Transfer(arg)
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
	case "play":
		kind, rest, _ := strings.Cut(arg, " ")
		if kind == "" {
			return "", errors.New("play needs tone HZ, wav FILE, silence or echo")
		}
		spec := kind
		if rest = strings.TrimSpace(rest); rest != "" {
			spec += ":" + rest
		}
		err = p.Play(spec)
	case "record":
		if arg == "" {
			return "", errors.New("record needs a file")
		}
		err = p.Record(arg)
	case "dtmf":
		if arg == "" {
			return "", errors.New("dtmf needs digits")
		}
		err = p.SendDTMF(arg)
	case "wait":
		if err := s.wait(arg); err != nil {
			return "", err
		}
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

// waitPoll is how often wait reads the status; network events arrive on
// real time even when the phone's clock is virtual.
const waitPoll = 5 * time.Millisecond

func (s *Session) wait(arg string) error {
	// The value may hold spaces; a last word that reads as a duration is
	// the timeout.
	cond := arg
	timeout := 10 * time.Second
	if i := strings.LastIndexByte(arg, ' '); i > 0 {
		if d, err := time.ParseDuration(arg[i+1:]); err == nil && d > 0 {
			cond, timeout = strings.TrimSpace(arg[:i]), d
		}
	}
	key, want, ok := strings.Cut(cond, "=")
	if !ok || key == "" {
		return errors.New("wait needs KEY=VALUE and an optional timeout, e.g. wait registered=yes 5s")
	}
	deadline := time.Now().Add(timeout)
	for {
		st, err := s.Phone.Status()
		if err != nil {
			return err
		}
		got, known := "", false
		for _, kv := range st {
			if kv[0] == key {
				got, known = kv[1], true
			}
		}
		if !known {
			return fmt.Errorf("wait: no status key %q", key)
		}
		if got == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("wait: %s=%s after %v, not %s", key, got, timeout, want)
		}
		time.Sleep(waitPoll)
	}
}
