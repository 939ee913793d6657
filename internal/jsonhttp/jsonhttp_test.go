package jsonhttp

import (
	"errors"
	"net/http/httptest"
	"testing"
)

func TestErrorIsIndentedJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	Error(rec, 404, errors.New("no such user"))
	if rec.Code != 404 || rec.Header().Get("Content-Type") != "application/json" || rec.Body.String() != "{\n  \"error\": \"no such user\"\n}\n" {
		t.Fatalf("%d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
}
