package catalog

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"gopkg.in/yaml.v3"

	"github.com/imagebot/imagebot/runner/schedule"
)

// Formats imagebot can publish.
var knownFormats = []string{"qcow2", "ova"}

// envField describes one key of an env.yaml mapping.
type envField struct {
	required bool
	decode   func(p *envParser, n *yaml.Node)
}

// envParser walks env.yaml node by node so that every problem carries the
// line and column of the offending key or value.
type envParser struct {
	image string
	file  string // repository-relative
	env   Env
	pos   map[string]Pos // where each key path ("base", "inputs.0", "variables.x") was written
	key   Pos            // the key whose value is being decoded
	diags Diagnostics
}

// parseEnv reads env.yaml for image from src. file is its repository-relative path.
func parseEnv(image, file string, src []byte) (Env, map[string]Pos, Diagnostics) {
	p := &envParser{image: image, file: file, pos: map[string]Pos{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		line, msg := yamlErrorLine(err)
		p.errAt(Pos{File: file, Line: line, Column: 1}, "invalid YAML: %s", msg)
		return p.env, p.pos, p.diags
	}
	if len(doc.Content) == 0 {
		p.errAt(Pos{File: file, Line: 1, Column: 1}, "env.yaml is empty; it needs at least name, version, description, os and formats")
		return p.env, p.pos, p.diags
	}
	root := doc.Content[0]
	p.key = Pos{File: file, Line: 1, Column: 1}
	p.mapping(root, "", map[string]envField{
		"name":        {required: true, decode: func(p *envParser, n *yaml.Node) { p.env.Name = p.str(n, "name") }},
		"version":     {required: true, decode: (*envParser).version},
		"description": {required: true, decode: func(p *envParser, n *yaml.Node) { p.env.Description = p.str(n, "description") }},
		"os":          {required: true, decode: (*envParser).os},
		"formats":     {required: true, decode: (*envParser).formats},
		"base":        {decode: func(p *envParser, n *yaml.Node) { p.env.Base = p.str(n, "base") }},
		"inputs":      {decode: (*envParser).inputs},
		"variables":   {decode: func(p *envParser, n *yaml.Node) { p.env.Variables = p.stringMap(n, "variables") }},
		"timeout":     {decode: (*envParser).timeout},
		"labels":      {decode: func(p *envParser, n *yaml.Node) { p.env.Labels = p.stringMap(n, "labels") }},
		"hardware":    {decode: (*envParser).hardware},
		"vsphere":     {decode: (*envParser).vsphere},
		"hygiene":     {decode: func(p *envParser, n *yaml.Node) { p.env.Hygiene = p.oneOf(n, "hygiene", "warn", "strict") }},
		"checks":      {decode: (*envParser).checks},
		"refresh":     {decode: (*envParser).refresh},
	})
	if len(doc.Content) > 1 {
		p.errAt(p.at(doc.Content[1]), "env.yaml must hold one YAML document")
	}
	return p.env, p.pos, p.diags
}

// yamlErrorLine pulls "line N" out of a yaml.v3 error.
var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func yamlErrorLine(err error) (int, string) {
	msg := strings.TrimSpace(err.Error())
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n, m[2]
	}
	return 1, strings.TrimPrefix(msg, "yaml: ")
}

func (p *envParser) at(n *yaml.Node) Pos { return Pos{File: p.file, Line: n.Line, Column: n.Column} }

func (p *envParser) errAt(pos Pos, format string, args ...any) {
	p.diags = append(p.diags, errorAt(p.image, pos, format, args...))
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "null"
	}
	return "a scalar"
}

