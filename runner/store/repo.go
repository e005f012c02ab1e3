package store

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Repositories keep apart in one bucket: every repository's builds live
// below a key prefix of its own,
//
//	_repo/<name>/<image>/...     the layout above, for one repository
//
// where <name> is the repository's configured prefix name (Config's
// Repositories map) or, without a map, derived from the forge and the
// repository's path ("gitlab~group~images"). "_repo" can never be an image
// name and <name> is one key segment, so no repository's keys can be
// another's, whatever images they name: one repository cannot publish,
// overwrite, take a version or claim a channel of another's images, and a
// promotion (which copies within one Store) only sees its own MR builds.
//
// Compatibility: a bucket written before repositories were in keys holds
// the layout at the root. Mapping that one repository to "" in
// Config.Repositories keeps it there (RepoStore gives the root, minus
// _repo/); nothing is moved. Other repositories then need a map entry too.
const reposDir = "_repo"

var repoNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// RepoPrefix returns the key prefix of a repository's builds (forge
// "gitlab" or "github", path "group/sub/project" as the forge names it):
// "" for the root layout, else "_repo/<name>/". With a Repositories map,
// a repository not in it is refused.
func (c Config) RepoPrefix(forge, path string) (string, error) {
	if forge == "" || path == "" {
		return "", fmt.Errorf("store: a build's forge and repository are required to choose its keys")
	}
	id := forge + ":" + path
	if len(c.Repositories) > 0 {
		name, ok := c.Repositories[id]
		if !ok {
			return "", fmt.Errorf("store: repository %s is not in store.repositories: its builds are not stored", id)
		}
		if name == "" {
			return "", nil
		}
		return reposDir + "/" + name + "/", nil
	}
	name := strings.ToLower(forge + "~" + strings.ReplaceAll(path, "/", "~"))
	if strings.ContainsAny(name, "\\ \t\n") || strings.Contains(path, "..") || strings.HasPrefix(path, "/") || strings.HasSuffix(path, "/") {
		return "", fmt.Errorf("store: repository path %q cannot name keys", path)
	}
	return reposDir + "/" + name + "/", nil
}

// validateRepositories checks the Repositories map: "forge:path" keys,
// one-segment names (or "" for the root layout, at most once), no name twice.
func validateRepositories(m map[string]string) error {
	seen := map[string]string{}
	for id, name := range m {
		forge, path, ok := strings.Cut(id, ":")
		if !ok || forge == "" || path == "" {
			return fmt.Errorf("store.repositories: %q: want forge:group/project (e.g. gitlab:infra/images)", id)
		}
		if name != "" && !repoNameRE.MatchString(name) {
			return fmt.Errorf("store.repositories: %s: prefix %q: want lowercase letters, digits, '.', '_' or '-' (one key segment)", id, name)
		}
		if other, dup := seen[name]; dup {
			return fmt.Errorf("store.repositories: %s and %s both map to prefix %q", other, id, name)
		}
		seen[name] = id
	}
	return nil
}

// RepoStore returns st as one repository sees it: keys below prefix (from
// RepoPrefix). For the root layout (prefix ""), the other repositories'
// keys (_repo/...) are hidden and cannot be written.
func RepoStore(st Store, prefix string) Store {
	return &scoped{st: st, prefix: prefix}
}

// SplitRepo splits a key of the whole bucket into its repository prefix
// ("" for the root layout) and the key within that repository.
func SplitRepo(key string) (prefix, rest string) {
	if r, ok := strings.CutPrefix(key, reposDir+"/"); ok {
		if name, rest, ok := strings.Cut(r, "/"); ok {
			return reposDir + "/" + name + "/", rest
		}
	}
	return "", key
}

// RepoPrefixes lists the repository prefixes present in st ("_repo/<name>/"),
// sorted; the root layout is not listed.
func RepoPrefixes(ctx context.Context, st Store) ([]string, error) {
	names, err := st.Dirs(ctx, reposDir+"/")
	if err != nil {
		return nil, fmt.Errorf("list repositories: %w", err)
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, reposDir+"/"+n+"/")
	}
	sort.Strings(out)
	return out, nil
}

// scoped is a Store seen through a key prefix.
type scoped struct {
	st     Store
	prefix string
}

