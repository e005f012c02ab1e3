package checks

import (
	"context"
	"strings"
	"testing"
)

const spec = `
package:
  openssh-server: {installed: true}
  telnetd: {installed: false}
service:
  ssh: {enabled: true, running: true}
port:
  tcp:22: {listening: true}
file:
  /etc/imagebot-release: {exists: true, mode: "0644", owner: root, contents: [debian12-app]}
command:
  "uname -s": {exit-status: 0, stdout: [Linux]}
kernel-param:
  kernel.ostype: {value: Linux}
`

// fakeGuest answers each command as a Debian guest with sshd would.
type fakeGuest map[string]struct {
	out  string
	exit int
}

func (f fakeGuest) Run(_ context.Context, cmd string) (string, int, error) {
	for k, v := range f {
		if strings.Contains(cmd, k) {
			return v.out, v.exit, nil
		}
	}
	return "", 127, nil
}

var healthy = fakeGuest{
	"'openssh-server'":             {"ii ", 0},
	"'telnetd'":                    {"", 1},
	"systemctl is-enabled":         {"enabled\nactive\n", 0},
	"ss -Hltn":                     {"LISTEN 0 128 0.0.0.0:22 0.0.0.0:*\nLISTEN 0 128 [::]:22 [::]:*\n", 0},
	"stat -c":                      {"644 root\n---\ndebian12-app 1.2.0\n", 0},
	"uname -s":                     {"Linux\n", 0},
	"sysctl -n -- 'kernel.ostype'": {"Linux\n", 0},
}

func TestRunHealthyGuest(t *testing.T) {
	cs, err := Parse("debian12-app", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 7 {
		t.Fatalf("%d checks", len(cs))
	}
	rs, err := Run(context.Background(), healthy, cs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if !r.Passed {
			t.Errorf("%s (line %d) failed: %s", r.Check, r.Line, r.Detail)
		}
	}
	if got := Summary(rs); got != "7 passed, 0 failed" {
		t.Errorf("summary %q", got)
	}
}

func TestRunReportsEachFailure(t *testing.T) {
	cs, _ := Parse("x", []byte(spec))
	sick := fakeGuest{
		"'openssh-server'":     {"rc ", 0},
		"'telnetd'":            {"ii ", 0},
		"systemctl is-enabled": {"disabled\nfailed\n", 0},
		"ss -Hltn":             {"LISTEN 0 128 0.0.0.0:2222 0.0.0.0:*\n", 0},
		"stat -c":              {"600 root\n---\nother\n", 0},
		"uname -s":             {"", 2},
		"sysctl -n":            {"", 255},
	}
	rs, err := Run(context.Background(), sick, cs)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"package openssh-server":     "installed: want true, got false",
		"package telnetd":            "installed: want false, got true",
		"service ssh":                `enabled: want true, systemctl says "disabled"; running: want true, systemctl says "failed"`,
		"port tcp:22":                "listening: want true, got false",
		"file /etc/imagebot-release": `mode: want 0644, got 0600; contents: "debian12-app" not found`,
		"command uname -s":           "exit-status: want 0, got 2",
		"kernel-param kernel.ostype": `value: want "Linux", got "" (exit 255)`,
	}
	for _, r := range rs {
		if r.Passed || !strings.HasPrefix(r.Detail, want[r.Check]) {
			t.Errorf("%s: passed %v, detail %q, want %q", r.Check, r.Passed, r.Detail, want[r.Check])
		}
	}
	if got := Summary(rs); got != "0 passed, 7 failed" {
		t.Errorf("summary %q", got)
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	for in, want := range map[string]string{
		"pakage:\n  x: {installed: true}\n":     `line 1: unknown resource type "pakage"`,
		"package:\n  x: {instaled: true}\n":     `line 2: package x: unknown attribute "instaled"`,
		"service:\n  ssh: {running: yes-ish}\n": `line 2: service ssh: running: want true or false`,
		"port:\n  22: {listening: true}\n":      `line 2: port "22": write tcp:PORT or udp:PORT`,
		"file:\n  /etc/x: {}\n":                 `line 2: file /etc/x: no attribute to check`,
	} {
		_, err := Parse("x", []byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", in, err, want)
		}
	}
	if _, err := Load("testdata", []string{"../etc/passwd"}); err == nil || !strings.Contains(err.Error(), "not a check file name") {
		t.Errorf("path in a check name: %v", err)
	}
}

// A hostile resource name stays one shell word.
func TestQuoting(t *testing.T) {
	c := Check{Type: "file", Name: "/tmp/x'; rm -rf / #"}
	if !strings.Contains(c.command(), `'/tmp/x'\''; rm -rf / #'`) {
		t.Errorf("command %q", c.command())
	}
}
