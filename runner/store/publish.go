package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/imagebot/imagebot/runner/ctxio"
	"github.com/rs/zerolog"
)

// LocalFile is a file on this host to publish as part of a build.
type LocalFile struct {
	Name        string // file name within the build, e.g. rocky9-1.2.0.qcow2
	Path        string // where it is on disk
	SHA256      string // expected hex digest; computed from the file when empty
	ContentType string
	// WithSHA256File also publishes Name+".sha256" ("<hex>  <name>\n").
	WithSHA256File bool
}

// PublishOptions tune Publish.
type PublishOptions struct {
	Retry Retry
	Log   *zerolog.Logger // nil: no logging
	// Progress, when set, is called as a file's bytes are read for upload
	// (sent restarts from 0 when an upload is retried). It must be quick.
	Progress func(key string, sent, total int64)
	// Attester, when set, signs the build's provenance, stored as
	// AttestationName before the manifest (so a visible build has it).
	Attester Attester
}

// Attester makes a build's signed provenance (a DSSE envelope, see
// runner/attest) from the manifest about to be published.
type Attester interface {
	Attest(ctx context.Context, manifest []byte) ([]byte, error)
}

// Published is what a successful Publish stored, the manifest last.
type Published struct {
	Ref      Ref
	Files    []Object
	Manifest Object
}

// Publish stores a build under prefix (a build prefix: Ref.Prefix()):
// every file, streamed and verified, with transient failures retried; then
// the manifest, last, which makes the build visible.
//
// A release is immutable: when its manifest exists Publish returns ErrExists,
// and the manifest itself is written with a conditional write so that of two
// racing publishers only one succeeds. Files under a release prefix without a
// manifest are leftovers of a failed attempt and are replaced. Republishing an
// MR build first deletes its manifest, so the old build disappears rather
// than being seen half-replaced.
//
// When Publish fails it deletes the non-manifest files it wrote (best effort,
// even when ctx was cancelled) and returns the first error.
func Publish(ctx context.Context, st Store, prefix string, files []LocalFile, manifest []byte, opts PublishOptions) (Published, error) {
	log := zerolog.Nop()
	if opts.Log != nil {
		log = *opts.Log
	}
	ref, name, err := ParseKey(prefix)
	if err != nil {
		return Published{}, fmt.Errorf("publish: %w", err)
	}
	if name != "" {
		return Published{}, fmt.Errorf("publish: %q is a file, not a build prefix", prefix)
	}
	if err := checkNames(files); err != nil {
		return Published{}, fmt.Errorf("publish %s: %w", ref, err)
	}
	manifestKey := ref.Key(ManifestName)
	if err := prepare(ctx, st, ref, manifestKey, opts.Retry); err != nil {
		return Published{}, err
	}
	p := &publisher{st: st, ref: ref, retry: opts.Retry, log: log, progress: opts.Progress, attester: opts.Attester}
	out, err := p.run(ctx, files, manifest)
	if err != nil {
		p.cleanup(ctx, errors.Is(err, ErrExists))
		return Published{}, err
	}
	return out, nil
}

func checkNames(files []LocalFile) error {
	seen := map[string]bool{ManifestName: true, AttestationName: true}
	for _, f := range files {
		names := []string{f.Name}
		if f.WithSHA256File {
			names = append(names, f.Name+SHA256Suffix)
		}
		for _, n := range names {
			if !ValidFileName(n) {
				return fmt.Errorf("file name %q: want one plain file name", n)
			}
			if seen[n] {
				return fmt.Errorf("file name %q given twice (or is the manifest's)", n)
			}
			seen[n] = true
		}
	}
	return nil
}