func (s *scoped) key(k string) (string, error) {
	if s.prefix == "" && (k == reposDir || strings.HasPrefix(k, reposDir+"/")) {
		return "", fmt.Errorf("key %q: %s/ holds other repositories' builds", k, reposDir)
	}
	return s.prefix + k, nil
}

func (s *scoped) obj(o Object) Object {
	o.Key = strings.TrimPrefix(o.Key, s.prefix)
	return o
}

func (s *scoped) Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) (Object, error) {
	k, err := s.key(key)
	if err != nil {
		return Object{}, err
	}
	o, err := s.st.Put(ctx, k, r, size, opts)
	return s.obj(o), err
}

func (s *scoped) Get(ctx context.Context, key string) (io.ReadCloser, Object, error) {
	k, err := s.key(key)
	if err != nil {
		return nil, Object{}, fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	rc, o, err := s.st.Get(ctx, k)
	return rc, s.obj(o), err
}

func (s *scoped) Stat(ctx context.Context, key string) (Object, error) {
	k, err := s.key(key)
	if err != nil {
		return Object{}, fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	o, err := s.st.Stat(ctx, k)
	return s.obj(o), err
}

func (s *scoped) List(ctx context.Context, prefix string) ([]Object, error) {
	objs, err := s.st.List(ctx, s.prefix+prefix)
	if err != nil {
		return nil, err
	}
	out := objs[:0]
	for _, o := range objs {
		o = s.obj(o)
		if _, err := s.key(o.Key); err != nil {
			continue // the root layout does not list other repositories
		}
		out = append(out, o)
	}
	return out, nil
}

func (s *scoped) Dirs(ctx context.Context, prefix string) ([]string, error) {
	dirs, err := s.st.Dirs(ctx, s.prefix+prefix)
	if err != nil {
		return nil, err
	}
	if s.prefix != "" || prefix != "" {
		return dirs, nil
	}
	out := dirs[:0]
	for _, d := range dirs {
		if d != reposDir {
			out = append(out, d)
		}
	}
	return out, nil
}

func (s *scoped) Copy(ctx context.Context, src, dst string, opts PutOptions) (Object, error) {
	ks, err := s.key(src)
	if err != nil {
		return Object{}, err
	}
	kd, err := s.key(dst)
	if err != nil {
		return Object{}, err
	}
	o, err := s.st.Copy(ctx, ks, kd, opts)
	return s.obj(o), err
}

func (s *scoped) Delete(ctx context.Context, key string) error {
	k, err := s.key(key)
	if err != nil {
		return err
	}
	return s.st.Delete(ctx, k)
}

func (s *scoped) URL(ctx context.Context, key string, expiry time.Duration) (string, error) {
	k, err := s.key(key)
	if err != nil {
		return "", err
	}
	return s.st.URL(ctx, k, expiry)
}

// RepoOf names the repository ("gitlab", "group/project") whose prefix
// name (the <name> of _repo/<name>/) is name, by the map or, without
// one, by the derived form; false when none.
func (c Config) RepoOf(name string) (forge, path string, ok bool) {
	if len(c.Repositories) > 0 {
		for id, n := range c.Repositories {
			if n == name && n != "" {
				forge, path, _ = strings.Cut(id, ":")
				return forge, path, true
			}
		}
		return "", "", false
	}
	forge, rest, ok := strings.Cut(name, "~")
	if !ok || forge == "" || rest == "" {
		return "", "", false
	}
	return forge, strings.ReplaceAll(rest, "~", "/"), true
}

// OwnerOf names the repository a key of the whole bucket belongs to: the
// one its _repo/<name>/ prefix names or, for the root layout, the one
// mapped to "" in Repositories; false when none is known (a root layout
// written before repositories were in keys).
func (c Config) OwnerOf(key string) (forge, path string, ok bool) {
	prefix, _ := SplitRepo(key)
	if prefix != "" {
		return c.RepoOf(strings.TrimSuffix(strings.TrimPrefix(prefix, reposDir+"/"), "/"))
	}
	for id, name := range c.Repositories {
		if name == "" {
			forge, path, _ = strings.Cut(id, ":")
			return forge, path, true
		}
	}
	return "", "", false
}
