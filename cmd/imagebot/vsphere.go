package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/vsphere"
)

func init() {
	register(command{name: "vsphere", summary: "check, clean up and publish to vCenter (preflight, cleanup, sweep, publish)", run: runVSphere})
}

const vsphereUsage = `usage: imagebot vsphere <command> [flags]
  preflight [--repo DIR] <image>        check what a build of <image> needs in vCenter
  cleanup <build-id>                    remove the machines a build left behind
  sweep [--older-than 24h] [--keep ID]  remove marked leftovers older than a limit
  publish [--library L] <item> <ova>    upload an OVA to a content library
vCenter comes from IMAGEBOT_VSPHERE_* variables (URL, USERNAME, PASSWORD or
PASSWORD_FILE, INSECURE, DATACENTER, CLUSTER, HOST, DATASTORE, NETWORK, FOLDER,
CONTENT_LIBRARY, LEFTOVER_MAX_AGE, TIMEOUT).`

func runVSphere(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, vsphereUsage)
		return fmt.Errorf("%w: no vsphere command", errUsage)
	}
	cfg, err := vsphere.FromEnv(os.Environ())
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("vsphere "+args[0], flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprintln(fs.Output(), vsphereUsage) }
	repo := fs.String("repo", ".", "the images repository checkout (preflight)")
	olderThan := fs.Duration("older-than", 0, "sweep: minimum age (default: IMAGEBOT_VSPHERE_LEFTOVER_MAX_AGE or 24h)")
	var keep multiFlag
	fs.Var(&keep, "keep", "sweep: a running build's id to spare (repeatable)")
	lib := fs.String("library", "", "publish: content library name or id (default: IMAGEBOT_VSPHERE_CONTENT_LIBRARY)")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	want := map[string]int{"preflight": 1, "cleanup": 1, "sweep": 0, "publish": 2}
	n, known := want[args[0]]
	if !known || fs.NArg() != n {
		fs.Usage()
		return fmt.Errorf("%w: vsphere %s takes %d argument(s)", errUsage, args[0], n)
	}
	switch args[0] {
	case "preflight":
		return vspherePreflight(ctx, cfg, *repo, fs.Arg(0))
	case "cleanup":
		removed, err := vsphere.Cleanup(ctx, cfg, fs.Arg(0))
		printLines(removed)
		return err
	case "sweep":
		removed, err := vsphere.Sweep(ctx, cfg, *olderThan, keep...)
		printLines(removed)
		return err
	default:
		loc, err := vsphere.PublishOVA(ctx, cfg, *lib, fs.Arg(0), fs.Arg(1))
		if err != nil {
			return err
		}
		return json.NewEncoder(os.Stdout).Encode(loc)
	}
}

func vspherePreflight(ctx context.Context, cfg vsphere.Config, repo, name string) error {
	cat, diags := catalog.Load(repo)
	if cat == nil {
		return fmt.Errorf("load %s: %v", repo, diags)
	}
	img, ok := cat.Images[name]
	if !ok {
		return fmt.Errorf("%w: no image %q in %s", errUsage, name, repo)
	}
	if !vsphere.UsesVSphere(img, nil) {
		return fmt.Errorf("%s has no vsphere-iso or vsphere-clone source: nothing to check", name)
	}
	start := time.Now()
	if err := vsphere.Preflight(ctx, cfg, vsphere.RequirementsFor(cat, img)); err != nil {
		return err
	}
	fmt.Printf("vsphere preflight for %s passed in %v\n", name, time.Since(start).Round(time.Millisecond))
	return nil
}

func printLines(lines []string) {
	for _, l := range lines {
		fmt.Println(l)
	}
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
