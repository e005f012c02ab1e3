// Package checks owns the checks that run inside a booted artifact: goss-style
// YAML specs (package, service, port, file, command, kernel-param, as in
// goss's own format) parsed from resources/checks/<name>.yaml, each check
// turned into one shell command run over SSH, and the per-check results.
//
// goss itself is not embedded: its module pulls a large dependency tree and
// would have to be copied into every guest as a static binary; the six
// resource types imagebot needs are a small amount of shell (dpkg-query or
// rpm, systemctl, ss, stat, sysctl) that every Debian and RHEL-family image
// already has.
package checks

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Check is one assertion of a spec.
type Check struct {
	File string // the spec's name, e.g. debian12-app
	Type string // package, service, port, file, command, kernel-param
	Name string // the resource: package name, unit, "tcp:22", path, command line, sysctl key
	Line int    // where it is written in the spec

	Installed  *bool    // package
	Enabled    *bool    // service
	Running    *bool    // service
	Listening  *bool    // port
	Exists     *bool    // file
	Mode       string   // file: octal, e.g. "0644"
	Owner      string   // file
	Contents   []string // file: substrings that must appear
	ExitStatus *int     // command
	Stdout     []string // command: substrings that must appear
	Value      *string  // kernel-param
}

// String names the check as reports show it: "service ssh", "port tcp:22".
func (c Check) String() string { return c.Type + " " + c.Name }

// attrs lists the keys each resource type takes.
var attrs = map[string][]string{
	"package":      {"installed"},
	"service":      {"enabled", "running"},
	"port":         {"listening"},
	"file":         {"exists", "mode", "owner", "contents"},
	"command":      {"exit-status", "stdout"},
	"kernel-param": {"value"},
}

// Load reads the named specs from dir (resources/checks), in order.
func Load(dir string, names []string) ([]Check, error) {
	var out []Check
	for _, n := range names {
		if !validName(n) {
			return nil, fmt.Errorf("checks: %q is not a check file name (letters, digits, - and _)", n)
		}
		path := filepath.Join(dir, n+".yaml")
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("checks: %w", err)
		}
		cs, err := Parse(n, data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, cs...)
	}
	return out, nil
}

func validName(n string) bool {
	if n == "" {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Parse parses one goss-style spec. Unknown resource types and keys are
// errors naming the line.
func Parse(file string, data []byte) ([]Check, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: want a mapping of resource types", root.Line)
	}
	var out []Check
	for i := 0; i+1 < len(root.Content); i += 2 {
		typ, body := root.Content[i], root.Content[i+1]
		keys, ok := attrs[typ.Value]
		if !ok {
			return nil, fmt.Errorf("line %d: unknown resource type %q (known: %s)", typ.Line, typ.Value, strings.Join(sortedTypes(), ", "))
		}
		if body.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("line %d: %s must map names to attributes", body.Line, typ.Value)
		}
		for j := 0; j+1 < len(body.Content); j += 2 {
			name, at := body.Content[j], body.Content[j+1]
			c := Check{File: file, Type: typ.Value, Name: name.Value, Line: name.Line}
			if err := c.decode(at, keys); err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

func sortedTypes() []string {
	var t []string
	for k := range attrs {
		t = append(t, k)
	}
	sort.Strings(t)
	return t
}

func (c *Check) decode(n *yaml.Node, keys []string) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: %s: want a mapping of attributes (%s)", n.Line, c, strings.Join(keys, ", "))
	}
	if len(n.Content) == 0 {
		return fmt.Errorf("line %d: %s: no attribute to check (%s)", n.Line, c, strings.Join(keys, ", "))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !contains(keys, k.Value) {
			return fmt.Errorf("line %d: %s: unknown attribute %q (known: %s)", k.Line, c, k.Value, strings.Join(keys, ", "))
		}
		var err error
		switch k.Value {
		case "installed":
			c.Installed, err = boolOf(v)
		case "enabled":
			c.Enabled, err = boolOf(v)
		case "running":
			c.Running, err = boolOf(v)
		case "listening":
			c.Listening, err = boolOf(v)
		case "exists":
			c.Exists, err = boolOf(v)
		case "mode":
			c.Mode = strings.TrimLeft(v.Value, "0")
		case "owner":
			c.Owner = v.Value
		case "contents":
			c.Contents, err = strings1(v)
		case "stdout":
			c.Stdout, err = strings1(v)
		case "exit-status":
			var x int
			err = v.Decode(&x)
			c.ExitStatus = &x
		case "value":
			s := v.Value
			c.Value = &s
		}
		if err != nil {
			return fmt.Errorf("line %d: %s: %s: %v", v.Line, c, k.Value, err)
		}
	}
	if c.Type == "port" && !strings.HasPrefix(c.Name, "tcp:") && !strings.HasPrefix(c.Name, "udp:") {
		return fmt.Errorf("line %d: port %q: write tcp:PORT or udp:PORT", c.Line, c.Name)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func boolOf(n *yaml.Node) (*bool, error) {
	var b bool
	if err := n.Decode(&b); err != nil {
		return nil, fmt.Errorf("want true or false, found %q", n.Value)
	}
	return &b, nil
}

func strings1(n *yaml.Node) ([]string, error) {
	var s []string
	if err := n.Decode(&s); err != nil {
		return nil, fmt.Errorf("want a list of strings")
	}
	return s, nil
}
