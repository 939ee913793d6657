package ui

import (
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"
	"github.com/rivo/uniseg"

	"github.com/deskphone/deskphone/phone"
)

// Widths around the LCD text, in cells.
const (
	// lcdChrome is what surrounds the LCD across the bezel at its most
	// compact: the bezel's sides, a space inside each, and the LCD frame's
	// sides.
	lcdChrome = 6
	// sideWidth is the column right of the LCD with the LEDs and keypad,
	// at least one space away from the LCD frame.
	sideWidth = 9
)

// How far the device grows into a large terminal: more room between the
// bezel and what it holds, between the LCD and the keypad, and blank rows
// between the parts.
const (
	maxMargin = 3 // cells between the bezel's sides and the LCD
	maxGap    = 4 // cells between the LCD frame and the LEDs and keypad
)

// framedCaption is the least width inside a framed softkey: a function key
// and a label of nine cells. Narrower softkeys keep one row, where the frame
// does not take two cells of the caption.
const framedCaption = 12

// The legend under the softkeys shows the most used keys in at most
// legendRows rows; the help overlay has the whole table.
const legendRows = 2

// legendKeys are the descriptions of the keys the legend shows, in order:
// help comes first so that a legend of one short row still says where the
// rest is.
var legendKeys = []string{"help", "quit", "softkeys", "keypad", "ok", "back", "hook", "log pane"}

// phoneView draws one phone: the bezel with the vendor and model, the LCD, the
// softkeys under it, the LEDs, the keypad and a key legend. It holds no phone
// state of its own, only the last Screen snapshot it was given, and it turns
// clicks on softkeys and keypad into actions.
type phoneView struct {
	*tview.Box
	th       theme
	legend   []entry
	keys     []binding
	title    string // vendor and model, as printed on the bezel
	firmware string
	// lcd is the model's display, used until the first snapshot arrives.
	lcd phone.Screen

	scr    phone.Screen
	notice string       // the last input's error, shown on the bezel
	input  func(action) // hands a click over to the phone
	hits   []hit        // clickable cells of the last Draw
}

// hit is a clickable run of cells on one screen row.
type hit struct {
	x, y, w int
	do      action
}

func newPhoneView(p *phone.Phone, keys []binding, th theme, input func(action)) *phoneView {
	d := p.Model().Display
	return &phoneView{
		Box:      tview.NewBox(),
		th:       th,
		keys:     keys,
		legend:   legendOf(entries(keys)),
		title:    p.Model().Title(),
		firmware: p.Firmware().Version,
		lcd:      phone.Screen{Columns: d.Columns, Rows: d.Rows, Softkeys: make([]string, d.Softkeys)},
		scr:      p.Screen(),
		input:    input,
	}
}

// legendOf picks the legend's entries from the help's, in legendKeys order.
func legendOf(es []entry) []entry {
	var out []entry
	for _, d := range legendKeys {
		for _, e := range es {
			if e.desc == d {
				out = append(out, e)
			}
		}
	}
	return out
}

// screen is the snapshot to draw, with the model's geometry when the phone
// has not published one yet.
func (v *phoneView) screen() phone.Screen {
	s := v.scr
	if s.Columns <= 0 || s.Rows <= 0 {
		s.Columns, s.Rows = v.lcd.Columns, v.lcd.Rows
	}
	if len(s.Softkeys) == 0 {
		s.Softkeys = v.lcd.Softkeys
	}
	return s
}

// shape is where the parts of the device go in a given space.
type shape struct {
	wide          bool // LEDs and keypad beside the LCD; else LEDs in a row
	width, height int  // the bezel
	lcdW, lcdH    int  // LCD text cells, status bar and rule included
	legend        [][]entry
	// Room grown into when the space allows, in this order once the legend
	// has its rows: 1, 1, 0, false, false at the least.
	margin int  // cells between the bezel's sides and the LCD frame
	gap    int  // cells between the LCD frame and the side column
	pad    int  // blank rows under the bezel's top and over its bottom
	spaced bool // a blank row under the LCD and another over the legend
	framed bool // softkeys are framed buttons, three rows high
}

