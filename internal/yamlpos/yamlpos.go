// Package yamlpos reads the YAML files people write (scenarios, fleets,
// users) into nodes that know their line and column, and words what is
// wrong with them there: one error type, a syntax error placed where the
// mistake is rather than where the block around it began, and the word
// meant for a misspelt one.
package yamlpos

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/deskphone/deskphone/internal/spelling"
)

// Pos is a place in a file; Line 0 is the file as a whole (it cannot be
// read, it is empty).
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// At is the place of node n in file.
func At(file string, n *yaml.Node) Pos { return Pos{File: file, Line: n.Line, Col: n.Column} }

// Error is a problem at a place in a file, with the word probably meant.
// Err, when set, is what errors.Is matches: a package's sentinel (the
// users file's ErrUsersFile) and the cause.
type Error struct {
	Pos
	Msg     string
	Suggest string
	Err     error
}

// Unwrap gives Err.
func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Error() string {
	s := e.Pos.String() + ": " + e.Msg
	if e.Suggest != "" {
		s += fmt.Sprintf(" (did you mean %q?)", e.Suggest)
	}
	return s
}

// Errors is every problem found in one file (and the files it includes).
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap gives each error, so that errors.Is and errors.As see them.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Sort orders the errors by file, line and column.
func (es Errors) Sort() {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i].Pos, es[j].Pos
		return a.File < b.File || a.File == b.File && (a.Line < b.Line || a.Line == b.Line && a.Col < b.Col)
	})
}

// Reporter collects the errors of one file instead of stopping at the
// first; each wraps Cause, when set.
type Reporter struct {
	File  string
	Cause error
	Errs  Errors
}

// Errorf reports a problem at node n; when known is not nil, the error
// suggests the word of known that got probably means.
func (r *Reporter) Errorf(n *yaml.Node, known []string, got string, format string, args ...any) {
	e := &Error{Pos: At(r.File, n), Msg: fmt.Sprintf(format, args...), Err: r.Cause}
	if known != nil {
		e.Suggest = Suggest(got, known)
	}
	r.Errs = append(r.Errs, e)
}

// Suggest returns the known word got probably means: one that means the
// same, or the closest in spelling if close enough to be a typo.
func Suggest(got string, known []string) string { return spelling.Suggest(got, known) }

// Parse reads a YAML document: its root node, nil for an empty file, or
// the syntax error, placed where the mistake is.
func Parse(file string, data []byte) (*yaml.Node, *Error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxError(file, data, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

var (
	yamlLine   = regexp.MustCompile(`line (\d+)`)
	yamlPrefix = regexp.MustCompile(`^(yaml: )?line \d+: `)
)

// syntaxError words a YAML syntax error. The parser names the line where the
// block it was reading began, often lines above the mistake; an
// indentation mistake is looked for from there and reported where it is,
// with a hint.
func syntaxError(file string, data []byte, err error) *Error {
	line := 1
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
	}
	msg := yamlPrefix.ReplaceAllString(err.Error(), "")
	msg = strings.TrimPrefix(msg, "yaml: ")
	e := &Error{Pos: Pos{File: file, Line: line, Col: 1}, Msg: "not valid YAML: " + msg}
	if at, col, hint := badIndent(data, line); at > 0 {
		e.Pos.Line, e.Pos.Col = at, col
		e.Msg += "; " + hint
	}
	return e
}

// indentLevel is a column where block lines begin; dash says its lines
// are list items ("- ").
type indentLevel struct {
	col  int
	dash bool
}

// badIndent finds the first line from line `from` on whose indentation
// fits no open block: a tab in the indentation, a line that stops between
// two levels, a line deeper than one that cannot hold a block, or a key
// among list items. It returns 0 when every line fits.
func badIndent(data []byte, from int) (line, col int, hint string) {
	const above = "check the indentation of this line against the one above (spaces only, children indented under their key, list items under each other)"
	stack := []indentLevel{{col: 0}}
	prevOpen := true // the line before may hold an indented block
	// scalar is the indentation of a key whose block scalar (| or >)
	// follows, -1 when none; flow counts brackets left open.
	scalar, flow := -1, 0
	for i, text := range strings.Split(string(data), "\n") {
		n := i + 1
		trimmed := strings.TrimLeft(text, " ")
		if strings.TrimSpace(trimmed) == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		ind := len(text) - len(trimmed)
		if scalar >= 0 && ind > scalar {
			continue // a block scalar's text is free
		}
		scalar = -1
		if flow > 0 {
			// a flow collection over several lines ignores indentation
			flow += strings.Count(trimmed, "{") + strings.Count(trimmed, "[") - strings.Count(trimmed, "}") - strings.Count(trimmed, "]")
			continue
		}
		if strings.HasPrefix(trimmed, "\t") && n >= from {
			return n, ind + 1, "a tab in the indentation: indent with spaces"
		}
		dash := trimmed == "-" || strings.HasPrefix(trimmed, "- ")
		top := stack[len(stack)-1]
		switch {
		case ind > top.col:
			if !prevOpen && n >= from {
				return n, ind + 1, above
			}
			stack = append(stack, indentLevel{col: ind, dash: dash})
		case ind < top.col:
			for len(stack) > 1 && stack[len(stack)-1].col > ind {
				stack = stack[:len(stack)-1]
			}
			if stack[len(stack)-1].col != ind && n >= from {
				return n, ind + 1, above
			}
		}
		top = stack[len(stack)-1]
		if top.dash && !dash && top.col > 0 && len(stack) > 1 && stack[len(stack)-2].col < top.col && n >= from {
			return n, ind + 1, above
		}
		if dash && !top.dash && ind == top.col {
			// "key:" followed by its list at the same column.
			stack[len(stack)-1].dash = true
		}
		// A list item's content is a level of its own: "- a: 1" then "  b: 2".
		body := trimmed
		for strings.HasPrefix(body, "- ") {
			body = strings.TrimLeft(body[2:], " ")
		}
		if dash && body != "" {
			stack = append(stack, indentLevel{col: len(text) - len(body)})
		}
		prevOpen = opensBlock(body)
		if b := strings.TrimRight(body, " "); strings.HasSuffix(b, "|") || strings.HasSuffix(b, ">") || strings.HasSuffix(b, "|-") || strings.HasSuffix(b, ">-") {
			scalar = ind
		}
		flow = max(0, strings.Count(body, "{")+strings.Count(body, "[")-strings.Count(body, "}")-strings.Count(body, "]"))
	}
	return 0, 0, ""
}

// opensBlock reports whether a line (without its list dashes) may be
// followed by more deeply indented lines: a key without a value, a block
// scalar, a bare dash, or an unfinished flow collection.
func opensBlock(body string) bool {
	if i := strings.Index(body, " #"); i >= 0 {
		body = body[:i]
	}
	body = strings.TrimSpace(body)
	switch {
	case body == "", strings.HasSuffix(body, ":"), strings.HasSuffix(body, "|"), strings.HasSuffix(body, ">"),
		strings.HasSuffix(body, "|-"), strings.HasSuffix(body, ">-"):
		return true
	case strings.Count(body, "{") > strings.Count(body, "}"), strings.Count(body, "[") > strings.Count(body, "]"):
		return true
	case !strings.Contains(body, ": ") && !strings.HasPrefix(body, "{") && !strings.HasPrefix(body, "["):
		// A plain scalar may go on over indented lines.
		return true
	}
	return false
}
