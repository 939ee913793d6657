package phone

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/deskphone/deskphone/phone/catalog"
)

// menuRecorder is the menu's environment in a test: it records what the
// menu asks of its phone, in order.
type menuRecorder struct {
	calls []string
}

func (r *menuRecorder) env(v *catalog.Vendor) menuEnv {
	return menuEnv{
		vendor: v,
		expand: func(s string) string { return strings.ReplaceAll(s, "{model}", "VVX 450") },
		logf: func(event, level, tag, format string, args ...any) {
			r.calls = append(r.calls, fmt.Sprintf("log %s %s: %s", event, level, fmt.Sprintf(format, args...)))
		},
		run:       func(a catalog.Action) { r.calls = append(r.calls, "run "+a.String()) },
		firstPage: func() { r.calls = append(r.calls, "first page") },
		left:      func(depth int) { r.calls = append(r.calls, fmt.Sprintf("left %d", depth)) },
	}
}

// take returns the calls recorded since the last take.
func (r *menuRecorder) take() []string {
	c := r.calls
	r.calls = nil
	return c
}

// testVendor is a small menu tree: a submenu, an information screen and
// actions.
func testVendor() *catalog.Vendor {
	return &catalog.Vendor{Menu: []*catalog.Item{
		{Label: "Settings", Items: []*catalog.Item{
			{Label: "Time format", Action: catalog.ActionTimeFormat},
			{Label: "Do not disturb", Action: catalog.ActionDND},
		}},
		{Label: "Status", Show: []string{"Model: {model}"}},
		{Label: "Reboot", Action: catalog.ActionReboot},
	}}
}

func TestMenuPart(t *testing.T) {
	type step struct {
		do   func(m *menu)
		path string
		want []string // what the menu asked of the phone
	}
	key := func(k Key) func(m *menu) { return func(m *menu) { m.key(k) } }
	tests := []struct {
		name  string
		steps []step
	}{
		{"open, walk and leave", []step{
			{func(m *menu) { m.toggle(true) }, "Menu", []string{"first page"}},
			{key(KeyDown), "Menu", nil},
			{key(KeyUp), "Menu", nil},
			{key(KeyUp), "Menu", nil}, // round the top to Reboot
			{key(KeyDown), "Menu", nil},
			{key(KeyOK), "Menu > Settings", nil},
			{key(KeyBack), "Menu", []string{"left 1"}},
			{key(KeyMenu), "", []string{"first page", "left 0"}},
		}},
		{"a digit picks and selects", []step{
			{func(m *menu) { m.open() }, "Menu", []string{"first page"}},
			{key(Key2), "Menu > Status", nil},
			{key(KeyLeft), "Menu", []string{"left 1"}},
			{key(Key9), "Menu", nil}, // no ninth entry: taken, nothing happens
			{key(Key3), "Menu", []string{"log menu info: Reboot", "run reboot"}},
		}},
		{"back from the top closes", []step{
			{func(m *menu) { m.open() }, "Menu", []string{"first page"}},
			{key(KeyBack), "", []string{"left 0"}},
		}},
		{"toggle opens only on an idle phone", []step{
			{func(m *menu) { m.toggle(false) }, "", nil},
			{func(m *menu) { m.toggle(true) }, "Menu", []string{"first page"}},
			{func(m *menu) { m.toggle(false) }, "", []string{"first page", "left 0"}},
		}},
		{"open a path", []step{
			{func(m *menu) { m.openPath([]string{"settings", "do not disturb"}) }, "Menu > Settings",
				[]string{"first page", "log menu info: Do not disturb", "run dnd"}},
		}},
		{"a path that is not there", []step{
			{func(m *menu) { m.openPath([]string{"Settings", "Ringtone"}) }, "",
				[]string{`log menu err: no menu entry "Ringtone" under "Settings"`}},
		}},
		{"closed, it takes no key", []step{
			{func(m *menu) {
				if m.key(KeyOK) || m.key(Key1) || m.ok() || m.back() {
					t.Error("a closed menu took a key")
				}
				m.move(+1)
			}, "", nil},
		}},
		{"hook and volume go on", []step{
			{func(m *menu) {
				m.open()
				if m.key(KeyHook) || m.key(KeyVolUp) {
					t.Error("the menu took a key that is not its own")
				}
			}, "Menu", []string{"first page"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r menuRecorder
			m := menu{env: r.env(testVendor())}
			for i, s := range tt.steps {
				s.do(&m)
				if got := m.path(); got != s.path {
					t.Errorf("step %d: path %q, want %q", i, got, s.path)
				}
				if got := r.take(); !slices.Equal(got, s.want) {
					t.Errorf("step %d: asked %q, want %q", i, got, s.want)
				}
			}
		})
	}
}

func TestMenuRender(t *testing.T) {
	var r menuRecorder
	items := make([]*catalog.Item, 6)
	for i := range items {
		items[i] = &catalog.Item{Label: fmt.Sprint("Entry ", i+1), Action: catalog.ActionDND}
	}
	v := testVendor()
	v.Menu = append(v.Menu, &catalog.Item{Label: "Long", Items: items})
	m := menu{env: r.env(v)}

	m.openPath([]string{"Status"})
	s := Screen{Rows: 6}
	m.render(&s)
	if s.Title != "Status" || len(s.Lines) != 1 || s.Lines[0].Text != "Model: VVX 450" {
		t.Errorf("information screen: %q %+v", s.Title, s.Lines)
	}

	m.openPath([]string{"Long"})
	for range 4 {
		m.move(+1)
	}
	s = Screen{Rows: 6} // three rows under the title
	m.render(&s)
	var got []string
	for _, l := range s.Lines {
		got = append(got, fmt.Sprintf("%s %v", l.Text, l.Selected))
	}
	want := []string{"3 Entry 3 false", "4 Entry 4 false", "5 Entry 5 true"}
	if s.Title != "Long" || !slices.Equal(got, want) {
		t.Errorf("scrolled list %q: %q, want %q", s.Title, got, want)
	}
}
