package scenarios

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// A step's value may name what is known only while the scenario runs,
// written {{...}}: a phone's MAC address ({{desk.mac}}, or as a gateway
// hardware ID, {{desk.hwid}}: xx-xx-xx-xx-xx-xx), a field of the last
// backend step's answer ({{answer.code}}), or a bulk sign-in CSV of a
// group's phones and users ({{csv lobby}}).
var refRE = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// hasRefs says whether s holds a {{...}} the runner fills in; its checks
// wait for the run.
func hasRefs(s string) bool { return refRE.MatchString(s) }

// remember keeps a backend step's answer for {{answer.FIELD}}.
func (e *env) remember(answer any) {
	b, err := json.Marshal(answer)
	var fields map[string]any
	if err != nil || json.Unmarshal(b, &fields) != nil {
		fields = nil
	}
	e.answerMu.Lock()
	e.answer = fields
	e.answerMu.Unlock()
}

// expand fills in s's {{...}}.
func (e *env) expand(s string) (string, error) {
	var errs []string
	out := refRE.ReplaceAllStringFunc(s, func(m string) string {
		v, err := e.ref(refRE.FindStringSubmatch(m)[1])
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", m, err))
		}
		return v
	})
	if len(errs) > 0 {
		return "", fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return out, nil
}

func (e *env) ref(r string) (string, error) {
	if group, ok := strings.CutPrefix(r, "csv "); ok {
		group = strings.TrimSpace(group)
		var b strings.Builder
		b.WriteString("Username,HardwareId\n")
		n := 0
		for _, ps := range members(e.sc.Phones, group) {
			p := e.phones[ps.Name]
			if p == nil {
				continue
			}
			fmt.Fprintf(&b, "%s,%s\n", ps.User, hardwareID(p.Identity().MAC))
			n++
		}
		if n == 0 {
			return "", fmt.Errorf("no group %q", group)
		}
		return b.String(), nil
	}
	name, field, ok := strings.Cut(r, ".")
	if !ok {
		return "", fmt.Errorf("want PHONE.mac, PHONE.hwid, answer.FIELD or csv GROUP")
	}
	if name == "answer" {
		e.answerMu.Lock()
		v, ok := e.answer[field]
		e.answerMu.Unlock()
		if !ok {
			return "", fmt.Errorf("the last backend step answered no %q", field)
		}
		if s, isString := v.(string); isString {
			return s, nil
		}
		return fmt.Sprint(v), nil
	}
	p := e.phones[name]
	if p == nil {
		return "", fmt.Errorf("no phone named %q", name)
	}
	switch field {
	case "mac":
		return p.Identity().MAC, nil
	case "hwid":
		return hardwareID(p.Identity().MAC), nil
	}
	return "", fmt.Errorf("a phone has mac and hwid, not %q", field)
}

// hardwareID writes a MAC address as the gateway's bulk sign-in does.
func hardwareID(mac string) string { return strings.ReplaceAll(strings.ToLower(mac), ":", "-") }
