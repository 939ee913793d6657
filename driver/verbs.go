// Package driver is the one way to drive a virtual phone: the verbs every
// front end offers (the headless line protocol, scenario steps, a control
// API), the wait for a condition woken by the phone itself, and the builder
// that sets up a phone with its clock, media, account and CA store.
//
// A verb takes parsed arguments and returns a typed result or an error; it
// never prints. Front ends parse their own syntax into Args and render the
// Result their own way.
package driver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/phone"
)

// Advancer moves a phone's clock forward (clock.Fake, clock.Skewed, or a
// runner that hops timer to timer).
type Advancer interface {
	Advance(d time.Duration)
}

// Target is the phone a verb acts on, with what surrounds it.
type Target struct {
	// Phone is nil only for advance on a clock of many phones.
	Phone *phone.Phone
	// Clock moves the phone's time for advance; nil refuses advance.
	Clock Advancer
	// Dir is where relative file names (wav:, record, import_ca) are found;
	// "" is the working directory.
	Dir string
	// Files, when set, confines those files to one directory, for callers
	// that are not trusted with the file system (the control API): names
	// resolve inside it; "..", absolute paths outside it, symlinks and
	// other than regular files are refused, and errors name the file but
	// never quote its content. Dir is then ignored.
	Files *os.Root
	// NoFiles, without Files, refuses every file name.
	NoFiles bool
	// Pace, when set, says how a wait for c with its timeout runs; a runner
	// on virtual time moves its clock from it. Nil waits timeout in wall
	// time.
	Pace func(c Cond, timeout time.Duration) WaitOptions
	// Browser plays the person at a web sign-in page (browser_signin);
	// nil refuses the verb.
	Browser Browser
}

// Args are a verb's parsed arguments; each verb reads the fields it needs.
type Args struct {
	// Text is the target, digits, softkey number or label, text, file or
	// source.
	Text string
	// Keys are the hard keys of press.
	Keys []phone.Key
	// N is the number of syslog lines for log.
	N int
	// Duration is what advance moves, or the timeout of wait.
	Duration time.Duration
	// Cond is what wait and expect check.
	Cond Cond
}

// Kind says which field of a Result carries the answer.
type Kind int

// The kinds of result.
const (
	// KindScreen: the screen the verb left.
	KindScreen Kind = iota
	// KindStatus: the status lines.
	KindStatus
	// KindLog: syslog lines.
	KindLog
	// KindCalls: the phone's calls.
	KindCalls
	// KindHistory: the phone's call history.
	KindHistory
)

// Result is what a verb returns.
type Result struct {
	Kind   Kind
	Screen phone.Screen
	Status [][2]string
	Logs   []phone.LogLine
	Calls  []phone.CallInfo
	// History is the call history's entries, list by list.
	History []phone.HistoryEntry
}

// Verb is one command of the driver.
type Verb struct {
	Name string
	// Usage names the arguments as help shows them.
	Usage string
	// Help says what the verb does, one or more lines.
	Help string
	// Parse reads the argument text of a command line.
	Parse func(text string) (Args, error)
	// Run acts on the target.
	Run func(ctx context.Context, t *Target, a Args) (Result, error)
	// Step is how a scenario file writes the verb as a step; the zero
	// value leaves the verb out of the format (the verbs that only print).
	Step StepForm
	// Fields are the keys of a StepFields step; their values, in this
	// order, make the argument text Parse reads.
	Fields []string
	// Check, when set, finds before a script runs what the phone would
	// refuse though Parse takes it (a PIN of letters, a tone of 9 kHz).
	// A step that expects a refusal skips it: the refusal is its test.
	Check func(a Args) error
	// NoPhone: the verb acts on the clock, not on one phone.
	NoPhone bool
}

// StepForm says how a scenario step writes a verb's arguments, and so how
// the runner treats it.
type StepForm int

