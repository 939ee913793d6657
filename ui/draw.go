package ui

import (
	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"
	"github.com/rivo/uniseg"
)

// theme holds the styles the UI draws with. Highlights use reverse video and
// attributes more than colours, so that they read on any terminal palette.
type theme struct {
	bezel, bezelTitle      tcell.Style
	status                 tcell.Style // the LCD's status bar
	title                  tcell.Style // the first body line: menu name, "Dialing"
	selected               tcell.Style // the menu cursor
	alert                  tcell.Style
	softkey, softkeyBlank  tcell.Style
	ledOff                 tcell.Style
	ledRed, ledGreen       tcell.Style
	legendKey, legendDesc  tcell.Style
	notice                 tcell.Style
	helpKey, helpDesc, box tcell.Style
}

func defaultTheme() theme {
	def := tcell.StyleDefault
	return theme{
		bezel:        def.Foreground(tcell.ColorGray),
		bezelTitle:   def.Bold(true),
		status:       def.Reverse(true),
		title:        def.Bold(true),
		selected:     def.Reverse(true),
		alert:        def.Foreground(tcell.ColorYellow).Bold(true).Reverse(true),
		softkey:      def.Reverse(true),
		softkeyBlank: def.Dim(true),
		ledOff:       def.Dim(true),
		ledRed:       def.Foreground(tcell.ColorRed).Bold(true),
		ledGreen:     def.Foreground(tcell.ColorGreen).Bold(true),
		legendKey:    def.Bold(true),
		legendDesc:   def.Dim(true),
		notice:       def.Foreground(tcell.ColorYellow),
		helpKey:      def.Bold(true),
		helpDesc:     def,
		box:          def,
	}
}

// canvas draws into a rectangle of the screen, in coordinates relative to
// its corner, and clips everything to it: a primitive must not draw over
// its neighbours however small the terminal is.
type canvas struct {
	scr        tcell.Screen
	x, y, w, h int
}

// text writes s at (x, y) in at most limit cells and returns the cells used.
func (c canvas) text(x, y, limit int, s string, st tcell.Style) int {
	if y < 0 || y >= c.h {
		return 0
	}
	end := min(x+limit, c.w)
	used := 0
	for s != "" && x < end {
		cluster, rest, width, _ := uniseg.FirstGraphemeClusterInString(s, -1)
		if x+width > end {
			break
		}
		if x >= 0 && width > 0 {
			c.scr.Put(c.x+x, c.y+y, cluster, st)
		}
		s = rest
		x += width
		used += width
	}
	return used
}

// center writes s centred in w cells starting at x.
func (c canvas) center(x, y, w int, s string, st tcell.Style) {
	c.text(x+max(w-uniseg.StringWidth(s), 0)/2, y, w, s, st)
}

// fill paints w cells from (x, y) with spaces in style st.
func (c canvas) fill(x, y, w int, st tcell.Style) {
	for i := max(x, 0); i < x+w && i < c.w; i++ {
		if y >= 0 && y < c.h {
			c.scr.SetContent(c.x+i, c.y+y, ' ', nil, st)
		}
	}
}

// frame draws a w×h border with its corner at (x, y); double draws the
// double-line variant tview uses for focused boxes.
func (c canvas) frame(x, y, w, h int, double bool, st tcell.Style) {
	if w < 2 || h < 2 {
		return
	}
	b := tview.Borders
	hz, vt, tl, tr, bl, br := b.Horizontal, b.Vertical, b.TopLeft, b.TopRight, b.BottomLeft, b.BottomRight
	if double {
		hz, vt, tl, tr, bl, br = b.HorizontalFocus, b.VerticalFocus, b.TopLeftFocus, b.TopRightFocus, b.BottomLeftFocus, b.BottomRightFocus
	}
	c.rune(x, y, tl, st)
	c.rune(x+w-1, y, tr, st)
	c.rune(x, y+h-1, bl, st)
	c.rune(x+w-1, y+h-1, br, st)
	for i := x + 1; i < x+w-1; i++ {
		c.rune(i, y, hz, st)
		c.rune(i, y+h-1, hz, st)
	}
	for j := y + 1; j < y+h-1; j++ {
		c.rune(x, j, vt, st)
		c.rune(x+w-1, j, vt, st)
	}
}

func (c canvas) rune(x, y int, r rune, st tcell.Style) {
	if x >= 0 && x < c.w && y >= 0 && y < c.h {
		c.scr.SetContent(c.x+x, c.y+y, r, nil, st)
	}
}
