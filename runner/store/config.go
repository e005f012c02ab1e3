package store

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Config chooses and configures a backend: exactly one of Local and S3.
// It holds no secret: S3 keys are read from the environment or from files
// named here when the backend is opened.
type Config struct {
	Local *LocalConfig `yaml:"local" json:"local,omitempty"`
	S3    *S3Config    `yaml:"s3" json:"s3,omitempty"`
	// Repositories, when set, maps each repository allowed to store builds
	// ("gitlab:group/project", "github:owner/repo") to its key prefix name
	// (see RepoPrefix): a repository not listed is refused. "" keeps one
	// repository in the root layout of a bucket written before keys held
	// the repository. Unset: every repository gets a prefix derived from
	// its forge and path.
	Repositories map[string]string `yaml:"repositories" json:"repositories,omitempty"`
}

// LocalConfig is a directory on the bot's host.
type LocalConfig struct {
	Dir string `yaml:"dir" json:"dir"`
	// BaseURL is where the bot serves the directory, e.g.
	// "http://host:8080/download"; URL(key) is BaseURL + "/" + key.
	BaseURL string `yaml:"base_url" json:"base_url"`
	// RetentionDays: MR builds older than this are removed by Sweep (0: kept).
	RetentionDays int `yaml:"retention_days" json:"retention_days"`
}

// Default names of the environment variables holding the S3 keys.
const (
	DefaultAccessKeyEnv = "IMAGEBOT_S3_ACCESS_KEY"
	DefaultSecretKeyEnv = "IMAGEBOT_S3_SECRET_KEY"
)

// S3Config is a bucket on an S3-compatible server (MinIO, AWS, ...).
type S3Config struct {
	Endpoint string `yaml:"endpoint" json:"endpoint"` // host:port, no scheme
	Bucket   string `yaml:"bucket" json:"bucket"`
	Region   string `yaml:"region" json:"region"`
	// AccessKeyEnv and SecretKeyEnv name the environment variables holding
	// the keys (defaults IMAGEBOT_S3_ACCESS_KEY, IMAGEBOT_S3_SECRET_KEY);
	// AccessKeyFile and SecretKeyFile, when set, are read instead.
	AccessKeyEnv  string `yaml:"access_key_env" json:"access_key_env,omitempty"`
	SecretKeyEnv  string `yaml:"secret_key_env" json:"secret_key_env,omitempty"`
	AccessKeyFile string `yaml:"access_key_file" json:"access_key_file,omitempty"`
	SecretKeyFile string `yaml:"secret_key_file" json:"secret_key_file,omitempty"`
	// Insecure talks plain HTTP instead of HTTPS.
	Insecure bool `yaml:"insecure" json:"insecure"`
	// PublicEndpoint, when set, is the scheme://host[:port] that download
	// links are presigned for, when browsers reach the server by another
	// name than imagebot does (e.g. https://minio.example.com).
	PublicEndpoint string `yaml:"public_endpoint" json:"public_endpoint,omitempty"`
	// PresignExpiry is how long download URLs stay valid (default 1h; at most 7 days).
	PresignExpiry time.Duration `yaml:"presign_expiry" json:"presign_expiry"`
	// RetentionDays: MR builds expire after this many days through a bucket
	// lifecycle rule (0: no rule is set).
	RetentionDays int `yaml:"retention_days" json:"retention_days"`
	// PartSizeMiB is the multipart part size (default 8); upload memory is
	// about five parts (four on the wire, one being read).
	PartSizeMiB int `yaml:"part_size_mib" json:"part_size_mib,omitempty"`
	// CreateBucket makes the bucket when it does not exist.
	CreateBucket bool `yaml:"create_bucket" json:"create_bucket"`
}

// Validate reports the first problem, naming the field.
func (c Config) Validate() error {
	switch {
	case c.Local != nil && c.S3 != nil:
		return fmt.Errorf("storage: set either local or s3, not both")
	case c.Local != nil:
		if c.Local.Dir == "" {
			return fmt.Errorf("storage.local.dir: required")
		}
		if c.Local.RetentionDays < 0 {
			return fmt.Errorf("storage.local.retention_days: %d is negative", c.Local.RetentionDays)
		}
	case c.S3 != nil:
		if c.S3.Endpoint == "" || strings.Contains(c.S3.Endpoint, "://") {
			return fmt.Errorf("storage.s3.endpoint: want host:port without a scheme, got %q", c.S3.Endpoint)
		}
		if c.S3.Bucket == "" {
			return fmt.Errorf("storage.s3.bucket: required")
		}
		if p := c.S3.PublicEndpoint; p != "" && !strings.HasPrefix(p, "http://") && !strings.HasPrefix(p, "https://") {
			return fmt.Errorf("storage.s3.public_endpoint: want http(s)://host[:port], got %q", p)
		}
		if c.S3.RetentionDays < 0 {
			return fmt.Errorf("storage.s3.retention_days: %d is negative", c.S3.RetentionDays)
		}
	default:
		return fmt.Errorf("storage: set local or s3")
	}
	return validateRepositories(c.Repositories)
}

// Credentials reads the S3 keys from the files or environment variables the
// config names. The error names where it looked, never a value.
func (c S3Config) Credentials() (access, secret string, err error) {
	access, err = secretFrom(c.AccessKeyFile, c.AccessKeyEnv, DefaultAccessKeyEnv)
	if err != nil {
		return "", "", fmt.Errorf("storage.s3 access key: %w", err)
	}
	secret, err = secretFrom(c.SecretKeyFile, c.SecretKeyEnv, DefaultSecretKeyEnv)
	if err != nil {
		return "", "", fmt.Errorf("storage.s3 secret key: %w", err)
	}
	return access, secret, nil
}

func secretFrom(file, env, defaultEnv string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read %s: %w", file, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("%s is empty", file)
		}
		return v, nil
	}
	if env == "" {
		env = defaultEnv
	}
	v := os.Getenv(env)
	if v == "" {
		return "", fmt.Errorf("environment variable %s is not set", env)
	}
	return v, nil
}
