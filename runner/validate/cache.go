package validate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/packer"
)

// resultCache keeps `packer validate` results by everything that decides
// them: the image's digest (its inputs and its bases'), the variables given
// to packer and the packer binary. An unchanged image is not validated twice.
type resultCache struct {
	dir    string
	packer string // identity of the binary: path, size, mtime
}

// newCache returns nil (no caching) when dir is "" or the binary cannot be read.
// The plugins installed are part of the key: a new plugin version may judge
// a template differently.
func newCache(dir, bin, pluginDir string, plugins []packer.Plugin) *resultCache {
	if dir == "" {
		return nil
	}
	fi, err := os.Stat(bin)
	if err != nil {
		return nil
	}
	abs, _ := filepath.Abs(bin)
	id := fmt.Sprintf("%s|%d|%d|%s", abs, fi.Size(), fi.ModTime().UnixNano(), pluginDir)
	for _, p := range plugins {
		id += "|" + p.String()
	}
	return &resultCache{dir: dir, packer: id}
}

// key is "" when the image cannot be cached (no digest: it has errors).
func (c *resultCache) key(img *catalog.Image, vars map[string]string, tmp string) string {
	if c == nil || img.Digest == "" {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "imagebot validate 1\x00%s\x00%s\x00%s\x00%s\x00", c.packer, img.Name, img.Dir, img.Digest)
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "%s=%s\x00", n, strings.ReplaceAll(vars[n], tmp, "<tmp>"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (c *resultCache) get(key string) (catalog.Diagnostics, bool) {
	if c == nil || key == "" {
		return nil, false
	}
	data, err := os.ReadFile(filepath.Join(c.dir, key+".json"))
	if err != nil {
		return nil, false
	}
	var diags catalog.Diagnostics
	if json.Unmarshal(data, &diags) != nil {
		return nil, false
	}
	return diags, true
}

// put stores a result; a cache that cannot be written only costs time.
func (c *resultCache) put(key string, diags catalog.Diagnostics) {
	if c == nil || key == "" {
		return
	}
	data, err := json.Marshal(diags)
	if err != nil || os.MkdirAll(c.dir, 0o755) != nil {
		return
	}
	f, err := os.CreateTemp(c.dir, key+".*.tmp")
	if err != nil {
		return
	}
	_, werr := f.Write(data)
	if cerr := f.Close(); werr != nil || cerr != nil || os.Rename(f.Name(), filepath.Join(c.dir, key+".json")) != nil {
		os.Remove(f.Name())
	}
}