// The forms of step.
const (
	// StepNone: the verb is no scenario step.
	StepNone StepForm = iota
	// StepText: "VERB: TEXT", the argument text of a command line.
	StepText
	// StepPhone: "VERB:" or "VERB: PHONE"; the verb takes no argument,
	// and the value, if any, names the phone.
	StepPhone
	// StepFields: "VERB: {KEY: VALUE, ...}" with the keys of Verb.Fields
	// (and phone:).
	StepFields
	// StepWait: "VERB: {condition}" waited for up to the step's timeout,
	// moving virtual time.
	StepWait
	// StepCheck: "VERB: {condition}" that must hold now.
	StepCheck
	// StepDuration: "VERB: DURATION" of the scenario's clock.
	StepDuration
)

// ArgError is an argument that is none of the words a verb takes: a
// checker can point at the word meant.
type ArgError struct {
	// Msg is the whole message, as a command line's reply shows it.
	Msg string
	// Got is the word given; Known the words the verb takes there.
	Got   string
	Known []string
	// Err is the cause, if any.
	Err error
}

func (e *ArgError) Error() string { return e.Msg }

// Unwrap is the error of the word, if any.
func (e *ArgError) Unwrap() error { return e.Err }

// Defaults of the verbs.
const (
	// WaitTimeout is the wall time a wait lasts without its own timeout.
	WaitTimeout = 10 * time.Second
	// AnswerTimeout bounds how long answer waits for the call to stop
	// ringing.
	AnswerTimeout = 10 * time.Second
	// LogLines is how many syslog lines log shows by default.
	LogLines = 20
)

