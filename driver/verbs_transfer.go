package driver

import (
	"context"
	"errors"
	"strings"
)

// parseTransfer reads transfer's three forms: TARGET (blind), consult
// TARGET and complete (attended).
func parseTransfer(text string) (Args, error) {
	word, rest, _ := strings.Cut(text, " ")
	rest = strings.TrimSpace(rest)
	switch {
	case text == "":
		return Args{}, errors.New("transfer needs a target (or consult TARGET, complete)")
	case word == "consult" && rest == "":
		return Args{}, errors.New("transfer consult needs a target")
	case word == "complete" && rest != "":
		return Args{}, errors.New("transfer complete takes no target")
	}
	return Args{Text: text}, nil
}

// transfer blind-transfers the call, or consults a target and completes
// the attended transfer.
func transfer(_ context.Context, t *Target, a Args) (Result, error) {
	word, rest, _ := strings.Cut(a.Text, " ")
	var err error
	switch word {
	case "consult":
		err = t.Phone.Line().Consult(strings.TrimSpace(rest))
	case "complete":
		err = t.Phone.Line().CompleteTransfer()
	default:
		err = t.Phone.Transfer(a.Text)
	}
	if err != nil {
		return Result{}, err
	}
	return screen(t), nil
}
