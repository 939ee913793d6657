package phone

import (
	"fmt"
	"testing"
	"time"

	"github.com/deskphone/deskphone/phone/catalog"
)

// The syslog keeps the last logKeep lines in order however many came.
func TestSyslogKeepsTail(t *testing.T) {
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		logged, n int
		first     int // seq of the first line returned; 0: none
		count     int
	}{
		{logged: 0, n: 0},
		{logged: 0, n: 5},
		{logged: 3, n: 0, first: 1, count: 3},
		{logged: 3, n: 2, first: 2, count: 2},
		{logged: 3, n: 10, first: 1, count: 3},
		{logged: logKeep, n: 0, first: 1, count: logKeep},
		{logged: logKeep + 1, n: 0, first: 2, count: logKeep},
		{logged: logKeep + 1, n: 1, first: logKeep + 1, count: 1},
		{logged: 2*logKeep + 337, n: 0, first: logKeep + 338, count: logKeep},
		{logged: 2*logKeep + 337, n: 500, first: 2*logKeep - 162, count: 500},
		{logged: 2*logKeep + 337, n: 337, first: 2*logKeep + 1, count: 337},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("logged=%d,n=%d", tc.logged, tc.n), func(t *testing.T) {
			l := newSyslog(catalog.Syslog{Format: "{seq}"}, "phone")
			for i := 0; i < tc.logged; i++ {
				l.event(at, "", "info", "test", "line", nil)
			}
			got := l.tail(tc.n)
			if len(got) != tc.count {
				t.Fatalf("tail(%d) has %d lines, want %d", tc.n, len(got), tc.count)
			}
			for i, line := range got {
				if want := fmt.Sprint(tc.first + i); line.Text != want {
					t.Fatalf("line %d is %q, want %q", i, line.Text, want)
				}
			}
		})
	}
}