// Verbs is the table of every verb, in the order help lists them.
var Verbs = []*Verb{
	{Name: "press", Usage: "KEY...", Help: "press hard keys: 0-9 * # up down left right ok back menu home\nhook speaker headset mute hold transfer message volup voldown",
		Parse: parseKeys, Run: press, Step: StepText},
	{Name: "softkey", Usage: "N|LABEL", Help: "press softkey N (1-based) or the softkey showing LABEL",
		Parse: parseSoftkey, Run: softkey, Step: StepText},
	{Name: "dial", Usage: "TARGET", Help: "digits are typed on the keypad (dialled on #, Send or the\n5 s timeout); a user name or SIP URI is called at once",
		Parse: needTarget("dial"), Run: onPhone((*phone.Phone).DialTarget), Step: StepText},
	{Name: "call", Usage: "TARGET", Help: "call digits, a user name or a SIP URI at once",
		Parse: needTarget("call"), Run: onPhone((*phone.Phone).Call), Step: StepText},
	{Name: "answer", Usage: "[ID]", Help: "answer the ringing (or waiting) call, or call ID; a call\nthat is up goes on hold; replies once it stops ringing",
		Parse: optionalID, Run: answer, Step: StepPhone},
	{Name: "reject", Usage: "[ID]", Help: "turn away the ringing (or waiting) call, or call ID",
		Parse: optionalID, Run: onCall((phone.Calls).Reject), Step: StepPhone},
	{Name: "hangup", Help: "end, cancel or decline the call",
		Parse: noArgs, Run: simple((*phone.Phone).Hangup), Step: StepPhone},
	{Name: "hold", Usage: "[ID]", Help: "put the call, or call ID, on hold",
		Parse: optionalID, Run: byID(inCall("hold", (*phone.Phone).Hold), (phone.Calls).Hold), Step: StepPhone},
	{Name: "resume", Usage: "[ID]", Help: "take the held call, or call ID, back (the call that is up\ngoes on hold)",
		Parse: optionalID, Run: byID(inCall("resume", (*phone.Phone).Resume), (phone.Calls).Resume), Step: StepPhone},
	{Name: "swap", Help: "move between two calls: the one on the screen goes on hold,\nthe other comes back",
		Parse: noArgs, Run: simple(func(p *phone.Phone) error { return p.Line().Swap() }), Step: StepPhone},
	{Name: "conference", Help: "join the held call and the current one in a three-way\nconference mixed on the phone",
		Parse: noArgs, Run: simple(func(p *phone.Phone) error { return p.Line().Conference() }), Step: StepPhone},
	{Name: "split", Help: "split the conference into two calls: the current one stays,\nthe other is held",
		Parse: noArgs, Run: simple(func(p *phone.Phone) error { return p.Line().Split() }), Step: StepPhone},
	{Name: "transfer", Usage: "TARGET", Help: "blind-transfer the call to TARGET\n(transfer consult TARGET holds the call and calls TARGET;\ntransfer complete hands the held call over to it)",
		Parse: parseTransfer, Run: transfer, Step: StepText},
	{Name: "forward", Usage: "always|busy|noanswer TARGET [SECONDS]", Help: "forward calls to TARGET: every call, calls while busy, or calls\nnot answered in SECONDS (the vendor's default without); forward off\nends it. Kept across reboots",
		Parse: parseForward, Run: forward, Step: StepText},
	{Name: "type", Usage: "TEXT", Help: "type text into the phone's open text entry",
		Parse: needText("type needs text"), Run: onPhone((*phone.Phone).Type), Step: StepText},
	{Name: "reboot", Help: "restart the phone's firmware (imported roots become trusted)",
		Parse: noArgs, Run: simple((*phone.Phone).Reboot), Step: StepPhone},
	{Name: "import_ca", Usage: "ROOT|FILE", Help: "import a lab root (lab-2022) or a certificate file into the\nCA store; trusted after the next reboot",
		Parse: needText("import_ca needs a lab root id or a certificate file"), Run: importCA, Step: StepText},
	{Name: "play", Usage: "tone HZ", Help: "send a tone in the call (also: play wav FILE, play silence,\nplay echo)",
		Parse: parsePlay, Run: play, Step: StepText, Check: checkPlay},
	{Name: "record", Usage: "FILE", Help: "write the call's received audio to a WAV file",
		Parse: needText("record needs a file"), Run: record, Step: StepText},
	{Name: "dtmf", Usage: "DIGITS", Help: "send DTMF digits in the call (RFC 4733)",
		Parse: needText("dtmf needs digits"), Run: onPhone((*phone.Phone).SendDTMF), Step: StepText},
	{Name: "mute", Usage: "on|off", Help: "mute or unmute the call's microphone (press mute toggles it)",
		Parse: parseMute, Run: mute, Step: StepText},
	{Name: "screen", Help: "print the screen",
		Parse: noArgs, Run: func(_ context.Context, t *Target, _ Args) (Result, error) { return screen(t), nil }},
	{Name: "status", Help: "print the phone's state as key=value lines",
		Parse: noArgs, Run: status},
	{Name: "calls", Help: "list the phone's calls, one line each (id, state, far party,\nduration, held, focused, codec, SRTP)",
		Parse: noArgs, Run: callsVerb},
	{Name: "history", Usage: "[missed|received|placed]", Help: "list the call history, newest first, one line per call (list,\nnumber, name, time, duration); all lists by default. Listing\nthe missed calls marks them viewed (missed_calls=0)",
		Parse: parseHistory, Run: historyVerb, Step: StepText},
	{Name: "log", Usage: "[N]", Help: fmt.Sprintf("print the last N syslog lines (default %d)", LogLines),
		Parse: parseLog, Run: logs},
	{Name: "advance", Usage: "DURATION", Help: "move the phone's clock forward (5s, 15m, 1h30m)",
		Parse: parseAdvance, Run: advance, Step: StepDuration, NoPhone: true},
	{Name: "wait", Usage: "KEY=VALUE [TIMEOUT]", Help: fmt.Sprintf("wait (real time, default %v) until the status line KEY has\nVALUE, e.g. wait registered=yes, wait call=connected 5s", WaitTimeout),
		Parse: parseWait, Run: wait, Step: StepWait},
	{Name: "expect", Usage: "KEY=VALUE", Help: "fail unless the status line KEY has VALUE now",
		Parse: parseExpect, Run: expect, Step: StepCheck},
}

