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
// group's phones and users ({{csv lobby}}, or some of them: {{csv lobby
// 1-100}}).
var refRE = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// hasRefs says whether s holds a {{...}} the runner fills in; its checks
// wait for the run.
func hasRefs(s string) bool { return refRE.MatchString(s) }

// remember keeps a backend step's answer for {{answer.FIELD}} and
// expect_answer.
func (e *env) remember(answer any) {
	b, err := json.Marshal(answer)
	var fields map[string]any
	if err != nil || json.Unmarshal(b, &fields) != nil {
		fields = nil
	}
	e.answerMu.Lock()
	e.answer, e.answerJSON = fields, string(b)
	e.answerMu.Unlock()
}

// expectAnswer checks that the last backend step's answer, as JSON, holds
// text.
func (e *env) expectAnswer(text string) error {
	text, err := e.expand(text)
	if err != nil {
		return err
	}
	e.answerMu.Lock()
	got := e.answerJSON
	e.answerMu.Unlock()
	if got == "" {
		return fmt.Errorf("no backend step answered yet")
	}
	if !strings.Contains(got, text) {
		return fmt.Errorf("the last backend answer lacks %q: %s", text, limitText(got, 400))
	}
	return nil
}

func limitText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
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
	if spec, ok := strings.CutPrefix(r, "csv "); ok {
		return e.csv(strings.Fields(spec))
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

// csv is {{csv GROUP [FROM-TO]}}: the header and a row per member (the
// members FROM to TO, counted from 1), without a newline after the last.
func (e *env) csv(spec []string) (string, error) {
	if len(spec) == 0 || len(spec) > 2 {
		return "", fmt.Errorf("want csv GROUP or csv GROUP FROM-TO")
	}
	all := members(e.sc.Phones, spec[0])
	if len(all) == 0 || e.phones[all[0].Name] == nil {
		return "", fmt.Errorf("no group %q", spec[0])
	}
	from, to := 1, len(all)
	if len(spec) == 2 {
		if _, err := fmt.Sscanf(spec[1], "%d-%d", &from, &to); err != nil || from < 1 || to < from || to > len(all) {
			return "", fmt.Errorf("members %q: want FROM-TO within 1-%d", spec[1], len(all))
		}
	}
	rows := []string{"Username,HardwareId"}
	for _, ps := range all[from-1 : to] {
		rows = append(rows, ps.User+","+hardwareID(e.phones[ps.Name].Identity().MAC))
	}
	return strings.Join(rows, "\n"), nil
}

// hardwareID writes a MAC address as the gateway's bulk sign-in does.
func hardwareID(mac string) string { return strings.ReplaceAll(strings.ToLower(mac), ":", "-") }
