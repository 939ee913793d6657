package codecs

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestDTMFEventMarshal(t *testing.T) {
	tests := []struct {
		name string
		ev   DTMFEvent
		wire []byte
	}{
		// RFC 4733 figure 1 layout: event, E|R|volume, duration.
		{"start of 5", DTMFEvent{Event: 5, Volume: 10, Duration: 160}, []byte{0x05, 0x0A, 0x00, 0xA0}},
		{"end of #", DTMFEvent{Event: 11, End: true, Volume: 10, Duration: 800}, []byte{0x0B, 0x8A, 0x03, 0x20}},
		{"max", DTMFEvent{Event: 255, End: true, Volume: 63, Duration: 65535}, []byte{0xFF, 0xBF, 0xFF, 0xFF}},
		{"zero", DTMFEvent{}, []byte{0, 0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.ev.Marshal()
			if err != nil || !bytes.Equal(b, tc.wire) {
				t.Fatalf("Marshal = % x, %v; want % x", b, err, tc.wire)
			}
			var got DTMFEvent
			if err := got.Unmarshal(tc.wire); err != nil || got != tc.ev {
				t.Fatalf("Unmarshal = %+v, %v; want %+v", got, err, tc.ev)
			}
		})
	}
}

func TestDTMFEventInvalid(t *testing.T) {
	if _, err := (DTMFEvent{Volume: 64}).Marshal(); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("volume 64: %v", err)
	}
	if _, err := (DTMFEvent{}).MarshalTo(make([]byte, 3)); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("short buffer: %v", err)
	}
	for _, p := range [][]byte{nil, {1}, {1, 2, 3}} {
		var ev DTMFEvent
		if err := ev.Unmarshal(p); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("Unmarshal(% x): %v", p, err)
		}
	}
	// The reserved bit is ignored and trailing bytes too.
	var ev DTMFEvent
	if err := ev.Unmarshal([]byte{1, 0x40 | 0x80 | 7, 0, 1, 0xEE}); err != nil || ev != (DTMFEvent{Event: 1, End: true, Volume: 7, Duration: 1}) {
		t.Errorf("R bit and trailing byte: %+v, %v", ev, err)
	}
}

func TestDTMFKeyMapping(t *testing.T) {
	keys := "0123456789*#ABCD"
	for i, k := range keys {
		ev, ok := KeyToEvent(k)
		if !ok || int(ev) != i {
			t.Errorf("KeyToEvent(%q) = %d, %v; want %d", k, ev, ok, i)
		}
		back, ok := EventToKey(uint8(i))
		if !ok || back != k {
			t.Errorf("EventToKey(%d) = %q, %v; want %q", i, back, ok, k)
		}
	}
	if ev, ok := KeyToEvent('b'); !ok || ev != 13 {
		t.Errorf("lower-case b = %d, %v", ev, ok)
	}
	for _, k := range "EeX +-\x00é" {
		if _, ok := KeyToEvent(k); ok {
			t.Errorf("KeyToEvent(%q) accepted", k)
		}
	}
	for _, ev := range []uint8{16, 32, 255} {
		if _, ok := EventToKey(ev); ok {
			t.Errorf("EventToKey(%d) accepted", ev)
		}
	}
}

// drain collects every packet the sender produces.
func drain(s *DTMFSender) []DTMFPacket {
	var ps []DTMFPacket
	for i := 0; i < 10000; i++ {
		p, ok := s.Next()
		if !ok {
			return ps
		}
		ps = append(ps, p)
	}
	return ps
}

func describe(ps []DTMFPacket) string {
	var b bytes.Buffer
	for _, p := range ps {
		m, e := "", ""
		if p.Marker {
			m = "M"
		}
		if p.Event.End {
			e = "E"
		}
		fmt.Fprintf(&b, "%d%s%s ", p.Event.Duration, m, e)
	}
	return b.String()
}