// Lookup finds a verb by name (case-insensitive).
func Lookup(name string) (*Verb, bool) {
	for _, v := range Verbs {
		if strings.EqualFold(v.Name, name) {
			return v, true
		}
	}
	return nil, false
}

// ErrUnknownVerb is returned by Exec for a command no verb has.
var ErrUnknownVerb = errors.New("unknown command")

// Exec parses one command line ("dial 1234") and runs it on t.
func Exec(ctx context.Context, t *Target, line string) (Result, error) {
	name, text, _ := strings.Cut(strings.TrimSpace(line), " ")
	v, ok := Lookup(name)
	if !ok {
		return Result{}, fmt.Errorf("%w %q", ErrUnknownVerb, name)
	}
	a, err := v.Parse(strings.TrimSpace(text))
	if err != nil {
		return Result{}, err
	}
	return v.Run(ctx, t, a)
}

// Help is the verbs' help text, one verb per entry, the description
// starting at column indent (or on the next line when the usage is longer).
func Help(indent int) string {
	var b strings.Builder
	for _, v := range Verbs {
		WriteHelp(&b, strings.TrimSpace(v.Name+" "+v.Usage), v.Help, indent)
	}
	return b.String()
}

// WriteHelp writes one help entry: head, then the text aligned at indent.
func WriteHelp(b *strings.Builder, head, text string, indent int) {
	pad := strings.Repeat(" ", indent)
	b.WriteString(head)
	if len(head) < indent {
		b.WriteString(pad[len(head):])
	} else {
		b.WriteString("\n" + pad)
	}
	b.WriteString(strings.ReplaceAll(text, "\n", "\n"+pad))
	b.WriteString("\n")
}

// screen is the result of a verb that acts: the screen it left. Advance
// may act on a clock shared by phones, without one.
func screen(t *Target) Result {
	if t.Phone == nil {
		return Result{}
	}
	return Result{Kind: KindScreen, Screen: t.Phone.Screen()}
}

func noArgs(string) (Args, error) { return Args{}, nil }

// MaxTarget bounds what dial and call take: more than any phone's dial
// field holds, far less than would keep a phone busy typing.
const MaxTarget = 128

// needTarget parses a dial or call target.
func needTarget(verb string) func(string) (Args, error) {
	return func(text string) (Args, error) {
		switch {
		case text == "":
			return Args{}, fmt.Errorf("%s needs digits, a user name or a SIP URI", verb)
		case len(text) > MaxTarget:
			return Args{}, fmt.Errorf("%s: %d characters is too long (at most %d)", verb, len(text), MaxTarget)
		}
		return Args{Text: text}, nil
	}
}

func needText(msg string) func(string) (Args, error) {
	return func(text string) (Args, error) {
		if text == "" {
			return Args{}, errors.New(msg)
		}
		return Args{Text: text}, nil
	}
}

// simple runs a verb without arguments.
func simple(f func(*phone.Phone) error) func(context.Context, *Target, Args) (Result, error) {
	return func(_ context.Context, t *Target, _ Args) (Result, error) {
		if err := f(t.Phone); err != nil {
			return Result{}, err
		}
		return screen(t), nil
	}
}

// onPhone runs a verb taking the argument text.
func onPhone(f func(*phone.Phone, string) error) func(context.Context, *Target, Args) (Result, error) {
	return func(_ context.Context, t *Target, a Args) (Result, error) {
		if err := f(t.Phone, a.Text); err != nil {
			return Result{}, err
		}
		return screen(t), nil
	}
}

// statusValue reads one status key.
func statusValue(p *phone.Phone, key string) (string, error) {
	st, err := p.Status()
	if err != nil {
		return "", err
	}
	for _, kv := range st {
		if kv[0] == key {
			return kv[1], nil
		}
	}
	return "", fmt.Errorf("no status key %q", key)
}

