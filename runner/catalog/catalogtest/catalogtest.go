// Package catalogtest writes images repositories for tests and benchmarks:
// valid images in the repository's layout, shaped like real ones (a qemu
// source, a kickstart served by Packer's HTTP server, a shell provisioner,
// bases with children).
package catalogtest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Generate writes n images named img00, img01, ... under root/images. Every
// fifth image is a base; the four after it derive from it. All of them
// serve kickstart/shared/ks.cfg. It returns the image names.
func Generate(tb testing.TB, root string, n int) []string {
	tb.Helper()
	write(tb, filepath.Join(root, "kickstart/shared/ks.cfg"), "text\nreboot\n")
	names := make([]string, n)
	for i := range n {
		name := fmt.Sprintf("img%02d", i)
		names[i] = name
		base := ""
		if i%5 != 0 {
			base = fmt.Sprintf("base: img%02d\n", i-i%5)
		}
		dir := filepath.Join(root, "images", name)
		write(tb, filepath.Join(dir, "env.yaml"), fmt.Sprintf(`name: %s
version: 1.0.%d
description: generated image %d
os:
  family: linux
  name: debian
  version: "12"
  arch: x86_64
formats: [qcow2, ova]
%s`, name, i, i, base))
		write(tb, filepath.Join(dir, "provisioner.sh"), "#!/bin/bash\nset -eu\nif true; then echo ok; fi\n")
		write(tb, filepath.Join(dir, name+".pkr.hcl"), fmt.Sprintf(`variable "output_directory" {
  type = string
}

source "qemu" "%s" {
  iso_url          = "https://example.com/debian.iso"
  iso_checksum     = "none"
  output_directory = var.output_directory
  http_content = {
    "/ks.cfg" = file("${path.root}/../../kickstart/shared/ks.cfg")
  }
  ssh_username = "root"
  ssh_password = "x"
}

build {
  sources = ["source.qemu.%s"]

  provisioner "shell" {
    script = "provisioner.sh"
  }
}
`, name, name))
	}
	return names
}

func write(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}
