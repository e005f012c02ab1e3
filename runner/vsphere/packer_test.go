package vsphere

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/testenv"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/vim25/mo"
)

// simSource is a machine of the default simulator inventory on cluster DC0_C0.
const simSource = "DC0_C0_RP0_VM0"

// startPacker runs the real packer build of testdata/packer-clone with the
// variables imagebot injects (password through the environment) and calls
// onLine for each line of its machine-readable output.
func startPacker(t *testing.T, sim *vcsim, buildID, communicator, base string, onLine func(string)) *exec.Cmd {
	t.Helper()
	vars := Vars(sim.cfg, Build{ID: buildID, Version: "1.0.0", Image: &catalog.Image{Name: "sim"}})
	vars[catalog.VarBuildID] = buildID
	vars[catalog.VarBaseImage] = base
	vars["communicator"] = communicator
	vars["linked_clone"] = strconv.FormatBool(base != simSource)
	delete(vars, catalog.VarHost)
	return startPackerIn(t, filepath.Join("testdata", "packer-clone"), vars, onLine)
}

// startPackerIn runs packer build in dir as the runner does: variables on
// the command line except the vCenter password, which goes through the
// environment; its own process group, killed when the test ends.
func startPackerIn(t *testing.T, dir string, vars map[string]string, onLine func(string)) *exec.Cmd {
	t.Helper()
	bin := testenv.Tool(t, "packer")
	args := []string{"build", "-machine-readable"}
	for k, v := range vars {
		if k != catalog.VarVCenterPassword {
			args = append(args, "-var", k+"="+v)
		}
	}
	cmd := exec.Command(bin, append(args, ".")...)
	cmd.Dir = dir
	tmp := t.TempDir()
	cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1", "PACKER_NO_COLOR=1",
		"PACKER_CACHE_DIR="+filepath.Join(tmp, "cache"), "PACKER_CONFIG_DIR="+tmp,
		"PKR_VAR_vcenter_password="+vars[catalog.VarVCenterPassword])
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			onLine(sc.Text())
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	return cmd
}

// outputLog collects packer's lines from its reader goroutine.
type outputLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *outputLog) add(line string) { l.mu.Lock(); l.b.WriteString(line + "\n"); l.mu.Unlock() }

func (l *outputLog) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// waitFor waits until ch delivers or the deadline passes.
func waitFor(t *testing.T, ch <-chan struct{}, what string, d time.Duration, log *outputLog) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("packer never got to %s; its output:\n%s", what, log.String())
	}
}

func TestCleanupRemovesWhatAKilledRealPackerBuildLeftInVCenter(t *testing.T) {
	sim := startVCSim(t)
	before := sim.vmNames(t)
	var log outputLog
	waiting := make(chan struct{})
	var once sync.Once
	cmd := startPacker(t, sim, "k1", "ssh", simSource, func(line string) {
		log.add(line)
		if strings.Contains(line, "Waiting for IP") {
			once.Do(func() { close(waiting) })
		}
	})
	waitFor(t, waiting, "waiting for the clone's IP", 2*time.Minute, &log)

	// The build host dies: packer and its plugin are killed outright, so
	// Packer's own cleanup never runs and the clone stays in vCenter.
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	name := VMName("k1", "sim")
	vm, err := find.NewFinder(sim.Client).VirtualMachine(context.Background(), "/DC0/vm/imagebot/"+name)
	if err != nil {
		t.Fatalf("packer's clone %s is not in the simulator: %v\n%s", name, err, log.String())
	}
	var m mo.VirtualMachine
	if err := vm.Properties(context.Background(), vm.Reference(), []string{"config"}, &m); err != nil {
		t.Fatal(err)
	}
	// (vCenter applies the clone spec's annotation, Packer's notes; the
	// simulator's CloneVM drops it, so here the extraConfig mark must do.)
	if got := markedBuildID(m.Config.Annotation, nil); got != "k1" && got != "" {
		t.Errorf("annotation Packer set %q names build %q", m.Config.Annotation, got)
	}
	if got := markedBuildID("", m.Config.ExtraConfig); got != "k1" {
		t.Errorf("extraConfig Packer set names build %q", got)
	}

	removed, err := Cleanup(context.Background(), sim.cfg, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(removed, []string{name}) {
		t.Fatalf("removed %q, want [%s]", removed, name)
	}
	after := sim.vmNames(t)
	for n := range before {
		if !after[n] {
			t.Errorf("%s was removed; it is not the build's", n)
		}
	}
	if after[name] {
		t.Errorf("%s is still there", name)
	}
}

// runPacker runs a build to its end and returns its output.
func runPacker(t *testing.T, sim *vcsim, buildID, base string) string {
	t.Helper()
	var log outputLog
	done := make(chan struct{})
	var once sync.Once
	cmd := startPacker(t, sim, buildID, "none", base, func(line string) {
		log.add(line)
		if strings.Contains(line, ",ui,say,") && strings.Contains(line, "Builds finished") ||
			strings.Contains(line, ",ui,error,") && strings.Contains(line, "errored") {
			once.Do(func() { close(done) })
		}
	})
	waitFor(t, done, "the end of the build", 2*time.Minute, &log)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("packer build %s: %v\n%s", buildID, err, log.String())
	}
	return log.String()
}

