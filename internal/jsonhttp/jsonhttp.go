// Package jsonhttp writes the answers of the admin APIs (the mock cloud's
// and its update service's): indented JSON, since people read it with
// curl, and errors as {"error": "..."}.
package jsonhttp

import (
	"encoding/json"
	"net/http"
)

// Write answers with code and v as indented JSON.
func Write(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// Error answers with code and {"error": err's text}.
func Error(w http.ResponseWriter, code int, err error) {
	Write(w, code, map[string]string{"error": err.Error()})
}
