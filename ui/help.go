package ui

import (
	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"
	"github.com/rivo/uniseg"
)

// helpView is the help overlay: the key table in as many columns as the
// terminal needs, in a box centred over the phone. Only the box is drawn, so
// the phone stays visible around it.
type helpView struct {
	*tview.Box
	th      theme
	entries []entry
	footer  string // how to close the overlay
}

func newHelpView(keys []binding, th theme) *helpView {
	return &helpView{
		Box:     tview.NewBox(),
		th:      th,
		entries: entries(keys),
		footer:  " " + keyFor(keys, cmdHelp) + " or " + helpCloser().String() + " closes ",
	}
}

// Draw draws the box centred in the view's rectangle.
func (h *helpView) Draw(screen tcell.Screen) {
	x, y, w, ht := h.GetRect()
	keyW, descW := 0, 0
	for _, e := range h.entries {
		keyW = max(keyW, uniseg.StringWidth(e.keys))
		descW = max(descW, uniseg.StringWidth(e.desc))
	}
	const gap = 3 // between columns
	cellW := keyW + 2 + descW
	n := len(h.entries)
	perCol := max(ht-2, 1)
	cols := (n + perCol - 1) / perCol
	rows := (n + cols - 1) / cols
	boxW := cols*cellW + (cols-1)*gap + 4
	boxH := rows + 2
	c := canvas{
		scr: screen,
		x:   x + max(w-boxW, 0)/2, y: y + max(ht-boxH, 0)/2,
		w: min(boxW, w), h: min(boxH, ht),
	}
	for r := 0; r < boxH; r++ {
		c.fill(0, r, boxW, h.th.box)
	}
	c.frame(0, 0, boxW, boxH, true, h.th.box)
	// The title and footer stay in sight when the box is wider than the view.
	c.center(2, 0, c.w-4, " Keys ", h.th.helpKey)
	c.center(2, boxH-1, c.w-4, h.footer, h.th.box)
	for i, e := range h.entries {
		col, row := i/rows, i%rows
		ex := 2 + col*(cellW+gap)
		c.text(ex, 1+row, keyW, e.keys, h.th.helpKey)
		c.text(ex+keyW+2, 1+row, descW, e.desc, h.th.helpDesc)
	}
}

// MouseHandler swallows clicks while the overlay is open, so that they do
// not press the softkeys under it.
func (h *helpView) MouseHandler() func(tview.MouseAction, *tcell.EventMouse, func(tview.Primitive)) (bool, tview.Primitive) {
	return h.WrapMouseHandler(func(tview.MouseAction, *tcell.EventMouse, func(tview.Primitive)) (bool, tview.Primitive) {
		return true, nil
	})
}
