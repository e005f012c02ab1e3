package vsphere

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/units"
	"github.com/vmware/govmomi/vim25/mo"
)

// Requirements are what one build needs beyond the deployment's inventory.
type Requirements struct {
	Template       string // the VM or template a vsphere-clone build starts from; "" for none
	BaseImage      string // the catalog image that Template comes from, for the hint
	MinFreeBytes   int64  // free space the datastore must have
	ContentLibrary string // a content library the release will publish to; "" for none
}

// Preflight logs in and checks, in seconds, everything a vSphere build
// needs: credentials, datacenter, cluster or host, resource pool, datastore
// and its free space, network, folder, the base template and the content
// library. The error names each missing piece and what exists instead.
func Preflight(ctx context.Context, cfg Config, req Requirements) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout())
	defer cancel()
	start := time.Now()
	c, err := connect(ctx, cfg)
	if err != nil {
		return fmt.Errorf("vsphere preflight: %w", err)
	}
	defer c.close()

	checks := []func(context.Context, Requirements) error{
		c.checkCompute, c.checkDatastore, c.checkNetwork, c.checkFolder, c.checkTemplate,
	}
	var errs []error
	for _, check := range checks {
		if err := check(ctx, req); err != nil {
			errs = append(errs, err)
		}
	}
	if req.ContentLibrary != "" {
		if err := c.checkLibrary(ctx, req.ContentLibrary); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("vsphere preflight: %w", err)
	}
	zerolog.Ctx(ctx).Debug().Object("vsphere", cfg).Dur("took", time.Since(start)).Msg("vsphere preflight passed")
	return nil
}

func (c *conn) where() string { return fmt.Sprintf("datacenter %q", c.cfg.Datacenter) }

func (c *conn) checkCompute(ctx context.Context, _ Requirements) error {
	cfg := c.cfg
	if cfg.Cluster == "" && cfg.Host == "" {
		return errors.New("neither cluster nor host is configured: Packer needs one to place the machine")
	}
	var errs []error
	if cfg.Cluster != "" {
		if _, err := c.finder.ClusterComputeResource(ctx, cfg.Cluster); err != nil {
			errs = append(errs, notFound("cluster", cfg.Cluster, c.where(), c.names(ctx, "*", "cluster"), err))
		}
	}
	if cfg.Host != "" {
		if _, err := c.finder.HostSystem(ctx, cfg.Host); err != nil {
			errs = append(errs, notFound("host", cfg.Host, c.where(), c.names(ctx, "*", "host"), err))
		}
	}
	if cfg.ResourcePool != "" {
		if _, err := c.finder.ResourcePool(ctx, cfg.ResourcePool); err != nil {
			errs = append(errs, notFound("resource pool", cfg.ResourcePool, c.where(), nil, err))
		}
	}
	return errors.Join(errs...)
}

func (c *conn) checkDatastore(ctx context.Context, req Requirements) error {
	name := c.cfg.Datastore
	if name == "" {
		return errors.New("no datastore is configured")
	}
	ds, err := c.finder.Datastore(ctx, name)
	if err != nil {
		return notFound("datastore", name, c.where(), c.names(ctx, "*", "datastore"), err)
	}
	var m mo.Datastore
	if err := ds.Properties(ctx, ds.Reference(), []string{"summary"}, &m); err != nil {
		return fmt.Errorf("datastore %q: read summary: %w", name, err)
	}
	if !m.Summary.Accessible {
		return fmt.Errorf("datastore %q is not accessible", name)
	}
	if req.MinFreeBytes > 0 && m.Summary.FreeSpace < req.MinFreeBytes {
		return fmt.Errorf("datastore %q has %s free, the build needs %s",
			name, units.ByteSize(m.Summary.FreeSpace), units.ByteSize(req.MinFreeBytes))
	}
	return nil
}

func (c *conn) checkNetwork(ctx context.Context, _ Requirements) error {
	name := c.cfg.Network
	if name == "" {
		return errors.New("no network is configured")
	}
	if _, err := c.finder.Network(ctx, name); err != nil {
		return notFound("network", name, c.where(), c.names(ctx, "*", "network"), err)
	}
	return nil
}

func (c *conn) checkFolder(ctx context.Context, _ Requirements) error {
	if c.cfg.Folder == "" {
		return nil
	}
	if _, err := c.finder.Folder(ctx, c.folderPath()); err != nil {
		return notFound("folder", c.cfg.Folder, c.where(), c.names(ctx, c.dc.InventoryPath+"/vm/*", "folder"), err)
	}
	return nil
}

// folderPath is the VM folder as Packer resolves `folder`: under the datacenter's vm folder.
func (c *conn) folderPath() string {
	return c.dc.InventoryPath + "/vm/" + strings.Trim(c.cfg.Folder, "/")
}

func (c *conn) checkTemplate(ctx context.Context, req Requirements) error {
	if req.Template == "" {
		return nil
	}
	if _, err := c.finder.VirtualMachine(ctx, req.Template); err != nil {
		e := notFound("base template", req.Template, c.where(), nil, err)
		if req.BaseImage != "" {
			e = fmt.Errorf("%w: build the base image %q first", e, req.BaseImage)
		}
		return e
	}
	return nil
}

// notFound says what is missing, where, and what exists instead.
func notFound(kind, name, where string, have []string, err error) error {
	msg := fmt.Sprintf("%s %q not found in %s", kind, name, where)
	if len(have) > 0 {
		msg += " (have: " + strings.Join(have, ", ") + ")"
	}
	if err != nil && !isNotFound(err) {
		msg += ": " + err.Error()
	}
	return errors.New(msg)
}

// names lists what exists of one kind, for error messages; at most ten.
func (c *conn) names(ctx context.Context, pattern, kind string) []string {
	var refs []object.Reference
	var err error
	switch kind {
	case "Datacenter":
		var l []*object.Datacenter
		l, err = c.finder.DatacenterList(ctx, pattern)
		refs = append(refs, asRefs(l)...)
	case "cluster":
		var l []*object.ClusterComputeResource
		l, err = c.finder.ClusterComputeResourceList(ctx, pattern)
		refs = append(refs, asRefs(l)...)
	case "host":
		var l []*object.HostSystem
		l, err = c.finder.HostSystemList(ctx, pattern)
		refs = append(refs, asRefs(l)...)
	case "datastore":
		var l []*object.Datastore
		l, err = c.finder.DatastoreList(ctx, pattern)
		refs = append(refs, asRefs(l)...)
	case "network":
		var l []object.NetworkReference
		l, err = c.finder.NetworkList(ctx, pattern)
		for _, n := range l {
			if t := n.Reference().Type; !strings.HasSuffix(t, "DistributedVirtualSwitch") {
				refs = append(refs, n) // a switch is not a network a VM attaches to
			}
		}
	case "folder":
		var l []*object.Folder
		l, err = c.finder.FolderList(ctx, pattern)
		refs = append(refs, asRefs(l)...)
	}
	if err != nil {
		return nil
	}
	var out []string
	for _, r := range refs {
		if p, ok := r.(interface{ Name() string }); ok {
			out = append(out, p.Name())
		}
	}
	sort.Strings(out)
	if len(out) > 10 {
		out = append(out[:10], "...")
	}
	return out
}

func asRefs[T object.Reference](l []T) []object.Reference {
	out := make([]object.Reference, len(l))
	for i, x := range l {
		out[i] = x
	}
	return out
}
