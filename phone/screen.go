package phone

import (
	"fmt"
	"strings"
)

// Screen is what the phone shows: an immutable snapshot the TUI, headless
// mode, scenarios and the control API all read. Nothing in it is live.
type Screen struct {
	Vendor string
	Model  string
	// Columns and Rows are the LCD size in character cells, status bar
	// included.
	Columns, Rows int
	Status        StatusBar
	// Title heads the body: the menu name, "Dialing", the far party.
	Title string
	// Lines are the body lines under the title; Selected marks the menu cursor.
	Lines []Line
	// Alert is a transient message over the body, empty when none.
	Alert string
	// Prompt labels a text entry the phone waits for (a file path, later a
	// user name or PIN); Input is what has been typed. Text comes through
	// Phone.Type; OK submits, Back deletes or cancels.
	Prompt string
	Input  string
	// Softkeys holds one label per softkey position; empty means blank.
	Softkeys []string
	LEDs     LEDs
	// Dimmed is the power-save state of the backlight: the content stays,
	// any key lights it up again.
	Dimmed bool
}

// StatusBar is the top line of the LCD.
type StatusBar struct {
	Time  string
	Date  string
	Label string
	Icons []string
}

// Line is one body line.
type Line struct {
	Text     string
	Selected bool
}

// LEDs are the phone's indicator lights.
type LEDs struct {
	Message LED
	Line    LED
	Speaker LED
	Headset LED
	Mute    LED
}

// Text renders the screen as plain text: the LCD in a frame of its own size,
// then the softkey row and the LEDs. Headless mode prints it and golden tests
// compare it.
func (s Screen) Text() string {
	var b strings.Builder
	w := s.Columns
	border := "+" + strings.Repeat("-", w) + "+\n"
	row := func(text string) {
		b.WriteString("|")
		b.WriteString(fit(text, w))
		b.WriteString("|\n")
	}
	b.WriteString(border)
	row(s.Status.Line(w))
	row(strings.Repeat("-", w))
	body := s.BodyLines()
	for _, l := range body {
		row(l)
	}
	b.WriteString(border)
	keys := make([]string, len(s.Softkeys))
	for i, k := range s.Softkeys {
		keys[i] = fmt.Sprintf("[%d:%s]", i+1, k)
	}
	b.WriteString(strings.Join(keys, " "))
	b.WriteString("\n")
	fmt.Fprintf(&b, "LED message=%s line=%s speaker=%s headset=%s mute=%s\n",
		s.LEDs.Message, s.LEDs.Line, s.LEDs.Speaker, s.LEDs.Headset, s.LEDs.Mute)
	return b.String()
}

// BodyLines lays out the title, body lines and alert in the LCD's body rows
// (Rows minus the status bar and its rule), padded with blank lines.
func (s Screen) BodyLines() []string {
	n := s.Rows - 2
	if n < 1 {
		n = 1
	}
	out := make([]string, 0, n)
	if s.Title != "" {
		out = append(out, s.Title)
	}
	for _, l := range s.Lines {
		mark := "  "
		if l.Selected {
			mark = "> "
		}
		out = append(out, mark+l.Text)
	}
	if s.Prompt != "" {
		out = append(out, s.Prompt, "  "+s.Input+"_")
	}
	if len(out) > n {
		out = out[:n]
	}
	if s.Alert != "" {
		alert := "** " + s.Alert + " **"
		if len(out) == n {
			out[n-1] = alert
		} else {
			for len(out) < n-1 {
				out = append(out, "")
			}
			out = append(out, alert)
		}
	}
	for len(out) < n {
		out = append(out, "")
	}
	return out
}

// Line renders the status bar in w columns: time and date on the left, the
// label in the middle, icons on the right.
func (sb StatusBar) Line(w int) string {
	left := strings.TrimSpace(sb.Time + " " + sb.Date)
	right := strings.Join(sb.Icons, " ")
	mid := sb.Label
	space := w - len(left) - len(right)
	if space < len(mid)+2 {
		mid = fit(mid, max(space-2, 0))
		mid = strings.TrimRight(mid, " ")
	}
	gap := w - len(left) - len(right) - len(mid)
	if gap < 0 {
		return fit(left+" "+right, w)
	}
	pre := gap / 2
	return left + strings.Repeat(" ", pre) + mid + strings.Repeat(" ", gap-pre) + right
}

// Softkey returns the position (1-based) of the softkey labelled label,
// compared without case.
func (s Screen) Softkey(label string) (int, bool) {
	for i, k := range s.Softkeys {
		if k != "" && strings.EqualFold(k, label) {
			return i + 1, true
		}
	}
	return 0, false
}

// Contains reports whether text appears anywhere on the LCD.
func (s Screen) Contains(text string) bool { return strings.Contains(s.Text(), text) }

func fit(s string, w int) string {
	r := []rune(s)
	if len(r) > w {
		return string(r[:w])
	}
	return s + strings.Repeat(" ", w-len(r))
}
