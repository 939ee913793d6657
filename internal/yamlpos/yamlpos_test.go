package yamlpos

import (
	"errors"
	"strings"
	"testing"
)

// A syntax error is placed at the line with the mistake, with a hint; an
// empty file has no root and no error.
func TestParse(t *testing.T) {
	root, err := Parse("x.yaml", []byte("a: 1\nb:\n  - c: 2\n    d: 3\n"))
	if err != nil || root == nil || len(root.Content) != 4 {
		t.Fatalf("good file: %v %v", root, err)
	}
	if root, err := Parse("x.yaml", []byte("# nothing\n")); root != nil || err != nil {
		t.Fatalf("empty file: %v %v", root, err)
	}
	_, err = Parse("x.yaml", []byte("a:\n  b: 1\n c: 2\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "x.yaml:3:2: not valid YAML") || !strings.Contains(err.Error(), "indentation") {
		t.Fatalf("indentation: %v", err)
	}
}

// Errors read as FILE:LINE:COL: MESSAGE (did you mean "WORD"?), in the
// order of the file.
func TestErrors(t *testing.T) {
	r := Reporter{File: "x.yaml"}
	root, _ := Parse("x.yaml", []byte("modle: a\nname: b\n"))
	r.Errorf(root.Content[2], nil, "", "second")
	r.Errorf(root.Content[0], []string{"model", "name"}, "modle", "unknown key %q", "modle")
	r.Errs.Sort()
	const want = "x.yaml:1:1: unknown key \"modle\" (did you mean \"model\"?)\nx.yaml:2:1: second"
	if got := r.Errs.Error(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// A file's errors match its cause, each error on its own; a place without
// a line is the file.
func TestCause(t *testing.T) {
	cause := errors.New("invalid thing file")
	r := Reporter{File: "x.yaml", Cause: cause}
	root, _ := Parse("x.yaml", []byte("a: 1\n"))
	r.Errorf(root, nil, "", "bad")
	var err error = r.Errs
	var e *Error
	if !errors.Is(err, cause) || !errors.As(err, &e) || e.Line != 1 {
		t.Errorf("errors.Is/As through Errors: %v %+v", errors.Is(err, cause), e)
	}
	whole := &Error{Pos: Pos{File: "x.yaml"}, Msg: "no such file"}
	if got := whole.Error(); got != "x.yaml: no such file" {
		t.Errorf("whole-file error %q", got)
	}
}
