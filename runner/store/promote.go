package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/rs/zerolog"
)

// PromoteOptions tune Promote.
type PromoteOptions struct {
	// Rename maps a file name of the source build to its name in the
	// destination; files not in the map keep their names. A renamed file's
	// ".sha256" file is rewritten to name the new file.
	Rename map[string]string
	Retry  Retry
	Log    *zerolog.Logger
	// Attester, when set, signs the destination's provenance (the source's
	// names another build and is never copied).
	Attester Attester
	// Want maps a source file name to the hex sha256 its source manifest
	// records: the copy fails (ErrCorrupt) when the stored object's recorded
	// sha256 differs, so a tampered source is never promoted or reused.
	Want map[string]string
	// MergedMR, when set, is the merge request whose merge this promotion
	// releases: only a build of that MR (in the same repository's store,
	// see RepoStore) may be promoted; any other source is refused.
	MergedMR int
}

// Promote copies a published build (normally an MR build) to another build
// prefix (normally a release) server-side, then writes manifest there, last.
// The same immutability rules as Publish apply: an existing release is
// ErrExists, and a failed promotion removes the files it copied.
func Promote(ctx context.Context, st Store, from, to Ref, manifest []byte, opts PromoteOptions) (Published, error) {
	log := zerolog.Nop()
	if opts.Log != nil {
		log = *opts.Log
	}
	if err := to.Validate(); err != nil {
		return Published{}, fmt.Errorf("promote to %s: %w", to, err)
	}
	if opts.MergedMR != 0 && (from.Kind != KindMR || from.MR != opts.MergedMR) {
		return Published{}, fmt.Errorf("promote %s to %s: only a build of the merged merge request !%d may be promoted", from, to, opts.MergedMR)
	}
	src, err := Files(ctx, st, from)
	if err != nil {
		return Published{}, fmt.Errorf("promote %s: %w", from, err)
	}
	if err := prepare(ctx, st, to, to.Key(ManifestName), opts.Retry); err != nil {
		return Published{}, err
	}
	p := &publisher{st: st, ref: to, retry: opts.Retry, log: log, attester: opts.Attester}
	for i, o := range src {
		if _, name, _ := ParseKey(o.Key); opts.Want[name] != "" {
			src[i].SHA256 = opts.Want[name]
		}
	}
	out, err := p.promote(ctx, from, src, manifest, opts.Rename)
	if err != nil {
		p.cleanup(ctx, errors.Is(err, ErrExists))
		return Published{}, err
	}
	return out, nil
}

func (p *publisher) promote(ctx context.Context, from Ref, src []Object, manifest []byte, rename map[string]string) (Published, error) {
	out := Published{Ref: p.ref}
	for _, o := range src {
		_, name, _ := ParseKey(o.Key)
		if name == ManifestName || name == AttestationName {
			continue
		}
		base, isSum := strings.CutSuffix(name, SHA256Suffix)
		if newBase, ok := rename[base]; ok && isSum && newBase != base {
			obj, err := p.renameSum(ctx, o.Key, newBase)
			if err != nil {
				return Published{}, err
			}
			out.Files = append(out.Files, obj)
			continue
		}
		dst := name
		if n, ok := rename[name]; ok {
			dst = n
		}
		if !ValidFileName(dst) {
			return Published{}, fmt.Errorf("promote %s: file name %q: want one plain file name", from, dst)
		}
		obj, err := p.copyFile(ctx, o, p.ref.Key(dst))
		if err != nil {
			return Published{}, err
		}
		out.Files = append(out.Files, obj)
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
	p.log.Info().Str("from", from.String()).Str("to", p.ref.String()).Int("files", len(out.Files)).Msg("promoted")
	return out, nil
}

func (p *publisher) copyFile(ctx context.Context, src Object, dst string) (Object, error) {
	var obj Object
	err := p.retry.Do(ctx, func(int) error {
		p.written = appendOnce(p.written, dst)
		var err error
		obj, err = p.st.Copy(ctx, src.Key, dst, PutOptions{SHA256: src.SHA256})
		if err == nil {
			err = checkObject(obj, src.Size, src.SHA256)
		}
		return err
	})
	if err != nil {
		return Object{}, fmt.Errorf("copy %s to %s: %w", src.Key, dst, err)
	}
	if obj.SHA256 == "" {
		obj.SHA256 = src.SHA256
	}
	return obj, nil
}

// renameSum rewrites a "<hex>  <name>" checksum file for a renamed artifact.
func (p *publisher) renameSum(ctx context.Context, key, newBase string) (Object, error) {
	rc, _, err := p.st.Get(ctx, key)
	if err != nil {
		return Object{}, fmt.Errorf("read %s: %w", key, err)
	}
	line, err := io.ReadAll(io.LimitReader(rc, 4096))
	rc.Close()
	if err != nil {
		return Object{}, fmt.Errorf("read %s: %w", key, err)
	}
	hexSum, _, _ := strings.Cut(string(line), " ")
	if len(hexSum) != 64 {
		return Object{}, fmt.Errorf("read %s: not a sha256 line", key)
	}
	return p.putBytes(ctx, newBase+SHA256Suffix, []byte(hexSum+"  "+newBase+"\n"), "text/plain; charset=utf-8", false)
}
