package phone

import (
	"errors"
	"strings"
	"testing"

	"github.com/deskphone/deskphone/phone/sipua"
)

// A failed transfer is worded for the user: the far end's reason and code,
// never a Go value dump ("REFER: 405 Method Not Allowed 0").
func TestTransferProblem(t *testing.T) {
	tests := []struct {
		ev   sipua.TransferResult
		want string
	}{
		{sipua.TransferResult{Code: 405, Reason: "Method Not Allowed"}, "Method Not Allowed (405)"},
		{sipua.TransferResult{Code: 486}, "Busy"},
		{sipua.TransferResult{Code: 599}, "SIP (599)"},
		{sipua.TransferResult{Err: errors.New("connection lost")}, "connection lost"},
	}
	for _, tt := range tests {
		got := transferProblem(tt.ev)
		if got != tt.want {
			t.Errorf("transferProblem(%+v) = %q, want %q", tt.ev, got, tt.want)
		}
		if strings.Contains(got, "REFER") || strings.HasSuffix(got, " 0") {
			t.Errorf("transferProblem(%+v) = %q speaks SIP internals", tt.ev, got)
		}
	}
}
