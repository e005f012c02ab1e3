package packer

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// listen accepts and counts connections on addr.
func listen(t *testing.T, addr string) (string, *atomic.Int32) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var n atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	return l.Addr().String(), &n
}

func nonLoopback(t *testing.T) string {
	t.Helper()
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	t.Fatal("no non-loopback IPv4 address on this host")
	return ""
}

// TestConfinedBuildReachesOnlyItsLoopback runs a stand-in packer that
// connects to a listener on the host's non-loopback address and one on the
// host's loopback: confined (as root, and by the unprivileged user-namespace
// path) neither is reached and the build's own loopback is up; unconfined,
// both are (the probe is not vacuous).
func TestConfinedBuildReachesOnlyItsLoopback(t *testing.T) {
	script, _ := filepath.Abs("testdata/netprobe.sh")
	outside, outHits := listen(t, nonLoopback(t)+":0")
	loop, loopHits := listen(t, "127.0.0.1:0")
	for _, tc := range []struct {
		name       string
		confined   bool
		root       bool
		wantReach  bool
		wantUIDOut string
	}{
		{"unconfined", false, true, true, ""},
		{"confined as root", true, true, false, ""},
		{"confined without root", true, false, false, "uid: 0"}, // uid 0 of its own user namespace
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.root {
				old := asRoot
				asRoot = func() bool { return false }
				defer func() { asRoot = old }()
			}
			outHits.Store(0)
			loopHits.Store(0)
			var mu sync.Mutex
			var lines []string
			err := Build(context.Background(), BuildOptions{Packer: script, Template: ".", Confined: tc.confined,
				Env:  []string{"PROBE_ADDRS=" + outside + " " + loop},
				Line: func(s string) { mu.Lock(); lines = append(lines, s); mu.Unlock() }})
			if err != nil {
				t.Fatal(err)
			}
			out := strings.Join(lines, "\n")
			for _, a := range []string{outside, loop} {
				want := "probe: failed " + a
				if tc.wantReach {
					want = "probe: CONNECTED " + a
				}
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if got := outHits.Load()+loopHits.Load() > 0; got != tc.wantReach {
				t.Errorf("listeners reached: %v, want %v", got, tc.wantReach)
			}
			if !strings.Contains(out, "probe: failed 127.0.0.1:1: ") || !strings.Contains(out, "Connection refused") {
				t.Errorf("the build's loopback is not up (want connection refused on 127.0.0.1:1):\n%s", out)
			}
			if tc.wantUIDOut != "" && !strings.Contains(out, tc.wantUIDOut) {
				t.Errorf("output lacks %q:\n%s", tc.wantUIDOut, out)
			}
		})
	}
}
