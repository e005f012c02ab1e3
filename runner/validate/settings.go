package validate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"gopkg.in/yaml.v3"
)

// Settings are validation's keys in imagebot's configuration file, under
// `validate:` (other sections belong to other parts of imagebot).
type Settings struct {
	// Fmt is the severity of `packer fmt` differences: warning (default) or error.
	Fmt string `yaml:"fmt"`
}

// ReadSettings reads the `validate:` section of a configuration file; a
// missing file means the defaults.
func ReadSettings(path string) (Settings, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Settings{}, nil
	}
	if err != nil {
		return Settings{}, fmt.Errorf("read config: %w", err)
	}
	var doc struct {
		Validate Settings `yaml:"validate"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Settings{}, fmt.Errorf("config %s: %w", path, err)
	}
	switch doc.Validate.Fmt {
	case "", "warning", "error":
	default:
		return Settings{}, fmt.Errorf("config %s: validate.fmt %q: want warning or error", path, doc.Validate.Fmt)
	}
	return doc.Validate, nil
}
