package packer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sleepers(arg string) int {
	n := 0
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), "sleep\x00"+arg) {
			n++
		}
	}
	return n
}

func TestBuildKillsProcessGroupThatIgnoresInterrupt(t *testing.T) {
	script, _ := filepath.Abs("testdata/ignores-interrupt.sh")
	ctx, cancel := context.WithCancel(context.Background())
	lines := make(chan string, 10)
	done := make(chan error, 1)
	go func() {
		done <- Build(ctx, BuildOptions{Packer: script, Template: ".", Grace: time.Second, Line: func(s string) { lines <- s }})
	}()
	select {
	case l := <-lines:
		if !strings.Contains(l, "sleeping") {
			t.Fatalf("first line %q", l)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the fake packer printed nothing")
	}
	if sleepers("3011") == 0 {
		t.Fatal("the fake packer's child is not running")
	}
	start := time.Now()
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("Build did not return after cancel")
	}
	if took := time.Since(start); took > 8*time.Second {
		t.Errorf("Build took %s to stop a 1s-grace build", took)
	}
	if !errors.Is(err, ErrStopped) {
		t.Errorf("err = %v, want ErrStopped", err)
	}
	if n := sleepers("3011"); n != 0 {
		t.Errorf("%d child process(es) survived", n)
	}
}

func TestBuildReportsNonZeroExit(t *testing.T) {
	err := Build(context.Background(), BuildOptions{Packer: "/bin/false", Template: "."})
	if err == nil || errors.Is(err, ErrStopped) || !strings.Contains(err.Error(), "exit status 1") {
		t.Fatalf("err = %v", err)
	}
}

func TestLocateOrder(t *testing.T) {
	root := t.TempDir()
	if _, err := Locate(filepath.Join(root, "nope"), root); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("a missing configured packer: err = %v", err)
	}
	local := filepath.Join(root, ".tools", "bin", "packer")
	os.MkdirAll(filepath.Dir(local), 0o755)
	os.WriteFile(local, []byte("#!/bin/sh\n"), 0o755)
	if got, err := Locate("", root); err != nil || got != local {
		t.Errorf("Locate = %q, %v; want %s", got, err, local)
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := Locate("", t.TempDir()); err == nil || !strings.Contains(err.Error(), "deploy/install-tools.sh") {
		t.Errorf("no packer anywhere: err = %v", err)
	}
}
