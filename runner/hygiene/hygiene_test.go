package hygiene

import (
	"context"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/diskfs"
	"github.com/imagebot/imagebot/runner/testenv"
)

// memFS is an in-memory Reader: paths to contents; directories are implied.
type memFS map[string]string

func (m memFS) ReadFile(_ context.Context, p string) ([]byte, error) {
	if s, ok := m[p]; ok {
		return []byte(s), nil
	}
	return nil, diskfs.ErrNotExist
}

func (m memFS) ReadDir(_ context.Context, dir string) ([]diskfs.Entry, error) {
	seen := map[string]diskfs.Entry{}
	for p, s := range m {
		rel, ok := strings.CutPrefix(p, dir+"/")
		if !ok {
			continue
		}
		name, _, sub := strings.Cut(rel, "/")
		e := diskfs.Entry{Name: name, Mode: 0o100644, Size: int64(len(s))}
		if sub {
			e = diskfs.Entry{Name: name, Mode: 0o040755}
		}
		seen[name] = e
	}
	if len(seen) == 0 {
		return nil, diskfs.ErrNotExist
	}
	var out []diskfs.Entry
	for _, e := range seen {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func sha512crypt(t *testing.T, pw string) string {
	out, err := exec.Command(testenv.Tool(t, "perl"), "-e", `print crypt($ARGV[0], '$6$saltsalt$')`, pw).Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestCleanImageHasNoFindings(t *testing.T) {
	fs := memFS{
		"/etc/ssh/sshd_config": "x", "/etc/machine-id": "", "/root/.profile": "x", "/tmp/.X11-unix/x": "",
		"/etc/shadow":                       "root:" + sha512crypt(t, "other-password") + ":19000:0:99999:7:::\ndaemon:*:19000::::::\n",
		"/var/cache/apt/archives/partial/x": "", "/var/cache/apt/archives/lock": "",
	}
	got, err := Check(context.Background(), fs, Options{Secrets: []string{"debian-build-pw"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("findings on a clean image: %+v", got)
	}
}

func TestDirtyImage(t *testing.T) {
	fs := memFS{
		"/etc/ssh/ssh_host_ed25519_key": "k", "/etc/ssh/ssh_host_ed25519_key.pub": "k",
		"/etc/machine-id":                             "0123456789abcdef\n",
		"/root/.bash_history":                         "curl -u admin:hunter2\n",
		"/home/packer/.bash_history":                  "ls\n",
		"/etc/shadow":                                 "root:" + sha512crypt(t, "debian-build-pw") + ":19000:0:99999:7:::\n",
		"/var/cache/apt/archives/curl_7.88_amd64.deb": "deb",
		"/tmp/provision.sh":                           "#!/bin/sh",
	}
	got, err := Check(context.Background(), fs, Options{Secrets: []string{"not-it", "debian-build-pw"}})
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]int{}
	for _, f := range got {
		checks[f.Check]++
		if strings.Contains(f.Detail, "debian-build-pw") || strings.Contains(f.Detail, "hunter2") {
			t.Errorf("finding leaks a secret: %+v", f)
		}
	}
	want := map[string]int{"ssh-host-keys": 1, "machine-id": 1, "shell-history": 2, "password": 1, "package-cache": 1, "tmp": 1}
	for k, n := range want {
		if checks[k] != n {
			t.Errorf("%s: %d findings, want %d (all: %+v)", k, checks[k], n, got)
		}
	}
}
