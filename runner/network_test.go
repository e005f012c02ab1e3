package runner

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/catalog"
)

// hostAddr is a non-loopback IPv4 address of this host.
func hostAddr(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	t.Fatal("this host has no non-loopback IPv4 address to probe")
	return ""
}

// probeListener accepts connections on addr and counts them.
func probeListener(t *testing.T, addr string) (string, *atomic.Int32) {
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

// netprobeRepo is testRepo with probe_addrs set in netprobe's env.yaml.
func netprobeRepo(t *testing.T, probes ...string) *catalog.Catalog {
	t.Helper()
	cat := testRepo(t)
	f, err := os.OpenFile(filepath.Join(cat.Root, "images/netprobe/env.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "variables:\n  probe_addrs: %q\n", strings.Join(probes, " "))
	f.Close()
	cat, diags := catalog.Load(cat.Root)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cat
}

// TestBuildNetworkIsConfinedToLoopback runs a real QEMU build (with
// Packer's HTTP server) whose shell-local provisioner connects to a
// listener on this host's non-loopback address and one on the host's
// loopback (where the bot listens). With the default network (none) the
// build still works, its provisioner fetches from Packer's HTTP server, and
// neither listener sees a connection; with network_images netprobe: host,
// the same build connects to both (the probe is not vacuous).
func TestBuildNetworkIsConfinedToLoopback(t *testing.T) {
	outside, outsideHits := probeListener(t, hostAddr(t)+":0")
	loop, loopHits := probeListener(t, "127.0.0.1:0")
	for _, tc := range []struct {
		network   string
		connected bool
	}{
		{"", false}, // the default: none
		{NetworkHost, true},
	} {
		t.Run("network="+tc.network, func(t *testing.T) {
			outsideHits.Store(0)
			loopHits.Store(0)
			cat := netprobeRepo(t, outside, loop)
			r, _ := testRunner(t, func(c *Config) {
				if tc.network != "" {
					c.NetworkImages = map[string]string{"netprobe": tc.network}
				}
			})
			out := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			res, err := r.Build(ctx, cat, Request{Image: "netprobe", OutDir: out}, nil)
			if err != nil {
				t.Fatal(err)
			}
			logData, _ := os.ReadFile(filepath.Join(out, "build.log"))
			log := string(logData)
			if res.Status != StatusSucceeded {
				t.Fatalf("status %s (%s), want succeeded:\n%s", res.Status, res.Error, log)
			}
			if !strings.Contains(log, "http: served-by-packer") {
				t.Errorf("the provisioner could not fetch from Packer's HTTP server:\n%s", log)
			}
			for _, a := range []struct {
				addr string
				hits *atomic.Int32
			}{{outside, outsideHits}, {loop, loopHits}} {
				want := "probe: failed " + a.addr
				if tc.connected {
					want = "probe: CONNECTED " + a.addr
				}
				if !strings.Contains(log, want) {
					t.Errorf("log lacks %q:\n%s", want, log)
				}
				if got := a.hits.Load() > 0; got != tc.connected {
					t.Errorf("listener %s got a connection: %v, want %v", a.addr, got, tc.connected)
				}
			}
		})
	}
}

func TestNetworkChoice(t *testing.T) {
	cat := testRepo(t)
	for _, tc := range []struct {
		name   string
		cfg    Config
		image  string
		only   []string
		want   string
		errStr string
	}{
		{name: "default none", image: "netprobe", want: NetworkNone},
		{name: "runner host", cfg: Config{Network: NetworkHost}, image: "netprobe", want: NetworkHost},
		{name: "per image", cfg: Config{NetworkImages: map[string]string{"netprobe": NetworkHost}}, image: "netprobe", want: NetworkHost},
		{name: "amazon source needs the host's", image: "multi", want: NetworkHost},
		{name: "only the qemu source", image: "multi", only: []string{"qemu.multi"}, want: NetworkNone},
		{name: "image forced none", cfg: Config{NetworkImages: map[string]string{"multi": NetworkNone}}, image: "multi", want: NetworkNone},
		{name: "bad value", cfg: Config{Network: "bridge"}, errStr: `network "bridge": want none or host`},
		{name: "bad image value", cfg: Config{NetworkImages: map[string]string{"x": "all"}}, errStr: `network_images: x: "all"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			err := checkNetwork(&cfg)
			if tc.errStr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errStr) {
					t.Fatalf("error %v, want %q", err, tc.errStr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r := &Runner{cfg: cfg}
			if got := r.network(cat.Images[tc.image], tc.only); got != tc.want {
				t.Errorf("network = %s, want %s", got, tc.want)
			}
		})
	}
}
