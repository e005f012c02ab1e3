package imagediff

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/inventory"
)

func inv(kernel string, pkgs ...string) *inventory.Inventory {
	i := &inventory.Inventory{Kernel: kernel, OS: inventory.OS{PrettyName: "Debian GNU/Linux 12 (bookworm)"}}
	for _, p := range pkgs {
		name, ver, _ := strings.Cut(p, "=")
		i.Packages = append(i.Packages, inventory.Package{Name: name, Version: ver, Arch: "amd64"})
	}
	return i
}

func TestCompare(t *testing.T) {
	old := Side{Image: "debian12-app", Version: "1.2.0", Inventory: inv("6.1.0-27-amd64", "bash=5.2.15-2", "curl=7.88.1-10", "gone=1.0", "openssl=3.0.15-1~deb12u1"),
		Sizes: map[string]int64{"qcow2": 700 << 20, "ova": 300 << 20}}
	new := Side{Image: "debian12-app", Version: "1.3.0", Inventory: inv("6.1.0-28-amd64", "bash=5.2.15-2", "curl=7.88.1-10+deb12u8", "jq=1.6-2.1", "openssl=3.0.14-1"),
		Sizes: map[string]int64{"qcow2": 710 << 20, "ova": 300 << 20}}
	d := Compare(old, new)
	if got := d.Summary(); got != "+1 −1 ~2 packages" {
		t.Errorf("summary %q", got)
	}
	if len(d.Added) != 1 || d.Added[0].Name != "jq" || d.Added[0].Version != "1.6-2.1" {
		t.Errorf("added %+v", d.Added)
	}
	if len(d.Removed) != 1 || d.Removed[0].Name != "gone" {
		t.Errorf("removed %+v", d.Removed)
	}
	if len(d.Changed) != 2 || d.Changed[0].Name != "curl" || d.Changed[0].Downgrade || !d.Changed[1].Downgrade {
		t.Errorf("changed %+v", d.Changed)
	}
	if d.Kernel == nil || d.Kernel.New != "6.1.0-28-amd64" || d.OS != nil {
		t.Errorf("kernel %+v os %+v", d.Kernel, d.OS)
	}
	if len(d.Sizes) != 2 || d.Sizes[1].Format != "qcow2" || d.Sizes[1].Delta() != 10<<20 {
		t.Errorf("sizes %+v", d.Sizes)
	}
	var md bytes.Buffer
	if err := Markdown(&md, d); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"<details><summary>changes against debian12-app 1.2.0: +1 −1 ~2 packages</summary>",
		"| + | `jq` | `1.6-2.1` |",
		"| ~ | `curl` | `7.88.1-10` → `7.88.1-10+deb12u8` |",
		"→ (downgrade)",
		"**kernel:** `6.1.0-27-amd64` → `6.1.0-28-amd64`",
		"| qcow2 | 700.0 MiB | 710.0 MiB | +10.0 MiB |",
		"</details>",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	if _, err := json.Marshal(d); err != nil {
		t.Fatal(err)
	}
}

func TestSummary(t *testing.T) {
	for _, tc := range []struct {
		d    Diff
		want string
	}{
		{Diff{}, "no package changes"},
		{Diff{Added: []Package{{Name: "a"}}}, "+1 package"},
		{Diff{Removed: []Package{{}}, Changed: []Change{{}, {}}}, "−1 ~2 packages"},
	} {
		if got := tc.d.Summary(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.d, got, tc.want)
		}
	}
}

// A hostile package name must not break out of its table cell or the
// collapsed section.
func TestMarkdownEscapesHostileNames(t *testing.T) {
	d := Compare(Side{Image: "x", Version: "1", Inventory: inv("k")},
		Side{Image: "x", Version: "2", Inventory: inv("k", "evil`|</details><img src=x>\n# h=1")})
	var md bytes.Buffer
	if err := Markdown(&md, d); err != nil {
		t.Fatal(err)
	}
	s := md.String()
	if strings.Count(s, "</details>") != 1 || strings.Contains(s, "<img") || strings.Count(s, "\n| + |") != 1 {
		t.Errorf("escaping failed:\n%s", s)
	}
}

func TestCompareWithoutInventoryComparesSizesOnly(t *testing.T) {
	d := Compare(Side{Version: "1", Sizes: map[string]int64{"qcow2": 5}}, Side{Image: "x", Version: "2", Inventory: inv("k", "a=1"), Sizes: map[string]int64{"qcow2": 3}})
	if !d.Empty() || len(d.Sizes) != 1 || d.Sizes[0].Delta() != -2 {
		t.Errorf("%+v", d)
	}
	var txt bytes.Buffer
	Text(&txt, d)
	if !strings.Contains(txt.String(), "x 1 -> 2: no package changes") {
		t.Errorf("text %q", txt.String())
	}
}