// mapping decodes a YAML mapping against a fixed set of keys. Unknown keys,
// duplicates and missing required keys are errors.
func (p *envParser) mapping(n *yaml.Node, prefix string, fields map[string]envField) {
	parent := p.key
	where := "env.yaml"
	if prefix != "" {
		where = strings.TrimSuffix(prefix, ".")
	}
	if n.Kind != yaml.MappingNode {
		p.errAt(p.at(n), "%s must be a mapping of keys, found %s", where, kindName(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f, ok := fields[k.Value]
		if !ok {
			p.errAt(p.at(k), "unknown key %q in %s (known keys: %s)", k.Value, where, strings.Join(sortedKeys(fields), ", "))
			continue
		}
		if seen[k.Value] {
			p.errAt(p.at(k), "key %q is given twice in %s", k.Value, where)
			continue
		}
		seen[k.Value] = true
		p.pos[prefix+k.Value] = p.at(v)
		p.key = p.at(k)
		f.decode(p, v)
	}
	for _, name := range sortedKeys(fields) {
		if fields[name].required && !seen[name] {
			p.errAt(parent, "%s is missing the required key %q", where, prefix+name)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// str decodes a plain string scalar.
func (p *envParser) str(n *yaml.Node, field string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errAt(p.at(n), "%s must be a string, found %s", field, kindName(n))
		return ""
	}
	if n.Tag != "!!str" {
		p.errAt(p.at(n), "%s must be a string, found %s %q (quote it)", field, strings.TrimPrefix(n.Tag, "!!"), n.Value)
		return n.Value
	}
	if strings.TrimSpace(n.Value) == "" {
		p.errAt(p.at(n), "%s must not be empty", field)
	}
	return n.Value
}

func (p *envParser) version(n *yaml.Node) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errAt(p.at(n), "version must be a semantic version such as 1.4.0, found %s", kindName(n))
		return
	}
	p.env.Version = n.Value
	if _, err := semver.StrictNewVersion(n.Value); err != nil {
		p.errAt(p.at(n), "version %q is not a semantic version: write MAJOR.MINOR.PATCH, e.g. 1.4.0", n.Value)
	}
}

func (p *envParser) os(n *yaml.Node) {
	p.mapping(n, "os.", map[string]envField{
		"family":  {required: true, decode: func(p *envParser, n *yaml.Node) { p.env.OS.Family = p.oneOf(n, "os.family", "linux", "windows") }},
		"name":    {required: true, decode: func(p *envParser, n *yaml.Node) { p.env.OS.Name = p.str(n, "os.name") }},
		"version": {required: true, decode: func(p *envParser, n *yaml.Node) { p.env.OS.Version = p.str(n, "os.version") }},
		"arch":    {required: true, decode: func(p *envParser, n *yaml.Node) { p.env.OS.Arch = p.oneOf(n, "os.arch", "x86_64", "aarch64") }},
	})
}

// oneOf decodes a string that must be one of allowed.
func (p *envParser) oneOf(n *yaml.Node, field string, allowed ...string) string {
	s := p.str(n, field)
	if s == "" {
		return s
	}
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	p.errAt(p.at(n), "%s %q is not one of %s", field, s, strings.Join(allowed, ", "))
	return s
}

func (p *envParser) formats(n *yaml.Node) {
	items := p.list(n, "formats")
	if n.Kind == yaml.SequenceNode && len(items) == 0 {
		p.errAt(p.at(n), "formats must name at least one of %s", strings.Join(knownFormats, ", "))
	}
	seen := map[string]bool{}
	for _, it := range items {
		f := p.oneOf(it, "format", knownFormats...)
		if seen[f] {
			p.errAt(p.at(it), "format %q is listed twice", f)
		}
		seen[f] = true
		p.env.Formats = append(p.env.Formats, f)
	}
}

// checks names check files under resources/checks/ (without .yaml).
func (p *envParser) checks(n *yaml.Node) {
	for _, it := range p.list(n, "checks") {
		name := p.str(it, "checks entry")
		if !checkNameRE.MatchString(name) {
			p.errAt(p.at(it), "checks entry %q: write the name of a file under resources/checks/ without .yaml (letters, digits, - and _)", name)
			continue
		}
		p.pos[fmt.Sprintf("checks.%d", len(p.env.Checks))] = p.at(it) // index in Env.Checks
		p.env.Checks = append(p.env.Checks, name)
	}
}

var checkNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func (p *envParser) list(n *yaml.Node, field string) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		p.errAt(p.at(n), "%s must be a list, found %s", field, kindName(n))
		return nil
	}
	return n.Content
}

