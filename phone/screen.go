package phone

import (
	"fmt"
	"strconv"
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
	// Softkeys holds one label per softkey position as the LCD shows it;
	// empty means blank. A label too wide for its cell (SoftkeyWidth) is
	// the catalog's short label; SoftkeyNames holds the full ones.
	Softkeys     []string
	SoftkeyNames []string
	LEDs         LEDs
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
// (Rows minus the status bar and its rule), padded with blank lines. Like
// the phones' firmware, a line wider than the LCD wraps at a word onto the
// next row (indented as its first row); where the rows run out the last one
// shown ends in "...", and the full text stays in the syslog and status.
// The alert takes the bottom rows it needs.
func (s Screen) BodyLines() []string {
	n := max(s.Rows-2, 1)
	w := max(s.Columns, 1)
	var body []string
	if s.Title != "" {
		body = append(body, wrap(s.Title, w)...)
	}
	for _, l := range s.Lines {
		mark := "  "
		if l.Selected {
			mark = "> "
		}
		for i, r := range wrap(l.Text, w-2) {
			if i > 0 {
				mark = "  "
			}
			body = append(body, mark+r)
		}
	}
	if s.Prompt != "" {
		body = append(body, wrap(s.Prompt, w)...)
		for _, r := range wrap(s.Input+"_", w-2) {
			body = append(body, "  "+r)
		}
	}
	var alert []string
	if s.Alert != "" {
		alert = wrap("** "+s.Alert+" **", w)
		if len(alert) > n {
			alert = ellipsis(alert[:n], w)
		}
	}
	room := n - len(alert)
	if len(body) > room {
		body = ellipsis(body[:room], w)
	}
	out := make([]string, 0, n)
	out = append(out, body...)
	for len(out)+len(alert) < n {
		out = append(out, "")
	}
	return append(out, alert...)
}

// wrap breaks text into rows of at most w cells at spaces; a word longer
// than a row is split.
func wrap(text string, w int) []string {
	w = max(w, 1)
	var rows []string
	var cur []rune
	for _, word := range strings.Split(text, " ") {
		r := []rune(word)
		switch {
		case len(cur) == 0:
		case len(cur)+1+len(r) <= w:
			cur = append(cur, ' ')
		default:
			rows, cur = append(rows, string(cur)), nil
		}
		for len(cur)+len(r) > w {
			cut := w - len(cur)
			rows, cur = append(rows, string(append(cur, r[:cut]...))), nil
			r = r[cut:]
		}
		cur = append(cur, r...)
	}
	return append(rows, string(cur))
}

// ellipsis marks the last of rows, cut from longer text, with "...".
func ellipsis(rows []string, w int) []string {
	if len(rows) == 0 {
		return rows
	}
	last := []rune(strings.TrimRight(rows[len(rows)-1], " "))
	if len(last)+3 > w {
		last = last[:max(w-3, 0)]
	}
	rows[len(rows)-1] = string(last) + "..."
	return rows
}

// Plain is the screen's words without the LCD's layout: title, lines,
// prompt and alert, each whole on its own line. A match against it finds a
// message whatever the model's width wrapped or cut.
func (s Screen) Plain() string {
	var b strings.Builder
	add := func(t string) {
		if t != "" {
			b.WriteString(t)
			b.WriteString("\n")
		}
	}
	add(s.Title)
	for _, l := range s.Lines {
		add(l.Text)
	}
	add(s.Prompt)
	if s.Prompt != "" {
		add(s.Input + "_")
	}
	add(s.Alert)
	return b.String()
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
// compared without case: the label shown or its full name.
func (s Screen) Softkey(label string) (int, bool) {
	for _, keys := range [][]string{s.Softkeys, s.SoftkeyNames} {
		for i, k := range keys {
			if k != "" && strings.EqualFold(k, label) {
				return i + 1, true
			}
		}
	}
	return 0, false
}

// SoftkeyWidth is how many characters a softkey label may take on an LCD of
// columns with n softkeys: an equal share of the row, a cell between keys.
func SoftkeyWidth(columns, n int) int { return max(columns/max(n, 1)-1, 1) }

// Contains reports whether text appears anywhere on the LCD, or in one of
// its lines before they were wrapped to the LCD's width.
func (s Screen) Contains(text string) bool {
	return strings.Contains(s.Text(), text) || strings.Contains(s.Plain(), text)
}

func fit(s string, w int) string {
	r := []rune(s)
	if len(r) > w {
		return string(r[:w])
	}
	return s + strings.Repeat(" ", w-len(r))
}

// count is n with the noun that goes with it: "1 try", "2 tries".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
