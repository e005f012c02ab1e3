package inventory

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDpkgStatus(t *testing.T) {
	data, err := os.ReadFile("testdata/dpkg-status")
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := ParseDpkgStatus(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []Package{
		{Name: "base-files", Version: "12.4+deb12u8", Arch: "amd64", Source: "base-files"},
		{Name: "dpkg", Version: "1.21.22", Arch: "amd64", Source: "dpkg"},
		{Name: "libssl3", Version: "3.0.15-1~deb12u1", Arch: "amd64", Source: "openssl", SourceVersion: "3.0.15-1~deb12u1"},
		{Name: "libgcc-s1", Version: "12.2.0-14", Arch: "amd64", Source: "gcc-12"},
	}
	if len(pkgs) != len(want) {
		t.Fatalf("got %d packages %+v, want %d (config-files only left out)", len(pkgs), pkgs, len(want))
	}
	for i := range want {
		if pkgs[i] != want[i] {
			t.Errorf("package %d = %+v, want %+v", i, pkgs[i], want[i])
		}
	}
}

func TestParseDpkgStatusRejectsGarbage(t *testing.T) {
	for _, in := range []string{"Package foo\n", "Status: install ok installed\nArchitecture: all\n"} {
		if _, err := ParseDpkgStatus([]byte(in)); err == nil || !strings.Contains(err.Error(), "line") {
			t.Errorf("%q: err = %v, want one naming the line", in, err)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0},
		{"1.0", "1.1", -1},
		{"1.10", "1.9", 1},
		{"1.0~rc1", "1.0", -1},
		{"1:0.1", "2.0", 1},
		{"3.0.15-1~deb12u1", "3.0.15-1", -1},
		{"6.1.0-27-amd64", "6.1.0-28-amd64", -1},
		{"12.2.0-14", "12.2.0-14+b1", -1},
		{"1.0a", "1.0+", -1},
	} {
		if got := CompareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := CompareVersions(tc.b, tc.a); got != -tc.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tc.b, tc.a, got, -tc.want)
		}
	}
}

func TestParseOSRelease(t *testing.T) {
	kv := ParseOSRelease([]byte("# c\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID='12'\n"))
	if kv["ID"] != "debian" || kv["VERSION_ID"] != "12" || kv["PRETTY_NAME"] != "Debian GNU/Linux 12 (bookworm)" {
		t.Errorf("got %v", kv)
	}
}

// TestParseRPMDB reads the CentOS 7 Berkeley DB fixture that go-rpmdb ships
// in its module (kept out of this repository for its 16 MB).
func TestParseRPMDB(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/knqyf263/go-rpmdb").Output()
	if err != nil {
		t.Fatalf("locate go-rpmdb module: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "pkg", "testdata", "centos7-plain", "Packages"))
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := ParseRPMDB(data)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]Package{}
	for _, p := range pkgs {
		found[p.Name] = p
	}
	if len(pkgs) < 100 {
		t.Errorf("only %d packages", len(pkgs))
	}
	bash := found["bash"]
	if bash.Version == "" || bash.Arch != "x86_64" || !strings.HasPrefix(bash.Source, "bash-") {
		t.Errorf("bash = %+v", bash)
	}
	if rpmArch(pkgs) != "x86_64" {
		t.Errorf("arch = %q", rpmArch(pkgs))
	}
}