// inCall runs a verb that needs an established call, so that a script
// learns it had none instead of reading an unchanged screen.
func inCall(name string, f func(*phone.Phone) error) func(context.Context, *Target, Args) (Result, error) {
	return func(_ context.Context, t *Target, _ Args) (Result, error) {
		call, err := statusValue(t.Phone, "call")
		if err != nil {
			return Result{}, err
		}
		if call != "connected" && call != "held" {
			return Result{}, fmt.Errorf("no call to %s (the phone is %s)", name, call)
		}
		if err := f(t.Phone); err != nil {
			return Result{}, err
		}
		return screen(t), nil
	}
}

func parseKeys(text string) (Args, error) {
	names := strings.Fields(text)
	if len(names) == 0 {
		return Args{}, errors.New("press needs a key")
	}
	a := Args{Text: text}
	for _, n := range names {
		k, err := phone.ParseKey(n)
		if err != nil {
			return Args{}, &ArgError{Msg: err.Error(), Got: n, Known: phone.KeyNames(), Err: err}
		}
		a.Keys = append(a.Keys, k)
	}
	return a, nil
}

func press(_ context.Context, t *Target, a Args) (Result, error) {
	for _, k := range a.Keys {
		if err := t.Phone.Press(k); err != nil {
			return Result{}, err
		}
	}
	return screen(t), nil
}

func parseSoftkey(text string) (Args, error) {
	if text == "" {
		return Args{}, errors.New("softkey needs a number or a label")
	}
	return Args{Text: text}, nil
}

// softkey presses by number when Text is one, else by label.
func softkey(_ context.Context, t *Target, a Args) (Result, error) {
	var err error
	if n, convErr := strconv.Atoi(a.Text); convErr == nil {
		err = t.Phone.Softkey(n)
	} else {
		err = t.Phone.SoftkeyLabel(a.Text)
	}
	if err != nil {
		return Result{}, err
	}
	return screen(t), nil
}

// answer answers and waits for the call to stop ringing, so the reply
// shows the call as the phone now has it.
func answer(ctx context.Context, t *Target, a Args) (Result, error) {
	p := t.Phone
	if a.Text != "" {
		if err := p.Line().Answer(a.Text); err != nil {
			return Result{}, err
		}
		return waitAnswered(ctx, t)
	}
	st, err := p.Status()
	if err != nil {
		return Result{}, err
	}
	call, waiting := "", ""
	for _, kv := range st {
		switch kv[0] {
		case "call":
			call = kv[1]
		case "call_waiting":
			waiting = kv[1]
		}
	}
	if call != "ringing" && waiting == "" {
		return Result{}, fmt.Errorf("no call to answer (the phone is %s)", call)
	}
	if err := p.Line().Answer(""); err != nil {
		return Result{}, err
	}
	return waitAnswered(ctx, t)
}

// waitAnswered waits until the focused call, the one just answered, stops
// ringing.
func waitAnswered(ctx context.Context, t *Target) (Result, error) {
	p := t.Phone
	notRinging := func(p *phone.Phone) (bool, string, error) {
		c, err := statusValue(p, "call")
		return c != "ringing", "call=" + c, err
	}
	if err := Wait(ctx, p, notRinging, WaitOptions{Timeout: AnswerTimeout}); err != nil {
		return Result{}, fmt.Errorf("answer: %w", err)
	}
	return screen(t), nil
}

func parseMute(text string) (Args, error) {
	if text != "on" && text != "off" {
		return Args{}, &ArgError{Msg: fmt.Sprintf("mute needs on or off, not %q", text), Got: text, Known: []string{"on", "off"}}
	}
	return Args{Text: text}, nil
}

