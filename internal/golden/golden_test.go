package golden

import (
	"strings"
	"testing"
)

func TestNormalise(t *testing.T) {
	got := Normalise("sips:127.0.0.1:40123 mac 00:04:f2:AB:cd:01", Port, MAC)
	if want := "sips:127.0.0.1:PORT mac MAC"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestDiffNamesLines(t *testing.T) {
	d := diff("a\nb\nc", "a\nx\nc\nd")
	if !strings.Contains(d, "line 2:\n  want: b\n  got:  x") || !strings.Contains(d, "line 4:") || strings.Contains(d, "line 1:") {
		t.Fatalf("diff:\n%s", d)
	}
}
