package driver

import (
	"strings"
	"testing"
)

func TestParseSignIn(t *testing.T) {
	tests := []struct {
		text, want, wantErr string
	}{
		{"web", "web", ""},
		{"PC", "PC", ""},
		{"retry", "retry", ""},
		{"password alice@deskphone.test s3cret", "password alice@deskphone.test s3cret", ""},
		{"pin 1001 1234", "pin 1001 1234", ""},
		// Alone it pairs a gateway phone; another phone refuses it when
		// it runs ("signin needs a method").
		{"", "", ""},
		{"smoke", "", "the methods are"},
		{"password alice", "", "needs two values"},
		{"web now", "", "takes nothing more"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			a, err := parseSignIn(tt.text)
			switch {
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v, want one saying %q", err, tt.wantErr)
			case tt.wantErr == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.wantErr == "" && a.Text != tt.want:
				t.Errorf("args %q, want %q", a.Text, tt.want)
			}
		})
	}
	for _, name := range []string{"signin", "signout"} {
		if _, ok := Lookup(name); !ok {
			t.Errorf("verb %s is not in the table", name)
		}
	}
}
