// Package numbered expands names with a number in them, such as
// load{n:05d}, the account pattern of fleets and of the mock cloud's load
// users: both sides must agree on every name, so they share this one
// expansion.
package numbered

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrPattern is returned for a pattern that is not NAME{n} or NAME{n:0Wd}.
var ErrPattern = errors.New("bad name pattern")

// Pattern is a parsed name pattern: a prefix, the number, a suffix.
type Pattern struct {
	prefix, suffix string
	width          int // zero-padded width; 0 is no padding
	fixed          bool
}

// Parse reads a pattern. The number is written {n} or {n:0Wd} (W digits,
// zero-padded, as in load{n:05d}); a pattern without {n} is one fixed
// name, the same for every n.
func Parse(s string) (Pattern, error) {
	i := strings.Index(s, "{")
	if i < 0 {
		if strings.Contains(s, "}") {
			return Pattern{}, fmt.Errorf("%w %q: '}' without '{'", ErrPattern, s)
		}
		return Pattern{prefix: s, fixed: true}, nil
	}
	j := strings.Index(s[i:], "}")
	if j < 0 {
		return Pattern{}, fmt.Errorf("%w %q: '{' without '}'", ErrPattern, s)
	}
	p := Pattern{prefix: s[:i], suffix: s[i+j+1:]}
	if strings.ContainsAny(p.suffix, "{}") {
		return Pattern{}, fmt.Errorf("%w %q: one {n} at most", ErrPattern, s)
	}
	switch verb := s[i+1 : i+j]; {
	case verb == "n":
	case strings.HasPrefix(verb, "n:0") && strings.HasSuffix(verb, "d"):
		w, err := strconv.Atoi(verb[3 : len(verb)-1])
		if err != nil || w < 1 || w > 18 {
			return Pattern{}, fmt.Errorf("%w %q: width in {n:0Wd} must be 1 to 18", ErrPattern, s)
		}
		p.width = w
	default:
		return Pattern{}, fmt.Errorf("%w %q: the number is written {n} or {n:0Wd}, e.g. load{n:05d}", ErrPattern, s)
	}
	return p, nil
}

// Fixed reports whether the pattern names one name only.
func (p Pattern) Fixed() bool { return p.fixed }

// Name is the pattern's name for n.
func (p Pattern) Name(n int) string {
	if p.fixed {
		return p.prefix
	}
	num := strconv.Itoa(n)
	if len(num) < p.width {
		num = strings.Repeat("0", p.width-len(num)) + num
	}
	return p.prefix + num + p.suffix
}

// String is the pattern as written.
func (p Pattern) String() string {
	if p.fixed {
		return p.prefix
	}
	if p.width == 0 {
		return p.prefix + "{n}" + p.suffix
	}
	return fmt.Sprintf("%s{n:0%dd}%s", p.prefix, p.width, p.suffix)
}

// MaxCount bounds how many names one pattern expands to: the phones of a
// fleet group, of a scenario's count: entry and the cloud's load users
// alike, so a plan that one side takes the other takes too.
const MaxCount = 1_000_000

// ParseCount reads a count of names, from 1 to MaxCount. Its errors name
// the value and the bound, for callers to prefix with the field.
func ParseCount(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	switch {
	case err != nil:
		return 0, fmt.Errorf("%q is not a whole number", s)
	case n < 1:
		return 0, fmt.Errorf("%d is less than 1", n)
	case n > MaxCount:
		return 0, fmt.Errorf("%d is more than %d", n, MaxCount)
	}
	return n, nil
}
