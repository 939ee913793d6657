// The menu: a stage of the input router and a screen.

package phone

import (
	"fmt"
	"strings"

	"github.com/deskphone/deskphone/phone/catalog"
)

// menuLevel is one open level of the menu: a list of items, or the
// information screen of a Show item.
type menuLevel struct {
	title  string
	items  []*catalog.Item
	show   []string
	cursor int
	// dial are the numbers of a call list's entries (openList), whose
	// action is dial.
	dial []string
}

// menu is the menu part: the open levels of the vendor's menu tree from
// the catalog, each with its cursor; closed when no level is open. It
// takes the navigation keys, renders its screen, and hands the action of a
// selected entry to the phone's actions table. It knows nothing else of
// the phone: what it needs is its menuEnv.
type menu struct {
	env    menuEnv
	levels []menuLevel
}

// menuEnv is what the menu needs of its phone.
type menuEnv struct {
	vendor *catalog.Vendor
	// expand fills the {placeholders} of a Show item's lines.
	expand func(string) string
	logf   func(event, level, tag, format string, args ...any)
	// run performs a selected entry's action (the actions table).
	run func(catalog.Action)
	// firstPage turns the softkeys back to their first page: the menu
	// opened or closed.
	firstPage func()
	// left tells the phone that the menu is down to depth levels: a text
	// entry opened in a level that was left closes with it.
	left func(depth int)
}

// isOpen reports whether the menu is on the screen.
func (m *menu) isOpen() bool { return len(m.levels) > 0 }

// depth is how many levels are open.
func (m *menu) depth() int { return len(m.levels) }

// top is the level on the screen.
func (m *menu) top() *menuLevel { return &m.levels[len(m.levels)-1] }

// key is the menu's stage of the input router: with the menu open it
// takes the navigation keys and the digits that pick an entry; other keys
// (hook, volume, ...) go on to the idle and call screens.
func (m *menu) key(k Key) bool {
	if !m.isOpen() {
		return false
	}
	if c, ok := k.Digit(); ok {
		lvl := m.top()
		if n := int(c - '1'); c >= '1' && c <= '9' && n < len(lvl.items) {
			lvl.cursor = n
			m.selectItem()
		}
		return true
	}
	switch k {
	case KeyUp:
		m.move(-1)
	case KeyDown:
		m.move(+1)
	case KeyOK, KeyRight:
		m.selectItem()
	case KeyBack, KeyLeft:
		m.back()
	case KeyMenu:
		m.close()
	default:
		return false
	}
	return true
}

// toggle is the menu key or softkey: it closes an open menu, and opens it
// when the phone is idle.
func (m *menu) toggle(idle bool) {
	if m.isOpen() {
		m.close()
	} else if idle {
		m.open()
	}
}

// open shows the top of the menu.
func (m *menu) open() {
	m.levels = []menuLevel{{title: "Menu", items: m.env.vendor.Menu}}
	m.env.firstPage()
}

// close leaves the menu from any level.
func (m *menu) close() {
	m.levels = nil
	m.env.firstPage()
	m.env.left(0)
}

// back goes up one level (closing the menu from its top); it reports
// false when the menu is closed.
func (m *menu) back() bool {
	if !m.isOpen() {
		return false
	}
	m.levels = m.levels[:len(m.levels)-1]
	m.env.left(len(m.levels))
	return true
}

// ok is OK in the menu: it selects the entry under the cursor; it reports
// false when the menu is closed.
func (m *menu) ok() bool {
	if !m.isOpen() {
		return false
	}
	m.selectItem()
	return true
}

// openPath opens the menu at a path of labels, as a softkey bound to a menu
// screen does (Yealink's Status).
func (m *menu) openPath(path []string) {
	trail, err := m.env.vendor.Find(path)
	if err != nil {
		m.env.logf("menu", "err", "menu", "%v", err)
		return
	}
	m.open()
	for _, it := range trail {
		lvl := m.top()
		for i, x := range lvl.items {
			if x == it {
				lvl.cursor = i
			}
		}
		m.selectItem()
	}
}

// openList opens a call list titled title: one item per call, each bound
// to dial (listNumber); a list without an entry shows empty. From a
// softkey, with the menu closed, the list is the menu's one level.
func (m *menu) openList(title string, items []*catalog.Item, numbers []string, empty string) {
	if !m.isOpen() {
		m.env.firstPage()
	}
	if len(items) == 0 {
		m.levels = append(m.levels, menuLevel{title: title, show: []string{empty}})
		return
	}
	m.levels = append(m.levels, menuLevel{title: title, items: items, dial: numbers})
}

// listNumber is the number of the call list entry under the cursor, ""
// outside a call list.
func (m *menu) listNumber() string {
	if !m.isOpen() || m.top().dial == nil {
		return ""
	}
	return m.top().dial[m.top().cursor]
}

// move moves the cursor d entries, round the ends.
func (m *menu) move(d int) {
	if !m.isOpen() {
		return
	}
	lvl := m.top()
	if len(lvl.items) == 0 {
		return
	}
	lvl.cursor = (lvl.cursor + d + len(lvl.items)) % len(lvl.items)
}

// selectItem opens the entry under the cursor: a submenu, an information
// screen, or its action.
func (m *menu) selectItem() {
	lvl := m.top()
	if len(lvl.items) == 0 {
		return
	}
	it := lvl.items[lvl.cursor]
	switch {
	case len(it.Items) > 0:
		m.levels = append(m.levels, menuLevel{title: it.Label, items: it.Items})
	case len(it.Show) > 0:
		m.levels = append(m.levels, menuLevel{title: it.Label, show: it.Show})
	case it.Action != catalog.ActionNone:
		m.env.logf("menu", "info", "menu", "%s", it.Label)
		m.env.run(it.Action)
	}
}

// render draws the open level: its title, and its lines or its entries.
func (m *menu) render(s *Screen) {
	lvl := m.top()
	s.Title = lvl.title
	if lvl.show != nil {
		for _, l := range lvl.show {
			s.Lines = append(s.Lines, Line{Text: m.env.expand(l)})
		}
		return
	}
	// Scroll so that the cursor stays in the rows under the title.
	rows := max(s.Rows-3, 1)
	first := 0
	if lvl.cursor >= rows {
		first = lvl.cursor - rows + 1
	}
	for i := first; i < len(lvl.items) && i < first+rows; i++ {
		s.Lines = append(s.Lines, Line{Text: fmt.Sprintf("%d %s", i+1, lvl.items[i].Label), Selected: i == lvl.cursor})
	}
}

// path is the titles of the open levels (status menu): "Menu > Settings".
func (m *menu) path() string {
	titles := make([]string, 0, len(m.levels))
	for _, l := range m.levels {
		titles = append(titles, l.title)
	}
	return strings.Join(titles, " > ")
}
