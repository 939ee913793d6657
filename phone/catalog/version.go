package catalog

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Version is a firmware version reduced to what compares: the dotted numeric
// fields, with the vendor prefix (UC430HD_) and a letter suffix (5.4.0A) kept
// apart.
type Version struct {
	Prefix string
	Fields []int
	Suffix string
}

var versionRE = regexp.MustCompile(`^(?:([A-Za-z0-9]+)_)?(\d+(?:\.\d+)+)([A-Za-z]*)$`)

// ParseVersion splits a vendor firmware version string.
func ParseVersion(s string) (Version, error) {
	m := versionRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Version{}, fmt.Errorf("bad version string %q: want dotted numbers, optionally with a vendor prefix (UC430HD_3.2.1.580) or a letter suffix (5.4.0A)", s)
	}
	v := Version{Prefix: m[1], Suffix: m[3]}
	for _, part := range strings.Split(m[2], ".") {
		n, err := strconv.Atoi(part)
		if err != nil {
			return Version{}, fmt.Errorf("bad version string %q: %w", s, err)
		}
		v.Fields = append(v.Fields, n)
	}
	return v, nil
}

// Compare orders versions numerically field by field, vendor prefix aside;
// missing fields count as zero. It returns -1, 0 or +1.
func (v Version) Compare(o Version) int {
	for i := 0; i < len(v.Fields) || i < len(o.Fields); i++ {
		a, b := field(v.Fields, i), field(o.Fields, i)
		if a != b {
			if a < b {
				return -1
			}
			return 1
		}
	}
	return strings.Compare(v.Suffix, o.Suffix)
}

func field(f []int, i int) int {
	if i < len(f) {
		return f[i]
	}
	return 0
}
