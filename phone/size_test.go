package phone_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The firmware grows by parts, not by methods of *Phone or longer files:
// *Phone keeps at most maxPhoneMethods methods and no file of the package
// more than maxFileLines lines (issue 20). A capability that would break
// this belongs in a part of its own.
const (
	maxPhoneMethods = 80
	maxFileLines    = 600
)

func TestPhoneStaysSmall(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	methods := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(src), "\n"); n > maxFileLines {
			t.Errorf("%s has %d lines, more than %d: split it by job", name, n, maxFileLines)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || len(fn.Recv.List) != 1 {
				continue
			}
			if star, ok := fn.Recv.List[0].Type.(*ast.StarExpr); ok {
				if id, ok := star.X.(*ast.Ident); ok && id.Name == "Phone" {
					methods++
				}
			}
		}
	}
	if methods > maxPhoneMethods {
		t.Errorf("*Phone has %d methods, more than %d: give the behaviour to the part it belongs to", methods, maxPhoneMethods)
	}
	t.Logf("*Phone has %d methods", methods)
}
