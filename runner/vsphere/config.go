// Package vsphere owns imagebot's own conversation with vCenter (through
// govmomi): the preflight that checks a vSphere build's prerequisites before
// Packer starts, the marks that tie the machines a build creates to its build
// id, the cleanup and periodic sweep of what cancelled or crashed builds left
// behind, and publishing released OVAs to a content library. Packer does the
// building itself; this package never creates machines.
package vsphere

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// PasswordEnv is the environment variable that holds the vCenter password
// when the configuration gives none (nor a password file).
const PasswordEnv = "IMAGEBOT_VSPHERE_PASSWORD"

// Config is one deployment's vCenter. Everything comes from imagebot's
// configuration and environment, never from the images repository.
type Config struct {
	URL          string `yaml:"url"`                 // "vcenter.example.com", "host:port" or "https://host/sdk"
	Username     string `yaml:"username"`            // e.g. administrator@vsphere.local
	Password     string `yaml:"-" secret:"password"` // never read from YAML: see PasswordFile and PasswordEnv
	PasswordFile string `yaml:"password_file,omitempty"`
	Insecure     bool   `yaml:"insecure,omitempty"` // skip TLS verification (self-signed vCenter)
	CAFile       string `yaml:"ca_file,omitempty"`  // PEM roots to verify vCenter's certificate with

	Datacenter     string `yaml:"datacenter"`
	Cluster        string `yaml:"cluster,omitempty"` // cluster or host (or both)
	Host           string `yaml:"host,omitempty"`
	ResourcePool   string `yaml:"resource_pool,omitempty"`
	Datastore      string `yaml:"datastore"`
	Network        string `yaml:"network"`
	Folder         string `yaml:"folder,omitempty"`          // VM folder, relative to the datacenter's vm folder
	ContentLibrary string `yaml:"content_library,omitempty"` // default library for PublishOVA

	// LeftoverMaxAge is how old a marked machine must be before Sweep removes
	// it. It must exceed the longest build timeout. Zero means 24 hours.
	LeftoverMaxAge time.Duration `yaml:"leftover_max_age,omitempty"`
	// Timeout bounds every call to vCenter (preflight fails within it).
	// Zero means 30 seconds.
	Timeout time.Duration `yaml:"timeout,omitempty"`
}

// FromEnv reads a configuration from IMAGEBOT_VSPHERE_<KEY> variables
// (env in os.Environ() form), KEY being a yaml key above in upper case:
// IMAGEBOT_VSPHERE_URL, _USERNAME, _PASSWORD (or _PASSWORD_FILE), _INSECURE,
// _CA_FILE, _DATACENTER, _CLUSTER, _HOST, _RESOURCE_POOL, _DATASTORE,
// _NETWORK, _FOLDER, _CONTENT_LIBRARY, _LEFTOVER_MAX_AGE, _TIMEOUT. It is
// the same naming the bot's configuration uses for a `vsphere:` section.
func FromEnv(env []string) (Config, error) {
	get := func(k string) string {
		for i := len(env) - 1; i >= 0; i-- {
			if name, val, ok := strings.Cut(env[i], "="); ok && name == "IMAGEBOT_VSPHERE_"+k {
				return val
			}
		}
		return ""
	}
	c := Config{
		URL: get("URL"), Username: get("USERNAME"), Password: get("PASSWORD"), PasswordFile: get("PASSWORD_FILE"),
		CAFile: get("CA_FILE"), Datacenter: get("DATACENTER"), Cluster: get("CLUSTER"), Host: get("HOST"),
		ResourcePool: get("RESOURCE_POOL"), Datastore: get("DATASTORE"), Network: get("NETWORK"),
		Folder: get("FOLDER"), ContentLibrary: get("CONTENT_LIBRARY"),
	}
	var err error
	if v := get("INSECURE"); v != "" {
		if c.Insecure, err = strconv.ParseBool(v); err != nil {
			return c, fmt.Errorf("IMAGEBOT_VSPHERE_INSECURE=%q: want true or false", v)
		}
	}
	for _, d := range []struct {
		key string
		dst *time.Duration
	}{{"LEFTOVER_MAX_AGE", &c.LeftoverMaxAge}, {"TIMEOUT", &c.Timeout}} {
		if v := get(d.key); v != "" {
			if *d.dst, err = time.ParseDuration(v); err != nil {
				return c, fmt.Errorf("IMAGEBOT_VSPHERE_%s=%q: want a duration such as 24h", d.key, v)
			}
		}
	}
	return c, c.ResolvePassword()
}

// ResolvePassword fills Password from PasswordFile, or else from the
// IMAGEBOT_VSPHERE_PASSWORD environment variable, when it is empty.
func (c *Config) ResolvePassword() error {
	if c.Password != "" {
		return nil
	}
	if c.PasswordFile != "" {
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return fmt.Errorf("vsphere password_file: %w", err)
		}
		c.Password = strings.TrimRight(string(b), "\r\n")
		return nil
	}
	c.Password = os.Getenv(PasswordEnv)
	return nil
}

// Check reports configuration mistakes that need no vCenter to find.
func (c Config) Check() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("vsphere: url is empty"))
	} else if _, err := c.SDKURL(); err != nil {
		errs = append(errs, err)
	}
	if c.Username == "" {
		errs = append(errs, errors.New("vsphere: username is empty"))
	}
	if c.Password == "" {
		errs = append(errs, fmt.Errorf("vsphere: no password (set password_file or %s)", PasswordEnv))
	}
	if c.Datacenter == "" {
		errs = append(errs, errors.New("vsphere: datacenter is empty"))
	}
	return errors.Join(errs...)
}

// SDKURL is the vSphere API endpoint of URL, without credentials.
func (c Config) SDKURL() (*url.URL, error) {
	raw := strings.TrimSpace(c.URL)
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("vsphere: url %q is not a vCenter address", c.URL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("vsphere: url %q carries credentials; use username and password_file or %s", u.Redacted(), PasswordEnv)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/sdk"
	}
	return u, nil
}

// Server is the host (and port) Packer's vcenter_server wants.
func (c Config) Server() string {
	u, err := c.SDKURL()
	if err != nil {
		return c.URL
	}
	return u.Host
}

func (c Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return 30 * time.Second
}

func (c Config) leftoverMaxAge() time.Duration {
	if c.LeftoverMaxAge > 0 {
		return c.LeftoverMaxAge
	}
	return 24 * time.Hour
}

// MarshalZerologObject logs the configuration without its password.
func (c Config) MarshalZerologObject(e *zerolog.Event) {
	e.Str("url", c.Server()).Str("username", c.Username).Bool("insecure", c.Insecure).
		Str("datacenter", c.Datacenter).Str("cluster", c.Cluster).Str("host", c.Host).
		Str("datastore", c.Datastore).Str("network", c.Network).Str("folder", c.Folder)
}
