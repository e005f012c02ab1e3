package catalog

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// The installer's inputs are in the digest of the real images/debian12: its
// preseed (kickstart/debian12, an env.yaml input that the template also
// reads with templatefile) and its ISO by checksum (the template's
// iso_checksum). Changing either marks exactly debian12 and the image built
// on it; the kickstart images keep their digests.
func TestInstallerInputsInDigest(t *testing.T) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		file   string
		change func(string) string
	}{
		{"preseed", "kickstart/debian12/preseed.cfg", func(s string) string {
			return strings.Replace(s, "d-i pkgsel/include string openssh-server sudo", "d-i pkgsel/include string openssh-server sudo curl", 1)
		}},
		{"ISO checksum", "images/debian12/debian12.pkr.hcl", func(s string) string {
			return strings.Replace(s, `default = "sha256:7ab1`, `default = "sha256:0ab1`, 1)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for _, dir := range []string{"images", "kickstart", "resources"} {
				copyTree(t, filepath.Join(repo, dir), filepath.Join(root, dir), time.Now())
			}
			before := digests(t, root)
			p := filepath.Join(root, tt.file)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			changed := tt.change(string(data))
			if changed == string(data) {
				t.Fatalf("%s: the change did not apply; update the test", tt.file)
			}
			if err := os.WriteFile(p, []byte(changed), 0o644); err != nil {
				t.Fatal(err)
			}
			after := digests(t, root)
			var got []string
			for n := range after {
				if before[n] != after[n] {
					got = append(got, n)
				}
			}
			sort.Strings(got)
			if want := []string{"debian12", "debian12-derived"}; !reflect.DeepEqual(got, want) {
				t.Errorf("changing the %s changed the digests of %v, want %v", tt.name, got, want)
			}
		})
	}
	cat, diags := Load(repo)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if got, want := Affected(cat, []string{"kickstart/debian12/preseed.cfg"}), []string{"debian12", "debian12-derived"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Affected(preseed) = %v, want %v", got, want)
	}
}
