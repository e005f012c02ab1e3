// Command bootbench boots one built artifact the way the checks do
// (runner/checks.Boot), logs in, runs one command and stops it, for
// comparing boot settings on the same artifact (e.g. `-smp 1` against the
// default, one run after the other). It prints the time to SSH, how it
// logged in, when (host clock, from QEMU's start) each boot milestone first
// showed on the serial console, and the command's output.
//
//	go run ./runner/checks/bootbench -run 'systemd-analyze blame' DISK.qcow2
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/imagebot/imagebot/runner/checks"
)

func main() {
	accel := flag.String("accel", "tcg", "QEMU accelerator")
	password := flag.String("password", "", "the template's SSH password, if any")
	smp := flag.Int("smp", 0, "virtual CPUs (0: Boot's default)")
	cpu := flag.String("cpu", "", "QEMU -cpu model (empty: Boot's default)")
	nocloud := flag.Bool("nocloud", false, "attach the NoCloud seed too")
	guest := flag.String("run", "systemd-analyze; systemd-analyze critical-chain ssh.service", "command to run in the guest once logged in")
	user := flag.String("user", "root", "the template's SSH user")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: bootbench [-accel tcg] [-user U -password P] DISK.qcow2")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), checks.BootOptions{Accel: *accel, User: *user, Password: *password, SMP: *smp, CPU: *cpu, NoCloud: *nocloud}, *guest); err != nil {
		fmt.Fprintln(os.Stderr, "bootbench:", err)
		os.Exit(1)
	}
}

func run(disk string, o checks.BootOptions, cmd string) error {
	work, err := os.MkdirTemp("", "bootbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	o.WorkDir = work
	started := time.Now()
	stop := watch(filepath.Join(work, "checks-console.log"), started)
	g, err := checks.Boot(ctx, disk, o)
	seen := stop()
	if err != nil {
		return err
	}
	defer g.Close()
	up := time.Since(started)
	out, code, err := g.Run(ctx, cmd)
	if err != nil {
		return err
	}
	fmt.Printf("ssh up after %.1fs (%s)\n", up.Seconds(), g.Login)
	for _, m := range milestones {
		if t, ok := seen[m]; ok {
			fmt.Printf("  console %-28q at %6.1fs\n", m, t.Seconds())
		}
	}
	fmt.Printf("guest (exit %d):\n%s", code, out)
	return nil
}

// milestones are console lines whose first appearance is timed.
var milestones = []string{"Booting `", "Linux version", "Run /init", "systemd[1]: systemd ", "Reached target", "basic.target", "imagebot-ssh-host", "Started ssh.service", "login:"}

// watch polls the console file and notes when each milestone first shows;
// stop ends the polling and returns what was seen.
func watch(path string, started time.Time) (stop func() map[string]time.Duration) {
	seen := map[string]time.Duration{}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			data, _ := os.ReadFile(path)
			for _, m := range milestones {
				if _, ok := seen[m]; !ok && strings.Contains(string(data), m) {
					seen[m] = time.Since(started)
				}
			}
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return func() map[string]time.Duration { close(done); <-finished; return seen }
}
