package vsphere

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// machine is one VM or template carrying imagebot's name prefix.
type machine struct {
	ref       types.ManagedObjectReference
	name      string
	buildID   string // from its marks; "" when unmarked
	template  bool
	poweredOn bool
	created   time.Time // zero when vCenter does not say
}

// owned reports whether the machine belongs to build id by both name and mark.
func (m machine) owned(id string) bool {
	return id != "" && m.buildID == id && strings.HasPrefix(m.name, NamePrefix+id+"-")
}

// leftover reports whether the machine is a marked build machine at all.
func (m machine) leftover() bool { return m.owned(m.buildID) }

// prefixed lists every VM and template in the datacenter whose name starts
// with imagebot's prefix, with its marks.
func (c *conn) prefixed(ctx context.Context) ([]machine, error) {
	v, err := view.NewManager(c.vim).CreateContainerView(ctx, c.dc.Reference(), []string{"VirtualMachine"}, true)
	if err != nil {
		return nil, fmt.Errorf("list machines: %w", err)
	}
	defer func() { _ = v.Destroy(context.WithoutCancel(ctx)) }()

	var vms []mo.VirtualMachine
	props := []string{"name", "config.annotation", "config.extraConfig", "config.template", "config.createDate", "runtime.powerState"}
	refs, err := v.Find(ctx, []string{"VirtualMachine"}, property.Match{"name": NamePrefix + "*"})
	if err != nil {
		return nil, fmt.Errorf("list machines: %w", err)
	}
	if len(refs) == 0 {
		return nil, nil
	}
	if err := property.DefaultCollector(c.vim).Retrieve(ctx, refs, props, &vms); err != nil {
		return nil, fmt.Errorf("list machines: %w", err)
	}
	out := make([]machine, 0, len(vms))
	for _, vm := range vms {
		m := machine{ref: vm.Self, name: vm.Name, poweredOn: vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn}
		if vm.Config != nil {
			m.buildID = markedBuildID(vm.Config.Annotation, vm.Config.ExtraConfig)
			m.template = vm.Config.Template
			if vm.Config.CreateDate != nil {
				m.created = *vm.Config.CreateDate
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// Cleanup removes (powers off and destroys) every machine that build
// buildID left behind, found by its name prefix and its mark, and touches
// nothing else. It returns the names it removed.
func Cleanup(ctx context.Context, cfg Config, buildID string) ([]string, error) {
	if buildID == "" {
		return nil, errors.New("vsphere cleanup: empty build id")
	}
	return remove(ctx, cfg, func(m machine) bool { return m.owned(buildID) })
}

// Sweep removes marked machines of any build older than olderThan (zero
// means the configuration's LeftoverMaxAge), except those of the builds in
// active. olderThan must exceed the longest build timeout. Machines whose
// creation time vCenter does not report are left alone.
func Sweep(ctx context.Context, cfg Config, olderThan time.Duration, active ...string) ([]string, error) {
	if olderThan <= 0 {
		olderThan = cfg.leftoverMaxAge()
	}
	cutoff := time.Now().Add(-olderThan)
	return remove(ctx, cfg, func(m machine) bool {
		return m.leftover() && !slices.Contains(active, m.buildID) && !m.created.IsZero() && m.created.Before(cutoff)
	})
}

func remove(ctx context.Context, cfg Config, match func(machine) bool) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 4*cfg.timeout())
	defer cancel()
	c, err := connect(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("vsphere cleanup: %w", err)
	}
	defer c.close()
	all, err := c.prefixed(ctx)
	if err != nil {
		return nil, fmt.Errorf("vsphere cleanup: %w", err)
	}
	log := zerolog.Ctx(ctx)
	var removed []string
	var errs []error
	for _, m := range all {
		if !match(m) {
			continue
		}
		if err := c.destroy(ctx, m); err != nil {
			errs = append(errs, err)
			continue
		}
		log.Info().Str("vm", m.name).Str("build_id", m.buildID).Msg("vsphere: removed leftover machine")
		removed = append(removed, m.name)
	}
	return removed, errors.Join(errs...)
}

func (c *conn) destroy(ctx context.Context, m machine) error {
	vm := object.NewVirtualMachine(c.vim, m.ref)
	if m.poweredOn {
		task, err := vm.PowerOff(ctx)
		if err == nil {
			err = task.Wait(ctx)
		}
		if err != nil && !fault.Is(err, &types.InvalidPowerState{}) {
			return fmt.Errorf("power off %q: %w", m.name, err)
		}
	}
	task, err := vm.Destroy(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		return fmt.Errorf("destroy %q: %w", m.name, err)
	}
	return nil
}

// Keep renames the template a successful base build produced to name (see
// TemplateName) and records it as kept, so that cleanup and sweeps never
// touch it and derived builds find it. A kept template of the same name
// (an earlier build of the same inputs) is replaced; anything else of that
// name is an error.
func Keep(ctx context.Context, cfg Config, buildID, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 4*cfg.timeout())
	defer cancel()
	c, err := connect(ctx, cfg)
	if err != nil {
		return fmt.Errorf("vsphere keep: %w", err)
	}
	defer c.close()
	all, err := c.prefixed(ctx)
	if err != nil {
		return fmt.Errorf("vsphere keep: %w", err)
	}
	var tpl *machine
	for i := range all {
		if all[i].owned(buildID) && all[i].template {
			if tpl != nil {
				return fmt.Errorf("vsphere keep: build %s left several templates (%s, %s)", buildID, tpl.name, all[i].name)
			}
			tpl = &all[i]
		}
	}
	if tpl == nil {
		return fmt.Errorf("vsphere keep: build %s left no template (is convert_to_template set?)", buildID)
	}
	if err := c.replaceKept(ctx, name); err != nil {
		return fmt.Errorf("vsphere keep: %w", err)
	}
	vm := object.NewVirtualMachine(c.vim, tpl.ref)
	task, err := vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{
		Annotation: fmt.Sprintf("Kept by imagebot.\n%s%s\nfrom-build: %s\n", keptMarker, name, buildID),
	})
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		return fmt.Errorf("vsphere keep: annotate %q: %w", tpl.name, err)
	}
	task, err = vm.Rename(ctx, name)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		return fmt.Errorf("vsphere keep: rename %q to %q: %w", tpl.name, name, err)
	}
	return nil
}

// replaceKept destroys an earlier kept template called name, refusing to
// touch a machine of that name that imagebot did not keep.
func (c *conn) replaceKept(ctx context.Context, name string) error {
	vms, err := c.finder.VirtualMachineList(ctx, name)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up %q: %w", name, err)
	}
	for _, vm := range vms {
		var m mo.VirtualMachine
		if err := vm.Properties(ctx, vm.Reference(), []string{"config.annotation", "config.template"}, &m); err != nil {
			return fmt.Errorf("look up %q: %w", name, err)
		}
		if m.Config == nil || !m.Config.Template || !strings.Contains(m.Config.Annotation, keptMarker+name+"\n") {
			return fmt.Errorf("%q already exists and is not a template imagebot kept; not replacing it", name)
		}
		if err := c.destroy(ctx, machine{ref: vm.Reference(), name: name, template: true}); err != nil {
			return err
		}
	}
	return nil
}
