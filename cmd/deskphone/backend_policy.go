package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// policyRequest turns the arguments of `backend admin policy` into an admin
// API request:
//
//	policy                                 the tenant's policy
//	policy user NAME                       a user's
//	policy set [user NAME] Field=value...  change fields (value "" removes)
func policyRequest(args []string) (method, path string, body []byte, err error) {
	usage := errors.New("admin: usage: policy [user NAME], or policy set [user NAME] Field=value")
	switch {
	case len(args) == 0:
		return http.MethodGet, "policy", nil, nil
	case args[0] == "user" && len(args) == 2:
		return http.MethodGet, "policy?user=" + url.QueryEscape(args[1]), nil, nil
	case args[0] != "set":
		return "", "", nil, usage
	}
	args = args[1:]
	change := struct {
		User string            `json:"user,omitempty"`
		Set  map[string]string `json:"set"`
	}{Set: map[string]string{}}
	if len(args) >= 2 && args[0] == "user" {
		change.User, args = args[1], args[2:]
	}
	if len(args) == 0 {
		return "", "", nil, usage
	}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return "", "", nil, errors.New("admin: policy set takes Field=value, got " + a)
		}
		change.Set[k] = v
	}
	body, err = json.Marshal(change)
	return http.MethodPost, "policy", body, err
}
