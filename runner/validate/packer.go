package validate

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/packer"
)

// Placeholder for a sensitive variable without a default: the runner fills
// those from its secrets at build time, which validation does not have.
const sensitivePlaceholder = "validate-placeholder"

// packerTimeout bounds one packer run: validate takes well under a second.
const packerTimeout = 2 * time.Minute

// tools is the Packer setup validation runs with.
type tools struct {
	bin       string          // absolute path of the packer binary
	pluginDir string          // PACKER_PLUGIN_PATH ("" for Packer's default)
	plugins   []packer.Plugin // what pluginDir holds
	offline   bool            // run packer in a network namespace with no way out
	fmtSev    catalog.Severity
}

// checkWithPacker runs `packer init` (for templates with required_plugins)
// and `packer validate` for one image. The bool says the result came from the cache.
func checkWithPacker(ctx context.Context, t tools, cache *resultCache, cat *catalog.Catalog, img *catalog.Image) (catalog.Diagnostics, bool) {
	ctx, cancel := context.WithTimeout(ctx, packerTimeout)
	defer cancel()
	tmp, err := os.MkdirTemp("", "imagebot-validate-")
	if err != nil {
		return catalog.Diagnostics{failure(img, "cannot make a temporary directory for packer validate: %v", err)}, false
	}
	defer os.RemoveAll(tmp)
	vars, err := Variables(cat, img, tmp)
	if err != nil {
		return catalog.Diagnostics{failure(img, "%v", err)}, false
	}
	key := cache.key(img, vars, tmp)
	if diags, ok := cache.get(key); ok {
		return diags, true
	}
	if diags := checkPlugins(ctx, t, cat, img); diags.HasErrors() {
		return diags, false // a missing plugin says more than validate's "unknown source type"
	}
	diags, verdict := packerValidate(ctx, t, cat, img, vars, tmp)
	if verdict {
		cache.put(key, diags)
	}
	return diags, false
}

func failure(img *catalog.Image, format string, args ...any) catalog.Diagnostic {
	return catalog.Diagnostic{File: img.Template.Path, Severity: catalog.SeverityError, Image: img.Name, Message: fmt.Sprintf(format, args...)}
}

// Variables returns the -var set `packer validate` gets for img: env.yaml's
// variables, then the injected ones the template declares with placeholder
// values that pass validation (output_directory is a fresh path under tmp
// that does not exist; catalog.Placeholders for vCenter settings, only for
// templates with vSphere sources, as a build would), then placeholders for
// sensitive variables without a default.
func Variables(cat *catalog.Catalog, img *catalog.Image, tmp string) (map[string]string, error) {
	base := filepath.Join(tmp, "base.qcow2")
	if err := os.WriteFile(base, nil, 0o644); err != nil {
		return nil, fmt.Errorf("placeholder base image: %w", err)
	}
	cache := filepath.Join(tmp, "cache")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, fmt.Errorf("placeholder cache directory: %w", err)
	}
	version := img.Env.Version
	if version == "" {
		version = "0.0.0"
	}
	injected := map[string]string{
		catalog.VarImageName:         img.Name,
		catalog.VarImageVersion:      version,
		catalog.VarBuildID:           "validate",
		catalog.VarOutputDirectory:   filepath.Join(tmp, "output"),
		catalog.VarGitSHA:            strings.Repeat("0", 40),
		catalog.VarBaseImage:         base,
		catalog.VarBaseImageChecksum: "none",
		catalog.VarAccelerator:       "tcg",
		catalog.VarRepoRoot:          cat.Root,
		catalog.VarCacheDirectory:    cache,
	}
	for k, v := range catalog.Placeholders { // what only a deployment knows (vCenter, ...)
		if _, ok := injected[k]; !ok {
			injected[k] = v
		}
	}
	declared := map[string]bool{}
	for _, v := range img.Template.Variables {
		declared[v.Name] = true
	}
	vars := map[string]string{}
	for k, v := range img.Env.Variables {
		if declared[k] { // an undeclared one is the catalog's error, reported once
			vars[k] = v
		}
	}
	for _, v := range img.Template.Variables {
		if val, ok := injected[v.Name]; ok && img.Template.Injects(v.Name) {
			vars[v.Name] = val
		} else if _, set := vars[v.Name]; !set && v.Sensitive && !v.HasDefault {
			vars[v.Name] = sensitivePlaceholder
		}
	}
	return vars, nil
}

// packerCmd runs packer in its own process group so that cancelling stops
// the plugin processes it starts too, with the plugin directory, and offline
// when asked.
func packerCmd(ctx context.Context, t tools, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, t.bin, args...)
	cmd.Dir = dir
	// The template is the merge request's code and `packer validate`
	// evaluates it (env() in a default, then an error quoting the value):
	// the same allow-listed environment as a build, never imagebot's own.
	cmd.Env = packer.Environ(os.Environ(), os.Getenv("HOME"), "", nil)
	if t.pluginDir != "" {
		cmd.Env = append(cmd.Env, "PACKER_PLUGIN_PATH="+t.pluginDir)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if t.offline {
		packer.Isolate(cmd)
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return cmd
}

// Messages of a failure that says nothing about the template: the network
// (a checksum server down, no route), which must never be cached as the
// template's verdict.
var transientRE = regexp.MustCompile(`(?i)dial tcp|no such host|connection refused|i/o timeout|network is unreachable|TLS handshake|temporary failure in name resolution|context deadline exceeded|server misbehaving|Client\.Timeout|EOF$`)

// packerValidate runs `packer validate`. verdict says packer ran and judged
// the template (valid or not), as opposed to failing to run at all or
// failing on something transient, such as the network.
func packerValidate(ctx context.Context, t tools, cat *catalog.Catalog, img *catalog.Image, vars map[string]string, tmp string) (diags catalog.Diagnostics, verdict bool) {
	args := []string{"validate", "-machine-readable"}
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		args = append(args, "-var", n+"="+vars[n])
	}
	args = append(args, ".") // as the runner builds: the image directory
	cmd := packerCmd(ctx, t, filepath.Join(cat.Root, img.Dir), args...)
	cmd.Env = append(cmd.Env, "PACKER_CACHE_DIR="+filepath.Join(tmp, "cache"), "TMPDIR="+tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return catalog.Diagnostics{failure(img, "packer validate did not finish within %s", packerTimeout)}, false
	}
	diags = parseValidate(cat.Root, img, stdout.String())
	for _, d := range diags {
		if transientRE.MatchString(d.Message) {
			return diags, false
		}
	}
	if err == nil {
		return diags, ctx.Err() == nil
	}
	if ctx.Err() == nil && !diags.HasErrors() {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		return append(diags, failure(img, "packer validate failed: %v: %s", err, msg)), false
	}
	return diags, ctx.Err() == nil
}

// "  on rocky9.pkr.hcl line 12, in source "qemu" "x":"
var packerLocRE = regexp.MustCompile(`(?m)^\s*on (\S+) line (\d+)(?:, in [^\n]*)?:\s*$`)

// Packer names an unset variable but not where it was declared.
var unsetVarRE = regexp.MustCompile(`^Error: Unset variable "([^"]+)"`)

// parseValidate turns packer's machine-readable output into diagnostics.
// One ui line may hold several messages (on failure packer sends its
// warnings and every error as one ui,error), so each is split at the lines
// starting "Error: " or "Warning: ".
func parseValidate(root string, img *catalog.Image, out string) catalog.Diagnostics {
	var diags catalog.Diagnostics
	for _, line := range strings.Split(out, "\n") {
		f := strings.SplitN(line, ",", 5)
		if len(f) < 5 || f[2] != "ui" || (f[3] != "error" && f[3] != "say") {
			continue
		}
		for _, msg := range splitMessages(unescapeMachine(f[4])) {
			sev := catalog.SeverityError
			switch {
			case strings.HasPrefix(msg, "Warning: Bundled plugins used"):
				continue // 1.9.x bundles qemu and vsphere on purpose: no `packer init` download
			case strings.HasPrefix(msg, "Warning: "):
				sev = catalog.SeverityWarning
			case strings.HasPrefix(msg, "Error: "):
			case f[3] == "error":
			default:
				continue // ordinary output such as "The configuration is valid."
			}
			d := packerDiagnostic(root, img, sev, msg)
			if !slices.Contains(diags, d) { // Packer repeats a warning for every source
				diags = append(diags, d)
			}
		}
	}
	return diags
}

// splitMessages cuts text before every line that starts "Error: " or "Warning: ".
func splitMessages(text string) []string {
	var out []string
	var cur []string
	for _, l := range strings.Split(text, "\n") {
		if (strings.HasPrefix(l, "Error: ") || strings.HasPrefix(l, "Warning: ")) && len(cur) > 0 {
			out = append(out, strings.Join(cur, "\n"))
			cur = nil
		}
		cur = append(cur, l)
	}
	if strings.TrimSpace(strings.Join(cur, "")) != "" {
		out = append(out, strings.Join(cur, "\n"))
	}
	return out
}

func unescapeMachine(s string) string {
	s = strings.ReplaceAll(s, "%!(PACKER_COMMA)", ",")
	s = strings.ReplaceAll(s, `\n`, "\n")
	return strings.ReplaceAll(s, `\r`, "")
}

// packerDiagnostic locates one of packer's messages ("Error: summary\n\n  on
// FILE line N:\n  (source code not available)\n\ndetail") in the repository.
func packerDiagnostic(root string, img *catalog.Image, sev catalog.Severity, text string) catalog.Diagnostic {
	d := catalog.Diagnostic{File: img.Template.Path, Severity: sev, Image: img.Name}
	if m := packerLocRE.FindStringSubmatch(text); m != nil {
		d.File = img.Dir + "/" + filepath.ToSlash(filepath.Clean(m[1]))
		d.Line, _ = strconv.Atoi(m[2])
		d.Column = firstColumn(filepath.Join(root, filepath.FromSlash(d.File)), d.Line)
		text = strings.Replace(text, m[0], "", 1)
	}
	if d.Line == 0 {
		if m := unsetVarRE.FindStringSubmatch(text); m != nil {
			for _, v := range img.Template.Variables {
				if v.Name == m[1] {
					d.File, d.Line, d.Column = v.Pos.File, v.Pos.Line, v.Pos.Column
				}
			}
		}
	}
	text = strings.Replace(text, "(source code not available)", "", 1)
	text = strings.TrimPrefix(strings.TrimPrefix(text, "Error: "), "Warning: ")
	d.Message = "packer validate: " + tidyMessage(text)
	return d
}

// A line of Packer's quoted source ("  12:   required_version = ...") or of
// its expression notes ("    │ var.x is ...", "    ├────"): a located
// diagnostic points at the line already, so they only clutter the text.
var quotedSourceRE = regexp.MustCompile(`^\s+(\d+:(\s|$)|[│├└╵╷]|\^+\s*$)`)

// tidyMessage turns Packer's text into one message: the summary (which
// Packer wraps) and the detail joined once (no "occurred::"), quoted source
// lines left out, and bullet lists kept one item per line.
func tidyMessage(text string) string {
	var paras [][]string // each paragraph: its lines, bullets separate
	for _, para := range strings.Split(text, "\n\n") {
		var lines []string
		for _, l := range strings.Split(para, "\n") {
			if quotedSourceRE.MatchString(l) {
				continue
			}
			t := strings.Join(strings.Fields(l), " ")
			switch {
			case t == "":
			case strings.HasPrefix(t, "* ") || strings.HasPrefix(t, "- ") || len(lines) == 0:
				lines = append(lines, t)
			default:
				lines[len(lines)-1] += " " + t
			}
		}
		if len(lines) > 0 {
			paras = append(paras, lines)
		}
	}
	var b strings.Builder
	for i, lines := range paras {
		for j, l := range lines {
			bullet := strings.HasPrefix(l, "* ") || strings.HasPrefix(l, "- ")
			switch {
			case i == 0 && j == 0:
			case bullet:
				b.WriteString("\n")
			case i == 1 && j == 0:
				if s := b.String(); !strings.HasSuffix(s, ":") {
					b.WriteString(":")
				}
				b.WriteString(" ")
			default:
				b.WriteString(" ")
			}
			if bullet && i == 0 && j == 0 {
				l = strings.TrimSpace(l)
			}
			b.WriteString(l)
		}
	}
	return b.String()
}

// firstColumn is the column of the first non-blank character of a line
// (packer names lines, not columns); 1 when unknown.
func firstColumn(file string, line int) int {
	src, err := os.ReadFile(file)
	if err != nil || line < 1 {
		return 1
	}
	lines := strings.Split(string(src), "\n")
	if line > len(lines) {
		return 1
	}
	l := lines[line-1]
	return len(l) - len(strings.TrimLeft(l, " \t")) + 1
}

// packerFmt runs `packer fmt -check -diff -recursive` once over images/ (one
// process, not one per image) and reports, for each file of the named images
// it would rewrite, the first line that would change.
func packerFmt(ctx context.Context, t tools, cat *catalog.Catalog, names []string) catalog.Diagnostics {
	ctx, cancel := context.WithTimeout(ctx, packerTimeout)
	defer cancel()
	cmd := packerCmd(ctx, t, filepath.Join(cat.Root, "images"), "fmt", "-check", "-diff", "-recursive", ".")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err == nil || ctx.Err() != nil {
		return nil
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		return catalog.Diagnostics{{File: "images", Severity: catalog.SeverityError,
			Message: fmt.Sprintf("packer fmt -check failed: %v: %s", err, strings.TrimSpace(stderr.String()+stdout.String()))}}
	}
	wanted := map[string]bool{}
	for _, n := range names {
		wanted[n] = true
	}
	var diags catalog.Diagnostics
	for file, line := range unformatted(stdout.String()) {
		name, _, _ := strings.Cut(file, "/")
		if !wanted[name] {
			continue
		}
		diags = append(diags, catalog.Diagnostic{File: "images/" + file, Line: line, Column: 1, Severity: t.fmtSev, Image: name,
			Message: fmt.Sprintf("not formatted the way `packer fmt` writes it (first difference on this line): run `packer fmt images/%s`", name)})
	}
	return diags
}

// unformatted reads `packer fmt -diff` output: for every "--- old/FILE" the
// number of the first line its first hunk removes.
func unformatted(diff string) map[string]int {
	out := map[string]int{}
	file, line := "", 0
	for _, l := range strings.Split(diff, "\n") {
		switch {
		case strings.HasPrefix(l, "--- old/"):
			file, line = filepath.ToSlash(filepath.Clean(strings.TrimPrefix(l, "--- old/"))), 0
			out[file] = 1
		case strings.HasPrefix(l, "+++ "):
		case strings.HasPrefix(l, "@@ -"):
			if line == 0 {
				start, _, _ := strings.Cut(strings.TrimPrefix(l, "@@ -"), ",")
				start, _, _ = strings.Cut(start, " ")
				line, _ = strconv.Atoi(start)
			}
		case file != "" && line > 0 && out[file] == 1 && strings.HasPrefix(l, "-"):
			out[file] = line
			file = ""
		case file != "" && line > 0 && strings.HasPrefix(l, " "):
			line++
		}
	}
	return out
}