func TestDTMFSenderSequence(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		d        time.Duration
		want     string
	}{
		{"100ms at 20ms", 20 * time.Millisecond, 100 * time.Millisecond, "160M 320 480 640 800E 800E 800E "},
		{"90ms at 20ms", 20 * time.Millisecond, 90 * time.Millisecond, "160M 320 480 640 720E 720E 720E "},
		{"shorter than a packet", 20 * time.Millisecond, 5 * time.Millisecond, "160ME 160E 160E "},
		{"30ms packets", 30 * time.Millisecond, 60 * time.Millisecond, "240M 480E 480E 480E "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewDTMFSender(8000, tc.interval, 10)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Start('7', 123456, tc.d); err != nil {
				t.Fatal(err)
			}
			ps := drain(s)
			if got := describe(ps); got != tc.want {
				t.Errorf("sequence %q, want %q", got, tc.want)
			}
			for _, p := range ps {
				if p.Timestamp != 123456 || p.Event.Event != 7 || p.Event.Volume != 10 {
					t.Errorf("packet %+v: want timestamp 123456, event 7, volume 10", p)
				}
			}
			if s.Active() {
				t.Error("sender still active after the end packets")
			}
		})
	}
}

func TestDTMFSenderHeldKey(t *testing.T) {
	s, _ := NewDTMFSender(8000, 20*time.Millisecond, 12)
	if err := s.Start('#', 1000, 0); err != nil {
		t.Fatal(err)
	}
	var ps []DTMFPacket
	for i := 0; i < 3; i++ {
		p, _ := s.Next()
		ps = append(ps, p)
	}
	if err := s.Start('1', 5000, 0); !errors.Is(err, ErrBusy) {
		t.Errorf("Start while sending: %v", err)
	}
	s.Stop()
	ps = append(ps, drain(s)...)
	if got, want := describe(ps), "160M 320 480 480E 480E 480E "; got != want {
		t.Errorf("held key: %q, want %q", got, want)
	}
	// The next key may start once the last one is done.
	if err := s.Start('1', 5000, 0); err != nil {
		t.Fatal(err)
	}
	s.Stop() // released before the first packet: one packet's duration
	if got, want := describe(drain(s)), "160ME 160E 160E "; got != want {
		t.Errorf("instant release: %q, want %q", got, want)
	}
	s.Stop() // idle: no effect
	if _, ok := s.Next(); ok {
		t.Error("idle sender produced a packet")
	}

	// A key held past the 16-bit duration ends by itself at 65535.
	if err := s.Start('2', 0, 0); err != nil {
		t.Fatal(err)
	}
	ps = drain(s)
	last := ps[len(ps)-1]
	if !last.Event.End || last.Event.Duration != 0xFFFF || len(ps) != 409+3 {
		t.Errorf("held for ever: %d packets, last %+v", len(ps), last)
	}
}

func TestDTMFSenderInvalid(t *testing.T) {
	for _, tc := range []struct {
		name     string
		clock    int
		interval time.Duration
		volume   uint8
	}{
		{"zero clock", 0, 20 * time.Millisecond, 10},
		{"negative interval", 8000, -time.Millisecond, 10},
		{"sub-tick interval", 8000, time.Microsecond, 10},
		{"loud", 8000, 20 * time.Millisecond, 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewDTMFSender(tc.clock, tc.interval, tc.volume); err == nil {
				t.Error("accepted")
			}
		})
	}
	s, _ := NewDTMFSender(8000, 20*time.Millisecond, 10)
	if err := s.Start('x', 0, time.Second); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("key x: %v", err)
	}
	if err := s.Start('1', 0, 9*time.Second); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("9 s at 8 kHz overflows the duration field: %v", err)
	}
	if err := s.Start('1', 0, -time.Second); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("negative duration: %v", err)
	}
}

