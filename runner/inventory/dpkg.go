package inventory

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strings"
	"unicode"
)

// ParseDpkgStatus returns the installed packages of a dpkg status file
// (Status "install ok installed"; half-installed and removed ones left out).
func ParseDpkgStatus(data []byte) ([]Package, error) {
	var pkgs []Package
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	fields := map[string]string{}
	line, start := 0, 1
	flush := func() error {
		defer clear(fields)
		if len(fields) == 0 {
			return nil
		}
		if fields["Status"] != "install ok installed" {
			return nil
		}
		p := Package{Name: fields["Package"], Version: fields["Version"], Arch: fields["Architecture"]}
		if p.Name == "" || p.Version == "" {
			return fmt.Errorf("line %d: stanza without Package or Version", start)
		}
		p.Source = p.Name
		if src := fields["Source"]; src != "" {
			name, ver, ok := strings.Cut(src, " ")
			p.Source = name
			if ok {
				p.SourceVersion = strings.Trim(strings.TrimSpace(ver), "()")
			}
		}
		pkgs = append(pkgs, p)
		return nil
	}
	last := ""
	for sc.Scan() {
		line++
		text := sc.Text()
		switch {
		case strings.TrimSpace(text) == "":
			if err := flush(); err != nil {
				return nil, err
			}
			start = line + 1
		case text[0] == ' ' || text[0] == '\t':
			// continuation of a multi-line field (Description, Conffiles): not needed
			_ = last
		default:
			k, v, ok := strings.Cut(text, ":")
			if !ok {
				return nil, fmt.Errorf("line %d: %q is not a field", line, text)
			}
			last = k
			fields[k] = strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return pkgs, nil
}

// dpkgArch returns dpkg's native architecture: dpkg's own package's.
func dpkgArch(_ context.Context, _ Reader, pkgs []Package) string {
	for _, p := range pkgs {
		if p.Name == "dpkg" {
			return p.Arch
		}
	}
	return ""
}

// CompareVersions compares two Debian-style versions ([epoch:]upstream[-revision])
// as dpkg does; rpm versions and kernel releases order the same way in the
// cases that matter here. It returns -1, 0 or 1.
func CompareVersions(a, b string) int {
	ea, ra := splitEpoch(a)
	eb, rb := splitEpoch(b)
	if c := compareNum(ea, eb); c != 0 {
		return c
	}
	ua, va := splitRevision(ra)
	ub, vb := splitRevision(rb)
	if c := compareFragment(ua, ub); c != 0 {
		return c
	}
	return compareFragment(va, vb)
}

func splitEpoch(v string) (string, string) {
	if e, rest, ok := strings.Cut(v, ":"); ok {
		return e, rest
	}
	return "0", v
}

func splitRevision(v string) (string, string) {
	if i := strings.LastIndex(v, "-"); i >= 0 {
		return v[:i], v[i+1:]
	}
	return v, ""
}

// compareFragment is dpkg's verrevcmp: alternating non-digit and digit runs;
// '~' sorts before everything, letters before other characters.
func compareFragment(a, b string) int {
	for a != "" || b != "" {
		var na, nb string
		na, a = cutRun(a, func(r byte) bool { return !isDigit(r) })
		nb, b = cutRun(b, func(r byte) bool { return !isDigit(r) })
		if c := compareNonDigit(na, nb); c != 0 {
			return c
		}
		na, a = cutRun(a, isDigit)
		nb, b = cutRun(b, isDigit)
		if c := compareNum(na, nb); c != 0 {
			return c
		}
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func cutRun(s string, in func(byte) bool) (string, string) {
	i := 0
	for i < len(s) && in(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

func order(c byte) int {
	switch {
	case c == '~':
		return -1
	case unicode.IsLetter(rune(c)):
		return int(c)
	default:
		return int(c) + 256
	}
}

func compareNonDigit(a, b string) int {
	for i := 0; i < len(a) || i < len(b); i++ {
		var oa, ob int
		if i < len(a) {
			oa = order(a[i])
		}
		if i < len(b) {
			ob = order(b[i])
		}
		if oa != ob {
			if oa < ob {
				return -1
			}
			return 1
		}
	}
	return 0
}

func compareNum(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	switch {
	case len(a) != len(b):
		if len(a) < len(b) {
			return -1
		}
		return 1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
