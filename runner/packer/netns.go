package packer

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// startConfined starts cmd in a network namespace of its own whose only
// interface is loopback, up. Everything the build starts lives there:
// Packer, its HTTP server, QEMU and its user-mode network (SLIRP), the SSH
// port forward, every shell-local provisioner. They reach one another on
// 127.0.0.1 as usual; nothing outside the namespace (the host's other
// addresses, the bot's listeners on the host's loopback, other hosts) is
// reachable, and a guest on QEMU's user network reaches only what the
// namespace's loopback serves.
//
// As root (CAP_SYS_ADMIN) the namespace is made on a locked OS thread,
// which the child inherits from the clone Go makes on that thread; the
// build keeps its uid (build_user). Otherwise see startUserNS.
func startConfined(cmd *exec.Cmd) error {
	if !asRoot() {
		return startUserNS(cmd)
	}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread is in the build's namespace and ends
		// with this goroutine, so no other goroutine ever runs on it.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("network namespace for the build: %w", err)
			return
		}
		if err := loopbackUp(); err != nil {
			errc <- fmt.Errorf("network namespace for the build: loopback: %w", err)
			return
		}
		errc <- cmd.Start()
	}()
	return <-errc
}

// asRoot says whether imagebot may make a network namespace itself; a
// variable so tests can take the unprivileged path as root.
var asRoot = func() bool { return os.Geteuid() == 0 }

// startUserNS confines cmd without privileges, as `unshare -rn` does: a new
// user namespace (imagebot's uid and gid mapped to 0 inside, nothing else)
// owning a new network namespace, where `ip link set lo up` runs before
// packer is executed. Packer then runs as uid 0 of that user namespace,
// which outside it is imagebot's own user and nothing more.
func startUserNS(cmd *exec.Cmd) error {
	ip, err := exec.LookPath("ip")
	if err != nil {
		return fmt.Errorf("network namespace for the build: iproute2's ip is needed to set loopback up without root: %w", err)
	}
	if cmd.SysProcAttr.Credential != nil {
		return fmt.Errorf("network namespace for the build: a build user needs imagebot to run as root")
	}
	cmd.Args = append([]string{"sh", "-c", `"$0" link set lo up && exec "$@"`, ip, cmd.Path}, cmd.Args[1:]...)
	cmd.Path = "/bin/sh"
	cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET
	cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
	cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("network namespace for the build (unprivileged user namespaces may be disabled: run imagebot as root, or set the runner's network: host): %w", err)
	}
	return nil
}

// loopbackUp sets lo up in the calling thread's network namespace (a new
// namespace has it down: 127.0.0.1 would be unreachable).
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}
