package phone

import (
	"reflect"
	"testing"
)

// Equal must see every field: a field added to Screen and forgotten there
// would hide a change of the screen from its subscribers.
func TestScreenEqualSeesEveryField(t *testing.T) {
	base := Screen{Vendor: "v", Model: "m", Columns: 40, Rows: 8,
		Status: StatusBar{Time: "09:00", Date: "Mon", Label: "alice", Icons: []string{"DND"}},
		Title:  "t", Lines: []Line{{Text: "a"}}, Alert: "x", Prompt: "p", Input: "i",
		Softkeys: []string{"OK"}, SoftkeyNames: []string{"OK"}, LEDs: LEDs{Line: LEDOn}}
	if !base.Equal(base) {
		t.Fatal("a screen differs from itself")
	}
	changes := map[string]func(*Screen){
		"Vendor": func(s *Screen) { s.Vendor = "w" }, "Model": func(s *Screen) { s.Model = "n" },
		"Columns": func(s *Screen) { s.Columns++ }, "Rows": func(s *Screen) { s.Rows++ },
		"Status.Time": func(s *Screen) { s.Status.Time = "09:01" }, "Status.Date": func(s *Screen) { s.Status.Date = "Tue" },
		"Status.Label": func(s *Screen) { s.Status.Label = "bob" }, "Status.Icons": func(s *Screen) { s.Status.Icons = nil },
		"Title": func(s *Screen) { s.Title = "u" }, "Lines": func(s *Screen) { s.Lines = []Line{{Text: "a", Selected: true}} },
		"Alert": func(s *Screen) { s.Alert = "" }, "Prompt": func(s *Screen) { s.Prompt = "" }, "Input": func(s *Screen) { s.Input = "j" },
		"Softkeys": func(s *Screen) { s.Softkeys = []string{"Back"} }, "LEDs": func(s *Screen) { s.LEDs.Mute = LEDBlink },
		"SoftkeyNames": func(s *Screen) { s.SoftkeyNames = []string{"Previous"} },
		"Dimmed":       func(s *Screen) { s.Dimmed = true },
	}
	if n := reflect.TypeOf(Screen{}).NumField() + reflect.TypeOf(StatusBar{}).NumField() - 1; len(changes) != n {
		t.Fatalf("%d fields changed here, Screen has %d: test the new one and compare it in Equal", len(changes), n)
	}
	for name, change := range changes {
		s := base
		s.Status.Icons = slicesClone(base.Status.Icons)
		change(&s)
		if base.Equal(s) {
			t.Errorf("a change of %s goes unseen", name)
		}
	}
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }
