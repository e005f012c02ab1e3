package checks

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Result is the outcome of one check, for the log, the manifest and the bot.
type Result struct {
	File   string `json:"file"`
	Check  string `json:"check"` // "service ssh"
	Line   int    `json:"line"`
	Passed bool   `json:"passed"`
	Detail string `json:"detail,omitempty"` // what was found when it failed
}

// Runner runs one shell command in the guest and returns its standard
// output and exit status (an error only when the command could not run).
type Runner interface {
	Run(ctx context.Context, cmd string) (stdout string, exit int, err error)
}

// Run runs every check and returns one result each, in order.
func Run(ctx context.Context, g Runner, cs []Check) ([]Result, error) {
	var out []Result
	for _, c := range cs {
		stdout, exit, err := g.Run(ctx, c.command())
		if err != nil {
			return out, fmt.Errorf("check %s: %w", c, err)
		}
		r := Result{File: c.File, Check: c.String(), Line: c.Line}
		r.Detail = c.evaluate(stdout, exit)
		r.Passed = r.Detail == ""
		out = append(out, r)
	}
	return out, nil
}

// Summary is "14 passed, 1 failed".
func Summary(rs []Result) string {
	p, f := 0, 0
	for _, r := range rs {
		if r.Passed {
			p++
		} else {
			f++
		}
	}
	return fmt.Sprintf("%d passed, %d failed", p, f)
}

// q quotes s for a POSIX shell.
func q(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// command is the shell command whose output evaluate reads.
func (c Check) command() string {
	switch c.Type {
	case "package":
		return "if command -v dpkg-query >/dev/null 2>&1; then dpkg-query -W -f='${db:Status-Abbrev}' -- " + q(c.Name) +
			" 2>/dev/null; else rpm -q --quiet -- " + q(c.Name) + " && printf 'ii '; fi"
	case "service":
		return "systemctl is-enabled -- " + q(c.Name) + " 2>/dev/null; echo; systemctl is-active -- " + q(c.Name) + " 2>/dev/null"
	case "port":
		flag := "-Hltn"
		if strings.HasPrefix(c.Name, "udp:") {
			flag = "-Hlun"
		}
		return "ss " + flag
	case "file":
		return "stat -c '%a %U' -- " + q(c.Name) + " 2>/dev/null || echo missing; echo ---; cat -- " + q(c.Name) + " 2>/dev/null | head -c 1048576"
	case "command":
		return c.Name
	case "kernel-param":
		return "sysctl -n -- " + q(c.Name)
	}
	return "false"
}

// evaluate returns "" when the check passed, else what was found.
func (c Check) evaluate(stdout string, exit int) string {
	var fails []string
	want := func(ok bool, format string, args ...any) {
		if !ok {
			fails = append(fails, fmt.Sprintf(format, args...))
		}
	}
	switch c.Type {
	case "package":
		installed := strings.HasPrefix(stdout, "ii")
		if c.Installed != nil {
			want(installed == *c.Installed, "installed: want %v, got %v", *c.Installed, installed)
		}
	case "service":
		lines := strings.SplitN(stdout, "\n", 2)
		enabled := strings.TrimSpace(lines[0])
		active := ""
		if len(lines) > 1 {
			active = strings.TrimSpace(lines[1])
		}
		if c.Enabled != nil {
			isOn := enabled == "enabled" || enabled == "static" || enabled == "alias"
			want(isOn == *c.Enabled, "enabled: want %v, systemctl says %q", *c.Enabled, enabled)
		}
		if c.Running != nil {
			want((active == "active") == *c.Running, "running: want %v, systemctl says %q", *c.Running, active)
		}
	case "port":
		_, port, _ := strings.Cut(c.Name, ":")
		listening := false
		for _, line := range strings.Split(stdout, "\n") {
			f := strings.Fields(line)
			if len(f) >= 4 && strings.HasSuffix(f[3], ":"+port) {
				listening = true
			}
		}
		if c.Listening != nil {
			want(listening == *c.Listening, "listening: want %v, got %v", *c.Listening, listening)
		}
	case "file":
		head, body, _ := strings.Cut(stdout, "---\n")
		head = strings.TrimSpace(head)
		exists := head != "missing"
		if c.Exists != nil {
			want(exists == *c.Exists, "exists: want %v, got %v", *c.Exists, exists)
		}
		if exists {
			mode, owner, _ := strings.Cut(head, " ")
			if c.Mode != "" {
				want(strings.TrimLeft(mode, "0") == c.Mode, "mode: want 0%s, got 0%s", c.Mode, mode)
			}
			if c.Owner != "" {
				want(owner == c.Owner, "owner: want %s, got %s", c.Owner, owner)
			}
		}
		for _, s := range c.Contents {
			want(strings.Contains(body, s), "contents: %q not found", s)
		}
	case "command":
		if c.ExitStatus != nil {
			want(exit == *c.ExitStatus, "exit-status: want %d, got %d", *c.ExitStatus, exit)
		}
		for _, s := range c.Stdout {
			want(strings.Contains(stdout, s), "stdout: %q not found in %q", s, clip(stdout))
		}
	case "kernel-param":
		got := strings.TrimSpace(stdout)
		if c.Value != nil {
			want(exit == 0 && got == *c.Value, "value: want %q, got %q (exit %s)", *c.Value, got, strconv.Itoa(exit))
		}
	}
	return strings.Join(fails, "; ")
}

func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
