package gateway

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Compatible is one model on the gateway's compatibility list: the
// firmware it needs at least, and the version Microsoft approved.
type Compatible struct {
	Model    string `json:"model"` // the catalog model's display name
	Minimum  string `json:"minimum"`
	Approved string `json:"approved,omitempty"`
}

// CompatibilityList is the cloud's data, as Microsoft's "Plan for SIP
// Gateway" page lists our models; any other model (the CX600 Lync Phone
// Edition) is not supported.
func CompatibilityList() []Compatible {
	return []Compatible{
		{Model: "430HD", Minimum: "3.2.1"},
		{Model: "C450HD", Minimum: "3.2.1"},
		{Model: "VVX 501", Minimum: "5.9.5", Approved: "6.4.3.5814"},
		{Model: "VVX 601", Minimum: "5.9.5", Approved: "6.4.3.5814"},
		{Model: "SIP-T46G", Minimum: "28.83.0.0", Approved: "28.83.0.130"},
		{Model: "SIP-T48G", Minimum: "35.83.0.0", Approved: "35.83.0.130"},
	}
}

// Firmware modes a phone reports.
const (
	ModeSIP  = "sip"
	Mode3PIP = "3pip"
	ModeLPE  = "lpe"
)

var dotted = regexp.MustCompile(`\d+(?:\.\d+)+`)
var digits = regexp.MustCompile(`\d+`)

// versionFields are the numeric fields of a firmware version string: the
// last dotted run of numbers ("UC430HD_3.2.1.580" → 3 2 1 580, the model's
// own digits aside), else the last number; nil when there is none.
func versionFields(v string) []int {
	m := dotted.FindAllString(v, -1)
	if len(m) == 0 {
		m = digits.FindAllString(v, -1)
	}
	if len(m) == 0 {
		return nil
	}
	var out []int
	for _, f := range strings.Split(m[len(m)-1], ".") {
		n, err := strconv.Atoi(f)
		if err != nil {
			n = 1<<31 - 1 // a run of digits too long for an int is large
		}
		out = append(out, n)
	}
	return out
}

// compareVersions compares a and b field by field, a missing field being
// 0: -1, 0 or 1.
func compareVersions(a, b string) int {
	x, y := versionFields(a), versionFields(b)
	for i := 0; i < max(len(x), len(y)); i++ {
		var p, q int
		if i < len(x) {
			p = x[i]
		}
		if i < len(y) {
			q = y[i]
		}
		switch {
		case p < q:
			return -1
		case p > q:
			return 1
		}
	}
	return 0
}

// refusal says why a device may not onboard, in the words the phone
// shows; "" when it may.
func refusal(model, firmware, mode string) string {
	var c *Compatible
	for _, m := range CompatibilityList() {
		if m.Model == model {
			c = &m
			break
		}
	}
	switch {
	case c == nil:
		return fmt.Sprintf("%s is not supported by the SIP Gateway.", model)
	case versionFields(firmware) == nil || compareVersions(firmware, c.Minimum) < 0:
		// Below the minimum says the most, whatever the stream.
		return fmt.Sprintf("%s firmware %s is below the minimum %s for the SIP Gateway.", model, firmware, c.Minimum)
	case mode != ModeSIP:
		return fmt.Sprintf("%s is Skype for Business firmware: the SIP Gateway needs SIP firmware %s or later.", firmware, c.Minimum)
	}
	return ""
}