// mute sets the call's mute to on or off whatever it was, where the mute
// key toggles it: a script says what it wants.
func mute(_ context.Context, t *Target, a Args) (Result, error) {
	call, err := statusValue(t.Phone, "call")
	if err != nil {
		return Result{}, err
	}
	if call != "connected" && call != "held" {
		return Result{}, fmt.Errorf("no call to mute (the phone is %s)", call)
	}
	now, err := statusValue(t.Phone, "mute")
	if err != nil {
		return Result{}, err
	}
	if now != a.Text {
		if err := t.Phone.Press(phone.KeyMute); err != nil {
			return Result{}, err
		}
	}
	return screen(t), nil
}

// path makes a relative file name relative to the target's folder.
func (t *Target) path(name string) string {
	if t.Dir == "" || filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(t.Dir, name)
}

func importCA(_ context.Context, t *Target, a Args) (Result, error) {
	var err error
	if root, ferr := certs.FactoryRootIn(t.Phone.Lab(), a.Text); ferr == nil {
		_, err = t.Phone.CAStore().Import(root.Raw)
	} else {
		path, ferr := t.file(a.Text, false)
		if ferr != nil {
			return Result{}, ferr
		}
		_, err = t.Phone.CAStore().ImportFile(path)
	}
	if err != nil {
		return Result{}, err
	}
	return screen(t), nil
}

// parsePlay takes "tone 1000" as the protocol writes it and "tone:1000"
// as scenario files do.
func parsePlay(text string) (Args, error) {
	kind, rest, _ := strings.Cut(text, " ")
	if kind == "" {
		return Args{}, errors.New("play needs tone HZ, wav FILE, silence or echo")
	}
	spec := kind
	if rest = strings.TrimSpace(rest); rest != "" {
		spec += ":" + rest
	}
	return Args{Text: spec}, nil
}

// checkPlay finds a source the phone cannot play, without opening WAV
// files (checked when played).
func checkPlay(a Args) error { return CheckSource(a.Text) }

// CheckSource checks an audio source as a phone's Play takes it (tone:HZ,
// wav:FILE, silence, echo), without opening WAV files.
func CheckSource(spec string) error {
	kind, arg, _ := strings.Cut(spec, ":")
	switch kind {
	case "tone":
		if hz, err := strconv.ParseFloat(arg, 64); err != nil || hz <= 0 || hz >= 4000 {
			return fmt.Errorf("audio %q: tone needs a frequency below 4000 Hz, e.g. tone:1000", spec)
		}
	case "wav":
		if arg == "" {
			return fmt.Errorf("audio %q: wav needs a file", spec)
		}
	case "silence", "echo":
	default:
		return fmt.Errorf("audio %q: want tone:HZ, wav:FILE, silence or echo", spec)
	}
	return nil
}

func play(_ context.Context, t *Target, a Args) (Result, error) {
	spec := a.Text
	if file, ok := strings.CutPrefix(spec, "wav:"); ok {
		path, err := t.file(file, false)
		if err != nil {
			return Result{}, err
		}
		spec = "wav:" + path
		if err := t.Phone.Play(spec); err != nil {
			if t.Files != nil && errors.Is(err, phone.ErrBadSource) {
				// The reason may quote the file's first bytes.
				return Result{}, fmt.Errorf("play: %s is not a WAV file the phone plays (16-bit PCM mono, 8000 or 16000 Hz)", file)
			}
			return Result{}, err
		}
		return screen(t), nil
	}
	if err := t.Phone.Play(spec); err != nil {
		return Result{}, err
	}
	return screen(t), nil
}

func record(_ context.Context, t *Target, a Args) (Result, error) {
	path, err := t.file(a.Text, true)
	if err != nil {
		return Result{}, err
	}
	if err := t.Phone.Record(path); err != nil {
		return Result{}, err
	}
	return screen(t), nil
}

// ErrFileRefused is wrapped by the verbs that name a file outside the
// target's Files directory, or a symlink or special file in it.
var ErrFileRefused = errors.New("file refused")