// prepare refuses an existing release and hides an existing MR build.
func prepare(ctx context.Context, st Store, ref Ref, manifestKey string, retry Retry) error {
	var exists bool
	err := retry.Do(ctx, func(int) error {
		_, err := st.Stat(ctx, manifestKey)
		switch {
		case err == nil:
			exists = true
			return nil
		case errors.Is(err, ErrNotFound):
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("publish %s: check manifest: %w", ref, err)
	}
	if !exists {
		return nil
	}
	if ref.Kind == KindRelease {
		return fmt.Errorf("publish %s: release is immutable and already published: %w", ref, ErrExists)
	}
	if err := retry.Do(ctx, func(int) error { return st.Delete(ctx, manifestKey) }); err != nil {
		return fmt.Errorf("publish %s: hide previous build: %w", ref, err)
	}
	return nil
}

type publisher struct {
	st       Store
	ref      Ref
	retry    Retry
	log      zerolog.Logger
	progress func(key string, sent, total int64)
	attester Attester
	written  []string
	// manifestTried: the manifest may exist now, so the files may belong
	// to a visible build.
	manifestTried bool
}

func (p *publisher) run(ctx context.Context, files []LocalFile, manifest []byte) (Published, error) {
	out := Published{Ref: p.ref}
	for _, f := range files {
		obj, err := p.putFile(ctx, f)
		if err != nil {
			return Published{}, err
		}
		out.Files = append(out.Files, obj)
		if f.WithSHA256File {
			line := []byte(obj.SHA256 + "  " + f.Name + "\n")
			obj, err := p.putBytes(ctx, f.Name+SHA256Suffix, line, "text/plain; charset=utf-8", false)
			if err != nil {
				return Published{}, err
			}
			out.Files = append(out.Files, obj)
		}
	}
	if err := p.attest(ctx, &out, manifest); err != nil {
		return Published{}, err
	}
	p.manifestTried = true
	m, err := p.putBytes(ctx, ManifestName, manifest, "application/json", p.ref.Kind == KindRelease)
	if err != nil {
		return Published{}, err
	}
	out.Manifest = m
	if p.ref.Kind == KindRelease {
		// A publisher racing us before our manifest existed could have
		// replaced a file; make sure the release is what its manifest says.
		if err := p.recheck(ctx, out.Files); err != nil {
			return Published{}, err
		}
	}
	p.log.Info().Str("build", p.ref.String()).Int("files", len(out.Files)).Msg("published")
	return out, nil
}

// attest stores the build's signed provenance when an attester is set.
func (p *publisher) attest(ctx context.Context, out *Published, manifest []byte) error {
	if p.attester == nil {
		return nil
	}
	env, err := p.attester.Attest(ctx, manifest)
	if err != nil {
		return fmt.Errorf("publish %s: provenance: %w", p.ref, err)
	}
	obj, err := p.putBytes(ctx, AttestationName, env, AttestationType, false)
	if err != nil {
		return err
	}
	out.Files = append(out.Files, obj)
	return nil
}

func (p *publisher) putFile(ctx context.Context, f LocalFile) (Object, error) {
	key := p.ref.Key(f.Name)
	fi, err := os.Stat(f.Path)
	if err != nil {
		return Object{}, fmt.Errorf("publish %s: %w", key, err)
	}
	want := f.SHA256
	if want == "" {
		if want, err = HashFile(ctx, f.Path); err != nil {
			return Object{}, fmt.Errorf("publish %s: %w", key, err)
		}
	}
	start := time.Now()
	var obj Object
	err = p.retry.Do(ctx, func(attempt int) error {
		fh, err := os.Open(f.Path)
		if err != nil {
			return err
		}
		defer fh.Close()
		p.written = appendOnce(p.written, key)
		var r io.Reader = fh
		if p.progress != nil {
			r = &progressReader{r: fh, key: key, total: fi.Size(), fn: p.progress}
		}
		obj, err = p.st.Put(ctx, key, r, fi.Size(), PutOptions{SHA256: want, ContentType: f.ContentType})
		if err == nil {
			err = checkObject(obj, fi.Size(), want)
		}
		if err != nil && IsTransient(err) {
			p.log.Warn().Err(err).Str("key", key).Int("attempt", attempt).Msg("upload failed, retrying")
		}
		return err
	})
	if err != nil {
		return Object{}, fmt.Errorf("upload %s: %w", key, err)
	}
	obj.SHA256 = want
	p.log.Debug().Str("key", key).Int64("size", obj.Size).Dur("took", time.Since(start)).Msg("uploaded")
	return obj, nil
}

func (p *publisher) putBytes(ctx context.Context, name string, b []byte, ctype string, ifAbsent bool) (Object, error) {
	key := p.ref.Key(name)
	sum := sha256.Sum256(b)
	want := hex.EncodeToString(sum[:])
	var obj Object
	err := p.retry.Do(ctx, func(attempt int) error {
		if name != ManifestName {
			p.written = appendOnce(p.written, key)
		}
		var err error
		obj, err = p.st.Put(ctx, key, bytes.NewReader(b), int64(len(b)), PutOptions{SHA256: want, IfAbsent: ifAbsent, ContentType: ctype})
		if errors.Is(err, ErrExists) && attempt > 1 && sameBytes(ctx, p.st, key, b) {
			// An earlier attempt was stored but its answer was lost.
			obj, err = Object{Key: key, Size: int64(len(b))}, nil
		}
		if err == nil {
			err = checkObject(obj, int64(len(b)), want)
		}
		return err
	})
	if err != nil {
		return Object{}, fmt.Errorf("upload %s: %w", key, err)
	}
	obj.SHA256 = want
	return obj, nil
}

func (p *publisher) recheck(ctx context.Context, objs []Object) error {
	for _, o := range objs {
		got, err := p.st.Stat(ctx, o.Key)
		if err == nil {
			err = checkObject(got, o.Size, o.SHA256)
		}
		if err != nil {
			return fmt.Errorf("publish %s: recheck %s after writing the manifest: %w", p.ref, o.Key, err)
		}
	}
	return nil
}

// cleanup deletes what this attempt wrote. After losing a manifest race the
// files may be the winner's, so they stay; and once the manifest may have
// been written (its write failed without an answer, or a check after it
// failed), they stay unless the manifest is certainly absent: files without
// a manifest are invisible, a manifest without its files is a broken build.
func (p *publisher) cleanup(ctx context.Context, lostRace bool) {
	if lostRace {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if p.manifestTried {
		if _, err := p.st.Stat(ctx, p.ref.Key(ManifestName)); !errors.Is(err, ErrNotFound) {
			p.log.Warn().Err(err).Str("build", p.ref.String()).Msg("manifest may exist; leaving the files in place")
			return
		}
	}
	for _, key := range p.written {
		if err := p.st.Delete(ctx, key); err != nil && !errors.Is(err, ErrNotFound) {
			p.log.Warn().Err(err).Str("key", key).Msg("could not remove a partial upload")
		}
	}
}

func sameBytes(ctx context.Context, st Store, key string, b []byte) bool {
	rc, _, err := st.Get(ctx, key)
	if err != nil {
		return false
	}
	defer rc.Close()
	got, err := io.ReadAll(io.LimitReader(rc, int64(len(b))+1))
	return err == nil && bytes.Equal(got, b)
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// checkObject compares what a backend reports with what was meant; an empty
// SHA256 on either side is not compared.
func checkObject(o Object, size int64, sha string) error {
	if o.Size != size {
		return fmt.Errorf("%s: stored %d bytes, want %d: %w", o.Key, o.Size, size, ErrCorrupt)
	}
	if o.SHA256 != "" && sha != "" && o.SHA256 != sha {
		return fmt.Errorf("%s: stored sha256 %s, want %s: %w", o.Key, o.SHA256, sha, ErrCorrupt)
	}
	return nil
}

// HashFile returns the hex sha256 of a file, stopping when ctx ends.
func HashFile(ctx context.Context, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, ctxio.Reader(ctx, f)); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

type progressReader struct {
	r     io.Reader
	key   string
	sent  int64
	total int64
	fn    func(key string, sent, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.sent += int64(n)
	p.fn(p.key, p.sent, p.total)
	return n, err
}
