package phone

import "github.com/deskphone/deskphone/phone/catalog"

// menuLevel is one open level of the menu: a list of items, or the
// information screen of a Show item.
type menuLevel struct {
	title  string
	items  []*catalog.Item
	show   []string
	cursor int
}

func (p *Phone) menuOpen() bool { return len(p.s.menu) > 0 }

// menuKey is the menu's stage of the input router: with the menu open it
// takes the navigation keys and the digits that pick an entry; other keys
// (hook, volume, ...) go on to the idle and call screens.
func (p *Phone) menuKey(k Key) bool {
	if !p.menuOpen() {
		return false
	}
	if c, ok := k.Digit(); ok {
		lvl := &p.s.menu[len(p.s.menu)-1]
		if n := int(c - '1'); c >= '1' && c <= '9' && n < len(lvl.items) {
			lvl.cursor = n
			p.selectItem()
		}
		return true
	}
	switch k {
	case KeyUp:
		p.moveCursor(-1)
	case KeyDown:
		p.moveCursor(+1)
	case KeyOK, KeyRight:
		p.selectItem()
	case KeyBack, KeyLeft:
		p.menuBack()
	case KeyMenu:
		p.closeMenu()
	default:
		return false
	}
	return true
}

// toggleMenu is the menu key or softkey: it closes an open menu and opens
// it on the idle screen.
func (p *Phone) toggleMenu() {
	if p.menuOpen() {
		p.closeMenu()
	} else if p.s.calls.state() == CallIdle {
		p.openMenu()
	}
}

// goHome leaves the menu and clears an alert.
func (p *Phone) goHome() {
	p.closeMenu()
	p.s.alert = ""
}

func (p *Phone) openMenu() {
	p.s.menu = []menuLevel{{title: "Menu", items: p.model.Vendor.Menu}}
	p.s.page = 0
}

func (p *Phone) closeMenu() {
	p.s.menu = nil
	p.s.page = 0
	p.leftMenu()
}

// menuBack goes up one menu level (closing the menu from its top).
func (p *Phone) menuBack() {
	p.s.menu = p.s.menu[:len(p.s.menu)-1]
	p.leftMenu()
}

// openPath opens the menu at a path of labels, as a softkey bound to a menu
// screen does (Yealink's Status).
func (p *Phone) openPath(path []string) {
	trail, err := p.model.Vendor.Find(path)
	if err != nil {
		p.logf("menu", "err", "menu", "%v", err)
		return
	}
	p.openMenu()
	for _, it := range trail {
		lvl := &p.s.menu[len(p.s.menu)-1]
		for i, x := range lvl.items {
			if x == it {
				lvl.cursor = i
			}
		}
		p.selectItem()
	}
}

func (p *Phone) moveCursor(d int) {
	if !p.menuOpen() {
		return
	}
	lvl := &p.s.menu[len(p.s.menu)-1]
	if len(lvl.items) == 0 {
		return
	}
	lvl.cursor = (lvl.cursor + d + len(lvl.items)) % len(lvl.items)
}

func (p *Phone) selectItem() {
	lvl := p.s.menu[len(p.s.menu)-1]
	if len(lvl.items) == 0 {
		return
	}
	it := lvl.items[lvl.cursor]
	switch {
	case len(it.Items) > 0:
		p.s.menu = append(p.s.menu, menuLevel{title: it.Label, items: it.Items})
	case len(it.Show) > 0:
		p.s.menu = append(p.s.menu, menuLevel{title: it.Label, show: it.Show})
	case it.Action != catalog.ActionNone:
		p.logf("menu", "info", "menu", "%s", it.Label)
		p.action(it.Action)
	}
}