// shape lays the device out in w×h cells: the LCD is as large as the model's
// when it fits, and shrinks before the softkeys go; the legend takes the rows
// left over, then the device grows into what is still free.
func (v *phoneView) shape(w, h int) shape { return v.layout(w, h, true) }

// need is the width of the device in w cells when it does not grow: what
// it takes to show the LCD whole, with the keypad beside it if it fits.
func (v *phoneView) need(w int) int {
	const tall = 1 << 16
	return v.layout(w, tall, false).width
}

func (v *phoneView) layout(w, h int, grow bool) shape {
	s := v.screen()
	sh := shape{margin: 1, gap: 1}
	wide := s.Columns + lcdChrome + sh.gap + sideWidth
	sh.wide = w >= wide
	if sh.wide {
		sh.width, sh.lcdW = wide, s.Columns
		if grow {
			extra := w - wide
			g := min(extra, maxGap-sh.gap)
			sh.gap += g
			m := min((extra-g)/2, maxMargin-sh.margin)
			sh.margin += m
			sh.width += g + 2*m
		}
	} else {
		sh.width = max(min(w, s.Columns+lcdChrome), 0)
		sh.lcdW = max(sh.width-lcdChrome, 0)
	}
	fixed := 1 // the softkey row
	if !sh.wide {
		fixed++ // the LED row
	}
	sh.lcdH = max(min(h-4-fixed, s.Rows), 1) // 4: bezel and LCD borders
	lines := legendLines(v.legend, sh.width-2-2*sh.margin)
	n := max(min(h-4-fixed-sh.lcdH, len(lines), legendRows), 0)
	sh.legend = lines[:n]
	sh.height = 4 + sh.lcdH + fixed + n
	if !grow {
		return sh
	}
	spacing := 1 // a blank row under the LCD
	if n > 0 {
		spacing++ // and one over the legend
	}
	if h-sh.height >= spacing {
		sh.spaced = true
		sh.height += spacing
	}
	sh.pad = min((h-sh.height)/2, 1)
	sh.height += 2 * sh.pad
	if k := len(s.Softkeys); sh.wide && k > 0 && h-sh.height >= 2 &&
		(sh.width-2-2*sh.margin-(k-1))/k-2 >= framedCaption {
		sh.framed = true
		sh.height += 2
	}
	return sh
}

// size is the space the device would like in a terminal w cells wide, and
// the least height that still shows the whole LCD and the softkeys.
func (v *phoneView) size(w int) (width, height, core int) {
	const tall = 1 << 16
	sh := v.shape(w, tall)
	least := v.layout(w, tall, false)
	return sh.width, sh.height, least.height - len(least.legend)
}

// legendLines wraps the legend entries into lines of at most w cells.
func legendLines(es []entry, w int) [][]entry {
	var lines [][]entry
	var line []entry
	used := 0
	for _, e := range es {
		ew := uniseg.StringWidth(e.short) + 1 + uniseg.StringWidth(e.desc)
		if len(line) > 0 && used+2+ew > w {
			lines = append(lines, line)
			line, used = nil, 0
		}
		if len(line) > 0 {
			used += 2
		}
		line = append(line, e)
		used += ew
	}
	if len(line) > 0 {
		lines = append(lines, line)
	}
	return lines
}

