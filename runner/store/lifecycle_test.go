package store_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/attest"
	"github.com/imagebot/imagebot/runner/attest/attesttest"
	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/local"
	"github.com/imagebot/imagebot/runner/store/miniotest"
	"github.com/imagebot/imagebot/runner/store/s3"
	"github.com/imagebot/imagebot/runner/store/storetest"
)

const lifecycleRepo = "https://git.example.test/infra/images"

// lifecycle publishes signed releases to a real MinIO.
type lifecycle struct {
	t      *testing.T
	ctx    context.Context
	st     store.Store
	signer *attest.Signer
	pub    *attest.PublicKey
	sums   map[store.Ref]string // the qcow2's sha256 per build
}

func newLifecycle(t *testing.T) *lifecycle {
	srv := miniotest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	t.Setenv(store.DefaultAccessKeyEnv, srv.AccessKey)
	t.Setenv(store.DefaultSecretKeyEnv, srv.SecretKey)
	st, err := s3.New(ctx, store.S3Config{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Insecure: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := attesttest.WriteKey(t, t.TempDir(), "p256")
	signer, err := attest.NewSigner(attest.Config{KeyFile: priv, Repository: lifecycleRepo})
	if err != nil {
		t.Fatal(err)
	}
	return &lifecycle{t: t, ctx: ctx, st: st, signer: signer, pub: signer.Key.Public(), sums: map[store.Ref]string{}}
}

// publish stores a signed release (or MR build) built on base (nil: none).
func (l *lifecycle) publish(ref store.Ref, base *store.Ref) {
	l.t.Helper()
	dir := l.t.TempDir()
	version := ref.Version
	if ref.Kind == store.KindMR {
		version = "9.9.9"
	}
	name := store.ArtifactName(ref.Image, version, "qcow2")
	q, qs := storetest.RandomFile(l.t, dir, "disk.qcow2", 64<<10)
	m := &manifest.Manifest{Image: ref.Image, Version: version, BuildID: "b-" + strings.ReplaceAll(ref.String(), "@", "-"),
		Release: ref.Kind == store.KindRelease, InputsDigest: "sha256:" + qs, GitSHA: "0123456789abcdef",
		Files: []manifest.File{{Name: name, Format: "qcow2", Size: 64 << 10, SHA256: qs}}}
	if base != nil {
		m.BaseImage = &manifest.BaseImage{Image: base.Image, Version: base.Version}
	}
	data, err := manifest.Marshal(m, nil)
	if err != nil {
		l.t.Fatal(err)
	}
	files := []store.LocalFile{{Name: name, Path: q, SHA256: qs, WithSHA256File: true}}
	if _, err := store.Publish(l.ctx, l.st, ref.Prefix(), files, data, store.PublishOptions{Attester: l.signer}); err != nil {
		l.t.Fatal(err)
	}
	l.sums[ref] = qs
}

func (l *lifecycle) verify(ref store.Ref, digest string) (*attest.Verified, error) {
	rc, _, err := l.st.Get(l.ctx, ref.Key(store.AttestationName))
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	env, err := io.ReadAll(rc)
	if err != nil {
		return nil, err
	}
	return attest.Verify(l.ctx, env, []*attest.PublicKey{l.pub}, attest.Expect{Repository: lifecycleRepo, Digests: []string{digest}})
}

func (l *lifecycle) resolve(image, version string) string {
	l.t.Helper()
	ref, err := store.Resolve(l.ctx, l.st, image, version)
	if err != nil {
		return "error: " + err.Error()
	}
	return ref.Version
}

// TestReleaseLifecycleOnMinIO: signed provenance beside every published
// build, channels, and revocation moving latest and channels back.
func TestReleaseLifecycleOnMinIO(t *testing.T) {
	l := newLifecycle(t)
	base10, base11 := store.Release("base9", "1.0.0"), store.Release("base9", "1.1.0")
	r12, r13 := store.Release("rocky9", "1.2.0"), store.Release("rocky9", "1.3.0")
	l.publish(base10, nil)
	l.publish(base11, nil)
	l.publish(r12, &base10)
	l.publish(r13, &base11)

	v, err := l.verify(r13, l.sums[r13])
	if err != nil || v.Image != "rocky9" || v.Version != "1.3.0" {
		t.Fatalf("provenance of %s: %+v, %v", r13, v, err)
	}
	if _, err := l.verify(r13, l.sums[r12]); !errors.Is(err, attest.ErrInvalid) {
		t.Fatalf("another build's artifact verified against %s: %v", r13, err)
	}

	// An MR build promoted to a release gets its own provenance, not the MR's.
	mr := store.MRBuild("rocky9", 7, "abcdef1234")
	l.publish(mr, &base10)
	to := store.Release("rocky9", "1.4.0-rc1")
	m := []byte(`{"image":"rocky9","version":"1.4.0-rc1","build_id":"b-rc1","release":true,"inputs_digest":"x","files":[{"name":"rocky9-1.4.0-rc1.qcow2","format":"qcow2","size":65536,"sha256":"` + l.sums[mr] + `"}]}`)
	_, err = store.Promote(l.ctx, l.st, mr, to, m, store.PromoteOptions{Attester: l.signer,
		Rename: map[string]string{"rocky9-9.9.9.qcow2": "rocky9-1.4.0-rc1.qcow2"}})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := l.verify(to, l.sums[mr]); err != nil || v.Version != "1.4.0-rc1" {
		t.Fatalf("promoted release's provenance: %+v, %v", v, err)
	}

	for _, rel := range []store.Ref{r12, r13} {
		if _, err := store.SetChannel(l.ctx, l.st, store.ChannelRequest{Release: rel, Channel: "stable", By: "alice", Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if got := l.resolve("rocky9", "stable"); got != "1.3.0" {
		t.Fatalf("rocky9@stable = %s, want 1.3.0", got)
	}
	if got := l.resolve("rocky9", "latest"); got != "1.3.0" {
		t.Fatalf("rocky9@latest = %s, want 1.3.0", got)
	}

	res, err := store.Revoke(l.ctx, l.st, store.RevokeRequest{Release: base11, By: "bob", Reason: "CVE-2026-0001", Descendants: true, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Revoked) != 2 || res.Revoked[1].Ref() != r13 || res.Revoked[1].Cause != "base9@1.1.0" {
		t.Fatalf("revoked %+v, want base9@1.1.0 and rocky9@1.3.0 built on it", res.Revoked)
	}
	for _, tc := range []struct{ image, version, want string }{
		{"rocky9", "latest", "1.2.0"}, {"rocky9", "stable", "1.2.0"}, {"base9", "latest", "1.0.0"},
		{"rocky9", "1.3.0", "1.3.0"}, // still there for forensics
	} {
		if got := l.resolve(tc.image, tc.version); got != tc.want {
			t.Errorf("%s@%s = %s after the revocation, want %s", tc.image, tc.version, got, tc.want)
		}
	}
	c, err := store.ReadChannel(l.ctx, l.st, "rocky9", "stable")
	if last := c.History[len(c.History)-1]; err != nil || last.From != "1.3.0" || last.Reason != "revocation of 1.3.0" || last.By != "bob" {
		t.Fatalf("stable's last move %+v, %v", c.History, err)
	}

	err = store.BaseGuard{Store: l.st}.CheckBase(l.ctx, "base9", "1.1.0")
	var rev *store.RevokedError
	if !errors.As(err, &rev) || !strings.Contains(err.Error(), "CVE-2026-0001") || !strings.Contains(err.Error(), "base9@1.1.0") {
		t.Fatalf("base check of a revoked base: %v", err)
	}
	if err := store.CheckBase(l.ctx, l.st, "base9", "1.0.0"); err != nil {
		t.Fatalf("base check of a good base: %v", err)
	}
	if _, err := store.SetChannel(l.ctx, l.st, store.ChannelRequest{Release: r13, Channel: "stable", By: "alice", Now: time.Now()}); !errors.Is(err, store.ErrRevoked) {
		t.Fatalf("promoting a revoked release: %v", err)
	}
	again, err := store.Revoke(l.ctx, l.st, store.RevokeRequest{Release: r13, By: "carol", Reason: "again", Now: time.Now()})
	if err != nil || len(again.Revoked) != 0 || len(again.Already) != 1 || again.Already[0].By != "bob" {
		t.Fatalf("revoking twice: %+v, %v", again, err)
	}

	if _, err := store.Revoke(l.ctx, l.st, store.RevokeRequest{Release: r12, By: "bob", Reason: "bad", Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if got := l.resolve("rocky9", "stable"); !strings.Contains(got, "points at no release") {
		t.Fatalf("stable after all its releases are revoked: %s", got)
	}
	if got := l.resolve("rocky9", "latest"); got != "1.4.0-rc1" {
		t.Fatalf("latest with only a pre-release left: %s", got)
	}
	revs, err := store.Revocations(l.ctx, l.st, "rocky9")
	if err != nil || len(revs) != 2 || revs["1.2.0"].Reason != "bad" {
		t.Fatalf("revocations: %+v, %v", revs, err)
	}
	if _, err := store.Revoke(l.ctx, l.st, store.RevokeRequest{Release: store.Release("rocky9", "8.0.0"), By: "bob", Reason: "x", Now: time.Now()}); err == nil {
		t.Fatal("revoked a release that does not exist")
	}
}

func TestChannelNamesAndPolicy(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{{"stable", true}, {"candidate", true}, {"lts-2026", true}, {"latest", false}, {"1.2.0", false}, {"mr12-abc", false}, {"Stable", false}, {"", false}, {"a/b", false}} {
		if err := store.ValidChannel(tc.name); (err == nil) != tc.ok {
			t.Errorf("ValidChannel(%q) = %v", tc.name, err)
		}
	}
	p := &store.ChannelPolicy{
		Channels: map[string][]string{"stable": {"alice", "@release"}, "*": {"bob"}},
		Groups:   map[string][]string{"release": {"carol"}},
	}
	for _, tc := range []struct {
		channel, who string
		ok           bool
	}{{"stable", "alice", true}, {"stable", "carol", true}, {"stable", "bob", false}, {"candidate", "bob", true}, {"candidate", "alice", false}, {"candidate", "carol", false}} {
		if p.Allows(tc.channel, tc.who) != tc.ok {
			t.Errorf("policy: %s moving %s: want %v", tc.who, tc.channel, tc.ok)
		}
	}
	if err := p.Check("channels.yaml"); err != nil {
		t.Errorf("a good policy: %v", err)
	}
	var none *store.ChannelPolicy
	if !none.Allows("stable", "anyone") {
		t.Error("no policy must allow everyone")
	}
	if (&store.ChannelPolicy{Channels: map[string][]string{"stable": {"alice"}}}).Allows("candidate", "alice") {
		t.Error("a channel the policy does not name, without \"*\", must be refused")
	}
	bad := &store.ChannelPolicy{Channels: map[string][]string{"Stable": {"alice"}, "candidate": {"@ops", ""}}}
	err := bad.Check("channels.yaml")
	for _, want := range []string{"channels.yaml: channels.Stable", "channels.candidate[0]: group \"ops\" is not defined", "channels.candidate[1] is empty"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check of a bad policy = %v, want it to say %q", err, want)
		}
	}
}

// TestChannelPolicyIsEnforcedWhereChannelsMove: SetChannel, the one path
// that moves a channel on request, refuses a user the policy does not
// allow, naming the channel and the user, and writes nothing.
func TestChannelPolicyIsEnforcedWhereChannelsMove(t *testing.T) {
	ctx := context.Background()
	st, err := local.New(store.LocalConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	rel := store.Release("rocky9", "1.2.0")
	m := []byte(`{"image":"rocky9","version":"1.2.0"}`)
	if _, err := st.Put(ctx, rel.Key(store.ManifestName), bytes.NewReader(m), int64(len(m)), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	p := &store.ChannelPolicy{Channels: map[string][]string{"stable": {"alice"}, "*": {"*"}}}
	_, err = store.SetChannel(ctx, st, store.ChannelRequest{Release: rel, Channel: "stable", By: "mallory", Policy: p, Now: time.Now()})
	if !errors.Is(err, store.ErrChannelDenied) || !strings.Contains(err.Error(), "mallory may not move channel stable of rocky9") {
		t.Fatalf("mallory moving stable: %v", err)
	}
	if _, err := store.ReadChannel(ctx, st, "rocky9", "stable"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused move wrote the channel: %v", err)
	}
	for _, who := range []struct{ channel, by string }{{"stable", "alice"}, {"candidate", "mallory"}} {
		c, err := store.SetChannel(ctx, st, store.ChannelRequest{Release: rel, Channel: who.channel, By: who.by, Policy: p, Now: time.Now()})
		if err != nil || c.Version != "1.2.0" || c.History[0].By != who.by {
			t.Fatalf("%s moving %s: %+v, %v", who.by, who.channel, c, err)
		}
	}
	if _, err := store.SetChannel(ctx, st, store.ChannelRequest{Release: rel, Channel: "stable", Policy: p, Now: time.Now()}); err == nil {
		t.Fatal("a move by nobody was accepted")
	}
}
