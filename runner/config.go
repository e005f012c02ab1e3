package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/runner/packer"
	"github.com/imagebot/imagebot/runner/vsphere"
)

// Config sets up a Runner.
type Config struct {
	Packer   string // packer binary (see packer.Locate)
	WorkDir  string // per-build working directories go below it
	CacheDir string // shared cache: PACKER_CACHE_DIR, finished bases, debootstrap trees, iso/
	// ISOs maps an installer ISO's file name (of a template's iso_url) to a
	// path or URL; a URL here is the only way a build downloads an ISO.
	ISOs map[string]string
	// ISODir holds installer ISOs by file name (deploy/install-tools.sh puts
	// the Debian installer ISO into .tools/iso); CacheDir/iso is searched too.
	ISODir         string
	Slots          int               // concurrent builds on this host; default 1
	DefaultTimeout time.Duration     // deadline when env.yaml has none; default 2h
	Accelerator    string            // "auto" (default), "kvm" or "tcg"
	Secrets        map[string]string // values masked everywhere (names are for humans)
	Log            zerolog.Logger
	// Grace is how long a cancelled Packer may take to stop its machine and
	// clean up before its process group is killed; default 90s.
	Grace time.Duration
	// KeepBases is how many digests of each base image the base cache keeps
	// (the newest, plus any a running build of this runner uses); default 3.
	KeepBases int
	// BuildUser runs Packer (and so every provisioner and QEMU) as this
	// unprivileged user: a name, "uid" or "uid:gid". Empty: as imagebot's own
	// user. Setting it needs imagebot to run as root.
	BuildUser string
	// BuildUIDs ("first-last"), with BuildUser, gives each running build a
	// uid of its own from this range (BuildUser's group): concurrent builds
	// cannot read each other's directories. No host user may own one.
	BuildUIDs string
	// MaxTimeout bounds env.yaml's timeout; default 6h.
	MaxTimeout time.Duration
	// Retention is how long build outputs and working directories stay
	// below WorkDir and OutRoot before the sweep removes them; default 72h.
	Retention time.Duration
	// OutRoot, when set, is where build outputs go (Request.OutDir below
	// it): the sweep removes entries older than Retention.
	OutRoot string
	// VSphere is this host's vCenter for images built by vsphere-iso or
	// vsphere-clone; nil: such builds fail with a clear error.
	VSphere *vsphere.Config
	// PluginDir is the one Packer plugin directory of this runner
	// (PACKER_PLUGIN_PATH), filled by deploy/install-tools.sh; `packer init`
	// runs against it offline, never downloading. "" means
	// $PACKER_PLUGIN_PATH, else Packer's default.
	PluginDir string
	// Capabilities are the builder families this runner can build: qemu,
	// vsphere, amazon (see Capability). Sources needing another are passed
	// over with -only. Default: qemu, plus vsphere when VSphere is set.
	Capabilities []string
	// Network is the network of builds whose sources are all local (qemu,
	// null, file): "none" (default: a network namespace with only loopback,
	// see NetworkNone) or "host". Builds with a vsphere-* or amazon-* source
	// get the host's network, as they must reach vCenter or the cloud.
	Network string
	// NetworkImages overrides the network per image name ("none" or
	// "host"), e.g. debian12-rootfs: host for debootstrap from a mirror.
	NetworkImages map[string]string
	// Bases, when set, is asked before a build uses a base image's release
	// (catalog name and env.yaml version); a revoked base fails the build
	// with the revocation named. store.BaseGuard implements it.
	Bases BaseChecker
	// BaseStore, when set, is asked for a base image the local cache lacks
	// before building it: the base's published release at its env.yaml
	// version and current digest, downloaded and verified, so a fleet shares
	// bases. store.BaseFetcher implements it.
	BaseStore BaseFetcher
}

// BaseChecker refuses base releases new builds must not use.
type BaseChecker interface {
	CheckBase(ctx context.Context, image, version string) error
}

// BaseFetcher downloads a base's published disk (release image@version,
// built from inputs digest) into dir, verified, returning its path and
// sha256. An error wrapping store.ErrNotFound means there is none.
type BaseFetcher interface {
	FetchBase(ctx context.Context, image, version, digest, dir string) (path, sha256 string, err error)
}

// Runner runs builds on this host.
type Runner struct {
	cfg   Config
	slots chan struct{}
	cred  *syscall.Credential // the build user's; nil: builds run as imagebot
	uids  *uidPool            // a uid per build (build_uids); nil: all builds use cred's

	accelOnce sync.Once
	accel     string

	versionOnce sync.Once
	version     string

	mu        sync.Mutex
	baseLocks map[string]*sync.Mutex // by base digest: one build of a base at a time
	inUse     map[string]int         // base cache entry dir -> builds using it; pruning spares them
	running   map[string]bool        // build IDs of builds in progress: the retention sweep spares them
	lastSweep time.Time
}

