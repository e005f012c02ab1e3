package runner

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// maxPoolUIDs bounds runner.build_uids: one uid per concurrent build is
// enough, and each is checked against the user database at start.
const maxPoolUIDs = 1024

// uidPool hands each running build a uid of its own (runner.build_uids), so
// builds running at the same time cannot read each other's directories or
// signal each other's processes.
type uidPool struct {
	mu   sync.Mutex
	free []uint32
}

// newUIDPool parses "first-last". No uid of the range may belong to a user
// of this host: a build would get that user's files.
func newUIDPool(spec string) (*uidPool, error) {
	if spec == "" {
		return nil, nil
	}
	a, b, ok := strings.Cut(spec, "-")
	first, err1 := strconv.ParseUint(strings.TrimSpace(a), 10, 32)
	last, err2 := strconv.ParseUint(strings.TrimSpace(b), 10, 32)
	if !ok || err1 != nil || err2 != nil || first == 0 || last < first {
		return nil, fmt.Errorf("runner: build_uids %q: want FIRST-LAST, e.g. 2000000-2000015, not including 0", spec)
	}
	if last-first+1 > maxPoolUIDs {
		return nil, fmt.Errorf("runner: build_uids %q: at most %d uids", spec, maxPoolUIDs)
	}
	p := &uidPool{}
	for u := first; u <= last; u++ {
		if usr, err := user.LookupId(strconv.FormatUint(u, 10)); err == nil {
			return nil, fmt.Errorf("runner: build_uids %q: uid %d is the user %q of this host: choose uids no user has", spec, u, usr.Username)
		}
		p.free = append(p.free, uint32(u))
	}
	return p, nil
}

func (p *uidPool) take() (uint32, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) == 0 {
		return 0, false
	}
	u := p.free[0]
	p.free = p.free[1:]
	return u, true
}

// put returns a uid once nothing of its build runs any more (see killUID).
func (p *uidPool) put(u uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.free = append(p.free, u)
}

// buildCred is the credential of one build: the build user's, with a uid of
// its own when build_uids is set.
func (b *run) buildCred() error {
	b.cred = b.r.cred
	if b.cred == nil || b.r.uids == nil {
		return nil
	}
	u, ok := b.r.uids.take()
	if !ok {
		return fmt.Errorf("no free build uid: build_uids has fewer uids than builds running (give it more than slots: a build waiting for its base holds one too)")
	}
	c := *b.r.cred
	c.Uid = u
	b.cred, b.poolUID = &c, u
	return nil
}

// releaseCred kills whatever still runs as the build's own uid (a
// provisioner's daemon that left Packer's process group) and returns the uid.
func (b *run) releaseCred() {
	if b.poolUID == 0 {
		return
	}
	killUID(b.poolUID)
	b.r.uids.put(b.poolUID)
	b.poolUID = 0
}

// killUID sends SIGKILL to every process whose real or effective uid is u,
// until none is left (at most 10s).
func killUID(u uint32) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids := pidsOf(u)
		if len(pids) == 0 || time.Now().After(deadline) {
			return
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func pidsOf(u uint32) []int {
	var out []int
	dirs, _ := filepath.Glob("/proc/[0-9]*/status")
	want := strconv.FormatUint(uint64(u), 10)
	for _, st := range dirs {
		data, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) >= 3 && f[0] == "Uid:" {
				if f[1] == want || f[2] == want {
					pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(st)))
					out = append(out, pid)
				}
				break
			}
		}
	}
	return out
}