// The two stages with the real Packer: a build leaves a marked template,
// imagebot keeps it under its digest name, a linked clone of it builds, and
// afterwards nothing of either build is left but the kept template.
func TestRealPackerTwoStageBuildsKeepTheBaseAndLeaveNothingElse(t *testing.T) {
	sim := startVCSim(t)
	before := sim.vmNames(t)
	ctx := context.Background()

	runPacker(t, sim, "s1", simSource)
	kept := TemplateName("sim", "sha256:5e1f00d5e1f00d5e1f00d")
	if removed, err := Finish(ctx, sim.cfg, "s1", true, kept); err != nil || len(removed) != 0 {
		t.Fatalf("finish base: removed %q, %v", removed, err)
	}
	if err := Preflight(ctx, sim.cfg, Requirements{Template: kept, BaseImage: "sim"}); err != nil {
		t.Fatal(err)
	}

	out := runPacker(t, sim, "s2", kept)
	if !strings.Contains(out, "artifact,0,id,"+VMName("s2", "sim")) {
		t.Fatalf("the clone build's artifact is not %s:\n%s", VMName("s2", "sim"), out)
	}
	removed, err := Finish(ctx, sim.cfg, "s2", true, "")
	if err != nil || !slices.Equal(removed, []string{VMName("s2", "sim")}) {
		t.Fatalf("finish clone: removed %q, %v", removed, err)
	}

	after := sim.vmNames(t)
	for n := range before {
		if !after[n] {
			t.Errorf("%s was removed", n)
		}
	}
	if !after[kept] || len(after) != len(before)+1 {
		t.Errorf("after both builds: %v; want the inventory plus %s", after, kept)
	}
}

// The repository's own centos7-base template, run by the real Packer against
// the simulator (a stand-in ISO; the simulator boots nothing): the machine it
// creates carries both marks, and when the build host dies while Packer
// waits for the installer, cleanup finds that machine and removes it.
func TestRealPackerCentos7BaseMarksItsMachineAndCleanupRemovesItAfterAKill(t *testing.T) {
	cat := loadRepo(t)
	img := cat.Images["centos7-base"]
	sim := startVCSim(t)
	before := sim.vmNames(t)
	tmp := t.TempDir()
	iso := filepath.Join(tmp, "stand-in.iso")
	if err := os.WriteFile(iso, []byte("not an installer"), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := Vars(sim.cfg, Build{ID: "c7", Version: "1.0.0", Image: img, Catalog: cat})
	vars[catalog.VarBuildID] = "c7"
	vars[catalog.VarImageVersion] = "1.0.0"
	vars[catalog.VarOutputDirectory] = filepath.Join(tmp, "output")
	vars["iso_url"] = iso
	vars["iso_checksum"] = "none"
	delete(vars, catalog.VarHost) // cluster only

	var log outputLog
	booting := make(chan struct{})
	var once sync.Once
	cmd := startPackerIn(t, filepath.Join(testenv.RepoRoot(t), img.Dir), vars, func(line string) {
		log.add(line)
		if strings.Contains(line, "Waiting 15s for boot") {
			once.Do(func() { close(booting) })
		}
	})
	waitFor(t, booting, "booting the installer", 2*time.Minute, &log)
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if strings.Contains(log.String(), sim.cfg.Password) {
		t.Error("packer's output shows the vCenter password")
	}

	name := VMName("c7", "centos7-base")
	vm, err := find.NewFinder(sim.Client).VirtualMachine(context.Background(), "/DC0/vm/imagebot/"+name)
	if err != nil {
		t.Fatalf("packer's machine %s is not in the simulator: %v\n%s", name, err, log.String())
	}
	var m mo.VirtualMachine
	if err := vm.Properties(context.Background(), vm.Reference(), []string{"config", "runtime"}, &m); err != nil {
		t.Fatal(err)
	}
	if markedBuildID(m.Config.Annotation, nil) != "c7" || markedBuildID("", m.Config.ExtraConfig) != "c7" {
		t.Errorf("marks: annotation %q, extraConfig %v", m.Config.Annotation, m.Config.ExtraConfig)
	}
	if m.Config.Hardware.NumCPU != 2 || m.Config.Hardware.MemoryMB != 4096 || m.Config.GuestId != "centos7_64Guest" {
		t.Errorf("hardware: %d CPUs, %d MB, guest %s", m.Config.Hardware.NumCPU, m.Config.Hardware.MemoryMB, m.Config.GuestId)
	}

	removed, err := Cleanup(context.Background(), sim.cfg, "c7")
	if err != nil || !slices.Equal(removed, []string{name}) {
		t.Fatalf("cleanup removed %q, %v; want [%s]", removed, err, name)
	}
	after := sim.vmNames(t)
	for n := range before {
		if !after[n] {
			t.Errorf("%s was removed", n)
		}
	}
	if len(after) != len(before) {
		t.Errorf("after cleanup %d machines, before the build %d", len(after), len(before))
	}
}