// New checks the configuration, prepares the directories and removes what
// builds of crashed runners left in WorkDir (see SweepStale).
func New(cfg Config) (*Runner, error) {
	if cfg.Packer == "" {
		return nil, fmt.Errorf("runner: no packer binary configured (see packer.Locate)")
	}
	if cfg.WorkDir == "" || cfg.CacheDir == "" {
		return nil, fmt.Errorf("runner: work_dir and cache_dir are required")
	}
	switch cfg.Accelerator {
	case "":
		cfg.Accelerator = "auto"
	case "auto", "kvm", "tcg":
	default:
		return nil, fmt.Errorf("runner: accelerator %q: want auto, kvm or tcg", cfg.Accelerator)
	}
	if cfg.Slots <= 0 {
		cfg.Slots = 1
	}
	if cfg.DefaultTimeout <= 0 {
		cfg.DefaultTimeout = 2 * time.Hour
	}
	if cfg.KeepBases <= 0 {
		cfg.KeepBases = 3
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 90 * time.Second
	}
	if cfg.MaxTimeout <= 0 {
		cfg.MaxTimeout = 6 * time.Hour
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 72 * time.Hour
	}
	if cfg.Retention <= cfg.MaxTimeout {
		return nil, fmt.Errorf("runner: retention %s must exceed max_timeout %s, or the sweep could remove a running build's directories", cfg.Retention, cfg.MaxTimeout)
	}
	if err := checkNetwork(&cfg); err != nil {
		return nil, err
	}
	cred, err := buildUser(cfg.BuildUser)
	if err != nil {
		return nil, err
	}
	uids, err := newUIDPool(cfg.BuildUIDs)
	if err != nil {
		return nil, err
	}
	if uids != nil && cred == nil {
		return nil, fmt.Errorf("runner: build_uids needs build_user (its group is the builds' group)")
	}
	if len(cfg.Capabilities) == 0 {
		cfg.Capabilities = defaultCapabilities(cfg)
	}
	if cfg.PluginDir == "" {
		cfg.PluginDir = packer.LocatePluginDir("", "") // $PACKER_PLUGIN_PATH, if set
	}
	for _, d := range []*string{&cfg.WorkDir, &cfg.CacheDir} {
		abs, err := filepath.Abs(*d)
		if err != nil {
			return nil, fmt.Errorf("runner: %s: %w", *d, err)
		}
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return nil, fmt.Errorf("runner: create %s: %w", abs, err)
		}
		*d = abs
	}
	r := &Runner{cfg: cfg, cred: cred, uids: uids, slots: make(chan struct{}, cfg.Slots), baseLocks: map[string]*sync.Mutex{}, inUse: map[string]int{}, running: map[string]bool{}}
	if err := r.prepareDirs(); err != nil {
		return nil, err
	}
	if _, err := r.SweepStale(context.Background()); err != nil {
		cfg.Log.Warn().Err(err).Msg("sweep stale build directories")
	}
	r.lastSweep = time.Now() // the next sweep: from a Build, sweepEvery later
	if _, err := r.SweepOld(context.Background(), r.lastSweep); err != nil {
		cfg.Log.Warn().Err(err).Msg("retention sweep")
	}
	return r, nil
}

// PackerVersion is the configured packer's version ("" when it cannot run).
func (r *Runner) PackerVersion(ctx context.Context) string {
	r.versionOnce.Do(func() {
		v, err := packer.Version(ctx, r.cfg.Packer)
		if err != nil {
			r.cfg.Log.Warn().Err(err).Msg("packer version")
		}
		r.version = v
	})
	return r.version
}

// Accelerator is the QEMU accelerator builds get: the configured one, or for
// "auto" the result of a real check (see probeKVM), made once.
func (r *Runner) Accelerator(ctx context.Context) string {
	r.accelOnce.Do(func() {
		r.accel = r.cfg.Accelerator
		if r.accel == "auto" {
			r.accel = "tcg"
			ok, why := probeKVM(ctx, r.cfg.CacheDir)
			if ok {
				r.accel = "kvm"
			}
			r.cfg.Log.Info().Str("accelerator", r.accel).Str("why", why).Msg("qemu accelerator chosen")
		}
	})
	return r.accel
}

func (r *Runner) acquire(ctx context.Context) error {
	select {
	case r.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (r *Runner) release() { <-r.slots }

func (r *Runner) baseLock(digest string) *sync.Mutex {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.baseLocks[digest]
	if l == nil {
		l = &sync.Mutex{}
		r.baseLocks[digest] = l
	}
	return l
}
