package scenarios

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Details is the failure report of a result: the failed step, every phone's
// screen and its syslog tail.
func (r Result) Details() string {
	if r.Passed {
		return ""
	}
	var b strings.Builder
	b.WriteString(r.Failure + "\n")
	if r.SIPDelay > 0 {
		fmt.Fprintf(&b, "(every SIP delivery delayed by up to %v, seed %d)\n", r.SIPDelay, r.Seed)
	}
	names := make([]string, 0, len(r.Screens))
	for n := range r.Screens {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "\n--- %s: screen\n%s", n, r.Screens[n])
		fmt.Fprintf(&b, "--- %s: syslog (last %d lines)\n%s\n", n, len(r.Logs[n]), strings.Join(r.Logs[n], "\n"))
		if msgs := r.SIP[n]; len(msgs) > 0 {
			fmt.Fprintf(&b, "--- %s: last %d SIP messages\n%s\n", n, len(msgs), strings.Join(msgs, "\n"))
		}
	}
	return b.String()
}

// WriteJUnit writes the results as a JUnit XML report: one test case per
// scenario, failures with their details.
func WriteJUnit(w io.Writer, results []Result) error {
	type failure struct {
		Message string `xml:"message,attr"`
		Body    string `xml:",chardata"`
	}
	type testcase struct {
		Name      string   `xml:"name,attr"`
		Classname string   `xml:"classname,attr"`
		Time      string   `xml:"time,attr"`
		Failure   *failure `xml:"failure,omitempty"`
		Error     *failure `xml:"error,omitempty"`
		SystemOut string   `xml:"system-out,omitempty"`
	}
	type suite struct {
		XMLName  xml.Name   `xml:"testsuite"`
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Errors   int        `xml:"errors,attr"`
		Time     string     `xml:"time,attr"`
		Cases    []testcase `xml:"testcase"`
	}
	s := suite{Name: "deskphone scenarios", Tests: len(results)}
	var total time.Duration
	for _, r := range results {
		total += r.Wall
		tc := testcase{Name: r.Name, Classname: r.File, Time: secs(r.Wall)}
		var out strings.Builder
		for _, st := range r.Steps {
			fmt.Fprintf(&out, "%s %s", mark(st.OK), st.Desc)
			if st.Note != "" {
				fmt.Fprintf(&out, ": %s", st.Note)
			}
			out.WriteString("\n")
		}
		tc.SystemOut = out.String()
		switch {
		case r.Interrupted:
			// Not a verdict on the scenario: it was stopped.
			s.Errors++
			tc.Error = &failure{Message: firstLine(r.Failure), Body: r.Details()}
		case !r.Passed:
			s.Failures++
			tc.Failure = &failure{Message: firstLine(r.Failure), Body: r.Details()}
		}
		s.Cases = append(s.Cases, tc)
	}
	s.Time = secs(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// WriteJSON writes the results as JSON, one object per scenario.
func WriteJSON(w io.Writer, results []Result) error {
	type step struct {
		Pos    string  `json:"pos"`
		Step   string  `json:"step"`
		OK     bool    `json:"ok"`
		Error  string  `json:"error,omitempty"`
		Note   string  `json:"note,omitempty"`
		WallMS float64 `json:"wall_ms"`
		At     string  `json:"at"`
	}
	type scenario struct {
		Name        string              `json:"name"`
		File        string              `json:"file"`
		Passed      bool                `json:"passed"`
		Interrupted bool                `json:"interrupted,omitempty"`
		Failure     string              `json:"failure,omitempty"`
		WallMS      float64             `json:"wall_ms"`
		Virtual     string              `json:"virtual"`
		Steps       []step              `json:"steps"`
		Screens     map[string]string   `json:"screens,omitempty"`
		Logs        map[string][]string `json:"logs,omitempty"`
		SIP         map[string][]string `json:"sip,omitempty"`
		SIPDelay    string              `json:"sip_delay,omitempty"`
		Seed        *uint64             `json:"seed,omitempty"`
	}
	out := make([]scenario, 0, len(results))
	for _, r := range results {
		sc := scenario{Name: r.Name, File: r.File, Passed: r.Passed, Interrupted: r.Interrupted, Failure: r.Failure, WallMS: ms(r.Wall),
			Virtual: r.Virtual.String(), Screens: r.Screens, Logs: r.Logs, SIP: r.SIP, Steps: []step{}}
		if r.SIPDelay > 0 {
			sc.SIPDelay, sc.Seed = r.SIPDelay.String(), &r.Seed
		}
		for _, st := range r.Steps {
			sc.Steps = append(sc.Steps, step{Pos: st.Pos.String(), Step: st.Desc, OK: st.OK, Error: st.Err, Note: st.Note, WallMS: ms(st.Wall), At: st.At.String()})
		}
		out = append(out, sc)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("json report: %w", err)
	}
	return nil
}

// ProgressLine is one line of live progress for a step: its mark, scenario
// time, wall time and what it did.
func ProgressLine(st StepResult) string {
	line := fmt.Sprintf("  %s [+%s] %6s  %s", mark(st.OK), clockOffset(st.At), st.Wall.Truncate(time.Millisecond), st.Desc)
	if st.Note != "" {
		line += ": " + st.Note
	}
	if !st.OK {
		line += "\n      " + st.Err
	}
	return line
}

func clockOffset(d time.Duration) string {
	h := int(d.Hours())
	return fmt.Sprintf("%02d:%02d:%02d", h, int(d.Minutes())%60, int(d.Seconds())%60)
}

func mark(ok bool) string {
	if ok {
		return "ok  "
	}
	return "FAIL"
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
func ms(d time.Duration) float64  { return float64(d.Microseconds()) / 1000 }

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
