package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOVACommandExportsADisk(t *testing.T) {
	dir := t.TempDir()
	disk := filepath.Join(dir, "disk.raw")
	data := make([]byte, 2<<20)
	copy(data[1<<20:], "imagebot")
	if err := os.WriteFile(disk, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "app.ova")
	var stdout bytes.Buffer
	args := []string{disk, "-o", out, "--name", "app", "--version", "1.0.0", "--cpus", "3", "--nic", "e1000"}
	if err := ovaTo(context.Background(), args, &stdout); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), out) || len(strings.Fields(stdout.String())[0]) != 64 {
		t.Fatalf("output %q should give the sha256 and the path", stdout.String())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	h, err := tr.Next()
	if err != nil || h.Name != "app.ovf" {
		t.Fatalf("first entry %v, %v", h, err)
	}
	var desc bytes.Buffer
	desc.ReadFrom(tr)
	for _, want := range []string{"<rasd:VirtualQuantity>3</rasd:VirtualQuantity>", "<rasd:ResourceSubType>E1000</rasd:ResourceSubType>", "<Version>1.0.0</Version>"} {
		if !strings.Contains(desc.String(), want) {
			t.Errorf("descriptor lacks %s", want)
		}
	}
	if _, err := os.Stat(out + ".sha256"); err != nil {
		t.Error(err)
	}
}

func TestOVACommandUsage(t *testing.T) {
	err := ovaTo(context.Background(), []string{"disk.qcow2"}, &bytes.Buffer{})
	if !errors.Is(err, errUsage) {
		t.Fatalf("no -o: %v, want a usage error", err)
	}
}
