package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/ova"
	"github.com/rs/zerolog"
)

func init() {
	register(command{name: "ova", summary: "pack a qcow2/raw disk or a vSphere OVF export into an OVA", run: runOVA})
}

func runOVA(ctx context.Context, args []string) error { return ovaTo(ctx, args, os.Stdout) }

func ovaTo(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("ova", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: imagebot ova <disk.qcow2|disk.raw|export.ovf> -o out.ova [flags]")
		fs.PrintDefaults()
	}
	out := fs.String("o", "", "output .ova (required); <out>.sha256 is written beside it")
	name := fs.String("name", "", "virtual machine name (default: the output's base name)")
	ver := fs.String("version", "", "product version for the descriptor")
	osName := fs.String("os", "", "guest OS name: debian, rocky, centos, ubuntu, photon, ...")
	osVersion := fs.String("os-version", "", "guest OS version, e.g. 12")
	cpus := fs.Int("cpus", 0, "virtual CPUs (default 2)")
	mem := fs.Int("memory", 0, "memory in MB (default 2048)")
	nic := fs.String("nic", "", "network adapter: vmxnet3 (default), e1000, e1000e")
	bus := fs.String("disk-bus", "", "disk controller: scsi (default), pvscsi, sata, ide")
	firmware := fs.String("firmware", "", "bios (default) or efi")
	desc := fs.String("description", "", "annotation for the virtual machine")
	workers := fs.Int("workers", 0, "compression workers (default: all cores)")
	level := fs.Int("level", 0, "zlib level 1-9 (default 1)")
	verbose := fs.Bool("v", false, "log progress to stderr")
	// Accept flags after the positional argument too (imagebot ova disk -o x).
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != 1 || *out == "" {
		fs.Usage()
		return fmt.Errorf("%w: want one input and -o", errUsage)
	}
	log := zerolog.Nop()
	if *verbose {
		log = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).With().Timestamp().Logger()
	}
	var res *ova.Result
	var err error
	if strings.HasSuffix(strings.ToLower(pos[0]), ".ovf") {
		res, err = ova.FromOVF(ctx, pos[0], *out)
	} else {
		res, err = ova.Export(ctx, ova.ExportOptions{
			Disk: pos[0], Out: *out, Name: *name, Version: *ver, Description: *desc,
			OS:       catalog.OS{Family: "linux", Name: *osName, Version: *osVersion, Arch: "x86_64"},
			Hardware: catalog.Hardware{CPUs: *cpus, MemoryMB: *mem, NIC: *nic, DiskBus: *bus, Firmware: *firmware},
			Workers:  *workers, Level: *level, Logger: &log,
		})
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s  %s  %d bytes\n", res.SHA256, res.Path, res.Size)
	return err
}
