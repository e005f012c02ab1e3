package catalog

import (
	"strings"
	"testing"
	"time"
)

const goodEnv = `name: web
version: 2.3.4-rc.1
description: a web server
os:
  family: linux
  name: rocky
  version: "9.4"
  arch: x86_64
formats: [qcow2, ova]
base: rocky9
inputs:
  - kickstart/rocky9
variables:
  disk_size: 20G
  cpus: 4
timeout: 1h30m
labels:
  team: web
hardware:
  cpus: 2
  memory_mb: 4096
  nic: vmxnet3
  disk_bus: sata
  firmware: efi
vsphere:
  content_library: golden
refresh: weekly
`

func TestParseEnvGood(t *testing.T) {
	env, pos, diags := parseEnv("web", "images/web/env.yaml", []byte(goodEnv))
	if len(diags) > 0 {
		t.Fatal(diags.Error())
	}
	if env.Name != "web" || env.Version != "2.3.4-rc.1" || env.OS.Version != "9.4" || env.Base != "rocky9" ||
		env.Timeout != 90*time.Minute || env.Variables["cpus"] != "4" || env.Labels["team"] != "web" ||
		env.Hardware.MemoryMB != 4096 || env.Hardware.Firmware != "efi" || env.VSphere == nil || env.VSphere.ContentLibrary != "golden" ||
		len(env.Formats) != 2 || len(env.Inputs) != 1 || env.Refresh != "weekly" {
		t.Errorf("parsed %+v", env)
	}
	if p := pos["base"]; p.Line != 10 || p.Column != 7 {
		t.Errorf("base position %+v", p)
	}
}

// Every kind of mistake is reported at the line and column where it was made.
func TestParseEnvErrors(t *testing.T) {
	tests := []struct {
		name, replace, with string
		line, col           int
		message             string
	}{
		{"wrong type", "description: a web server", "description: [a, b]", 3, 14, "description must be a string, found a list"},
		{"number as string", `version: "9.4"`, "version: 9.4", 7, 12, `os.version must be a string, found float "9.4" (quote it)`},
		{"v prefix", "version: 2.3.4-rc.1", "version: v2.3.4", 2, 10, "not a semantic version"},
		{"unknown format", "formats: [qcow2, ova]", "formats: [qcow2, vmdk]", 9, 18, `format "vmdk" is not one of qcow2, ova`},
		{"empty formats", "formats: [qcow2, ova]", "formats: []", 9, 10, "formats must name at least one"},
		{"bad timeout", "timeout: 1h30m", "timeout: 90", 16, 10, `timeout "90" is not a positive duration with a unit`},
		{"timeout not a duration", "timeout: 1h30m", "timeout: soon", 16, 10, `timeout "soon" is not a positive duration`},
		{"unknown nested key", "  arch: x86_64", "  arch: x86_64\n  kernel: 5.14", 9, 3, `unknown key "kernel" in os`},
		{"missing required", "  family: linux\n", "", 4, 1, `os is missing the required key "os.family"`},
		{"variables not a map", "  disk_size: 20G\n  cpus: 4", "  - 20G", 14, 3, "variables must be a mapping of names to values"},
		{"variable value a list", "  cpus: 4", "  cpus: [4]", 15, 9, "variables.cpus must be a single value"},
		{"duplicate key", "base: rocky9", "base: rocky9\nbase: rocky8", 11, 1, `key "base" is given twice`},
		{"absolute input", "  - kickstart/rocky9", "  - /etc/passwd", 12, 5, "must be a path relative to the repository root"},
		{"escaping input", "  - kickstart/rocky9", "  - ../secrets", 12, 5, "points outside the repository"},
		{"bad arch", "arch: x86_64", "arch: amd64", 8, 9, `os.arch "amd64" is not one of x86_64, aarch64`},
		{"bad memory", "memory_mb: 4096", "memory_mb: lots", 21, 14, "hardware.memory_mb must be a whole number"},
		{"refresh not a schedule", "refresh: weekly", "refresh: fortnightly", 27, 10, `refresh "fortnightly": want daily, weekly or a cron expression`},
		{"refresh bad cron", "refresh: weekly", `refresh: "0 25 * * *"`, 27, 10, `refresh "0 25 * * *": `},
		{"refresh not text", "refresh: weekly", "refresh: [weekly]", 27, 10, "refresh must be a string"},
		{"yaml syntax", "description: a web server", "description: : :", 3, 1, "invalid YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(goodEnv, tt.replace, tt.with, 1)
			if src == goodEnv {
				t.Fatalf("replacement %q not found", tt.replace)
			}
			_, _, diags := parseEnv("web", "images/web/env.yaml", []byte(src))
			if len(diags) != 1 {
				t.Fatalf("want one diagnostic, got:\n%s", diags.Error())
			}
			d := diags[0]
			if d.File != "images/web/env.yaml" || d.Line != tt.line || d.Column != tt.col || !strings.Contains(d.Message, tt.message) {
				t.Errorf("got %s\nwant images/web/env.yaml:%d:%d: ...%s", d, tt.line, tt.col, tt.message)
			}
		})
	}
}

func TestEnvHygiene(t *testing.T) {
	base := "name: x\nversion: 1.0.0\ndescription: d\nos: {family: linux, name: debian, version: \"12\", arch: x86_64}\nformats: [qcow2]\n"
	env, _, diags := parseEnv("x", "images/x/env.yaml", []byte(base+"hygiene: strict\n"))
	if diags.HasErrors() || env.Hygiene != "strict" {
		t.Fatalf("hygiene strict: %v %q", diags, env.Hygiene)
	}
	env, _, diags = parseEnv("x", "images/x/env.yaml", []byte(base+"checks: [debian12-app, sshd]\n"))
	if diags.HasErrors() || len(env.Checks) != 2 || env.Checks[1] != "sshd" {
		t.Fatalf("checks: %v %q", diags, env.Checks)
	}
	_, _, diags = parseEnv("x", "images/x/env.yaml", []byte(base+"checks: [../../etc/passwd]\n"))
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "images/x/env.yaml:6") {
		t.Errorf("checks with a path: %v", diags)
	}
	_, _, diags = parseEnv("x", "images/x/env.yaml", []byte(base+"hygiene: lax\n"))
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "images/x/env.yaml:6") || !strings.Contains(diags.Error(), `hygiene "lax" is not one of warn, strict`) {
		t.Errorf("hygiene lax: %v", diags)
	}
}