// Draw draws the device centred in the view.
func (v *phoneView) Draw(screen tcell.Screen) {
	v.DrawForSubclass(screen, v)
	x, y, w, h := v.GetInnerRect()
	sh := v.shape(w, h)
	c := canvas{
		scr: screen,
		x:   x + max(w-sh.width, 0)/2, y: y + max(h-sh.height, 0)/2,
		w: min(sh.width, w), h: min(sh.height, h),
	}
	s := v.screen()
	v.hits = v.hits[:0]

	v.drawBezel(c, sh)
	v.drawLCD(c, sh, s)
	row := 1 + sh.pad + sh.lcdH + 2
	if sh.spaced {
		row++
	}
	keyRows := 1
	if sh.framed {
		keyRows = 3
	}
	v.drawSoftkeys(c, sh.margin+1, row, sh.width-2-2*sh.margin, keyRows, s.Softkeys)
	row += keyRows
	if sh.wide {
		v.drawSide(c, sh.margin+1+sh.lcdW+2+sh.gap, 1+sh.pad, sh.lcdH+2, s.LEDs)
	} else {
		v.drawLEDRow(c, row, s.LEDs)
		row++
	}
	if sh.spaced && len(sh.legend) > 0 {
		row++
	}
	for _, line := range sh.legend {
		x := sh.margin + 1
		for i, e := range line {
			if i > 0 {
				x += 2
			}
			x += c.text(x, row, sh.width-1-sh.margin-x, e.short, v.th.legendKey) + 1
			x += c.text(x, row, sh.width-1-sh.margin-x, e.desc, v.th.legendDesc)
		}
		row++
	}
}

func (v *phoneView) drawBezel(c canvas, sh shape) {
	c.frame(0, 0, sh.width, sh.height, true, v.th.bezel)
	c.center(2, 0, sh.width-4, " "+v.title+" ", v.th.bezelTitle)
	fw := " " + v.firmware + " "
	fwW := uniseg.StringWidth(fw)
	bottom := sh.height - 1
	c.text(max(sh.width-2-fwW, 2), bottom, sh.width-4, fw, v.th.bezel)
	if v.notice != "" {
		c.text(2, bottom, sh.width-fwW-5, " "+v.notice+" ", v.th.notice)
	}
}

// drawLCD draws the display: the status bar, a rule, then the body rows with
// the menu cursor and the alert highlighted.
func (v *phoneView) drawLCD(c canvas, sh shape, s phone.Screen) {
	fx, fy := sh.margin+1, 1+sh.pad // the frame's corner
	c.frame(fx, fy, sh.lcdW+2, sh.lcdH+2, false, tcell.StyleDefault)
	rows := []string{s.Status.Line(sh.lcdW), strings.Repeat(string(tview.Borders.Horizontal), sh.lcdW)}
	styles := []tcell.Style{v.th.status, tcell.StyleDefault}
	body := s.BodyLines()
	bodyStyles := make([]tcell.Style, len(body))
	for i := range bodyStyles {
		bodyStyles[i] = tcell.StyleDefault
	}
	first := 0 // the body row of the first Line
	if s.Title != "" && len(body) > 0 {
		bodyStyles[0] = v.th.title
		first = 1
	}
	for i, l := range s.Lines {
		if l.Selected && first+i < len(body) {
			bodyStyles[first+i] = v.th.selected
		}
	}
	if s.Alert != "" && len(body) > 0 {
		// BodyLines keeps the alert on the last body row.
		bodyStyles[len(body)-1] = v.th.alert
	}
	rows = append(rows, body...)
	styles = append(styles, bodyStyles...)
	for i := 0; i < sh.lcdH && i < len(rows); i++ {
		c.fill(fx+1, fy+1+i, sh.lcdW, styles[i])
		c.text(fx+1, fy+1+i, sh.lcdW, rows[i], styles[i])
	}
}

// drawSoftkeys draws one button per softkey, captioned with the terminal key
// that presses it, across w cells from x of the rows from y: one row of
// reverse video, or three with a frame around the caption.
func (v *phoneView) drawSoftkeys(c canvas, x0, y, w, rows int, labels []string) {
	n := len(labels)
	if n == 0 {
		return
	}
	cw := max((w-(n-1))/n, 1)
	x0 += max(w-(n*cw+n-1), 0) / 2 // the rounding's spare cells, either side
	framed := rows >= 3
	for i, label := range labels {
		bx := x0 + i*(cw+1) // the button
		caption := strings.TrimSpace(softkeyName(v.keys, i+1) + " " + label)
		st, frame := v.th.softkey, v.th.bezel
		if label == "" {
			st, frame = v.th.softkeyBlank, v.th.softkeyBlank
		}
		x, cy, inner := bx, y, cw // the caption's cells
		if framed {
			c.frame(bx, y, cw, rows, false, frame)
			x, cy, inner = bx+1, y+1, cw-2
		}
		c.fill(x, cy, inner, st)
		c.center(x, cy, inner, caption, st)
		if label != "" {
			for r := 0; r < rows; r++ {
				v.addHit(c, bx, y+r, cw, softkey(i+1))
			}
		}
	}
}

