package s3_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/miniotest"
	"github.com/imagebot/imagebot/runner/store/s3"
	"github.com/imagebot/imagebot/runner/store/storetest"
)

var bucketSeq atomic.Int64

// newStore opens a store on a fresh bucket of srv, through the same config
// path users take (keys from the environment).
func newStore(t *testing.T, srv *miniotest.Server, tweak func(*store.S3Config)) *s3.Store {
	t.Helper()
	t.Setenv("TEST_S3_AK", srv.AccessKey)
	t.Setenv("TEST_S3_SK", srv.SecretKey)
	cfg := store.S3Config{
		Endpoint:     srv.Endpoint,
		Bucket:       fmt.Sprintf("t%d-%d", time.Now().UnixNano()%1e6, bucketSeq.Add(1)),
		Region:       "us-east-1",
		AccessKeyEnv: "TEST_S3_AK", SecretKeyEnv: "TEST_S3_SK",
		Insecure: true, CreateBucket: true,
		PartSizeMiB: 5,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	st, err := s3.New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestS3Conformance(t *testing.T) {
	srv := miniotest.Start(t)
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t, srv, nil) })
}

// bigBuild is a release whose qcow2 takes several 5 MiB parts.
func bigBuild(t *testing.T, size int64) (store.Ref, []store.LocalFile) {
	p, sha := storetest.RandomFile(t, t.TempDir(), "disk.qcow2", size)
	ref := store.Release("deb12", "1.0.0")
	return ref, []store.LocalFile{{Name: "deb12-1.0.0.qcow2", Path: p, SHA256: sha, WithSHA256File: true}}
}

