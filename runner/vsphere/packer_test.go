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

// packerRun is one real `packer build` the test started.
type packerRun struct {
	cmd     *exec.Cmd
	mu      sync.Mutex
	out     strings.Builder
	reached chan struct{} // closed at the first line containing the trigger
	eof     chan struct{} // closed when packer's output ends
}

func (p *packerRun) output() string { p.mu.Lock(); defer p.mu.Unlock(); return p.out.String() }

// startPacker runs testdata/packer-clone with the variables imagebot injects.
func startPacker(t *testing.T, sim *vcsim, buildID, communicator, base, trigger string) *packerRun {
	t.Helper()
	vars := Vars(sim.cfg, Build{ID: buildID, Version: "1.0.0", Image: &catalog.Image{Name: "sim"}})
	vars[catalog.VarBuildID] = buildID
	vars[catalog.VarBaseImage] = base
	vars["communicator"] = communicator
	vars["linked_clone"] = strconv.FormatBool(base != simSource)
	delete(vars, catalog.VarHost)
	return startPackerIn(t, filepath.Join("testdata", "packer-clone"), vars, trigger)
}

// startPackerIn runs packer build in dir as the runner does: variables on
// the command line except the vCenter password, which goes through the
// environment; its own process group, killed when the test ends.
func startPackerIn(t *testing.T, dir string, vars map[string]string, trigger string) *packerRun {
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
	p := &packerRun{cmd: cmd, reached: make(chan struct{}), eof: make(chan struct{})}
	t.Cleanup(p.kill)
	go func() {
		defer close(p.eof)
		var once sync.Once
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if strings.Contains(sc.Text(), trigger) {
				once.Do(func() { close(p.reached) })
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	return p
}

// waitReached waits for the trigger line, failing when packer ends first
// or two minutes pass.
func (p *packerRun) waitReached(t *testing.T, what string) {
	t.Helper()
	select {
	case <-p.reached:
		return
	case <-p.eof:
	case <-time.After(2 * time.Minute):
	}
	select {
	case <-p.reached:
	default:
		t.Fatalf("packer never got to %s; its output:\n%s", what, p.output())
	}
}

// kill ends packer and its plugins at once, as a dying build host would.
func (p *packerRun) kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.eof
	_ = p.cmd.Wait()
}

func TestCleanupRemovesWhatAKilledRealPackerBuildLeftInVCenter(t *testing.T) {
	sim := startVCSim(t)
	before := sim.vmNames(t)
	p := startPacker(t, sim, "k1", "ssh", simSource, "Waiting for IP")
	p.waitReached(t, "waiting for the clone's IP")

	// The build host dies: packer and its plugin are killed outright, so
	// Packer's own cleanup never runs and the clone stays in vCenter.
	p.kill()

	name := VMName("k1", "sim")
	vm, err := find.NewFinder(sim.Client).VirtualMachine(context.Background(), "/DC0/vm/imagebot/"+name)
	if err != nil {
		t.Fatalf("packer's clone %s is not in the simulator: %v\n%s", name, err, p.output())
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
	p := startPacker(t, sim, buildID, "none", base, "Builds finished")
	p.waitReached(t, "the end of the build")
	<-p.eof
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("packer build %s: %v\n%s", buildID, err, p.output())
	}
	return p.output()
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

	p := startPackerIn(t, filepath.Join(testenv.RepoRoot(t), img.Dir), declared(img, vars), "Waiting 15s for boot")
	p.waitReached(t, "booting the installer")
	p.kill()
	if strings.Contains(p.output(), sim.cfg.Password) {
		t.Error("packer's output shows the vCenter password")
	}

	name := VMName("c7", "centos7-base")
	vm, err := find.NewFinder(sim.Client).VirtualMachine(context.Background(), "/DC0/vm/imagebot/"+name)
	if err != nil {
		t.Fatalf("packer's machine %s is not in the simulator: %v\n%s", name, err, p.output())
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

// The repository's centos7-appliance template, run by the real Packer
// against the simulator: it makes a linked clone of the base's kept template
// (found by the name imagebot injects), marked as this build's; killed while
// waiting for the clone's address, cleanup removes the clone and only it.
func TestRealPackerCentos7ApplianceClonesTheKeptBaseAndCleanupRemovesTheClone(t *testing.T) {
	cat := loadRepo(t)
	img, base := cat.Images["centos7-appliance"], cat.Images["centos7-base"]
	sim := startVCSim(t)
	ctx := context.Background()
	tpl := sim.createVM(t, vmSpec{Name: KeepName(base), Annotation: "Kept by imagebot.\n" + keptMarker + KeepName(base) + "\n", NIC: true})
	task, err := tpl.CreateSnapshot(ctx, "base", "", false, false)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := tpl.MarkAsTemplate(ctx); err != nil {
		t.Fatal(err)
	}
	before := sim.vmNames(t)

	vars := Vars(sim.cfg, Build{ID: "a9", Version: "1.0.0", Image: img, Catalog: cat})
	vars[catalog.VarBuildID] = "a9"
	vars[catalog.VarOutputDirectory] = filepath.Join(t.TempDir(), "output")
	delete(vars, catalog.VarHost)
	p := startPackerIn(t, filepath.Join(testenv.RepoRoot(t), img.Dir), declared(img, vars), "Waiting for IP")
	p.waitReached(t, "waiting for the clone's IP")
	p.kill()

	name := VMName("a9", "centos7-appliance")
	removed, err := Cleanup(ctx, sim.cfg, "a9")
	if err != nil || !slices.Equal(removed, []string{name}) {
		t.Fatalf("cleanup removed %q, %v; want [%s]\n%s", removed, err, name, p.output())
	}
	after := sim.vmNames(t)
	if len(after) != len(before) || !after[KeepName(base)] {
		t.Errorf("after cleanup: %v; want the inventory with the kept base", after)
	}
}

// declared keeps the variables img's template declares, as the runner does.
func declared(img *catalog.Image, vars map[string]string) map[string]string {
	out := map[string]string{}
	for _, v := range img.Template.Variables {
		if val, ok := vars[v.Name]; ok {
			out[v.Name] = val
		}
	}
	return out
}
