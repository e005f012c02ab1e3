package runner

import (
	"fmt"
	"slices"

	"github.com/imagebot/imagebot/runner/catalog"
)

// A build's network (Config.Network, Config.NetworkImages).
const (
	// NetworkNone confines a build to a network namespace of its own with
	// only loopback: Packer, QEMU's user-mode network, the SSH port forward
	// and every shell-local provisioner share it, nothing else is reachable.
	NetworkNone = "none"
	// NetworkHost gives a build the host's network (what imagebot reaches).
	NetworkHost = "host"
)

func checkNetwork(cfg *Config) error {
	if cfg.Network == "" {
		cfg.Network = NetworkNone
	}
	if cfg.Network != NetworkNone && cfg.Network != NetworkHost {
		return fmt.Errorf("runner: network %q: want none or host", cfg.Network)
	}
	for img, n := range cfg.NetworkImages {
		if n != NetworkNone && n != NetworkHost {
			return fmt.Errorf("runner: network_images: %s: %q: want none or host", img, n)
		}
	}
	return nil
}

// network says which network a build of img's sources refs (all when
// empty) gets: the operator's choice for that image, else the host's for a
// builder that drives a remote API (vsphere-*, amazon-*: the build must
// reach vCenter or the cloud), else Config.Network. env.yaml cannot choose:
// it is written by whoever opened the merge request.
func (r *Runner) network(img *catalog.Image, refs []string) string {
	if n, ok := r.cfg.NetworkImages[img.Name]; ok {
		return n
	}
	for _, s := range img.Template.Sources {
		if len(refs) > 0 && !slices.Contains(refs, s.Ref()) {
			continue
		}
		if c := Capability(s.Type); c == CapVSphere || c == CapAmazon {
			return NetworkHost
		}
	}
	return r.cfg.Network
}
