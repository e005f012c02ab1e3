package vsphere

import (
	"context"
	"fmt"
	"strings"

	"github.com/vmware/govmomi/vim25/types"
)

// How imagebot marks the machines its builds create. A machine belongs to
// build B only when BOTH hold: its name starts with "imagebot-B-", and its
// annotation (Packer's `notes`, set atomically when the machine is created)
// or its extraConfig (`configuration_parameters`) names B. The name alone is
// not enough (someone may name a machine so by hand, and build ids may prefix
// each other); the annotation alone is not enough (clones of a kept template
// inherit its annotation and extraConfig).
const (
	NamePrefix     = "imagebot-"
	ExtraConfigKey = "imagebot.build_id" // extraConfig key holding the build id
	notesMarker    = "imagebot-build-id: "
	keptMarker     = "imagebot-template: "
	maxVMName      = 80 // vSphere's limit on an entity name
)

// VMName is the name a build's machine gets: "imagebot-<buildid>-<image>".
func VMName(buildID, image string) string {
	n := NamePrefix + buildID + "-" + image
	if len(n) > maxVMName {
		n = n[:maxVMName]
	}
	return n
}

// Notes is the annotation a build's machine carries (Packer's `notes`).
func Notes(buildID, image, version string) string {
	return fmt.Sprintf("Built by imagebot: %s %s.\n%s%s\n", image, version, notesMarker, buildID)
}

// ConfigurationParameters is the extraConfig a build's machine carries
// (Packer's `configuration_parameters`).
func ConfigurationParameters(buildID string) map[string]string {
	return map[string]string{ExtraConfigKey: buildID}
}

// TemplateName is the stable name a successful base build's template is
// kept under: the image name and the first 12 hex digits of its inputs
// digest, so the same inputs always name the same template.
func TemplateName(image, digest string) string {
	d := strings.TrimPrefix(digest, "sha256:")
	if len(d) > 12 {
		d = d[:12]
	}
	return image + "-" + d
}

// markedBuildID returns the build id a machine's marks name, or "".
func markedBuildID(annotation string, extra []types.BaseOptionValue) string {
	for _, line := range strings.Split(annotation, "\n") {
		if id, ok := strings.CutPrefix(strings.TrimSpace(line), notesMarker); ok && id != "" {
			return id
		}
	}
	for _, o := range extra {
		if v := o.GetOptionValue(); v.Key == ExtraConfigKey {
			if s, ok := v.Value.(string); ok {
				return s
			}
		}
	}
	return ""
}

// MarkVM sets a build's marks on an existing machine (for machines imagebot
// creates or adopts outside Packer; Packer sets them through `notes` and
// `configuration_parameters`). The name must already carry the prefix.
func MarkVM(ctx context.Context, cfg Config, vmName, buildID, image, version string) error {
	if !strings.HasPrefix(vmName, NamePrefix+buildID+"-") {
		return fmt.Errorf("mark %q: name does not start with %q", vmName, NamePrefix+buildID+"-")
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout())
	defer cancel()
	c, err := connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.close()
	vm, err := c.finder.VirtualMachine(ctx, vmName)
	if err != nil {
		return fmt.Errorf("mark %q: %w", vmName, err)
	}
	spec := types.VirtualMachineConfigSpec{
		Annotation:  Notes(buildID, image, version),
		ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: ExtraConfigKey, Value: buildID}},
	}
	task, err := vm.Reconfigure(ctx, spec)
	if err != nil {
		return fmt.Errorf("mark %q: %w", vmName, err)
	}
	if err := task.Wait(ctx); err != nil {
		return fmt.Errorf("mark %q: %w", vmName, err)
	}
	return nil
}
