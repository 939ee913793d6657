package codecs

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		name    string
		want    string // codec Name, "" for an error
		pt      uint8
		known   bool // for errors: NameError.Known
		unknown bool // for errors: wraps ErrUnknownCodec
	}{
		{name: "PCMU", want: "PCMU", pt: 0},
		{name: "pcma", want: "PCMA", pt: 8},
		{name: " G722 ", want: "G722", pt: 9},
		{name: "G722_8000", want: "G722", pt: 9},
		{name: "g722_8000", want: "G722", pt: 9},
		{name: "PCMU/8000", want: "PCMU", pt: 0},
		{name: "G722/8000", want: "G722", pt: 9},
		{name: "G722/8000/1", want: "G722", pt: 9},
		{name: "G722/16000", known: true},
		{name: "PCMU/8000/2", known: true},
		{name: "PCMU/x", known: true},
		{name: "G729", known: true},
		{name: "SILK", known: true},
		{name: "SILKWIDE", known: true},
		{name: "x-msrta", known: true},
		{name: "opus/48000/2", known: true},
		{name: "telephone-event", known: true},
		{name: "G7222", unknown: true},
		{name: "", unknown: true},
		{name: "/", unknown: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Lookup(tc.name)
			if tc.want != "" {
				if err != nil {
					t.Fatalf("Lookup(%q): %v", tc.name, err)
				}
				if c.Name != tc.want || c.PayloadType != tc.pt || !c.Supported() {
					t.Fatalf("Lookup(%q) = %+v, want %s/%d", tc.name, c, tc.want, tc.pt)
				}
				return
			}
			if err == nil {
				t.Fatalf("Lookup(%q) = %+v, want an error", tc.name, c)
			}
			if !errors.Is(err, ErrUnsupported) {
				t.Errorf("error %v does not wrap ErrUnsupported", err)
			}
			if got := errors.Is(err, ErrUnknownCodec); got != tc.unknown {
				t.Errorf("errors.Is(%v, ErrUnknownCodec) = %v, want %v", err, got, tc.unknown)
			}
			var ne *NameError
			if !errors.As(err, &ne) || ne.Name != tc.name || ne.Known != tc.known {
				t.Errorf("error %#v, want *NameError{Name: %q, Known: %v}", err, tc.name, tc.known)
			}
			if c.Supported() {
				t.Errorf("failed Lookup returned a usable codec %+v", c)
			}
			want := "unknown codec"
			if tc.known {
				want = "is not supported"
			}
			if msg := err.Error(); !strings.Contains(msg, want) || !strings.Contains(msg, strconv.Quote(tc.name)) {
				t.Errorf("error %q should name %q and say %q", msg, tc.name, want)
			}
		})
	}
}

func TestCodecValues(t *testing.T) {
	tests := []struct {
		codec                    Codec
		rtpmap                   string
		clock, rate, samples, pl int
		ticks                    uint32
	}{
		{PCMU, "PCMU/8000", 8000, 8000, 160, 160, 160},
		{PCMA, "PCMA/8000", 8000, 8000, 160, 160, 160},
		{G722, "G722/8000", 8000, 16000, 320, 160, 160},
	}
	for _, tc := range tests {
		t.Run(tc.codec.Name, func(t *testing.T) {
			c := tc.codec
			if c.RTPMap() != tc.rtpmap || c.String() != c.Name {
				t.Errorf("RTPMap %q String %q", c.RTPMap(), c.String())
			}
			if c.ClockRate != tc.clock || c.SampleRate != tc.rate || c.Channels != 1 {
				t.Errorf("clock %d rate %d channels %d", c.ClockRate, c.SampleRate, c.Channels)
			}
			if got := c.FrameSamples(20 * time.Millisecond); got != tc.samples {
				t.Errorf("FrameSamples(20ms) = %d, want %d", got, tc.samples)
			}
			if got := c.PayloadSize(20 * time.Millisecond); got != tc.pl {
				t.Errorf("PayloadSize(20ms) = %d, want %d", got, tc.pl)
			}
			if got := c.FrameTicks(20 * time.Millisecond); got != tc.ticks {
				t.Errorf("FrameTicks(20ms) = %d, want %d", got, tc.ticks)
			}
			if got := c.FrameSamples(30 * time.Millisecond); got != tc.samples*3/2 {
				t.Errorf("FrameSamples(30ms) = %d", got)
			}
			for _, bad := range []time.Duration{0, -time.Millisecond, 2 * time.Hour} {
				if c.FrameSamples(bad) != 0 || c.FrameTicks(bad) != 0 || c.PayloadSize(bad) != 0 {
					t.Errorf("ptime %v: want zeros", bad)
				}
			}

			// An encoder and decoder from the value code a 20 ms frame
			// into PayloadSize bytes and back into FrameSamples samples.
			enc, err := c.NewEncoder()
			if err != nil {
				t.Fatal(err)
			}
			dec, err := c.NewDecoder()
			if err != nil {
				t.Fatal(err)
			}
			pcm := mustTone(t, 1000, -10, 20*time.Millisecond, c.SampleRate)
			payload := make([]byte, 400)
			n, err := enc.Encode(payload, pcm)
			if err != nil || n != tc.pl {
				t.Fatalf("Encode = %d, %v; want %d", n, err, tc.pl)
			}
			out := make([]int16, 400)
			m, err := dec.Decode(out, payload[:n])
			if err != nil || m != tc.samples {
				t.Fatalf("Decode = %d, %v; want %d", m, err, tc.samples)
			}
		})
	}
}

