package phone

import "slices"

// Equal reports whether two screens show the same thing. The loop compares
// every screen it renders with the last one, so this must stay far cheaper
// than comparing their Text.
func (s Screen) Equal(o Screen) bool {
	return s.Vendor == o.Vendor && s.Model == o.Model &&
		s.Columns == o.Columns && s.Rows == o.Rows &&
		s.Status.Time == o.Status.Time && s.Status.Date == o.Status.Date &&
		s.Status.Label == o.Status.Label && slices.Equal(s.Status.Icons, o.Status.Icons) &&
		s.Title == o.Title && slices.Equal(s.Lines, o.Lines) &&
		s.Alert == o.Alert && s.Prompt == o.Prompt && s.Input == o.Input &&
		slices.Equal(s.Softkeys, o.Softkeys) && slices.Equal(s.SoftkeyNames, o.SoftkeyNames) && s.LEDs == o.LEDs && s.Dimmed == o.Dimmed
}
