package forge

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecret(t *testing.T) {
	t.Setenv("IMAGEBOT_TEST_TOKEN", "from-env")
	if v, err := Secret("IMAGEBOT_TEST_TOKEN"); err != nil || v != "from-env" {
		t.Errorf("env: %q, %v", v, err)
	}
	file := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("IMAGEBOT_TEST_SECRET_FILE", file)
	if v, err := Secret("IMAGEBOT_TEST_SECRET"); err != nil || v != "from-file" {
		t.Errorf("file: %q, %v", v, err)
	}
	t.Setenv("IMAGEBOT_TEST_TOKEN_FILE", file)
	if _, err := Secret("IMAGEBOT_TEST_TOKEN"); err == nil || strings.Contains(err.Error(), "from-") {
		t.Errorf("both set: %v", err)
	}
	if v, err := Secret("IMAGEBOT_TEST_UNSET"); err != nil || v != "" {
		t.Errorf("unset: %q, %v", v, err)
	}
}