func TestZeroCodec(t *testing.T) {
	var c Codec
	if c.Supported() || c.String() != "none" {
		t.Errorf("zero Codec: Supported %v String %q", c.Supported(), c.String())
	}
	if _, err := c.NewEncoder(); !errors.Is(err, ErrUnsupported) {
		t.Errorf("NewEncoder on zero Codec: %v", err)
	}
	if _, err := c.NewDecoder(); !errors.Is(err, ErrUnsupported) {
		t.Errorf("NewDecoder on zero Codec: %v", err)
	}
	if c.FrameSamples(20*time.Millisecond) != 0 || c.PayloadSize(20*time.Millisecond) != 0 {
		t.Error("zero Codec has a frame size")
	}
	handMade := Codec{Name: "PCMU", PayloadType: 0, ClockRate: 8000, SampleRate: 8000}
	if _, err := handMade.NewEncoder(); !errors.Is(err, ErrUnsupported) {
		t.Errorf("hand-made Codec made an encoder: %v", err)
	}
}

func TestParseOrder(t *testing.T) {
	tests := []struct {
		list    string
		want    []string
		skipped []string
	}{
		{"G722_8000;PCMU;PCMA;G729", []string{"G722", "PCMU", "PCMA"}, []string{"G729"}},
		{"SILK;G722;PCMU", []string{"G722", "PCMU"}, []string{"SILK"}},
		{"PCMA, PCMU", []string{"PCMA", "PCMU"}, nil},
		{"G722;G722_8000;pcmu;;", []string{"G722", "PCMU"}, nil},
		{"G729;Bogus", nil, []string{"G729", "Bogus"}},
		{"", nil, nil},
		{" ; ", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.list, func(t *testing.T) {
			got, skipped := ParseOrder(tc.list)
			var names []string
			for _, c := range got {
				names = append(names, c.Name)
			}
			if !slices.Equal(names, tc.want) || !slices.Equal(skipped, tc.skipped) {
				t.Errorf("ParseOrder(%q) = %v, skipped %v; want %v, skipped %v", tc.list, names, skipped, tc.want, tc.skipped)
			}
		})
	}
}

// TestLookupIgnoresVariableChanges shows the exported values cannot
// corrupt the registry, which matters with hundreds of calls sharing it.
func TestLookupIgnoresVariableChanges(t *testing.T) {
	saved := PCMU
	t.Cleanup(func() { PCMU = saved })
	PCMU.PayloadType = 99
	c, err := Lookup("PCMU")
	if err != nil || c.PayloadType != 0 {
		t.Fatalf("Lookup after changing PCMU: %+v, %v", c, err)
	}
}

// Prefer orders what a phone has by the policy and leaves out what it
// lacks; PolicyList spells the result as the policy does.
func TestPreferInThePolicysSpelling(t *testing.T) {
	all := []Codec{G722, PCMU, PCMA}
	tests := []struct {
		have  []Codec
		order string
		want  string
	}{
		{all, "G722_8000;PCMU;PCMA;G729", "G722_8000;PCMU;PCMA"},
		{all, "PCMU;G722", "PCMU;G722_8000;PCMA"},
		{all, "", "G722_8000;PCMU;PCMA"},
		{[]Codec{PCMA}, "G722_8000;PCMU;PCMA", "PCMA"},
		{[]Codec{PCMU, G722}, "G722_8000;PCMU;PCMA", "G722_8000;PCMU"},
		{[]Codec{PCMU, G722}, "PCMA", "PCMU;G722_8000"},
	}
	for _, tc := range tests {
		if got := PolicyList(Prefer(tc.have, tc.order)); got != tc.want {
			t.Errorf("Prefer(%s, %q) = %s, want %s", PolicyList(tc.have), tc.order, got, tc.want)
		}
	}
}