// led is one indicator as drawn: its state, names and lit colour.
type led struct {
	name, short string
	state       phone.LED
	lit         tcell.Style
}

func (v *phoneView) leds(l phone.LEDs) []led {
	return []led{
		{"message", "msg", l.Message, v.th.ledRed},
		{"line", "line", l.Line, v.th.ledGreen},
		{"speaker", "spkr", l.Speaker, v.th.ledGreen},
		{"headset", "hdst", l.Headset, v.th.ledGreen},
		{"mute", "mute", l.Mute, v.th.ledRed},
	}
}

// look is the glyph and style of an LED. A blinking LED has its own glyph
// and the terminal's blink attribute rather than a timer of the UI's own.
func (v *phoneView) look(l led) (string, tcell.Style) {
	switch l.state {
	case phone.LEDOn:
		return "●", l.lit
	case phone.LEDBlink:
		return "◉", l.lit.Blink(true)
	}
	return "○", v.th.ledOff
}

// drawSide draws the LEDs and the keypad in the column at x, in the h rows
// of the LCD frame from row y. The keypad sits at the foot, its rows apart
// when there is room.
func (v *phoneView) drawSide(c canvas, x, y, h int, l phone.LEDs) {
	clip := canvas{scr: c.scr, x: c.x + x, y: c.y + y, w: min(sideWidth, max(c.w-x, 0)), h: min(h, max(c.h-y, 0))}
	for i, d := range v.leds(l) {
		glyph, st := v.look(d)
		clip.text(0, i, 2, glyph, st)
		clip.text(2, i, sideWidth-2, d.name, st)
	}
	const leds = 6 // rows of the LEDs and a blank one
	stride := 1
	if h-leds >= 7 {
		stride = 2
	}
	top := max(h-1-3*stride, leds)
	for r, keys := range []string{"123", "456", "789", "*0#"} {
		ky := top + r*stride
		for i, ch := range keys {
			k, _ := phone.KeyForDigit(ch)
			kx := 1 + 3*i
			if clip.text(kx, ky, 1, string(ch), v.th.legendKey) == 1 {
				// The space either side of the digit is its key too.
				v.addHit(clip, kx-1, ky, 3, press(k))
			}
		}
	}
}

// drawLEDRow draws the LEDs in one row, for when there is no room beside
// the LCD.
func (v *phoneView) drawLEDRow(c canvas, y int, l phone.LEDs) {
	x := 2 // the narrow device has the least margin
	for _, d := range v.leds(l) {
		glyph, st := v.look(d)
		x += c.text(x, y, 1, glyph, st)
		x += c.text(x, y, c.w-2-x, d.short, st) + 1
	}
}

// addHit records a clickable run of cells, clipped to the canvas.
func (v *phoneView) addHit(c canvas, x, y, w int, a action) {
	w = min(w, c.w-x)
	if y < 0 || y >= c.h || w <= 0 {
		return
	}
	v.hits = append(v.hits, hit{x: c.x + x, y: c.y + y, w: w, do: a})
}

// MouseHandler presses the softkey or keypad key under a click.
func (v *phoneView) MouseHandler() func(tview.MouseAction, *tcell.EventMouse, func(tview.Primitive)) (bool, tview.Primitive) {
	return v.WrapMouseHandler(func(ma tview.MouseAction, ev *tcell.EventMouse, _ func(tview.Primitive)) (bool, tview.Primitive) {
		// A quick second click is reported as a double click; on a phone
		// it is just another press.
		if ma != tview.MouseLeftClick && ma != tview.MouseLeftDoubleClick {
			return false, nil
		}
		x, y := ev.Position()
		for _, h := range v.hits {
			if y == h.y && x >= h.x && x < h.x+h.w {
				v.input(h.do)
				return true, nil
			}
		}
		return false, nil
	})
}