// TestDTMFSenderToReceiver sends keys through a lossy, duplicating,
// reordering channel and checks that each press is reported exactly once.
func TestDTMFSenderToReceiver(t *testing.T) {
	tests := []struct {
		name    string
		mangle  func(i int, p DTMFPacket) []DTMFPacket // what arrives for packet i of an event
		keys    string
		reports string
	}{
		{"clean", func(_ int, p DTMFPacket) []DTMFPacket { return []DTMFPacket{p} }, "1234#", "1234#"},
		{"same key twice", func(_ int, p DTMFPacket) []DTMFPacket { return []DTMFPacket{p} }, "5555", "5555"},
		{"start packets lost", func(i int, p DTMFPacket) []DTMFPacket {
			if i < 3 {
				return nil
			}
			return []DTMFPacket{p}
		}, "90*", "90*"},
		{"only one end packet survives", func(i int, p DTMFPacket) []DTMFPacket {
			if i != 6 {
				return nil
			}
			return []DTMFPacket{p}
		}, "ABCD", "ABCD"},
		{"duplicated", func(_ int, p DTMFPacket) []DTMFPacket { return []DTMFPacket{p, p} }, "77", "77"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := NewDTMFSender(8000, 20*time.Millisecond, 10)
			var r DTMFReceiver
			var got []rune
			ts := uint32(0xFFFFF000) // wraps during the test
			buf := make([]byte, DTMFEventSize)
			for _, k := range tc.keys {
				if err := s.Start(k, ts, 100*time.Millisecond); err != nil {
					t.Fatal(err)
				}
				for i, p := range drain(s) {
					for _, q := range tc.mangle(i, p) {
						n, _ := q.Event.MarshalTo(buf)
						key, ok, err := r.Receive(q.Timestamp, buf[:n])
						if err != nil {
							t.Fatal(err)
						}
						if ok {
							got = append(got, key.Key)
							if key.Timestamp != ts {
								t.Errorf("reported timestamp %d, want %d", key.Timestamp, ts)
							}
						}
					}
				}
				ts += 800 + 400 // the event, then a 50 ms pause
			}
			if string(got) != tc.reports {
				t.Errorf("reported %q, want %q", string(got), tc.reports)
			}
		})
	}
}

func TestDTMFReceiverReorder(t *testing.T) {
	var r DTMFReceiver
	pkt := func(ev uint8, end bool) []byte {
		b, _ := DTMFEvent{Event: ev, End: end, Volume: 10, Duration: 160}.Marshal()
		return b
	}
	steps := []struct {
		ts   uint32
		p    []byte
		want rune
	}{
		{1000, pkt(1, false), '1'},
		{2000, pkt(2, false), '2'},
		{1000, pkt(1, true), 0},     // late end packet of the previous key
		{2000, pkt(2, true), 0},     // end of the current key
		{2000, pkt(3, false), '3'},  // different event, same timestamp: report it
		{3000, pkt(16, false), 0x0}, // flash: reported without a key
	}
	for i, st := range steps {
		key, ok, err := r.Receive(st.ts, st.p)
		if err != nil {
			t.Fatal(err)
		}
		if i == len(steps)-1 {
			if !ok || key.Key != 0 || key.Event.Event != 16 {
				t.Errorf("flash event: %+v, %v", key, ok)
			}
			continue
		}
		if (st.want != 0) != ok || key.Key != st.want {
			t.Errorf("step %d: got %q, %v; want %q", i, key.Key, ok, st.want)
		}
	}
	if _, _, err := r.Receive(4000, []byte{1, 2}); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("short payload: %v", err)
	}
	r.Reset()
	if _, ok, _ := r.Receive(1000, pkt(1, false)); !ok {
		t.Error("after Reset an old timestamp is new again")
	}
}

func TestDTMFEventZeroAllocs(t *testing.T) {
	s, _ := NewDTMFSender(8000, 20*time.Millisecond, 10)
	var r DTMFReceiver
	buf := make([]byte, 4)
	ts := uint32(0)
	allocs := testing.AllocsPerRun(50, func() {
		_ = s.Start('5', ts, 60*time.Millisecond)
		for {
			p, ok := s.Next()
			if !ok {
				break
			}
			n, _ := p.Event.MarshalTo(buf)
			_, _, _ = r.Receive(p.Timestamp, buf[:n])
		}
		ts += 1000
	})
	if allocs != 0 {
		t.Errorf("%v allocs per key press", allocs)
	}
}
