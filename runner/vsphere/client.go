package vsphere

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// conn is a logged-in vCenter session scoped to the configured datacenter.
type conn struct {
	cfg    Config
	vim    *vim25.Client
	sm     *session.Manager
	finder *find.Finder
	dc     *object.Datacenter
}

// ErrLogin marks a refused login (wrong user name or password).
var ErrLogin = errors.New("vCenter refused the login")

// dial logs in to vCenter. It does not look anything up.
func dial(ctx context.Context, cfg Config) (*conn, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	u, _ := cfg.SDKURL()
	sc := soap.NewClient(u, cfg.Insecure)
	if cfg.CAFile != "" && !cfg.Insecure {
		if err := sc.SetRootCAs(cfg.CAFile); err != nil {
			return nil, fmt.Errorf("vsphere ca_file %s: %w", cfg.CAFile, err)
		}
	}
	vc, err := vim25.NewClient(ctx, sc)
	if err != nil {
		var cv *tls.CertificateVerificationError
		if errors.As(err, &cv) {
			return nil, fmt.Errorf("connect to vCenter %s: %w (trust its CA with ca_file, or set insecure: true)", u, err)
		}
		return nil, fmt.Errorf("connect to vCenter %s: %w", u, err)
	}
	sm := session.NewManager(vc)
	if err := sm.Login(ctx, url.UserPassword(cfg.Username, cfg.Password)); err != nil {
		if fault.Is(err, &types.InvalidLogin{}) {
			return nil, fmt.Errorf("vCenter %s: login as %q: %w (incorrect user name or password)", u.Host, cfg.Username, ErrLogin)
		}
		return nil, fmt.Errorf("vCenter %s: login as %q: %w", u.Host, cfg.Username, err)
	}
	return &conn{cfg: cfg, vim: vc, sm: sm, finder: find.NewFinder(vc, false)}, nil
}

// connect logs in and selects the configured datacenter.
func connect(ctx context.Context, cfg Config) (*conn, error) {
	c, err := dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := c.selectDatacenter(ctx); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *conn) selectDatacenter(ctx context.Context) error {
	dc, err := c.finder.DatacenterOrDefault(ctx, c.cfg.Datacenter)
	if err != nil {
		return notFound("datacenter", c.cfg.Datacenter, "vCenter "+c.cfg.Server(), c.names(ctx, "*", "Datacenter"), err)
	}
	c.dc = dc
	c.finder.SetDatacenter(dc)
	return nil
}

// rest logs in to the vAPI endpoint (content libraries) with the same credentials.
func (c *conn) rest(ctx context.Context) (*rest.Client, error) {
	rc := rest.NewClient(c.vim)
	if err := rc.Login(ctx, url.UserPassword(c.cfg.Username, c.cfg.Password)); err != nil {
		return nil, fmt.Errorf("vCenter %s: vAPI login as %q: %w", c.cfg.Server(), c.cfg.Username, err)
	}
	return rc, nil
}

// close logs out; a failed logout only leaves a session for vCenter to expire.
func (c *conn) close() {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.timeout())
	defer cancel()
	_ = c.sm.Logout(ctx)
}

func isNotFound(err error) bool {
	var nf *find.NotFoundError
	var dnf *find.DefaultNotFoundError
	return errors.As(err, &nf) || errors.As(err, &dnf)
}