func (p *envParser) inputs(n *yaml.Node) {
	for i, it := range p.list(n, "inputs") {
		s := p.str(it, "each input")
		if s == "" {
			continue
		}
		p.pos[fmt.Sprintf("inputs.%d", i)] = p.at(it)
		clean := path.Clean(s)
		switch {
		case path.IsAbs(s) || strings.HasPrefix(s, "\\"):
			p.errAt(p.at(it), "input %q must be a path relative to the repository root, e.g. kickstart/rocky9/ks.cfg", s)
		case clean == ".." || strings.HasPrefix(clean, "../"):
			p.errAt(p.at(it), "input %q points outside the repository", s)
		}
		p.env.Inputs = append(p.env.Inputs, clean)
	}
}

// stringMap decodes a mapping of names to scalar values; numbers and booleans
// are kept as written because Packer receives every -var as text.
func (p *envParser) stringMap(n *yaml.Node, field string) map[string]string {
	if n.Kind != yaml.MappingNode {
		p.errAt(p.at(n), "%s must be a mapping of names to values, found %s", field, kindName(n))
		return nil
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if _, dup := out[k.Value]; dup {
			p.errAt(p.at(k), "%s.%s is given twice", field, k.Value)
			continue
		}
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			p.errAt(p.at(v), "%s.%s must be a single value (text, number or boolean), found %s", field, k.Value, kindName(v))
			continue
		}
		out[k.Value] = v.Value
		p.pos[field+"."+k.Value] = p.at(k)
	}
	return out
}

func (p *envParser) timeout(n *yaml.Node) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errAt(p.at(n), "timeout must be a duration such as 45m or 1h30m, found %s", kindName(n))
		return
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil || d <= 0 {
		p.errAt(p.at(n), "timeout %q is not a positive duration with a unit: write e.g. 45m, 1h30m", n.Value)
		return
	}
	p.env.Timeout = d
}

func (p *envParser) integer(n *yaml.Node, field string) int {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		p.errAt(p.at(n), "%s must be a whole number, found %q", field, n.Value)
		return 0
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil || v <= 0 {
		p.errAt(p.at(n), "%s must be a positive whole number, found %q", field, n.Value)
		return 0
	}
	return v
}

func (p *envParser) hardware(n *yaml.Node) {
	h := &p.env.Hardware
	p.mapping(n, "hardware.", map[string]envField{
		"cpus":      {decode: func(p *envParser, n *yaml.Node) { h.CPUs = p.integer(n, "hardware.cpus") }},
		"memory_mb": {decode: func(p *envParser, n *yaml.Node) { h.MemoryMB = p.integer(n, "hardware.memory_mb") }},
		"nic": {decode: func(p *envParser, n *yaml.Node) {
			h.NIC = p.oneOf(n, "hardware.nic", "vmxnet3", "e1000", "e1000e")
		}},
		"disk_bus": {decode: func(p *envParser, n *yaml.Node) {
			h.DiskBus = p.oneOf(n, "hardware.disk_bus", "scsi", "pvscsi", "sata", "ide")
		}},
		"firmware": {decode: func(p *envParser, n *yaml.Node) { h.Firmware = p.oneOf(n, "hardware.firmware", "bios", "efi") }},
	})
}

// refresh is a schedule runner/schedule can parse.
func (p *envParser) refresh(n *yaml.Node) {
	s := p.str(n, "refresh")
	if s == "" {
		return
	}
	if _, err := schedule.Parse(s); err != nil {
		p.errAt(p.at(n), "%v", err)
		return
	}
	p.env.Refresh = s
}

func (p *envParser) vsphere(n *yaml.Node) {
	v := &VSphere{}
	p.env.VSphere = v
	p.mapping(n, "vsphere.", map[string]envField{
		"content_library": {decode: func(p *envParser, n *yaml.Node) { v.ContentLibrary = p.str(n, "vsphere.content_library") }},
	})
}