func TestS3MultipartUploadIsVerifiedListedPresignedAndDownloaded(t *testing.T) {
	srv := miniotest.Start(t)
	st := newStore(t, srv, nil)
	ctx := context.Background()
	ref, files := bigBuild(t, 23<<20+12345) // 5 parts, the last one short
	pub, err := store.Publish(ctx, st, ref.Prefix(), files, []byte(`{"image":"deb12"}`), store.PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	key := pub.Files[0].Key
	// The server's composite SHA-256 checksum matched what was sent, and
	// the object records its whole sha256.
	info, err := srv.Client(t).StatObject(ctx, st.Bucket(), key, minio.StatObjectOptions{Checksum: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(info.ChecksumSHA256, "-5") {
		t.Fatalf("server checksum %q, want a composite over 5 parts", info.ChecksumSHA256)
	}
	sumKey := key + store.SHA256Suffix
	small, err := srv.Client(t).StatObject(ctx, st.Bucket(), sumKey, minio.StatObjectOptions{Checksum: true})
	if err != nil || small.ChecksumSHA256 == "" || strings.Contains(small.ChecksumSHA256, "-") {
		t.Fatalf("single-PUT %s checksum %q, %v; want a plain SHA-256", sumKey, small.ChecksumSHA256, err)
	}
	obj, err := st.Stat(ctx, key)
	if err != nil || obj.SHA256 != files[0].SHA256 {
		t.Fatalf("stat = %+v, %v; want sha256 %s", obj, err, files[0].SHA256)
	}
	builds, err := store.Builds(ctx, st, "deb12")
	if err != nil || len(builds) != 1 || builds[0].Ref != ref {
		t.Fatalf("Builds = %+v, %v", builds, err)
	}
	u, err := st.URL(ctx, key, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(u, "X-Amz-Signature=") {
		t.Fatalf("URL %s is not presigned", u)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := filepath.Join(t.TempDir(), "got")
	f, _ := os.Create(got)
	io.Copy(f, resp.Body)
	f.Close()
	if sum, _ := store.HashFile(ctx, got); resp.StatusCode != 200 || sum != files[0].SHA256 {
		t.Fatalf("presigned GET: %s, sha256 %s, want %s", resp.Status, sum, files[0].SHA256)
	}
	tags, err := srv.Client(t).GetObjectTagging(ctx, st.Bucket(), key, minio.GetObjectTaggingOptions{})
	if err != nil || tags.ToMap()[s3.TagKey] != "release" {
		t.Fatalf("release object tags %v, %v", tags, err)
	}
}

func TestS3UploadOfBytesDifferentFromTheExpectedChecksumCreatesNoObject(t *testing.T) {
	srv := miniotest.Start(t)
	st := newStore(t, srv, nil)
	ctx := context.Background()
	_, files := bigBuild(t, 12<<20)
	f, _ := os.Open(files[0].Path)
	defer f.Close()
	key := "deb12/mr/1/abcdef12/deb12-1.0.0.qcow2"
	_, err := st.Put(ctx, key, f, 12<<20, store.PutOptions{SHA256: strings.Repeat("0", 64)})
	if !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("put: %v, want ErrCorrupt", err)
	}
	if _, err := st.Stat(ctx, key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stat after a refused upload: %v, want ErrNotFound", err)
	}
	if keys, _ := st.AbortIncomplete(ctx, key); len(keys) != 0 {
		t.Fatalf("refused upload left unfinished uploads %v", keys)
	}
}

func TestS3CorruptedObjectIsDetectedByVerification(t *testing.T) {
	srv := miniotest.Start(t)
	st := newStore(t, srv, nil)
	ctx := context.Background()
	ref, files := bigBuild(t, 1<<20)
	pub, err := store.Publish(ctx, st, ref.Prefix(), files, []byte(`{}`), store.PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	key := pub.Files[0].Key
	// Replace the object's bytes behind imagebot's back, keeping its
	// recorded sha256 and its size: what a bad disk or a stray client does.
	data, _ := os.ReadFile(files[0].Path)
	data[len(data)/2] ^= 0xff
	_, err = srv.Client(t).PutObject(ctx, st.Bucket(), key, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{UserMetadata: map[string]string{"sha256": files[0].SHA256}})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Verify(ctx, st, key, -1, ""); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("verify against the recorded sha256: %v, want ErrCorrupt", err)
	}
	var buf bytes.Buffer
	if _, err := store.Download(ctx, st, key, &buf, pub.Files[0].Size, pub.Files[0].SHA256); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("download: %v, want ErrCorrupt", err)
	}
}

func TestS3CancelledPublishLeavesNothingVisible(t *testing.T) {
	srv := miniotest.Start(t)
	st := newStore(t, srv, nil)
	ref, files := bigBuild(t, 40<<20)
	ctx, cancel := context.WithCancel(context.Background())
	var once atomic.Bool
	opts := store.PublishOptions{Progress: func(key string, sent, total int64) {
		if sent > total/3 && once.CompareAndSwap(false, true) {
			cancel()
		}
	}}
	_, err := store.Publish(ctx, st, ref.Prefix(), files, []byte(`{}`), opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled publish: %v, want context.Canceled", err)
	}
	bg := context.Background()
	if objs, _ := st.List(bg, ref.Prefix()); len(objs) != 0 {
		t.Fatalf("cancelled publish left %v", objs)
	}
	if builds, _ := store.Builds(bg, st, "deb12"); len(builds) != 0 {
		t.Fatalf("cancelled publish is visible: %+v", builds)
	}
	if keys, _ := st.AbortIncomplete(bg, ref.Key("deb12-1.0.0.qcow2")); len(keys) != 0 {
		t.Fatalf("cancelled publish left unfinished multipart uploads %v", keys)
	}
}

func TestS3OutageMidUploadEndsInTheRightObject(t *testing.T) {
	srv := miniotest.Start(t)
	st := newStore(t, srv, nil)
	ref, files := bigBuild(t, 30<<20)
	var stopped atomic.Bool
	restarted := make(chan struct{})
	log := zerolog.New(zerolog.NewTestWriter(t))
	opts := store.PublishOptions{
		Log:   &log,
		Retry: store.Retry{Attempts: 8, Initial: 500 * time.Millisecond, Max: 3 * time.Second},
		Progress: func(key string, sent, total int64) {
			if sent > total/2 && stopped.CompareAndSwap(false, true) {
				srv.Stop()
				go func() {
					time.Sleep(2 * time.Second)
					srv.Restart()
					close(restarted)
				}()
			}
		},
	}
	pub, err := store.Publish(context.Background(), st, ref.Prefix(), files, []byte(`{"n":1}`), opts)
	<-restarted
	if !stopped.Load() {
		t.Fatal("the outage never happened")
	}
	if err != nil {
		t.Fatalf("publish across a 2s outage: %v", err)
	}
	for _, o := range append(pub.Files, pub.Manifest) {
		if err := store.Verify(context.Background(), st, o.Key, o.Size, o.SHA256); err != nil {
			t.Fatalf("after the outage: %v", err)
		}
	}
}

func TestS3LongOutageIsAClearErrorAndNothingVisible(t *testing.T) {
	srv := miniotest.Start(t)
	st := newStore(t, srv, nil)
	ref, files := bigBuild(t, 12<<20)
	var stopped atomic.Bool
	opts := store.PublishOptions{
		Retry: store.Retry{Attempts: 2, Initial: 100 * time.Millisecond},
		Progress: func(key string, sent, total int64) {
			if sent > total/2 && stopped.CompareAndSwap(false, true) {
				srv.Stop()
			}
		},
	}
	_, err := store.Publish(context.Background(), st, ref.Prefix(), files, []byte(`{}`), opts)
	if err == nil || !strings.Contains(err.Error(), "upload deb12/releases/1.0.0/deb12-1.0.0.qcow2") {
		t.Fatalf("publish into a dead server: %v, want an error naming the upload", err)
	}
	srv.Restart()
	if objs, _ := st.List(context.Background(), ref.Prefix()); len(objs) != 0 {
		t.Fatalf("failed publish left visible objects %v", objs)
	}
	// The server died before the client could abort its multipart upload:
	// it is still there, and Delete (what a publish's cleanup calls) aborts it.
	key := ref.Key("deb12-1.0.0.qcow2")
	if err := st.Delete(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if keys, err := st.AbortIncomplete(context.Background(), key); err != nil || len(keys) != 0 {
		t.Fatalf("after Delete, unfinished uploads %v, %v", keys, err)
	}
}

func TestS3RetentionRuleExpiresTaggedMRBuildsAndPromotionRetagsAsRelease(t *testing.T) {
	srv := miniotest.Start(t)
	st := newStore(t, srv, func(c *store.S3Config) { c.RetentionDays = 14 })
	ctx := context.Background()
	if days, err := st.Retention(ctx); err != nil || days != 14 {
		t.Fatalf("retention = %d, %v; want 14", days, err)
	}
	if err := st.EnsureRetention(ctx, 30); err != nil {
		t.Fatal(err)
	}
	cfg, err := srv.Client(t).GetBucketLifecycle(ctx, st.Bucket())
	if err != nil || len(cfg.Rules) != 1 {
		t.Fatalf("lifecycle %+v, %v; want exactly one rule", cfg, err)
	}
	r := cfg.Rules[0]
	if r.Expiration.Days != 30 || r.RuleFilter.Tag.Key != s3.TagKey || r.RuleFilter.Tag.Value != "mr" {
		t.Fatalf("rule %+v", r)
	}
	from := store.MRBuild("deb12", 3, "0badc0de")
	_, files := bigBuild(t, 1<<20)
	if _, err := store.Publish(ctx, st, from.Prefix(), files, []byte(`{}`), store.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	to := store.Release("deb12", "1.0.0")
	if _, err := store.Promote(ctx, st, from, to, []byte(`{"from":"mr3"}`), store.PromoteOptions{}); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		from.Key("deb12-1.0.0.qcow2"):      "mr",
		from.Key(store.ManifestName):       "mr",
		to.Key("deb12-1.0.0.qcow2"):        "release",
		to.Key("deb12-1.0.0.qcow2.sha256"): "release",
	} {
		tags, err := srv.Client(t).GetObjectTagging(ctx, st.Bucket(), key, minio.GetObjectTaggingOptions{})
		if err != nil || tags.ToMap()[s3.TagKey] != want {
			t.Errorf("%s tags %v, %v; want %s=%s", key, tags, err, s3.TagKey, want)
		}
	}
	if obj, err := st.Stat(ctx, to.Key("deb12-1.0.0.qcow2")); err != nil || obj.SHA256 != files[0].SHA256 {
		t.Fatalf("promoted object %+v, %v; want sha256 %s", obj, err, files[0].SHA256)
	}
	if err := st.EnsureRetention(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if days, _ := st.Retention(ctx); days != 0 {
		t.Fatalf("retention after removal = %d", days)
	}
}

func TestS3ConditionalWriteRefusesSecondManifestEvenWithoutStat(t *testing.T) {
	srv := miniotest.Start(t)
	st := newStore(t, srv, nil)
	ctx := context.Background()
	key := "deb12/releases/1.0.0/manifest.json"
	c := srv.Client(t)
	if _, err := c.PutObject(ctx, st.Bucket(), key, strings.NewReader("a"), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	// The server itself enforces If-None-Match: * (what closes the race
	// between two publishers that both saw no manifest).
	var opts minio.PutObjectOptions
	opts.SetMatchETagExcept("*")
	_, err := c.PutObject(ctx, st.Bucket(), key, strings.NewReader("b"), 1, opts)
	if minio.ToErrorResponse(err).Code != "PreconditionFailed" {
		t.Fatalf("conditional put over an existing object: %v, want PreconditionFailed", err)
	}
}

func TestS3CredentialsNeverAppearInErrors(t *testing.T) {
	srv := miniotest.Start(t)
	t.Setenv("TEST_S3_AK", srv.AccessKey)
	t.Setenv("TEST_S3_SK", "wrong-"+srv.SecretKey)
	_, err := s3.New(context.Background(), store.S3Config{
		Endpoint: srv.Endpoint, Bucket: srv.Bucket, Insecure: true,
		AccessKeyEnv: "TEST_S3_AK", SecretKeyEnv: "TEST_S3_SK",
	}, nil)
	if err == nil {
		t.Fatal("a wrong secret key was accepted")
	}
	if strings.Contains(err.Error(), srv.SecretKey) {
		t.Fatalf("error leaks the secret: %v", err)
	}
}

func TestS3PresignsForThePublicEndpoint(t *testing.T) {
	srv := miniotest.Start(t)
	// Browsers reach the server as "localhost"; imagebot as 127.0.0.1.
	port := srv.Endpoint[strings.LastIndex(srv.Endpoint, ":"):]
	st := newStore(t, srv, func(c *store.S3Config) { c.PublicEndpoint = "http://localhost" + port })
	ctx := context.Background()
	key := "deb12/releases/1.0.0/deb12-1.0.0.qcow2"
	data := []byte("public bytes")
	if _, err := st.Put(ctx, key, bytes.NewReader(data), int64(len(data)), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	u, err := st.URL(ctx, key, 0)
	if err != nil || !strings.HasPrefix(u, "http://localhost"+port+"/") {
		t.Fatalf("URL = %s, %v", u, err)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Equal(got, data) {
		t.Fatalf("GET %s: %s %q", u, resp.Status, got)
	}
}