// file is the path a verb opens for name: t.path(name), or, with Files,
// the name checked inside that directory through os.Root (which refuses
// any escape by "..", an absolute path or a symlink), a symlink or
// special file at the name refused too. create allows a name that does
// not exist yet. The phone opens the path itself; the check guards
// against a caller's names, not against a local user racing to swap
// files in the directory (whose owner chose it).
func (t *Target) file(name string, create bool) (string, error) {
	if t.Files == nil && t.NoFiles {
		return "", fmt.Errorf("%w: %s: no folder for files was given at start", ErrFileRefused, name)
	}
	if t.Files == nil {
		return t.path(name), nil
	}
	dir := t.Files.Name()
	rel := name
	if filepath.IsAbs(name) {
		r, err := filepath.Rel(dir, name)
		if err != nil || !filepath.IsLocal(r) {
			return "", fmt.Errorf("%w: %s is outside %s", ErrFileRefused, name, dir)
		}
		rel = r
	}
	if !filepath.IsLocal(rel) {
		return "", fmt.Errorf("%w: %s is outside %s", ErrFileRefused, name, dir)
	}
	fi, err := t.Files.Lstat(rel)
	switch {
	case err == nil && fi.Mode()&os.ModeSymlink != 0:
		return "", fmt.Errorf("%w: %s is a symlink", ErrFileRefused, name)
	case err == nil && !fi.Mode().IsRegular():
		return "", fmt.Errorf("%w: %s is not a regular file", ErrFileRefused, name)
	case errors.Is(err, fs.ErrNotExist) && create:
		// A new file: its folder must be one inside the root (Stat
		// through the root refuses a symlink on the way that leads out).
		if di, err := t.Files.Stat(filepath.Dir(rel)); err != nil || !di.IsDir() {
			return "", fmt.Errorf("%w: %s: no such folder in %s", ErrFileRefused, name, dir)
		}
	case err != nil:
		return "", fmt.Errorf("%w: %s: %s", ErrFileRefused, name, errReason(err))
	}
	return filepath.Join(dir, rel), nil
}

// errReason is the reason of a path error without the path (which names
// the root's directory) and nothing of the file's content.
func errReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func status(_ context.Context, t *Target, _ Args) (Result, error) {
	st, err := t.Phone.Status()
	if err != nil {
		return Result{}, err
	}
	return Result{Kind: KindStatus, Status: st}, nil
}

