package media

// Event is something a session heard: ToneHeard or DTMFHeard.
type Event interface {
	isEvent()
}

// ToneHeard reports a steady tone that started (or changed frequency)
// in the received audio, to the nearest hertz.
type ToneHeard struct {
	Hz float64
}

// DTMFHeard reports a DTMF key the peer pressed: from RFC 4733
// telephone-events, or found in the audio (InBand) when telephone-event
// was not negotiated.
type DTMFHeard struct {
	Digit  rune
	InBand bool
}

func (ToneHeard) isEvent() {}
func (DTMFHeard) isEvent() {}