func parseLog(text string) (Args, error) {
	if text == "" {
		return Args{N: LogLines}, nil
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 1 {
		return Args{}, fmt.Errorf("log: %q is not a positive number", text)
	}
	return Args{N: n}, nil
}

func logs(_ context.Context, t *Target, a Args) (Result, error) {
	return Result{Kind: KindLog, Logs: t.Phone.Logs(a.N)}, nil
}

// MaxAdvance bounds one advance: every timer on the way fires in turn, and
// a year of keep-alives would keep a phone busy for minutes.
const MaxAdvance = 31 * 24 * time.Hour

// advanceStep is how far advance moves between looks at its context, so a
// signal interrupts a long advance.
const advanceStep = time.Hour

func parseAdvance(text string) (Args, error) {
	d, err := time.ParseDuration(text)
	if err != nil || d < 0 {
		return Args{}, fmt.Errorf("advance: %q is not a duration like 5s, 15m or 1h30m", text)
	}
	if d > MaxAdvance {
		return Args{}, fmt.Errorf("advance: %v is more than %v (31 days) at a time", d, MaxAdvance)
	}
	return Args{Duration: d}, nil
}

func advance(ctx context.Context, t *Target, a Args) (Result, error) {
	if t.Clock == nil {
		return Result{}, errors.New("advance: this phone runs on a clock that cannot be moved")
	}
	for left := a.Duration; left > 0; left -= advanceStep {
		if err := ctx.Err(); err != nil {
			return Result{}, fmt.Errorf("advance interrupted with %v to go: %w", left.Truncate(time.Second), err)
		}
		t.Clock.Advance(min(left, advanceStep))
	}
	return screen(t), nil
}

// looksLikeDuration is a last word meant as a timeout ("5s", "3x"), as
// opposed to a word of the value ("1002", "Settings").
var looksLikeDuration = regexp.MustCompile(`^[0-9][0-9.]*[A-Za-zµ]`)

func parseWait(text string) (Args, error) {
	// The value may hold spaces; a last word that reads as a duration is
	// the timeout.
	cond, timeout := text, WaitTimeout
	if i := strings.LastIndexByte(text, ' '); i > 0 {
		if last := text[i+1:]; looksLikeDuration.MatchString(last) {
			d, err := time.ParseDuration(last)
			if err != nil || d <= 0 {
				return Args{}, fmt.Errorf("wait: timeout %q is not a duration like 500ms, 5s or 2m", last)
			}
			cond, timeout = strings.TrimSpace(text[:i]), d
		}
	}
	c, err := ParseStatusCond(cond)
	if err != nil {
		return Args{}, errors.New("wait needs KEY=VALUE and an optional timeout, e.g. wait registered=yes 5s")
	}
	return Args{Cond: c, Duration: timeout}, nil
}

func wait(ctx context.Context, t *Target, a Args) (Result, error) {
	opts := WaitOptions{Timeout: a.Duration}
	if t.Pace != nil {
		opts = t.Pace(a.Cond, a.Duration)
	}
	if err := WaitCond(ctx, t.Phone, a.Cond, opts); err != nil {
		return Result{}, err
	}
	return screen(t), nil
}

func parseExpect(text string) (Args, error) {
	c, err := ParseStatusCond(text)
	if err != nil {
		return Args{}, fmt.Errorf("expect: %w", err)
	}
	return Args{Cond: c}, nil
}

func expect(_ context.Context, t *Target, a Args) (Result, error) {
	ok, why, err := a.Cond.Check(t.Phone)
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return Result{}, fmt.Errorf("expected %s; %s", a.Cond, why)
	}
	return screen(t), nil
}

func callsVerb(_ context.Context, t *Target, _ Args) (Result, error) {
	calls, err := t.Phone.Calls()
	if err != nil {
		return Result{}, err
	}
	return Result{Kind: KindCalls, Calls: calls}, nil
}

// parseHistory reads the list history shows, none for all of them.
func parseHistory(text string) (Args, error) {
	if text != "" && !slices.Contains(phone.HistoryLists, text) {
		return Args{}, &ArgError{Msg: fmt.Sprintf("history lists %s, not %q", strings.Join(phone.HistoryLists, ", "), text),
			Got: text, Known: phone.HistoryLists}
	}
	return Args{Text: text}, nil
}

func historyVerb(_ context.Context, t *Target, a Args) (Result, error) {
	entries, err := t.Phone.Line().History(a.Text)
	if err != nil {
		return Result{}, err
	}
	return Result{Kind: KindHistory, History: entries}, nil
}

// optionalID parses the call id a verb may name (the calls command lists
// them); none means the call on the screen.
func optionalID(text string) (Args, error) {
	if strings.ContainsAny(text, " \t") {
		return Args{}, fmt.Errorf("one call id, not %q (the calls command lists them)", text)
	}
	return Args{Text: text}, nil
}

// onCall runs a verb on the call the arguments name.
func onCall(f func(phone.Calls, string) error) func(context.Context, *Target, Args) (Result, error) {
	return func(_ context.Context, t *Target, a Args) (Result, error) {
		if err := f(t.Phone.Line(), a.Text); err != nil {
			return Result{}, err
		}
		return screen(t), nil
	}
}

// byID runs focused without an id, as the verb always did, and f on the
// call an id names.
func byID(focused func(context.Context, *Target, Args) (Result, error), f func(phone.Calls, string) error) func(context.Context, *Target, Args) (Result, error) {
	named := onCall(f)
	return func(ctx context.Context, t *Target, a Args) (Result, error) {
		if a.Text == "" {
			return focused(ctx, t, a)
		}
		return named(ctx, t, a)
	}
}
